"""Full validation of the data migrations against their legacy sources.

For each data migration:
  counts   the checkpoint's counts reconcile with the legacy table, the links and the quarantine;
  fields   every migrated field of every row equals what the migration's transform makes of
           its legacy row today. Both sides are hashed per key range (one pass each, run at
           once on two connections sharing one snapshot); only ranges whose hashes differ are
           split again, down to a few keys, where rows are compared and the first differing
           legacy keys reported;
  links    every link points at an existing legacy row.
Then, once: every person has a link, and (given a baseline) the legacy fingerprint is unchanged.

Everything is read in one REPEATABLE READ snapshot; the result is stored in
migration.validation_runs and returned.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType

import psycopg
from ansible.module_utils.bayview import data_migrate, db, failpoints, fingerprint
from ansible.module_utils.bayview.data_migration_sql import CLASSIFIED, LINKS_UP_TO, Target, column_types, statement
from ansible.module_utils.bayview.errors import RunbookError
from psycopg import sql

# What each legacy row should have produced, one text per migrated or quarantined candidate; the
# fields are cast to the target's column types, so both sides print a value alike.
EXPECTED_ROWS = (
    "WITH "
    + CLASSIFIED
    + """,
rows AS (
    SELECT legacy_id,
           CASE WHEN outcome = 'migrated' THEN ROW(legacy_id, role, 'migrated', {expected_fields})::text
                ELSE ROW(legacy_id, role, 'quarantined', reason)::text END AS r
      FROM cls WHERE outcome <> 'excluded'
)"""
)

# What the new design holds for the same rows, as the same texts.
ACTUAL_ROWS = """
WITH rows AS (
    SELECT l.legacy_id, ROW(l.legacy_id, l.role, 'migrated', {actual_fields})::text AS r
      FROM {links} l JOIN {target} p ON p.id = l.target_id
     WHERE l.legacy_table = %(legacy_table)s AND l.data_migration = %(name)s
       AND l.legacy_id > %(lo)s AND l.legacy_id <= %(hi)s
    UNION ALL
    SELECT q.legacy_id, ROW(q.legacy_id, q.role, 'quarantined', q.reason)::text
      FROM migration.quarantine q
     WHERE q.data_migration = %(name)s AND q.legacy_id > %(lo)s AND q.legacy_id <= %(hi)s
)"""

BUCKETS = "SELECT (legacy_id - %(lo)s - 1) / %(width)s, count(*), sum(hashtextextended(r, 0)) FROM rows GROUP BY 1"
ROWS = "SELECT legacy_id, r FROM rows"

TOP_BUCKETS = 256  # first split of the key space
SUB_BUCKETS = 16  # each differing range is split again into this many
ROW_LEVEL = 64  # a range this narrow is compared row by row

COUNTS = (
    """
SELECT c.status, c.last_key, c.rows_read, c.candidates, c.migrated, c.quarantined, c.excluded,
       (SELECT count(*) FROM {legacy} t WHERE t.{key} <= c.last_key),
       ("""
    + LINKS_UP_TO
    + """),
       (SELECT count(*) FROM migration.quarantine q WHERE q.data_migration = c.data_migration
           AND q.legacy_id <= c.last_key)
  FROM migration.data_migration_checkpoints c WHERE c.data_migration = %(name)s
"""
)

LINKS_TO_MISSING_ROWS = """
SELECT DISTINCT l.legacy_id FROM {links} l
 WHERE l.legacy_table = %(legacy_table)s AND l.data_migration = %(name)s
   AND NOT EXISTS (SELECT 1 FROM {legacy} t WHERE t.{key} = l.legacy_id)
 ORDER BY 1 LIMIT %(limit)s
"""

# A person comes from a legacy row, or belongs to a record created in the new design (after the cutover).
PERSONS_WITHOUT_LINK = """
SELECT p.id FROM core.persons p
 WHERE NOT EXISTS (SELECT 1 FROM core.person_legacy_links l WHERE l.person_id = p.id)
   AND NOT EXISTS (SELECT 1 FROM core.record_person_links r WHERE r.person_id = p.id)
 ORDER BY 1 LIMIT %s
