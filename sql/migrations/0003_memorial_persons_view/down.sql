DROP VIEW migration.memorial_persons;
