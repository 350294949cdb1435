SELECT 'migration.notion_pages_retry_key_idx'::regclass, 'migration.notion_pages_duplicate_of_idx'::regclass;
