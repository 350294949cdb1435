SELECT id, person_type, first_name, last_name, migration_source, migration_date
  FROM core.persons WHERE false;
SELECT person_id, legacy_table, legacy_id, role FROM core.person_legacy_links WHERE false;
