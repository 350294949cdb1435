SELECT synced_until, rows_resynced FROM migration.data_migration_checkpoints WHERE false;
