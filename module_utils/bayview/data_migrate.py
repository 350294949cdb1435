"""Batched, resumable data migrations from the legacy tables into the new design.

A data migration is a Python module in migrations/data/ (see its README) that provides the
SQL of its *candidates*: one row per (legacy row, role) in a key range, already cleaned. The
engine classifies each candidate, set-based:
  excluded     the role slot is empty (no other person, no contact): nothing to migrate;
  quarantined  there is data but it cannot become a person (no usable name, death before
               birth): kept in migration.quarantine with the reason and the legacy row;
  migrated     a core.persons row plus a core.person_legacy_links row (table, id, role).
so that migrated + quarantined + excluded = candidates, at every checkpoint.

Each batch walks the primary key (never OFFSET) and is one transaction together with its
checkpoint: a run killed at any moment resumes after the last committed batch, with no
duplicate and no gap. If a batch fails for a reason the classification did not foresee, it
is redone row by row in savepoints and the failing rows are quarantined with the error: a bad
row never aborts a batch.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from types import ModuleType

import psycopg
from ansible.module_utils.bayview import db, failpoints, halts
from ansible.module_utils.bayview.errors import RunbookError
from psycopg import errors as pg_errors
from psycopg import sql

# The fields of a person that a data migration writes (after its id), in core.persons' order.
PERSON_FIELDS = (
    "person_type",
    "first_name",
    "middle_name",
    "last_name",
    "maiden_name",
    "birth_date",
    "death_date",
    "email",
    "phone",
)

# The one definition of each candidate's outcome (used by batches, resyncs and dry runs).
CLASSIFIED = """
cand AS ({candidates}),
cls AS (
    SELECT c.*,
           CASE WHEN c.has_data IS NOT TRUE THEN 'excluded'
                WHEN c.first_name IS NULL AND c.last_name IS NULL THEN 'quarantined'
                WHEN c.death_date < c.birth_date THEN 'quarantined'
                ELSE 'migrated' END AS outcome,
           CASE WHEN c.has_data IS NOT TRUE THEN NULL
                WHEN c.first_name IS NULL AND c.last_name IS NULL THEN 'no usable name'
                WHEN c.death_date < c.birth_date THEN 'death date before birth date'
           END AS reason
      FROM cand c
     WHERE %(ids)s::bigint[] IS NULL OR c.legacy_id = ANY(%(ids)s::bigint[])
)"""

# PostgreSQL caches the candidates' cleaning per distinct raw values (Memoize); hashing those
# keys costs more than the cleaning they save: a batch runs about 5% faster without it.
BATCH_PLANNER_SETTING = "SET LOCAL enable_memoize = off"

# core.persons' id sequence, looked up once per statement (an InitPlan): per row it cost as much
# as inserting the person.
PERSON_SEQUENCE = "(SELECT pg_catalog.pg_get_serial_sequence('core.persons', 'id')::regclass)"

INSERT_NEW_PERSONS = """
persons AS (
    INSERT INTO core.persons (id, person_type, first_name, middle_name, last_name, maiden_name,
                              birth_date, death_date, email, phone, migration_source, migration_date)
    OVERRIDING SYSTEM VALUE
    SELECT person_id, person_type, first_name, middle_name, last_name, maiden_name,
           birth_date, death_date, email, phone, %(legacy_table)s, now()
      FROM numbered
    RETURNING 1
),
links AS (
    INSERT INTO core.person_legacy_links (person_id, legacy_table, legacy_id, role, data_migration)
    SELECT person_id, %(legacy_table)s, legacy_id, role, %(name)s FROM numbered
    RETURNING 1
),
quarantine AS (
    INSERT INTO migration.quarantine AS q (data_migration, legacy_table, legacy_id, role, reason, legacy_row)
    SELECT %(name)s, %(legacy_table)s, legacy_id, role, reason,
           (SELECT to_jsonb(t) FROM {legacy} t WHERE t.{key} = cls.legacy_id)  -- only for the few quarantined
      FROM cls WHERE outcome = 'quarantined'
    -- already quarantined (a resync, or the dual-write manager): kept as is unless the row changed
    ON CONFLICT ON CONSTRAINT quarantine_once DO UPDATE SET reason = EXCLUDED.reason, legacy_row = EXCLUDED.legacy_row
     WHERE (q.reason, q.legacy_row) IS DISTINCT FROM (EXCLUDED.reason, EXCLUDED.legacy_row)
    RETURNING 1
)"""

CLASSIFY_AND_WRITE = (
    """
