SELECT gone_at FROM migration.notion_pages WHERE false;
