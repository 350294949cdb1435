"""Plan, apply and roll back versioned migrations against the ledger.

Guarantees:
- the whole set is checked (files, protected-schema guard, drift, ledger consistency)
  before anything is touched;
- each migration runs in one transaction together with its ledger row, so a crash at any
  moment leaves it either fully applied and recorded, or not at all;
- verify.sql runs inside that transaction after up.sql: if it fails, nothing remains;
- before commit, the runtime guard proves no protected table was written and the
  protected catalog is unchanged (this catches dynamic SQL the static guard cannot see);
- rollback runs down.sql in reverse order, each in its transaction, and proves with
  verify.sql that the objects are gone;
- one runner at a time (advisory lock); lock timeouts are retried with backoff.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from ansible.module_utils.bayview import db, failpoints, fingerprint, halts, ledger
from ansible.module_utils.bayview.errors import RunbookError
from ansible.module_utils.bayview.migration_files import Migration, last_version_of_phase, load_migrations
from ansible.module_utils.bayview.protected_guard import PROTECTED_SCHEMAS, PROTECTED_TABLES, check_sql

# The schemas of the new design (`migration` is the tool's own and outlives every rollback).
NEW_SCHEMAS = ("core", "property", "education", "events", "recreation", "finance")

RUNTIME_WRITES_SQL = """
SELECT pg_catalog.format('%%I.%%I', schemaname, relname), n_tup_ins, n_tup_upd, n_tup_del
  FROM pg_catalog.pg_stat_xact_all_tables
 WHERE (schemaname = ANY(%s) OR pg_catalog.format('%%I.%%I', schemaname, relname) = ANY(%s))
   AND n_tup_ins + n_tup_upd + n_tup_del > 0