"""


def _check(name: str, passed: bool, summary: str, **details) -> dict:
    return {"check": name, "passed": passed, "summary": summary, **details}


def _buckets(cur) -> dict:
    """Rows of (bucket, rows, hash) as {bucket: (rows, hash)}."""
    return {b: (n, int(h)) for b, n, h in cur.fetchall()}


class _Sides:
    """The expected (legacy) and actual (new schema) sides of one migration, each on its own
    connection, both in the same snapshot."""

    def __init__(self, expected: psycopg.Connection, actual: psycopg.Connection, migration: ModuleType):
        self.expected, self.actual, self.migration = expected, actual, migration
        self.absent = not data_migrate.legacy_table_exists(expected, migration)
        if self.absent:
            return
        target = Target(migration)
        types = column_types(actual, target.table)
        self.expected_sql = sql.SQL(EXPECTED_ROWS).format(
            candidates=data_migrate.candidates_sql_for(expected, migration),
            expected_fields=target.as_text("cls", types),
        )
        self.actual_sql = sql.SQL(ACTUAL_ROWS).format(
            actual_fields=target.as_text("p"), links=target.links, target=sql.SQL(target.table)
        )

    def _params(self, lo: int, hi: int, width: int = 1) -> dict:
        m = self.migration
        return {"lo": lo, "hi": hi, "width": width, "ids": None, "name": m.NAME, "legacy_table": m.LEGACY_TABLE}

    def buckets(self, lo: int, hi: int, width: int, pool: ThreadPoolExecutor) -> tuple[dict, dict]:
        params = self._params(lo, hi, width)
        query = sql.SQL(" ").join
        expected = pool.submit(self.expected.execute, query([self.expected_sql, sql.SQL(BUCKETS)]), params)
        actual = pool.submit(self.actual.execute, query([self.actual_sql, sql.SQL(BUCKETS)]), params)
        return _buckets(expected.result()), _buckets(actual.result())

    def rows(self, lo: int, hi: int) -> tuple[list, list]:
        params = self._params(lo, hi)
        expected = self.expected.execute(sql.SQL(" ").join([self.expected_sql, sql.SQL(ROWS)]), params).fetchall()
        actual = self.actual.execute(sql.SQL(" ").join([self.actual_sql, sql.SQL(ROWS)]), params).fetchall()
        return expected, actual


def _differing_keys(sides: _Sides, lo: int, hi: int, buckets: int, limit: int, pool, found: list) -> tuple[int, int]:
    """Bisect (lo, hi] down to the legacy keys whose rows differ; returns the rows expected and the
    rows found at this level (migrated and quarantined candidates, in the one snapshot)."""
    width = max(1, -(-(hi - lo) // buckets))
    expected, actual = sides.buckets(lo, hi, width, pool)
    for bucket in sorted(set(expected) | set(actual)):
        if len(found) >= limit:
            break
        if expected.get(bucket) == actual.get(bucket):
            continue
        b_lo, b_hi = lo + bucket * width, min(hi, lo + (bucket + 1) * width)
        if b_hi - b_lo <= ROW_LEVEL:
            want, have = sides.rows(b_lo, b_hi)
            for key in sorted({k for k, _hash in set(want) ^ set(have)}):
                if len(found) < limit:
                    found.append({"legacy_id": key, "expected": _side(want, key), "found": _side(have, key)})
        else:
            _differing_keys(sides, b_lo, b_hi, SUB_BUCKETS, limit, pool, found)
    return sum(n for n, _hash in expected.values()), sum(n for n, _hash in actual.values())


def _side(rows: list, key: int) -> list[str]:
    return sorted(text for k, text in rows if k == key)


def _validate_migration(sides: _Sides, conn, pool, limit: int) -> list[dict]:
    m = sides.migration
    if sides.absent:
        return [_check(f"{m.NAME}: counts", True, f"{m.LEGACY_TABLE} is {data_migrate.ABSENT}: nothing to migrate")]
    names = {"name": m.NAME, "legacy_table": m.LEGACY_TABLE, "limit": limit}
    row = conn.execute(statement(COUNTS, sql.SQL(""), m), names).fetchone()
    if row is None:
        return [_check(f"{m.NAME}: counts", False, f"{m.NAME} has not run: there is nothing to validate.")]
    status, last_key, rows_read, candidates, migrated, quarantined, excluded, legacy, links, in_quarantine = row
    found: list[dict] = []
    expected_total, found_total = _differing_keys(sides, 0, last_key, TOP_BUCKETS, limit, pool, found)

    # What must hold in the snapshot, whoever writes: the checkpoint adds up, and the new design
    # holds one link or quarantine entry per candidate the legacy rows up to the checkpoint yield.
    problems = []  # a migration still running (a trial, or stopped) validates what it migrated so far
    if migrated + quarantined + excluded != candidates:
        problems.append(f"{migrated} + {quarantined} + {excluded} is not {candidates} candidates")
    if links + in_quarantine != expected_total:
        problems.append(
            f"the legacy rows up to key {last_key} yield {expected_total} rows and quarantine entries, but "
            f"{links} links and {in_quarantine} quarantine entries exist"
        )
    # What the checkpoint counted at the last sync; the application's writes since (dual-write keeps the
    # new design in step with them) are recounted by the next sync, so a difference here is news, not a fault.
    since_sync = []
    if rows_read != legacy:
        since_sync.append(f"{rows_read} legacy rows read, {legacy} exist now")
    if migrated != links:
        since_sync.append(f"{migrated} counted migrated, {links} links now")
    if quarantined != in_quarantine:
        since_sync.append(f"{quarantined} counted quarantined, {in_quarantine} now")
    counts = {
        "status": status,
        "last_key": last_key,
        "legacy_rows": legacy,
        "candidates": candidates,
        "migrated": migrated,
        "quarantined": quarantined,
        "excluded": excluded,
        "links": links,
        "in_quarantine": in_quarantine,
        "expected_in_snapshot": expected_total,
        "since_last_sync": since_sync,
    }
    summary = (
        "; ".join(problems) + "; run the sync, then validate again"
        if problems
        else f"{migrated} migrated + {quarantined} quarantined + {excluded} excluded = {candidates} candidates "
        f"from {rows_read} legacy rows ({status})"
        + (f"; since the last sync: {', '.join(since_sync)}" if since_sync else "")
    )
    checks = [_check(f"{m.NAME}: counts", not problems, summary, counts=counts)]
    checks.append(
        _check(
            f"{m.NAME}: fields",
            not found,
            f"{found_total} rows compared field by field, all equal to their legacy source"
            if not found
            else f"rows differ from their legacy source at legacy keys {', '.join(str(f['legacy_id']) for f in found)}"
            " (a legacy row changed since the last sync, or the target was altered): see differences",
            rows_compared=found_total,
            differences=found,
        )
    )

    dangling = [r[0] for r in conn.execute(statement(LINKS_TO_MISSING_ROWS, sql.SQL(""), m), names)]
    checks.append(
        _check(
            f"{m.NAME}: links",
            not dangling,
            "every link points at an existing legacy row"
            if not dangling
            else f"links point at legacy rows that no longer exist: {dangling} (run the sync)",
            dangling_legacy_ids=dangling,
        )
    )
    return checks


def validate(
    params: dict,
    migrations: list[ModuleType],
    baseline_fingerprint_id: int | None = None,
    run_id: str | None = None,
    limit: int = 10,
) -> dict:
    """Validate, store the result in migration.validation_runs, and return it."""
    started = time.monotonic()
    expected, actual = db.connect(params), db.connect(params)
    checks: list[dict] = []
    try:
        with expected.transaction(), actual.transaction():
            expected.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            snapshot = expected.execute("SELECT pg_catalog.pg_export_snapshot()").fetchone()[0]
            actual.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            actual.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
            with ThreadPoolExecutor(max_workers=2) as pool:
                for migration in migrations:
                    checks += _validate_migration(_Sides(expected, actual, migration), actual, pool, limit)
                    failpoints.reach("validate.comparing", actual.info.dbname)
            orphans = [r[0] for r in actual.execute(PERSONS_WITHOUT_LINK, [limit])]
            checks.append(
                _check(
                    "persons: links",
                    not orphans,
                    "every person has a link" if not orphans else f"persons without a link: {orphans}",
                    person_ids=orphans,
                )
            )
            if baseline_fingerprint_id is not None:
                checks.append(_fingerprint_check(expected, baseline_fingerprint_id))
        passed = all(c["passed"] for c in checks)
        seconds = round(time.monotonic() - started, 2)
        with actual.transaction():
            validation_id = actual.execute(
                "INSERT INTO migration.validation_runs (run_id, passed, seconds, checks) "
                "VALUES (%s, %s, %s, %s::jsonb) RETURNING id",
                [run_id, passed, seconds, json.dumps(checks, default=str)],
            ).fetchone()[0]
        return {"validation_id": validation_id, "passed": passed, "seconds": seconds, "checks": checks}
    finally:
        expected.close()
        actual.close()


def _fingerprint_check(conn, baseline_id: int) -> dict:
    baseline = fingerprint.load(conn, baseline_id)
    if baseline is None:
        return _check("legacy: fingerprint", False, f"there is no stored fingerprint {baseline_id} to compare with")
    now = fingerprint.take_in_snapshot(conn, baseline["scope"])
    found = fingerprint.differences(baseline, now)
    return _check(
        "legacy: fingerprint",
        not found,
        f"the legacy schemas are unchanged since fingerprint {baseline_id}"
        if not found
        else f"the legacy schemas changed since fingerprint {baseline_id}: {'; '.join(found)}",
        differences=found,
    )


def failures(result: dict) -> str:
    """One sentence per failed check, for a task's failure message."""
    return " | ".join(f"{c['check']}: {c['summary']}" for c in result["checks"] if not c["passed"])


