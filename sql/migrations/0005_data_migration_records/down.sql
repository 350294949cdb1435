DROP TABLE migration.quarantine;
DROP TABLE migration.data_migration_checkpoints;