WITH """
    + CLASSIFIED
    + """,
numbered AS (
    SELECT cls.*, nextval({person_sequence}) AS person_id
      FROM cls
     WHERE outcome = 'migrated'
       -- already written by the dual-write manager: counted as migrated, not written twice
       -- (looked up only when the batch's key range has links at all: usually it has none)
       AND (NOT %(range_has_links)s OR NOT EXISTS (
               SELECT 1 FROM core.person_legacy_links l
                WHERE l.legacy_table = %(legacy_table)s AND l.legacy_id = cls.legacy_id AND l.role = cls.role))
),"""
    + INSERT_NEW_PERSONS
    + """
SELECT count(*),
       count(*) FILTER (WHERE outcome = 'migrated'),
       count(*) FILTER (WHERE outcome = 'quarantined'),
       count(*) FILTER (WHERE outcome = 'excluded'),
       (SELECT count(*) FROM persons) - (SELECT count(*) FROM links),
       coalesce(sum(hashtext(legacy_id::text || role)) FILTER (WHERE outcome = 'migrated'), 0),
       -- the rows this statement saw: a row the application deleted since its key was read is not one
       count(DISTINCT legacy_id)
  FROM cls
"""
)

QUARANTINE_WHOLE_ROW = """
INSERT INTO migration.quarantine (data_migration, legacy_table, legacy_id, role, reason, legacy_row)
SELECT %s, %s, t.{key}, 'row', %s, to_jsonb(t) FROM {table} t WHERE t.{key} = %s RETURNING 1
"""

DRY_RUN = (
    "WITH "
    + CLASSIFIED
    + """
SELECT outcome || coalesce(': ' || reason, ''), role, count(*), (array_agg(legacy_id ORDER BY legacy_id))[1:5]
  FROM cls GROUP BY 1, 2 ORDER BY 1, 2"""
)

# A legacy row that changed after it was migrated: its persons are brought up to date in place
# (ids stay stable), removed when their slot no longer yields a person, or created when it now does.
RESYNC = (
    "WITH "
    + CLASSIFIED
    + """,
old AS (
    SELECT l.person_id, l.legacy_id, l.role FROM core.person_legacy_links l
     WHERE l.legacy_table = %(legacy_table)s AND l.data_migration = %(name)s AND l.legacy_id = ANY(%(ids)s::bigint[])
),
updated AS (
    UPDATE core.persons p
       SET person_type = cls.person_type, first_name = cls.first_name, middle_name = cls.middle_name,
           last_name = cls.last_name, maiden_name = cls.maiden_name, birth_date = cls.birth_date,
           death_date = cls.death_date, email = cls.email, phone = cls.phone, updated_at = now(), migration_date = now()
      FROM old JOIN cls ON cls.legacy_id = old.legacy_id AND cls.role = old.role
     WHERE p.id = old.person_id AND cls.outcome = 'migrated'
       -- unchanged persons are not rewritten: a row seen again within the sync's margin changes nothing
       AND (p.person_type, p.first_name, p.middle_name, p.last_name, p.maiden_name, p.birth_date, p.death_date,
            p.email, p.phone)
           IS DISTINCT FROM (cls.person_type, cls.first_name, cls.middle_name, cls.last_name, cls.maiden_name,
                             cls.birth_date, cls.death_date, cls.email, cls.phone)
    RETURNING 1
),
unquarantined AS (
    -- quarantine entries of these rows that no longer apply (a reason that changed is updated in place)
    DELETE FROM migration.quarantine q
     WHERE q.data_migration = %(name)s AND q.legacy_table = %(legacy_table)s AND q.legacy_id = ANY(%(ids)s::bigint[])
       AND NOT EXISTS (SELECT 1 FROM cls WHERE cls.legacy_id = q.legacy_id AND cls.role = q.role
                                           AND cls.outcome = 'quarantined')
    RETURNING 1
),
removed AS (
    DELETE FROM core.persons p
     USING old LEFT JOIN cls ON cls.legacy_id = old.legacy_id AND cls.role = old.role
     WHERE p.id = old.person_id AND coalesce(cls.outcome, 'excluded') <> 'migrated'
    RETURNING 1
),
numbered AS (
    SELECT cls.*, nextval({person_sequence}) AS person_id
      FROM cls
     WHERE outcome = 'migrated'
       AND NOT EXISTS (SELECT 1 FROM old WHERE old.legacy_id = cls.legacy_id AND old.role = cls.role)
),"""
    + INSERT_NEW_PERSONS
    + """
SELECT (SELECT count(DISTINCT legacy_id) FROM cls), (SELECT count(*) FROM updated),
       (SELECT count(*) FROM removed), (SELECT count(*) FROM persons),
       (SELECT count(*) FROM quarantine) + (SELECT count(*) FROM unquarantined)"""
)


# Errors caused by a row's values. Anything else (lock timeout, cancel, lost connection) aborts
# the batch untouched, to be retried: it must never send good rows to quarantine.
ROW_ERRORS = (psycopg.errors.DataError, psycopg.errors.IntegrityError)


def load(directory: Path, name: str) -> ModuleType:
    """The data migration module migrations/data/<name>.py."""
    path = Path(directory) / f"{name}.py"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in Path(directory).glob("[0-9]*.py"))) or "none"
        raise RunbookError(f"There is no data migration {name!r} in {directory}.", f"use one of: {known}.")
    spec = importlib.util.spec_from_file_location(f"bayview_data_migration_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))  # data migrations share migrations/data/cleaning.py
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    for attribute in ("NAME", "LEGACY_TABLE", "KEY", "candidates_sql"):
        if not hasattr(module, attribute):
            raise RunbookError(
                f"{path} has no {attribute}.", "see migrations/data/README.md for what a data migration provides."
            )
    return module


def _legacy_columns(conn: psycopg.Connection, legacy_table: str) -> set[str]:
    schema, table = legacy_table.split(".")
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
        [schema, table],
    ).fetchall()
    return {r[0] for r in rows}


def candidates_sql_for(conn, migration: ModuleType) -> sql.Composable:
    """The migration's candidates query for the legacy columns this environment has."""
    return sql.SQL(migration.candidates_sql(_legacy_columns(conn, migration.LEGACY_TABLE)))


def statement(template: str, cand: sql.Composable, migration: ModuleType) -> sql.Composed:
    """One of the statements above, completed for this migration."""
    return sql.SQL(template).format(
        candidates=cand,
        legacy=sql.SQL(migration.LEGACY_TABLE),
        key=sql.Identifier(migration.KEY),
        person_sequence=sql.SQL(PERSON_SEQUENCE),
    )


def dry_run(params: dict, migration: ModuleType) -> dict:
    """What a run would migrate, quarantine and exclude from its checkpoint on, with sample
    legacy ids; writes nothing."""
    with db.connect(params) as conn:
        cand = candidates_sql_for(conn, migration)
        checkpoint = status(conn, migration.NAME) if _has_checkpoints(conn) else {}
        lo = checkpoint.get("last_key", 0) if checkpoint.get("status") in ("running", "completed") else 0
        rows = conn.execute(
            sql.SQL(DRY_RUN).format(candidates=cand), {"lo": lo, "hi": 2**62, "ids": None, "name": migration.NAME}
        ).fetchall()
    summary: dict[str, int] = {}
    details = []
    for outcome, role, count, sample in rows:
        key = outcome.split(":")[0]
        summary[key] = summary.get(key, 0) + count
        details.append({"outcome": outcome, "role": role, "count": count, "sample_legacy_ids": sample})
    return {"would": summary, "by_role": details}


def _has_checkpoints(conn) -> bool:
    return conn.execute("SELECT to_regclass('migration.data_migration_checkpoints') IS NOT NULL").fetchone()[0]


def _start_checkpoint(conn, migration: ModuleType, legacy_total: int) -> None:
    """The migration's checkpoint row, created when missing (a reversed one runs again)."""
    conn.execute(
        """INSERT INTO migration.data_migration_checkpoints (data_migration, legacy_table, status, legacy_total)
           VALUES (%s, %s, 'running', %s)
           ON CONFLICT (data_migration) DO UPDATE SET legacy_total = EXCLUDED.legacy_total,
               status = CASE WHEN migration.data_migration_checkpoints.status = 'reversed' THEN 'running'
                             ELSE migration.data_migration_checkpoints.status END""",
        [migration.NAME, migration.LEGACY_TABLE, legacy_total],
    )


def _write_batch(conn, migration, cand, lo: int, hi: int) -> tuple[int, ...]:
    """(candidates, migrated, quarantined, excluded, persons without a link, checksum part, rows)."""
    range_has_links = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM core.person_legacy_links WHERE legacy_table = %s "
        "AND legacy_id > %s AND legacy_id <= %s)",
        [migration.LEGACY_TABLE, lo, hi],
    ).fetchone()[0]
    return conn.execute(
        statement(CLASSIFY_AND_WRITE, cand, migration),
        {
            "lo": lo,
            "hi": hi,
            "ids": None,
            "name": migration.NAME,
            "legacy_table": migration.LEGACY_TABLE,
            "range_has_links": range_has_links,
        },
    ).fetchone()