def require_last_passed(conn, names: list[str], before: str) -> dict:
    """Refuse unless the newest validation passed and covered every one of the data migrations names."""
    row = None
    if conn.execute("SELECT to_regclass('migration.validation_runs') IS NOT NULL").fetchone()[0]:
        row = conn.execute(
            "SELECT id, passed, validated_at::text, checks FROM migration.validation_runs ORDER BY id DESC LIMIT 1"
        ).fetchone()
    next_step = "run playbooks/validate.yml (or Phase 4), fix what it names, then retry."
    if row is None:
        raise RunbookError(f"No validation has run yet: {before} is refused; nothing was changed.", next_step)
    validation_id, passed, at, checks = row
    validated = {c["check"].removesuffix(": counts") for c in checks if c["check"].endswith(": counts")}
    missing = [n for n in names if n not in validated]
    reasons = []
    if not passed:
        reasons.append("it failed: " + "; ".join(c["summary"] for c in checks if not c["passed"])[:600])
    if missing:
        reasons.append(f"it did not cover {', '.join(missing)}")
    if reasons:
        raise RunbookError(
            f"The newest validation ({validation_id}, {at}) does not allow it: {'; '.join(reasons)}. {before} is "
            "refused; nothing was changed.",
            next_step,
        )
    return {"validation_id": validation_id, "validated_at": at}
