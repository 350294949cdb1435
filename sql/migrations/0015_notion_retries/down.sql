-- Back to 0014: each sync looks for retried submissions among every staged memorial page.
DROP INDEX migration.notion_pages_duplicate_of_idx;
DROP INDEX migration.notion_pages_retry_key_idx;