def _write_row_by_row(conn, migration, cand, keys: list[int]) -> tuple[int, ...]:
    """Slow path for a batch that failed: each legacy row in its own savepoint."""
    totals = [0, 0, 0, 0, 0, 0, 0]
    for key in keys:
        try:
            with conn.transaction():
                result = _write_batch(conn, migration, cand, key - 1, key)
        except ROW_ERRORS as exc:
            reason = f"error: {(exc.diag.message_primary or str(exc)).strip()[:300]}"
            table = sql.SQL(migration.LEGACY_TABLE)
            roles = conn.execute(
                sql.SQL(QUARANTINE_WHOLE_ROW).format(key=sql.Identifier(migration.KEY), table=table),
                [migration.NAME, migration.LEGACY_TABLE, reason, key],
            ).fetchall()
            result = (len(roles), 0, len(roles), 0, 0, 0, min(len(roles), 1))
        totals = [a + b for a, b in zip(totals, result, strict=True)]
    return tuple(totals)


# A batch's checkpoint moves on only from where the previous batch left it: batches commit in
# key order, whichever worker finishes first, and a second writer of the checkpoint is refused.
ADVANCE_CHECKPOINT = """
UPDATE migration.data_migration_checkpoints
   SET last_key = %(hi)s, rows_read = rows_read + %(rows)s, candidates = candidates + %(candidates)s,
       migrated = migrated + %(migrated)s, quarantined = quarantined + %(quarantined)s,
       excluded = excluded + %(excluded)s, batches = batches + 1, checksum = %(checksum)s, status = 'running',
       rows_per_second = %(rate)s, eta_seconds = %(eta)s, updated_at = now()
 WHERE data_migration = %(name)s AND last_key = %(lo)s
RETURNING last_key, rows_read, checksum
"""


