-- Back to 0012: nothing reads the Personal History JSON.
DROP FUNCTION migration.notion_json_object(text);
