-- phase: 2
-- description: The records of 0003 and 0004 take the winning values of the Notion page matched to their legacy row: found through this index, one probe per legacy row.
CREATE INDEX notion_pages_matched_idx ON migration.notion_pages (legacy_table, legacy_id) WHERE outcome = 'matched';