class _Batches:
    """Batches of one run on `workers` connections. Each batch is one transaction with its
    checkpoint; the batches of a round run side by side on disjoint key ranges, but each one
    commits only after the batch before it has committed. The committed batches are therefore
    always a prefix of the key order, whatever moment the run is killed at: a resume, the sync and
    the validation all read one last_key, as with a single worker."""

    def __init__(self, migration: ModuleType, cand, legacy_total: int):
        self.migration, self.cand, self.legacy_total = migration, cand, legacy_total
        self.table, self.key = sql.SQL(migration.LEGACY_TABLE), sql.Identifier(migration.KEY)
        self.connections: list[psycopg.Connection] = []
        self.pool: ThreadPoolExecutor | None = None
        self.started = time.monotonic()
        self.rows_at_start: int | None = None
        self.timings: list[dict] = []  # for the run report's throughput chart

    def open(self, params: dict, workers: int, conn: psycopg.Connection) -> None:
        """The run's own connection is the first worker's: the database has few connections to
        spare beside the web application's, so one worker uses one, two use two."""
        self.connections.append(conn)
        for _worker in range(workers - 1):
            self.connections.append(db.connect(params))
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bayview-batch")

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)
        for conn in self.connections[1:]:
            conn.close()

    def round(self, conn, batch_size: int, batches: int) -> int:
        """Up to `batches` batches from the checkpoint on; how many committed (0: nothing left)."""
        cp = status(conn, self.migration.NAME)
        if self.rows_at_start is None:
            self.rows_at_start = cp["rows_read"]
        keys = [
            r[0]
            for r in conn.execute(
                sql.SQL("SELECT {k} FROM {t} WHERE {k} > %s ORDER BY {k} LIMIT %s").format(k=self.key, t=self.table),
                [cp["last_key"], batch_size * batches],
            ).fetchall()
        ]
        if not keys:
            conn.execute(
                "UPDATE migration.data_migration_checkpoints SET status = 'completed', updated_at = now(), "
                "eta_seconds = 0 WHERE data_migration = %s",
                [self.migration.NAME],
            )
            return 0
        previous: Future = Future()
        previous.set_result(cp)
        futures = []
        for worker, first in enumerate(range(0, len(keys), batch_size)):
            lo = keys[first - 1] if first else cp["last_key"]
            batch_keys = keys[first : first + batch_size]
            previous = self.pool.submit(self._batch, self.connections[worker], lo, batch_keys, previous)
            futures.append(previous)
        wait(futures)
        committed = [f for f in futures if f.exception() is None]
        failed = next((f.exception() for f in futures if f.exception() is not None), None)
        # A lock timeout after some batches committed: the next round starts where they ended.
        if failed is not None and not (committed and isinstance(failed, pg_errors.LockNotAvailable)):
            raise failed
        return len(committed)

    def _batch(self, conn, lo: int, batch_keys: list[int], previous: Future) -> dict:
        """One batch and its checkpoint, in one transaction; returns the checkpoint it committed."""
        migration, batch_started = self.migration, time.monotonic()
        hi = batch_keys[-1]
        with conn.transaction():
            conn.execute(BATCH_PLANNER_SETTING)  # once per batch; its savepoints and row-by-row retries keep it
            try:
                with conn.transaction():
                    result = _write_batch(conn, migration, self.cand, lo, hi)
            except ROW_ERRORS:
                # Something in the rows themselves: find and quarantine it, row by row.
                result = _write_row_by_row(conn, migration, self.cand, batch_keys)
            candidates, migrated, quarantined, excluded, unlinked, batch_sum, rows = result
            if unlinked:
                raise RunbookError(
                    f"{migration.NAME}: persons and links written differ by {unlinked} in one batch.",
                    "report this; nothing of the batch was kept.",
                )
            failpoints.reach("data_migrate.in_batch", conn.info.dbname)
            before = previous.result()  # the batch before commits first; if it failed, so does this one
            done = before["rows_read"] + rows
            rate = (done - self.rows_at_start) / max(time.monotonic() - self.started, 1e-6)
            advanced = conn.execute(
                ADVANCE_CHECKPOINT,
                {
                    "name": migration.NAME,
                    "lo": lo,
                    "hi": hi,
                    "rows": rows,
                    "candidates": candidates,
                    "migrated": migrated,
                    "quarantined": quarantined,
                    "excluded": excluded,
                    "checksum": hashlib.sha256(f"{before['checksum']}{hi}{batch_sum}".encode()).hexdigest(),
                    "rate": round(rate, 1),
                    "eta": round(max(self.legacy_total - done, 0) / rate, 1) if rate else None,
                },
            ).fetchone()
            if advanced is None:
                raise RunbookError(
                    f"{migration.NAME}: its checkpoint moved during a batch; another session is migrating it.",
                    "find it in pg_stat_activity, let it finish or stop it, then run again: nothing of the batch "
                    "was kept.",
                )
        self.timings.append({"last_key": hi, "rows": rows, "seconds": round(time.monotonic() - batch_started, 4)})
        return dict(zip(("last_key", "rows_read", "checksum"), advanced, strict=True))


