SELECT migration.notion_json_object('{}');
