SELECT data_migration, last_key, migrated, quarantined, excluded, candidates FROM migration.data_migration_checkpoints WHERE false;
SELECT data_migration, legacy_table, legacy_id, role, reason, legacy_row FROM migration.quarantine WHERE false;
