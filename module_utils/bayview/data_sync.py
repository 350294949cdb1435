"""The incremental sync of the data migrations, and the one transform it shares with the
dual-write manager: bring the new design up to date with legacy rows as they are now.

A sync, per data migration: migrate new legacy rows (the batch executor); repair the rows the
dual-write manager logged as discrepancies; bring up to date the rows of legacy rows changed since
the last sync (by the migration's UPDATED_AT column; a table without one is compared whole, and
only what differs is written); remove what deleted legacy rows produced; recount.
"""

from __future__ import annotations

from types import ModuleType

import psycopg
from ansible.module_utils.bayview import db, halts
from ansible.module_utils.bayview.data_migrate import (
    ABSENT,
    ROW_ERRORS,
    candidates_sql_for,
    legacy_table_exists,
    notion_staged,
    refusal_reason,
    run,
    status,
)
from ansible.module_utils.bayview.data_migration_sql import LINKS_UP_TO, REMOVE_DELETED, RESYNC, statement
from psycopg import sql

# From this many rows a resync joins its sets (candidates, links) by hash, never by a nested loop.
HASH_JOINS_FROM = 500


def resync_rows(conn: psycopg.Connection, migration: ModuleType, cand: sql.Composable, ids: list[int]) -> tuple:
    """Bring the new design up to date with these legacy rows as they are now, inside the
    caller's transaction. A row that no longer exists loses its target rows and quarantine
    entries. Returns (rows read, rows updated, rows removed, rows created, quarantine entries
    changed): only what differs is written, so a row that did not change changes nothing."""
    if len(ids) >= HASH_JOINS_FROM:
        # Right after a batch run the links may still look empty to the planner (autovacuum has not
        # analysed them), which then joins the candidates to the links by a nested loop: O(n^2),
        # 10 s for 5,000 rows. For a web request's one row (the data-access layer) a nested loop
        # through the target's index is right, so this is for a sync's batches only.
        conn.execute("SET LOCAL enable_nestloop = off")
    return conn.execute(
        statement(RESYNC, cand, migration),
        {
            "lo": min(ids) - 1,
            "hi": max(ids),
            "ids": ids,
            "name": migration.NAME,
            "legacy_table": migration.LEGACY_TABLE,
        },
    ).fetchone()


def _changed_since(conn, migration: ModuleType) -> sql.Composable:
    """The condition on a legacy row that it may have changed since %(since)s: its UPDATED_AT is
    later, or, for a migration that takes Notion's winning values, the Notion page matched to it was
    reconciled since (edited in Notion). Without an UPDATED_AT every migrated row is compared."""
    updated_at = getattr(migration, "UPDATED_AT", None)
    if not updated_at:
        return sql.SQL("")
    changed = sql.SQL("{} > %(since)s").format(sql.Identifier(updated_at))
    if getattr(migration, "NOTION_WINNERS", None) and notion_staged(conn):
        reconciled = sql.SQL(
            "{k} IN (SELECT p.legacy_id FROM migration.notion_pages p "
            "WHERE p.legacy_table = %(legacy_table)s AND p.reconciled_at > %(since)s)"
        ).format(k=sql.Identifier(migration.KEY))
        changed = sql.SQL("({} OR {})").format(changed, reconciled)
    return sql.SQL("AND ") + changed


# A migrated legacy row whose new version the database refuses (a constraint of the new design:
# a chapel slot another service holds) keeps its last version in the new design, and is logged
# as a discrepancy, as a dual write that failed is: each sync tries it again until the database
# takes it, and until then validation names it and status counts it. Removing its record would
# also remove what refers to it (a service's details), which its own migration would not notice.
LOG_REFUSED = """
INSERT INTO migration.dual_write_discrepancies (legacy_table, legacy_id, operation, error)
SELECT %(legacy_table)s, %(key)s, 'sync', %(reason)s
 WHERE NOT EXISTS (SELECT 1 FROM migration.dual_write_discrepancies
                    WHERE legacy_table = %(legacy_table)s AND legacy_id = %(key)s AND resolved_at IS NULL)
"""


