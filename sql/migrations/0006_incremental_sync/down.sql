ALTER TABLE migration.data_migration_checkpoints DROP COLUMN rows_resynced, DROP COLUMN synced_until;
