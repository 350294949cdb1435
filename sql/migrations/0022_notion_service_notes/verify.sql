SELECT id, service_id, note, legacy_table, legacy_id, data_migration, created_at, updated_at
  FROM events.service_notes WHERE false;
