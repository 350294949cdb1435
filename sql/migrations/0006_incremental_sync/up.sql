-- phase: 2
-- description: Remember, per data migration, up to when updated legacy rows were synced.
ALTER TABLE migration.data_migration_checkpoints
    ADD COLUMN synced_until timestamptz,
    ADD COLUMN rows_resynced bigint NOT NULL DEFAULT 0;
