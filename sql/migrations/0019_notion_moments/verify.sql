-- 0019's reader, which its comment names: a division by zero without it
SELECT 1 / count(*)
  FROM pg_catalog.pg_description
 WHERE objoid = 'migration.notion_timestamp(text)'::regprocedure
   AND classoid = 'pg_catalog.pg_proc'::regclass AND description LIKE '0019:%';