def _resync_batch(conn, migration: ModuleType, cand: sql.Composable, ids: list[int]) -> tuple[int, list[dict]]:
    """resync_rows for a batch of a sync, in a savepoint; (changes, the rows refused). Where the
    database refuses a row's new version, the batch is redone row by row, and each row it still
    refuses is logged (LOG_REFUSED) with the database's reason. The sync goes on with the others."""
    try:
        with conn.transaction():
            return sum(resync_rows(conn, migration, cand, ids)[1:]), []
    except ROW_ERRORS:
        pass
    changes, refused = 0, []
    for key in ids:
        try:
            with conn.transaction():
                changes += sum(resync_rows(conn, migration, cand, [key])[1:])
        except ROW_ERRORS as exc:
            reason = f"{migration.NAME}: {refusal_reason(exc)}"
            conn.execute(LOG_REFUSED, {"legacy_table": migration.LEGACY_TABLE, "key": key, "reason": reason})
            refused.append({"legacy_id": key, "reason": reason})
    return changes, refused


# After a sync the counts are recounted from the legacy table, the links and the quarantine.
# Every legacy row yields the same number of candidates (one per role), except a row
# quarantined whole after an unforeseen error, which counts as one. Rows past the checkpoint
# (written meanwhile by the dual-write manager) are counted by the batch that reaches them.
RECOUNT_AFTER_SYNC = (
    """
WITH n AS (
    SELECT (SELECT count(*) FROM {legacy} t WHERE t.{key} <= c.last_key) AS rows_read,
           ("""
    + LINKS_UP_TO
    + """) AS migrated,
           (SELECT count(*) FROM migration.quarantine q
             WHERE q.data_migration = %(name)s AND q.legacy_id <= c.last_key) AS quarantined,
           (SELECT count(*) FROM migration.quarantine q
             WHERE q.data_migration = %(name)s AND q.legacy_id <= c.last_key AND q.role = 'row') AS whole
      FROM migration.data_migration_checkpoints c WHERE c.data_migration = %(name)s
), recounted AS (
    SELECT n.*, (n.rows_read - n.whole) * %(per_row)s + n.whole AS candidates FROM n
)
UPDATE migration.data_migration_checkpoints c
   SET rows_read = r.rows_read, candidates = r.candidates, migrated = r.migrated, quarantined = r.quarantined,
       excluded = r.candidates - r.migrated - r.quarantined,
       rows_resynced = c.rows_resynced + %(resynced)s, synced_until = %(until)s, updated_at = now()
  FROM recounted r WHERE c.data_migration = %(name)s
"""
)

OPEN_DISCREPANCIES = """
SELECT DISTINCT legacy_id FROM migration.dual_write_discrepancies
 WHERE legacy_table = %s AND resolved_at IS NULL AND legacy_id > %s ORDER BY 1 LIMIT %s
"""
RESOLVE_DISCREPANCIES = """
UPDATE migration.dual_write_discrepancies SET resolved_at = now()
 WHERE legacy_table = %s AND legacy_id = ANY(%s) AND resolved_at IS NULL
"""


def _candidates_per_row(conn, name: str) -> int:
    """The candidates each legacy row yields (one per role), from the checkpoint: its batches count
    the rows their statement classified, so candidates are rows times roles (plus rows quarantined
    whole after an unforeseen error, one candidate each). Nothing is cleaned again to know it."""
    rows_read, candidates, whole = conn.execute(
        """SELECT c.rows_read, c.candidates,
                  (SELECT count(*) FROM migration.quarantine q WHERE q.data_migration = c.data_migration
                      AND q.role = 'row')
             FROM migration.data_migration_checkpoints c WHERE c.data_migration = %s""",
        [name],
    ).fetchone()
    return (candidates - whole) // (rows_read - whole) if rows_read > whole else 0


def _repair_discrepancies(conn, migrations: list[ModuleType], batch_size: int) -> tuple[int, int, list[dict]]:
    """Resync the legacy rows whose dual write failed, for every migration of their table (one
    failed savepoint wrote none of them), then mark the discrepancies resolved."""
    table = migrations[0].LEGACY_TABLE
    candidates = [candidates_sql_for(conn, m) for m in migrations]
    repaired, changes, refused, cursor = 0, 0, [], 0
    while True:
        with conn.transaction():
            ids = [r[0] for r in conn.execute(OPEN_DISCREPANCIES, [table, cursor, batch_size])]
            if not ids:
                return repaired, changes, refused
            for migration, cand in zip(migrations, candidates, strict=True):
                if status(conn, migration.NAME)["status"] in ("running", "completed"):
                    written, refused_here = _resync_batch(conn, migration, cand, ids)
                    changes, refused = changes + written, refused + refused_here
            still = {r["legacy_id"] for r in refused}  # refused again: stays open for the next sync
            done = [i for i in ids if i not in still]
            conn.execute(RESOLVE_DISCREPANCIES, [table, done])
            repaired, cursor = repaired + len(done), ids[-1]