def run(
    params: dict,
    migration: ModuleType,
    batch_size: int = 5000,
    max_batches: int | None = None,
    lock_wait_seconds: float = 10.0,
    pause_seconds: float = 0.0,
    workers: int = 1,
) -> dict:
    """Migrate in batches from the last checkpoint to the end of the legacy table, `workers`
    batches at a time, resting pause_seconds between rounds (to spare a busy production server)."""
    if batch_size < 1:
        raise RunbookError("batch_size must be at least 1.", "pass a batch size such as 5000.")
    if workers < 1:
        raise RunbookError("workers must be at least 1.", "pass 1 (one batch at a time) or 2.")
    conn = db.connect(params)
    batches = None
    try:
        db.acquire_run_lock(conn, db.describe(params), lock_wait_seconds)
        halts.require_not_halted(conn, f"Data migration {migration.NAME}")
        cand = candidates_sql_for(conn, migration)
        count = sql.SQL("SELECT count(*) FROM {}").format(sql.SQL(migration.LEGACY_TABLE))
        legacy_total = conn.execute(count).fetchone()[0]
        _start_checkpoint(conn, migration, legacy_total)
        batches = _Batches(migration, cand, legacy_total)
        batches.open(params, workers, conn)
        batches_now = 0
        while max_batches is None or batches_now < max_batches:
            this_round = workers if max_batches is None else min(workers, max_batches - batches_now)
            committed = db.retry_on_lock_timeout(
                lambda n=this_round: batches.round(conn, batch_size, n), what=f"a batch of {migration.NAME}"
            )
            if not committed:
                break
            batches_now += committed
            time.sleep(pause_seconds)
        return status(conn, migration.NAME) | {
            "batches_this_run": batches_now,
            "seconds": round(time.monotonic() - batches.started, 2),
            "batch_timings": sorted(batches.timings, key=lambda t: t["last_key"]),
        }
    finally:
        if batches is not None:
            batches.close()
        if not conn.closed:
            db.release_run_lock(conn)
            conn.close()


