-- phase: 2
-- description: A staged page that a full read of its data source no longer finds (trashed or deleted in Notion) is marked gone_at, never removed: it and its records stay, and the reconciliation report lists it.
ALTER TABLE migration.notion_pages ADD COLUMN gone_at timestamptz;
COMMENT ON COLUMN migration.notion_pages.gone_at IS
    'When a full read of its data source last missed the page (trashed or deleted in Notion); NULL while Notion has it';