"""


@dataclass
class Plan:
    target_version: int
    current_version: int
    to_apply: list[Migration] = field(default_factory=list)
    to_rollback: list[Migration] = field(default_factory=list)
    to_accept: list[Migration] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        return bool(self.to_apply or self.to_rollback or self.to_accept)

    def summary(self) -> dict:
        def files(m: Migration) -> dict:
            return {"version": m.version, "name": m.name, "files": [str(m.path(p)) for p in ("up", "down", "verify")]}

        return {
            "current_version": self.current_version,
            "target_version": self.target_version,
            "apply": [files(m) for m in self.to_apply],
            "rollback": [files(m) for m in self.to_rollback],
            "accept_checksums": [m.version for m in self.to_accept],
        }


def check_files(migrations: list[Migration]) -> None:
    """Refuse the set if any file writes to or alters a protected schema."""
    violations = []
    for m in migrations:
        for part in ("up", "down", "verify"):
            violations.extend(check_sql(m.sql[part], str(m.path(part))))
    if violations:
        listed = "\n  ".join(str(v) for v in violations)
        raise RunbookError(
            f"Refused: {len(violations)} statement(s) would write to or alter a protected legacy "
            f"schema ({', '.join(PROTECTED_SCHEMAS)}) or break the one-transaction rule:\n  {listed}\n"
            "Nothing was changed.",
            "rewrite the migration so that it only reads the legacy schemas (the new design lives "
            "in core, property, education, events, recreation, finance and migration).",
        )


def make_plan(
    migrations: list[Migration],
    rows: dict[int, ledger.LedgerRow],
    target_version: int,
    accept_changed: list[int],
    direction: str = "any",
) -> Plan:
    by_version = {m.version: m for m in migrations}
    latest = max(by_version, default=0)
    if target_version < 0 or target_version > latest:
        raise RunbookError(
            f"Target version {target_version} does not exist: the migrations go from 1 to {latest}. "
            "Nothing was changed.",
            f"choose a target between 0 (the baseline before Phase 1) and {latest}.",
        )
    unknown = sorted(v for v, r in rows.items() if v not in by_version and r.status == "applied")
    if unknown:
        raise RunbookError(
            f"The database has version(s) {', '.join(map(str, unknown))} applied, but this checkout "
            "has no migration files for them. Nothing was changed.",
            "run the runbook from the checkout (git revision) that applied them, or a newer one.",
        )
    current = ledger.current_version(rows)
    stray = sorted(v for v, r in rows.items() if r.status == "applied" and v > current)
    if stray:
        raise RunbookError(
            f"The ledger is inconsistent: version(s) {', '.join(map(str, stray))} are applied but "
            f"version {current + 1} is not. Nothing was changed.",
            "inspect migration.runbook_ledger and migration.runbook_ledger_events; roll back to "
            f"{current} with the emergency rollback playbook, or fix the ledger by hand with a record.",
        )
    if direction == "down" and target_version > current:
        raise RunbookError(
            f"Target version {target_version} is above the current version {current}: a rollback only goes "
            "down. Nothing was changed.",
            f"choose a target between 0 (the baseline before Phase 1) and {current}; the phase playbooks go forward.",
        )
    plan = Plan(target_version=target_version, current_version=current)
    drifted = []
    for version in range(1, current + 1):
        row, m = rows[version], by_version[version]
        recorded = {"up": row.up_sha256, "down": row.down_sha256, "verify": row.verify_sha256}
        changed = [p for p in ("up", "down", "verify") if recorded[p] != m.checksums[p]]
        if changed:
            if version in accept_changed:
                plan.to_accept.append(m)
            else:
                drifted.append(f"{m.label}: {', '.join(p + '.sql' for p in changed)} changed since it was applied")
    if drifted:
        raise RunbookError(
            "Refused: applied migration files were changed (checksum drift):\n  "
            + "\n  ".join(drifted)
            + "\nThe database was built from the old files; nothing was changed.",
            "restore the files from version control. If the change is deliberate and harmless "
            "(a comment, a safer down.sql), accept it explicitly with "
            '-e \'{"accept_checksum_versions": [N], "accept_checksum_reason": "why"}\'; '
            "it is recorded.",
        )
    if target_version > current:
        plan.to_apply = [by_version[v] for v in range(current + 1, target_version + 1)]
    elif target_version < current:
        plan.to_rollback = [by_version[v] for v in range(current, target_version, -1)]
    return plan


def runtime_guard(conn: psycopg.Connection, catalog_before: dict[str, str], where: str) -> None:
    """Inside the migration's transaction: no protected table written, protected catalog intact."""
    writes = conn.execute(RUNTIME_WRITES_SQL, [list(PROTECTED_SCHEMAS), list(PROTECTED_TABLES)]).fetchall()
    if writes:
        detail = ", ".join(f"{t} (+{i} ~{u} -{d})" for t, i, u, d in writes)
        raise RunbookError(
            f"Refused at run time: {where} wrote to protected table(s) {detail}. "
            "Its transaction was rolled back; nothing of it remains.",
            "remove the write (it may hide in dynamic SQL or a function) so that the legacy data stays untouched.",
        )
    changed = fingerprint.differences(
        {"catalog": catalog_before, "tables": {}}, {"catalog": fingerprint.catalog(conn), "tables": {}}
    )
    if changed:
        raise RunbookError(
            f"Refused at run time: {where} changed the protected catalog ({'; '.join(changed[:10])}). "
            "Its transaction was rolled back; nothing of it remains.",
            "remove the statement that alters the legacy schemas (it may hide in dynamic SQL).",
        )


def _error_location(exc: psycopg.Error, text: str) -> str:
    diag = exc.diag
    position = diag.statement_position
    where = ""
    if position and position.isdigit():
        where = f", line {text.count(chr(10), 0, int(position)) + 1}"
    context = f" (context: {diag.context.strip()})" if diag.context else ""
    return f"{where}: {diag.message_primary or str(exc).strip()}{context}"


class _VerifyFailed(Exception):
    pass


