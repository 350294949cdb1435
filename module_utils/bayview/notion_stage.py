"""Staging: every page read from Notion lands unchanged in migration.notion_pages.

A staged page is identified across reads, API or export, by its database and its title (the
form's submission id: `MG-<ms>`, the chapel's serial or `CHAPEL-<ms>`), so that a page first staged
from an export and later read from the API is one staged row. Two distinct pages of one title keep
two rows: the second is keyed '<title> #<page id>' (API) or '<title> #2' (a second row in one
export file). Re-reading a page that did not change writes nothing; a page whose properties
changed is re-staged and waits for the reconciliation again.
"""

from __future__ import annotations

from datetime import timedelta

from ansible.module_utils.bayview.notion_read import NotionPage
from psycopg.types.json import Jsonb

# Notion rounds last_edited_time to the minute: an incremental read starts this much before the
# newest staged edit, and what it reads again changes nothing.
OVERLAP = timedelta(minutes=10)

STAGE = """
INSERT INTO migration.notion_pages AS p
       (notion_database, page_key, source, page_id, title, last_edited_time, properties)
SELECT notion_database, page_key, source, page_id, title, last_edited_time, properties FROM pg_temp.notion_incoming
    ON CONFLICT ON CONSTRAINT notion_pages_one_per_record DO UPDATE
   SET source = EXCLUDED.source, page_id = coalesce(EXCLUDED.page_id, p.page_id), title = EXCLUDED.title,
       last_edited_time = coalesce(EXCLUDED.last_edited_time, p.last_edited_time), properties = EXCLUDED.properties,
       staged_at = now(), reconciled_at = NULL, outcome = NULL, match_rule = NULL, legacy_table = NULL,
       legacy_id = NULL, duplicate_of = NULL, reason = NULL
 WHERE p.properties IS DISTINCT FROM EXCLUDED.properties
RETURNING (xmax = 0)
"""


def since(conn, data_sources: dict[str, str]) -> dict[str, str | None]:
    """Where an incremental API read of each database starts: the newest staged edit of its data
    source, less the overlap; None (everything) for a data source never read."""
    found = {}
    for database, source in data_sources.items():
        newest = conn.execute(
            "SELECT max(last_edited_time) FROM migration.notion_pages WHERE source = %s", [source]
        ).fetchone()[0]
        found[database] = (newest - OVERLAP).isoformat() if newest else None
    return found


def _keys(conn, pages: list[NotionPage]) -> list[str]:
    """The page_key of each page (see the module's docstring), unique within the batch: a page
    already staged under its id keeps its key; a title held by another page's id, or by an earlier
    page of this batch, is keyed '<title> #<page id>' (API) or '<title> #<n>' (export)."""
    databases = [p.notion_database for p in pages]
    bases = [p.title.strip() or "(no title)" for p in pages]
    by_page_id = dict(
        conn.execute(
            "SELECT page_id, page_key FROM migration.notion_pages WHERE page_id = ANY(%s)",
            [[p.page_id for p in pages if p.page_id]],
        ).fetchall()
    )
    holders = {
        (database, key): page_id
        for database, key, page_id in conn.execute(
            "SELECT n.notion_database, n.page_key, n.page_id FROM migration.notion_pages n "
            "JOIN unnest(%s::text[], %s::text[]) AS b (notion_database, page_key) USING (notion_database, page_key)",
            [databases, bases],
        )
    }
    # Pages staged before keep their keys; then the others take theirs, in order.
    keys: list[str | None] = [by_page_id.get(p.page_id) if p.page_id else None for p in pages]
    used = {(database, key) for database, key in zip(databases, keys, strict=True) if key}
    for i, (page, database, base) in enumerate(zip(pages, databases, bases, strict=True)):
        if keys[i] is not None:
            continue
        holder = holders.get((database, base))
        taken = page.page_id and ((holder is not None and holder != page.page_id) or (database, base) in used)
        key = f"{base} #{page.page_id}" if taken else base
        n = 1
        while (database, key) in used:  # a second row of one title in one export (or a literal '#2')
            n += 1
            key = f"{base} #{n}"
        used.add((database, key))
        keys[i] = key
    return keys


