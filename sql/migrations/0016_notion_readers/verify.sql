-- 0016's readers, which their comments name (0011's have none): a division by zero without them
SELECT 1 / (count(*) / 4)
  FROM pg_catalog.pg_description
 WHERE objoid IN ('migration.notion_date(text)'::regprocedure, 'migration.notion_time(text)'::regprocedure,
                  'migration.notion_timestamp(text)'::regprocedure, 'migration.notion_texts(jsonb)'::regprocedure)
   AND classoid = 'pg_catalog.pg_proc'::regclass AND description LIKE '0016:%';