CHECKPOINT_KEYS = (
    "status",
    "last_key",
    "legacy_total",
    "rows_read",
    "candidates",
    "migrated",
    "quarantined",
    "excluded",
    "batches",
    "checksum",
    "rows_per_second",
    "eta_seconds",
    "updated_at",
)


def checkpoints(conn, name: str | None = None) -> list[dict]:
    """The checkpoint of one data migration, or of all of them."""
    rows = conn.execute(
        f"""SELECT data_migration, {", ".join(CHECKPOINT_KEYS[:-1])}, updated_at::text
              FROM migration.data_migration_checkpoints
             WHERE %(name)s::text IS NULL OR data_migration = %(name)s ORDER BY data_migration""",
        {"name": name},
    ).fetchall()
    found = []
    for row in rows:
        result = {"data_migration": row[0], **dict(zip(CHECKPOINT_KEYS, row[1:], strict=True))}
        result["rows_per_second"] = float(result["rows_per_second"] or 0)
        result["eta_seconds"] = float(result["eta_seconds"] or 0)
        found.append(result)
    return found


def status(conn, name: str) -> dict:
    found = checkpoints(conn, name)
    return found[0] if found else {"data_migration": name, "status": "not started"}


def reverse(params: dict, migration: ModuleType, lock_wait_seconds: float = 10.0) -> dict:
    """Remove exactly the persons this migration created (found through their links), its
    quarantine rows, and reset its checkpoint. Nothing else is touched."""
    conn = db.connect(params)
    try:
        db.acquire_run_lock(conn, db.describe(params), lock_wait_seconds)
        with conn.transaction():
            removed = conn.execute(
                """DELETE FROM core.persons p USING core.person_legacy_links l
                    WHERE l.person_id = p.id AND l.data_migration = %s RETURNING p.id""",
                [migration.NAME],
            ).rowcount
            unquarantined = conn.execute(
                "DELETE FROM migration.quarantine WHERE data_migration = %s", [migration.NAME]
            ).rowcount
            conn.execute(
                """UPDATE migration.data_migration_checkpoints
                      SET status = 'reversed', last_key = 0, rows_read = 0, candidates = 0, migrated = 0,
                          quarantined = 0, excluded = 0, batches = 0, checksum = '', updated_at = now()
                    WHERE data_migration = %s""",
                [migration.NAME],
            )
        return {"data_migration": migration.NAME, "persons_removed": removed, "quarantine_removed": unquarantined}
    finally:
        if not conn.closed:
            db.release_run_lock(conn)
            conn.close()