def stage(conn, pages: list[NotionPage]) -> dict[str, int]:
    """Stage one response's pages (or one export file's rows) in one transaction: counts of new,
    changed and unchanged pages."""
    if not pages:
        return {"new": 0, "changed": 0, "unchanged": 0}
    with conn.transaction():
        conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS notion_incoming (notion_database text, page_key text, source text, "
            "page_id text, title text, last_edited_time timestamptz, properties jsonb) ON COMMIT DELETE ROWS"
        )
        keys = _keys(conn, pages)  # before the COPY: no other statement runs while it does
        with conn.cursor().copy(
            "COPY pg_temp.notion_incoming (notion_database, page_key, source, page_id, title, last_edited_time, "
            "properties) FROM STDIN"
        ) as copy:
            for page, key in zip(pages, keys, strict=True):
                copy.write_row(
                    (
                        page.notion_database,
                        key,
                        page.source,
                        page.page_id,
                        page.title,
                        page.last_edited_time,
                        Jsonb(page.properties),
                    )
                )
        inserted = [row[0] for row in conn.execute(STAGE).fetchall()]
    new = sum(inserted)
    return {"new": new, "changed": len(inserted) - new, "unchanged": len(pages) - len(inserted)}


# A full read of a data source finds every page Notion still has (a query leaves out the trashed
# ones). A staged page of that data source it did not find is gone: marked, never removed, as its
# records are permanent ones and a page in Notion's trash can be restored. Found again: not gone.
# The staged pages of a data source that a read of it did not find.
MISSED = "source = %(source)s AND page_id IS NOT NULL AND gone_at IS NULL AND NOT (page_id = ANY(%(seen)s))"
GONE = "UPDATE migration.notion_pages SET gone_at = now() WHERE " + MISSED
WOULD_BE_GONE = "SELECT count(*) FROM migration.notion_pages WHERE " + MISSED
BACK = "UPDATE migration.notion_pages SET gone_at = NULL WHERE gone_at IS NOT NULL AND page_id = ANY(%(seen)s)"


def mark_gone(conn, seen: dict[str, set[str]], full_read: bool) -> dict[str, int]:
    """After a read of the API (source -> the page ids it found), in one transaction: the pages
    found that were gone are back; after a full read, the staged pages of each data source it did
    not find are gone. A data source that answered no page at all marks nothing: an empty answer
    is more likely a wrong data source or a broken share than every page trashed."""
    gone = back = 0
    with conn.transaction():
        for source, ids in seen.items():
            back += conn.execute(BACK, {"seen": sorted(ids)}).rowcount
            if full_read and ids:
                gone += conn.execute(GONE, {"source": source, "seen": sorted(ids)}).rowcount
    return {"gone": gone, "back": back}


def would_be_gone(conn, seen: dict[str, set[str]]) -> int:
    """What mark_gone would mark (check mode)."""
    return sum(
        conn.execute(WOULD_BE_GONE, {"source": source, "seen": sorted(ids)}).fetchone()[0]
        for source, ids in seen.items()
        if ids  # as mark_gone: a data source that answered no page marks nothing
    )


def preview(conn, pages: list[NotionPage]) -> dict[str, int]:
    """What stage() would do with these pages, writing nothing (check mode)."""
    if not pages:
        return {"new": 0, "changed": 0, "unchanged": 0}
    keys = _keys(conn, pages)
    databases = [p.notion_database for p in pages]
    staged = {
        (database, key): properties
        for database, key, properties in conn.execute(
            "SELECT n.notion_database, n.page_key, n.properties FROM migration.notion_pages n "
            "JOIN unnest(%s::text[], %s::text[]) AS b (notion_database, page_key) USING (notion_database, page_key)",
            [databases, keys],
        )
    }
    found = [staged.get((d, k)) for d, k in zip(databases, keys, strict=True)]
    new = sum(1 for f in found if f is None)
    unchanged = sum(1 for f, p in zip(found, pages, strict=True) if f is not None and f == p.properties)
    return {"new": new, "changed": len(pages) - new - unchanged, "unchanged": unchanged}