def apply_one(conn, m: Migration, by: str, run_id: str, catalog_before: dict, attempts: int) -> int:
    """Apply m with its ledger row in one transaction; returns execution time in ms."""

    def attempt() -> int:
        started = time.monotonic()
        with conn.transaction():
            conn.execute(m.sql["up"])
            try:
                conn.execute(m.sql["verify"])
            except psycopg.Error as exc:
                raise _VerifyFailed(exc) from exc
            runtime_guard(conn, catalog_before, f"{m.path('up')}")
            elapsed = int((time.monotonic() - started) * 1000)
            ledger.mark_applied(conn, m, by, run_id, elapsed)
            failpoints.reach("migrate.in_transaction", conn.info.dbname)
        return elapsed

    try:
        return db.retry_on_lock_timeout(attempt, attempts=attempts, what=f"migration {m.label}")
    except _VerifyFailed as failed:
        exc = failed.args[0]
        message = f"{m.path('verify')}{_error_location(exc, m.sql['verify'])}"
        ledger.mark_failed(conn, m, by, run_id, f"verify failed: {message}")
        raise RunbookError(
            f"Migration {m.label} was applied but its verify step failed ({message}); the migration "
            "was rolled back in the same transaction, so nothing of it remains. The run stopped here.",
            "fix up.sql or verify.sql so that verify proves what up creates, then run again.",
        ) from None
    except RunbookError as err:
        ledger.mark_failed(conn, m, by, run_id, str(err))
        raise
    except psycopg.Error as exc:
        message = f"{m.path('up')}{_error_location(exc, m.sql['up'])}"
        ledger.mark_failed(conn, m, by, run_id, message)
        raise RunbookError(
            f"Migration {m.label} failed ({message}). Its transaction was rolled back: nothing of "
            "it remains, and the versions before it stay applied. The run stopped here.",
            "fix the migration (or the database state it met), then run again; it resumes at this version.",
        ) from None


def rollback_one(conn, m: Migration, by: str, run_id: str, catalog_before: dict, attempts: int) -> int:
    """Run m's down.sql and prove with verify.sql that its objects are gone; one transaction."""

    def attempt() -> int:
        started = time.monotonic()
        with conn.transaction():
            conn.execute(m.sql["down"])
            still_there = True
            try:
                with conn.transaction():  # a savepoint: verify is expected to fail now
                    conn.execute(m.sql["verify"])
            except psycopg.Error:
                still_there = False
            if still_there:
                raise RunbookError(
                    f"Rollback of {m.label}: {m.path('down')} ran, but {m.path('verify')} still "
                    "passes, so its objects are not gone. The rollback of this version was undone; "
                    "it stays applied.",
                    "fix down.sql so that it removes everything up.sql creates, then run the rollback again.",
                )
            runtime_guard(conn, catalog_before, f"{m.path('down')}")
            failpoints.reach("migrate.in_transaction", conn.info.dbname)
            elapsed = int((time.monotonic() - started) * 1000)
            ledger.mark_rolled_back(conn, m, by, run_id, elapsed)
        return elapsed

    try:
        return db.retry_on_lock_timeout(attempt, attempts=attempts, what=f"rollback of {m.label}")
    except RunbookError as err:
        ledger.mark_failed(conn, m, by, run_id, str(err))
        raise
    except psycopg.Error as exc:
        message = f"{m.path('down')}{_error_location(exc, m.sql['down'])}"
        ledger.mark_failed(conn, m, by, run_id, f"rollback failed: {message}")
        raise RunbookError(
            f"Rollback of {m.label} failed ({message}). Its transaction was undone: the version "
            "stays applied and the versions below it are untouched.",
            "fix down.sql (or the state it met), then run the rollback again; if it cannot be "
            "fixed quickly, restore the restore point taken before the phase.",
        ) from None


