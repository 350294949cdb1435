-- Back to 0013: pages no longer in Notion are not told apart.
ALTER TABLE migration.notion_pages DROP COLUMN gone_at;
