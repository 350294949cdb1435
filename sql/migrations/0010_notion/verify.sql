SELECT notion_database, page_key, source, page_id, title, last_edited_time, properties, outcome, match_rule,
       legacy_table, legacy_id, duplicate_of, reason FROM migration.notion_pages WHERE false;
SELECT notion_page_id, field, notion_value, legacy_value, winner, rule FROM migration.notion_differences WHERE false;
SELECT migration.notion_text('{}'::jsonb, 'x'), migration.notion_date(NULL), migration.notion_time(NULL),
       migration.notion_timestamp(NULL), migration.notion_money(NULL), migration.notion_option(NULL),
       migration.notion_bool(NULL);
SELECT id, problem FROM migration.notion_memorial_values WHERE false;
SELECT id, problem FROM migration.notion_chapel_values WHERE false;
