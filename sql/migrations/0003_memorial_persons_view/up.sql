-- phase: 1
-- description: Compatibility view joining legacy memorials to the persons migrated from them.
-- requires: bayview.memorials(id, submission_id, first_name, last_name, created_at)
CREATE VIEW migration.memorial_persons AS
SELECT m.id            AS memorial_id,
       m.submission_id,
       m.first_name    AS legacy_first_name,
       m.last_name     AS legacy_last_name,
       m.created_at    AS legacy_created_at,
       l.role,
       p.id            AS person_id,
       p.person_type,
       p.first_name,
       p.last_name,
       p.migration_date
  FROM bayview.memorials AS m
  LEFT JOIN core.person_legacy_links AS l
         ON l.legacy_table = 'bayview.memorials' AND l.legacy_id = m.id
  LEFT JOIN core.persons AS p ON p.id = l.person_id;
COMMENT ON VIEW migration.memorial_persons IS
    'One row per legacy memorial and role; person columns are NULL until that person is migrated';
