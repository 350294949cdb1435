-- phase: 2
-- description: Retried memorial submissions are looked for only among the pages of the same contact and deceased as a page reconciled now (found through this index), not among every staged page at each sync.
CREATE INDEX notion_pages_retry_key_idx ON migration.notion_pages (
    (lower(coalesce(texts ->> 'Contact Email', texts ->> 'Contact Name'))),
    (lower(texts ->> 'Deceased Name'))
) WHERE notion_database = 'memorial_garden';
-- the retries of a page reconciled now, whose original it may no longer be
CREATE INDEX notion_pages_duplicate_of_idx ON migration.notion_pages (duplicate_of) WHERE duplicate_of IS NOT NULL;
