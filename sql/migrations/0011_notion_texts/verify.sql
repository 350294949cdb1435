SELECT texts FROM migration.notion_pages WHERE false;
SELECT migration.notion_texts('{}'::jsonb), migration.notion_property_text(NULL);
SELECT id, problem FROM migration.notion_memorial_values WHERE false;
SELECT id, problem FROM migration.notion_chapel_values WHERE false;