# What a sync reports it did, besides the checkpoint.
SYNC_COUNTS = (
    "resynced_this_run",
    "changes_this_run",
    "discrepancies_repaired",
    "deleted_rows_removed",
    "deleted_rows_quarantine_removed",
    "batches_this_run",
)


def sync(
    params: dict,
    migration: ModuleType,
    batch_size: int = 5000,
    margin_seconds: int = 300,
    lock_wait_seconds: float = 10.0,
    new_rows: bool = True,
    same_table: list[ModuleType] = (),
) -> dict:
    """Incremental mode (see above); new_rows false syncs only the rows already migrated (a trial).
    same_table: the other data migrations of the same legacy table, repaired together.

    synced_until stays `margin_seconds` behind the server's clock: a web request whose
    transaction began earlier but committed later still gets picked up next time. A row read
    again within that margin is compared, not rewritten: `changes_this_run` counts only what
    differed (rows updated, removed or created, quarantine entries changed).

    Rows the batch executor migrates in this sync are not compared again: they were read after
    `until` was fixed, so they are as new as anything this sync would compare them with."""
    with db.connect(params) as conn:
        migrated_before, until = conn.execute(
            """SELECT coalesce((SELECT last_key FROM migration.data_migration_checkpoints
                                 WHERE data_migration = %s), 0), now() - make_interval(secs => %s)""",
            [migration.NAME, margin_seconds],
        ).fetchone()
    batches_now = run(params, migration, batch_size, None, lock_wait_seconds)["batches_this_run"] if new_rows else 0
    conn = db.connect(params)
    try:
        db.acquire_run_lock(conn, db.describe(params), lock_wait_seconds)
        halts.require_not_halted(conn, f"Sync of {migration.NAME}")
        if not legacy_table_exists(conn, migration):  # nothing was migrated, nothing can change
            nothing = dict.fromkeys(SYNC_COUNTS, 0) | {"rows_refused": 0, "refused": []}
            return status(conn, migration.NAME) | nothing | {"legacy_table": ABSENT}
        cand = candidates_sql_for(conn, migration)
        table, key = sql.SQL(migration.LEGACY_TABLE), sql.Identifier(migration.KEY)
        changed = _changed_since(conn, migration)
        per_row = _candidates_per_row(conn, migration.NAME)
        since, started_at = conn.execute(
            "SELECT synced_until, started_at FROM migration.data_migration_checkpoints WHERE data_migration = %s",
            [migration.NAME],
        ).fetchone()
        since = since or started_at

        repaired, changes, refused = _repair_discrepancies(conn, [migration, *same_table], batch_size)

        cursor, resynced = 0, 0
        while True:
            with conn.transaction():
                ids = [
                    r[0]
                    for r in conn.execute(
                        sql.SQL(
                            "SELECT {k} FROM {t} WHERE {k} > %(cursor)s AND {k} <= %(last_key)s {c} "
                            "ORDER BY {k} LIMIT %(limit)s"
                        ).format(k=key, t=table, c=changed),
                        {
                            "cursor": cursor,
                            "last_key": migrated_before,
                            "since": since,
                            "limit": batch_size,
                            "legacy_table": migration.LEGACY_TABLE,
                        },
                    ).fetchall()
                ]
                if not ids:
                    break
                written, refused_here = _resync_batch(conn, migration, cand, ids)
                changes, refused = changes + written, refused + refused_here
                cursor, resynced = ids[-1], resynced + len(ids)

        names = {"name": migration.NAME, "legacy_table": migration.LEGACY_TABLE}
        with conn.transaction():
            rows_removed, quarantine_removed = conn.execute(
                statement(REMOVE_DELETED, cand, migration), names
            ).fetchone()
            conn.execute(
                statement(RECOUNT_AFTER_SYNC, cand, migration),
                names | {"resynced": resynced, "until": until, "per_row": per_row},
            )
        done = (resynced, changes, repaired, rows_removed, quarantine_removed, batches_now)
        found = status(conn, migration.NAME) | dict(zip(SYNC_COUNTS, done, strict=True))
        refused = list({r["legacy_id"]: r for r in refused}.values())  # tried by the repair and the resync
        return found | {"rows_refused": len(refused), "refused": refused[:20]}
    finally:
        if not conn.closed:
            db.release_run_lock(conn)
            conn.close()
