"""The batch executor of the data migrations: batched, resumable runs from the legacy tables into
the new design, their dry run, their reverse, and their checkpoints.

A data migration (migrations/data/, loaded by data_migrations.py) provides the SQL of its
candidates; data_migration_sql.py classifies them and writes them into the migration's target.
Each batch walks the primary key (never OFFSET) and is one transaction together with its
checkpoint: a run killed at any moment resumes after the last committed batch, with no
duplicate and no gap. If a batch fails for a reason the classification did not foresee, it
is redone row by row in savepoints and the failing rows are quarantined with the error: a bad
row never aborts a batch. A migration runs only once those it depends on have completed, and
is reversed only once those that depend on it have been.
"""

from __future__ import annotations

import hashlib
import threading
import time
import weakref
from concurrent.futures import Future, ThreadPoolExecutor, wait
from types import ModuleType

import psycopg
from ansible.module_utils.bayview import db, failpoints, halts
from ansible.module_utils.bayview.data_migration_sql import (
    BATCH_PLANNER_SETTING,
    CLASSIFY_AND_WRITE,
    DRY_RUN,
    QUARANTINE_WHOLE_ROW,
    RANGE_HAS_LINKS,
    REVERSE,
    Target,
    statement,
)
from ansible.module_utils.bayview.errors import RunbookError
from psycopg import errors as pg_errors
from psycopg import sql

# Errors caused by a row's values. Anything else (lock timeout, cancel, lost connection) aborts
# the batch untouched, to be retried: it must never send good rows to quarantine.
ROW_ERRORS = (psycopg.errors.DataError, psycopg.errors.IntegrityError)


_columns_lock = threading.Lock()
_columns_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def legacy_columns(conn: psycopg.Connection, legacy_table: str) -> frozenset[str]:
    """The legacy table's columns in this environment, looked up once per connection."""
    with _columns_lock:
        cached = _columns_cache.setdefault(conn, {})
        if legacy_table in cached:
            return cached[legacy_table]
    schema, table = legacy_table.split(".")
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
        [schema, table],
    ).fetchall()
    columns = frozenset(r[0] for r in rows)
    with _columns_lock:
        _columns_cache[conn][legacy_table] = columns
    return columns


def candidates_sql_for(conn, migration: ModuleType) -> sql.Composable:
    """The migration's candidates query for the legacy columns this environment has, and, for a
    migration that takes Notion's winning values (NOTION_WINNERS), whether Notion is staged here."""
    columns = set(legacy_columns(conn, migration.LEGACY_TABLE))
    if not getattr(migration, "NOTION_WINNERS", None):
        return sql.SQL(migration.candidates_sql(columns))
    return sql.SQL(migration.candidates_sql(columns, notion_staged=notion_staged(conn)))


def notion_staged(conn) -> bool:
    """Whether this database has Notion's staging (migration 0010), looked up once per connection.
    By the catalog, not information_schema, which hides a table from a role that may not read it:
    the application's role must then fail loudly, not mirror without Notion's winning values."""
    with _columns_lock:
        cached = _columns_cache.setdefault(conn, {})
        if NOTION_DIFFERENCES in cached:
            return cached[NOTION_DIFFERENCES]
    found = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [NOTION_DIFFERENCES]).fetchone()[0]
    with _columns_lock:
        _columns_cache[conn][NOTION_DIFFERENCES] = found
    return found


NOTION_DIFFERENCES = "migration.notion_differences"


def legacy_table_exists(conn, migration: ModuleType) -> bool:
    """Whether this environment has the migration's legacy table (some lack bayview.prepayments)."""
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL", [migration.LEGACY_TABLE]).fetchone()[0]


ABSENT = "not in this environment"


def _absent(conn, migration: ModuleType) -> dict:
    """A migration of a legacy table this environment does not have: completed, with nothing to do."""
    _start_checkpoint(conn, migration, 0)
    conn.execute(
        "UPDATE migration.data_migration_checkpoints SET status = 'completed', updated_at = now() "
        "WHERE data_migration = %s",
        [migration.NAME],
    )
    return status(conn, migration.NAME) | {
        "batches_this_run": 0,
        "seconds": 0.0,
        "batch_timings": [],
        "legacy_table": ABSENT,
    }