@dataclass
class Outcome:
    plan: Plan
    applied: list[dict] = field(default_factory=list)
    rolled_back: list[dict] = field(default_factory=list)
    accepted: list[int] = field(default_factory=list)
    ledger_before: dict = field(default_factory=dict)
    ledger_after: dict = field(default_factory=dict)
    new_schemas_present: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.applied or self.rolled_back or self.accepted)


def run(
    params: dict,
    migrations_dir: Path,
    target_version: int | None,
    target_phase: int | None,
    by: str,
    run_id: str,
    check_mode: bool,
    accept_changed: list[int] | None = None,
    accept_reason: str = "",
    lock_wait_seconds: float = 10.0,
    lock_attempts: int = 5,
    direction: str = "any",
) -> Outcome:
    """Bring the database to target_version (or the last version of target_phase)."""
    migrations = load_migrations(migrations_dir)
    check_files(migrations)
    if target_version is None:
        target_version = (
            last_version_of_phase(migrations, target_phase) if target_phase is not None else len(migrations)
        )
    accept_changed = accept_changed or []
    if accept_changed and not accept_reason.strip():
        raise RunbookError(
            "Accepting changed migration files needs a reason; nothing was changed.",
            'add the reason: -e \'{"accept_checksum_versions": [N], '
            '"accept_checksum_reason": "what changed and why it is safe"}\'.',
        )
    target = db.describe(params)
    conn = db.connect(params)
    try:
        if not check_mode:
            db.acquire_run_lock(conn, target, lock_wait_seconds)
        rows = ledger.read(conn)
        plan = make_plan(migrations, rows, target_version, accept_changed, direction)
        outcome = Outcome(plan=plan, ledger_before={v: r.as_dict() for v, r in rows.items()})
        if check_mode:
            outcome.ledger_after = _planned_ledger(rows, plan)
            outcome.new_schemas_present = _new_schemas_present(conn)
            return outcome
        if plan.to_apply:
            halts.require_not_halted(conn, "Applying migrations")
        ledger.bootstrap(conn, by, run_id)
        for m in plan.to_accept:
            ledger.accept_checksums(conn, m, rows[m.version], by, run_id, accept_reason)
            outcome.accepted.append(m.version)
        catalog_before = fingerprint.catalog(conn)
        for m in plan.to_apply:
            ms = apply_one(conn, m, by, run_id, catalog_before, lock_attempts)
            outcome.applied.append({"version": m.version, "name": m.name, "execution_ms": ms})
        for m in plan.to_rollback:
            ms = rollback_one(conn, m, by, run_id, catalog_before, lock_attempts)
            outcome.rolled_back.append({"version": m.version, "name": m.name, "execution_ms": ms})
        outcome.ledger_after = {v: r.as_dict() for v, r in ledger.read(conn).items()}
        outcome.new_schemas_present = _new_schemas_present(conn)
        return outcome
    finally:
        if not conn.closed:
            db.release_run_lock(conn)
            conn.close()


def _new_schemas_present(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname = ANY(%s) ORDER BY 1", [list(NEW_SCHEMAS)]
    ).fetchall()
    return [r[0] for r in rows]


def _planned_ledger(rows: dict[int, ledger.LedgerRow], plan: Plan) -> dict:
    after = {v: r.as_dict() for v, r in rows.items()}
    for m in plan.to_apply:
        after[m.version] = {
            "version": m.version,
            "name": m.name,
            "phase": m.phase,
            "status": "applied",
            "up_sha256": m.checksums["up"],
        }
    for m in plan.to_rollback:
        after[m.version] = {**after[m.version], "status": "rolled_back"}
    return after


def render_ledger(rows: dict) -> str:
    if not rows:
        return "(no versions recorded)\n"
    return "".join(
        f"{int(v):04d} {r['name']:<40} {r['status']:<12} up {str(r.get('up_sha256', ''))[:12]}\n"
        for v, r in sorted(rows.items(), key=lambda kv: int(kv[0]))
    )