def resync_rows(conn: psycopg.Connection, migration: ModuleType, cand: sql.Composable, ids: list[int]) -> tuple:
    """Bring the new schema up to date with these legacy rows as they are now, inside the
    caller's transaction: the one transform shared by the incremental sync and the dual-write
    manager. A row that no longer exists loses its persons and quarantine entries. Returns
    (rows read, persons updated, persons removed, persons created, quarantine entries changed):
    only what differs is written, so a row that did not change changes nothing."""
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


# Legacy rows the application deleted: their persons and quarantine entries go too.
REMOVE_DELETED = """
WITH gone_persons AS (
    DELETE FROM core.persons p USING core.person_legacy_links l
     WHERE l.person_id = p.id AND l.data_migration = %(name)s
       AND NOT EXISTS (SELECT 1 FROM {table} t WHERE t.{key} = l.legacy_id)
    RETURNING 1
), gone_quarantine AS (
    DELETE FROM migration.quarantine q
     WHERE q.data_migration = %(name)s AND NOT EXISTS (SELECT 1 FROM {table} t WHERE t.{key} = q.legacy_id)
    RETURNING 1
)
SELECT (SELECT count(*) FROM gone_persons), (SELECT count(*) FROM gone_quarantine)
"""

# After a sync the counts are recounted from the legacy table, the links and the quarantine.
# Every legacy row yields the same number of candidates (one per role), except a row
# quarantined whole after an unforeseen error, which counts as one. Rows past the checkpoint
# (written meanwhile by the dual-write manager) are counted by the batch that reaches them.
RECOUNT_AFTER_SYNC = """
WITH n AS (
    SELECT (SELECT count(*) FROM {table} t WHERE t.{key} <= c.last_key) AS rows_read,
           (SELECT count(*) FROM core.person_legacy_links l
             WHERE l.data_migration = %(name)s AND l.legacy_id <= c.last_key) AS migrated,
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

OPEN_DISCREPANCIES = """
SELECT DISTINCT legacy_id FROM migration.dual_write_discrepancies
 WHERE legacy_table = %s AND resolved_at IS NULL ORDER BY 1 LIMIT %s
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