def dry_run(params: dict, migration: ModuleType) -> dict:
    """What a run would migrate, quarantine and exclude from its checkpoint on, with sample
    legacy ids; writes nothing."""
    with db.connect(params) as conn:
        if not legacy_table_exists(conn, migration):
            return {"would": {}, "by_role": [], "legacy_table": ABSENT}
        cand = candidates_sql_for(conn, migration)
        checkpoint = status(conn, migration.NAME) if _has_checkpoints(conn) else {}
        lo = checkpoint.get("last_key", 0) if checkpoint.get("status") in ("running", "completed") else 0
        try:
            rows = conn.execute(
                sql.SQL(DRY_RUN).format(candidates=cand), {"lo": lo, "hi": 2**62, "ids": None, "name": migration.NAME}
            ).fetchall()
        except pg_errors.UndefinedTable as exc:
            # Check mode of a phase that would create the tables the candidates refer to: nothing to count yet.
            return {
                "would": {},
                "by_role": [],
                "not_counted": f"the new design is not there yet ({exc.diag.message_primary})",
            }
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
    """(candidates, migrated, quarantined, excluded, rows written without a link, checksum part, rows)."""
    range_has_links = conn.execute(
        sql.SQL(RANGE_HAS_LINKS).format(links=Target(migration).links), [migration.LEGACY_TABLE, lo, hi]
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


def refusal_reason(exc: psycopg.Error) -> str:
    """The quarantine reason of a row the database refused: its message, and what it names."""
    said = (exc.diag.message_primary or str(exc)).strip()
    detail = (exc.diag.message_detail or "").strip()
    return (f"error: {said}" + (f" ({detail})" if detail else ""))[:400]


def _write_row_by_row(conn, migration, cand, keys: list[int]) -> tuple[int, ...]:
    """Slow path for a batch that failed: each legacy row in its own savepoint."""
    totals = [0, 0, 0, 0, 0, 0, 0]
    for key in keys:
        try:
            with conn.transaction():
                result = _write_batch(conn, migration, cand, key - 1, key)
        except ROW_ERRORS as exc:
            reason = refusal_reason(exc)
            roles = conn.execute(
                statement(QUARANTINE_WHOLE_ROW, cand, migration),
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
                    f"{migration.NAME}: rows and links written differ by {unlinked} in one batch.",
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
        require_dependencies(conn, migration, sample=max_batches is not None)
        if not legacy_table_exists(conn, migration):
            return _absent(conn, migration)
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


def require_dependencies(conn, migration: ModuleType, sample: bool = False) -> None:
    """Refuse to run a migration before those it depends on have completed (a service's details
    need the service). A sample (Phase 2's trial) needs them only started: its rows whose parent
    is not in the sample are quarantined for the length of the trial, which is reversed."""
    ready = ("running", "completed") if sample else ("completed",)
    states = {name: status(conn, name)["status"] for name in migration.DEPENDS_ON}
    waiting = [f"{name} ({state})" for name, state in states.items() if state not in ready]
    if waiting:
        raise RunbookError(
            f"Data migration {migration.NAME} depends on {', '.join(waiting)}, which has not "
            f"{'started' if sample else 'completed'}: it is refused; nothing was changed.",
            f"run {', '.join(migration.DEPENDS_ON)} first (bayview_data_migrations lists them before it).",
        )


def require_no_dependents(conn, migration: ModuleType, dependents: list[str]) -> None:
    """Refuse to reverse a migration while one that depends on it still holds rows."""
    states = {name: status(conn, name)["status"] for name in dependents}
    holding = [f"{name} ({state})" for name, state in states.items() if state in ("running", "completed")]
    if holding:
        raise RunbookError(
            f"Data migration {migration.NAME} cannot be reversed while {', '.join(holding)} depends on it: "
            "nothing was changed.",
            f"reverse {', '.join(dependents)} first (the reverse runs in the opposite order).",
        )


def reverse(params: dict, migration: ModuleType, lock_wait_seconds: float = 10.0, dependents: list[str] = ()) -> dict:
    """Remove exactly the rows this migration created in its target (found through their links),
    its quarantine rows, and reset its checkpoint. Nothing else is touched."""
    conn = db.connect(params)
    try:
        db.acquire_run_lock(conn, db.describe(params), lock_wait_seconds)
        require_no_dependents(conn, migration, list(dependents))
        with conn.transaction():
            # Right after a large migration the target may still look empty to the planner (autovacuum
            # has not analysed it yet), which then joins the rows to their links by a nested loop:
            # minutes for a million rows instead of seconds. A hash join is right at any size. (ANALYZE
            # would need a lock autovacuum may hold, and a rollback must not wait for it.)
            conn.execute("SET LOCAL enable_nestloop = off")
            removed = conn.execute(statement(REVERSE, sql.SQL(""), migration), [migration.NAME]).rowcount
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
        return {"data_migration": migration.NAME, "rows_removed": removed, "quarantine_removed": unquarantined}
    finally:
        if not conn.closed:
            db.release_run_lock(conn)
            conn.close()
