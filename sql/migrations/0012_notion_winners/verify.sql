SELECT 'migration.notion_pages_matched_idx'::regclass;