def sync(
    params: dict,
    migration: ModuleType,
    batch_size: int = 5000,
    margin_seconds: int = 300,
    lock_wait_seconds: float = 10.0,
    new_rows: bool = True,
) -> dict:
    """Incremental mode, in four steps: migrate new legacy rows (unless new_rows is false: a trial
    syncs only the rows it migrated); repair the rows the dual-write
    manager logged as discrepancies; bring up to date the persons of legacy rows updated since
    the last sync (by the migration's UPDATED_AT column); remove what deleted rows produced.
    The counts are then recounted.

    synced_until stays `margin_seconds` behind the server's clock: a web request whose
    transaction began earlier but committed later still gets picked up next time. A row read
    again within that margin is compared, not rewritten: `changes_this_run` counts only what
    differed (persons updated, removed or created, quarantine entries changed)."""
    updated_at = getattr(migration, "UPDATED_AT", None)
    if not updated_at:
        raise RunbookError(
            f"{migration.NAME} has no UPDATED_AT column to find changed rows by.", "add UPDATED_AT to it."
        )
    batches_now = run(params, migration, batch_size, None, lock_wait_seconds)["batches_this_run"] if new_rows else 0
    conn = db.connect(params)
    try:
        db.acquire_run_lock(conn, db.describe(params), lock_wait_seconds)
        halts.require_not_halted(conn, f"Sync of {migration.NAME}")
        cand = candidates_sql_for(conn, migration)
        table, key, changed = sql.SQL(migration.LEGACY_TABLE), sql.Identifier(migration.KEY), sql.Identifier(updated_at)
        per_row = _candidates_per_row(conn, migration.NAME)
        last_key, since, started_at, until = conn.execute(
            """SELECT last_key, synced_until, started_at, now() - make_interval(secs => %s)
                 FROM migration.data_migration_checkpoints WHERE data_migration = %s""",
            [margin_seconds, migration.NAME],
        ).fetchone()
        since = since or started_at

        repaired, changes = 0, 0
        while True:
            with conn.transaction():
                ids = [r[0] for r in conn.execute(OPEN_DISCREPANCIES, [migration.LEGACY_TABLE, batch_size])]
                if not ids:
                    break
                changes += sum(resync_rows(conn, migration, cand, ids)[1:])
                conn.execute(RESOLVE_DISCREPANCIES, [migration.LEGACY_TABLE, ids])
                repaired += len(ids)

        cursor, resynced = 0, 0
        while True:
            with conn.transaction():
                ids = [
                    r[0]
                    for r in conn.execute(
                        sql.SQL(
                            "SELECT {k} FROM {t} WHERE {k} > %s AND {k} <= %s AND {c} > %s ORDER BY {k} LIMIT %s"
                        ).format(k=key, t=table, c=changed),
                        [cursor, last_key, since, batch_size],
                    ).fetchall()
                ]
                if not ids:
                    break
                changes += sum(resync_rows(conn, migration, cand, ids)[1:])
                cursor, resynced = ids[-1], resynced + len(ids)

        with conn.transaction():
            persons_removed, quarantine_removed = conn.execute(
                sql.SQL(REMOVE_DELETED).format(table=table, key=key), {"name": migration.NAME}
            ).fetchone()
            conn.execute(
                sql.SQL(RECOUNT_AFTER_SYNC).format(table=table, key=key),
                {"name": migration.NAME, "resynced": resynced, "until": until, "per_row": per_row},
            )
        return status(conn, migration.NAME) | {
            "resynced_this_run": resynced,
            "changes_this_run": changes,
            "discrepancies_repaired": repaired,
            "deleted_rows_persons_removed": persons_removed,
            "deleted_rows_quarantine_removed": quarantine_removed,
            "batches_this_run": batches_now,
        }
    finally:
        if not conn.closed:
            db.release_run_lock(conn)
            conn.close()
