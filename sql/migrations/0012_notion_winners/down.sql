-- Back to 0011: the records read no Notion page, so nothing needs the index.
DROP INDEX migration.notion_pages_matched_idx;
