DROP TABLE core.person_legacy_links;
DROP TABLE core.persons;
