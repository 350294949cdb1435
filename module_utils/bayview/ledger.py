"""The runbook's ledger: which version is applied, with what files, by whom, and its history.

It lives in schema `migration` beside the hand-made `migration.schema_versions`, which we
adopt and never change (its versions repeat and carry no checksum, so they cannot be ours).
The ledger tables are the tool's own records: a rollback to the baseline keeps them, because
they hold the record of that rollback.

Tables:
  migration.runbook_ledger         one row per version: current status and checksums
  migration.runbook_ledger_events  append-only history: applied, rolled_back, failed, …
  migration.runbook_fingerprints   legacy fingerprints taken before and after each run
  migration.runbook_runs           one row per playbook run (phase, rollback, …)
  migration.runbook_events         events the runbook emitted (phase started, rollback, …)
  migration.runbook_notifications  their deliveries to webhooks and by email
  migration.phase_gates            each phase's success criteria, evidence and sign-off
  migration.performance_baselines  timings of representative legacy queries (Phase 1)
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass

import psycopg

BOOTSTRAP_SQL = """
CREATE TABLE IF NOT EXISTS migration.runbook_ledger (
    version        integer PRIMARY KEY CHECK (version > 0),
    name           text NOT NULL,
    phase          integer NOT NULL,
    up_sha256      text NOT NULL,
    down_sha256    text NOT NULL,
    verify_sha256  text NOT NULL,
    status         text NOT NULL CHECK (status IN ('applied', 'rolled_back', 'failed')),
    applied_at     timestamptz,
    applied_by     text,
    execution_ms   integer,
    rolled_back_at timestamptz,
    rolled_back_by text,
    updated_at     timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp()
);
CREATE TABLE IF NOT EXISTS migration.runbook_ledger_events (
    id           bigserial PRIMARY KEY,
    version      integer,
    action       text NOT NULL CHECK (action IN ('applied', 'rolled_back', 'failed',
                                                  'checksum_accepted', 'adopted_handmade_ledger')),
    at           timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    by           text NOT NULL,
    run_id       text,
    execution_ms integer,
    checksums    jsonb,
    details      jsonb
);
CREATE TABLE IF NOT EXISTS migration.runbook_fingerprints (
    id                 bigserial PRIMARY KEY,
    taken_at           timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    label              text NOT NULL,
    run_id             text,
    scope              text NOT NULL,
    fingerprint_sha256 text NOT NULL,
    catalog_sha256     text NOT NULL,
    tables             jsonb NOT NULL,
    catalog            jsonb NOT NULL
);
CREATE TABLE IF NOT EXISTS migration.runbook_runs (
    run_id          text PRIMARY KEY,
    playbook        text NOT NULL,
    phase           text,
    operator        text NOT NULL,
    control_host    text,
    check_mode      boolean NOT NULL DEFAULT false,
    started_at      timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    finished_at     timestamptz,
    status          text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'interrupted')),
    version_before  integer,
    version_after   integer,
    details         jsonb NOT NULL DEFAULT '{}',
    -- kept by the run's keeper (run_keeper.py): a run kept alive whose keeper is gone was interrupted
    kept_alive      boolean NOT NULL DEFAULT false,
    current_task    text,
    last_seen_at    timestamptz
);
CREATE TABLE IF NOT EXISTS migration.runbook_events (
    id          bigserial PRIMARY KEY,
    occurred_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    event_type  text NOT NULL,
    summary     text NOT NULL,
    details     jsonb NOT NULL DEFAULT '{}',
    run_id      text
);
CREATE TABLE IF NOT EXISTS migration.runbook_notifications (
    id         bigserial PRIMARY KEY,
    event_id   bigint NOT NULL REFERENCES migration.runbook_events (id),
    channel    text NOT NULL CHECK (channel IN ('webhook', 'email')),
    name       text,
    target     text NOT NULL,
    status     text NOT NULL CHECK (status IN ('delivered', 'pending', 'failed')),
    attempts   integer NOT NULL,
    last_error text,
    updated_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp()
);
CREATE TABLE IF NOT EXISTS migration.phase_gates (
    id            bigserial PRIMARY KEY,
    phase         integer NOT NULL,
    run_id        text NOT NULL,
    passed        boolean NOT NULL,
    criteria      jsonb NOT NULL,
    evidence      jsonb NOT NULL DEFAULT '{}',
    restore_point text,
    recorded_at   timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    signed_off_by text,
    signed_off_at timestamptz,
    signoff_kind  text CHECK (signoff_kind IN ('operator', 'automatic (local rehearsal)'))
);
-- Set by the emergency rollback: no data migration or forward migration runs until a phase
-- playbook is started again (which clears it, recorded).
CREATE TABLE IF NOT EXISTS migration.runbook_halts (
    id             bigserial PRIMARY KEY,
    reason         text NOT NULL,
    run_id         text,
    set_by         text NOT NULL,
    set_at         timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    cleared_by     text,
    cleared_run_id text,
    cleared_at     timestamptz
);
CREATE TABLE IF NOT EXISTS migration.performance_baselines (
    id           bigserial PRIMARY KEY,
    run_id       text,
    taken_at     timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    query_name   text NOT NULL,
    query_sha256 text NOT NULL,
    milliseconds numeric NOT NULL
);
"""

LEDGER_COLUMNS = (
    "version, name, phase, up_sha256, down_sha256, verify_sha256, status, "
    "to_char(applied_at, 'YYYY-MM-DD HH24:MI:SS'), applied_by, execution_ms, "
    "to_char(rolled_back_at, 'YYYY-MM-DD HH24:MI:SS'), rolled_back_by"
)


@dataclass(frozen=True)
class LedgerRow:
    version: int
    name: str
    phase: int
    up_sha256: str
    down_sha256: str
    verify_sha256: str
    status: str
    applied_at: str | None
    applied_by: str | None
    execution_ms: int | None
    rolled_back_at: str | None
    rolled_back_by: str | None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def exists(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT pg_catalog.to_regclass('migration.runbook_ledger') IS NOT NULL").fetchone()[0]


def handmade_ledger_rows(conn: psycopg.Connection) -> int | None:
    """Row count of the hand-made migration.schema_versions, or None when there is none."""
    if not conn.execute("SELECT pg_catalog.to_regclass('migration.schema_versions') IS NOT NULL").fetchone()[0]:
        return None
    return conn.execute("SELECT count(*) FROM migration.schema_versions").fetchone()[0]


def upgrade_runbook_runs(conn: psycopg.Connection) -> None:
    """A runbook_runs table made by an earlier version gains what run keepers need (once)."""
    if conn.execute(
        "SELECT NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = 'migration.runbook_runs'::regclass "
        "AND attname = 'kept_alive' AND NOT attisdropped)"
    ).fetchone()[0]:
        conn.execute(
            """ALTER TABLE migration.runbook_runs
                   ADD COLUMN kept_alive boolean NOT NULL DEFAULT false,
                   ADD COLUMN current_task text,
                   ADD COLUMN last_seen_at timestamptz,
                   DROP CONSTRAINT runbook_runs_status_check,
                   ADD CONSTRAINT runbook_runs_status_check
                       CHECK (status IN ('running', 'succeeded', 'failed', 'interrupted'))"""
        )


def bootstrap(conn: psycopg.Connection, by: str, run_id: str) -> None:
    """Create the ledger tables if missing (idempotent) and record adopting a hand-made ledger once."""
    with conn.transaction():
        # Only when missing: CREATE SCHEMA IF NOT EXISTS still needs CREATE on the database.
        if conn.execute("SELECT pg_catalog.to_regnamespace('migration') IS NULL").fetchone()[0]:
            conn.execute("CREATE SCHEMA migration")
        conn.execute(BOOTSTRAP_SQL)
        upgrade_runbook_runs(conn)
        handmade = handmade_ledger_rows(conn)
        adopted = conn.execute(
            "SELECT EXISTS (SELECT 1 FROM migration.runbook_ledger_events WHERE action = 'adopted_handmade_ledger')"
        ).fetchone()[0]
        if handmade is not None and not adopted:
            record_event(
                conn,
                None,
                "adopted_handmade_ledger",
                by,
                run_id,
                details={
                    "handmade_table": "migration.schema_versions",
                    "rows": handmade,
                    "note": "kept exactly as found; the runbook never writes to it",
                },
            )


def read(conn: psycopg.Connection) -> dict[int, LedgerRow]:
    if not exists(conn):
        return {}
    rows = conn.execute(f"SELECT {LEDGER_COLUMNS} FROM migration.runbook_ledger ORDER BY version").fetchall()
    return {r[0]: LedgerRow(*r) for r in rows}


def current_version(rows: dict[int, LedgerRow]) -> int:
    """Highest version such that it and every version below it are applied."""
    version = 0
    while version + 1 in rows and rows[version + 1].status == "applied":
        version += 1
    return version


def record_event(
    conn: psycopg.Connection,
    version: int | None,
    action: str,
    by: str,
    run_id: str,
    execution_ms: int | None = None,
    checksums: dict | None = None,
    details: dict | None = None,
) -> None:
    conn.execute(
        """INSERT INTO migration.runbook_ledger_events
               (version, action, by, run_id, execution_ms, checksums, details)
           VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s::jsonb)""",
        [
            version,
            action,
            by,
            run_id,
            execution_ms,
            json.dumps(checksums) if checksums else None,
            json.dumps(details) if details else None,
        ],
    )


def _identity(migration) -> list:
    """version, name, phase and the three checksums, in the ledger's column order."""
    c = migration.checksums
    return [migration.version, migration.name, migration.phase, c["up"], c["down"], c["verify"]]


def mark_applied(conn, migration, by: str, run_id: str, execution_ms: int) -> None:
    conn.execute(
        """INSERT INTO migration.runbook_ledger
               (version, name, phase, up_sha256, down_sha256, verify_sha256, status,
                applied_at, applied_by, execution_ms, rolled_back_at, rolled_back_by, updated_at)
           VALUES (%s, %s, %s, %s, %s, %s, 'applied', pg_catalog.clock_timestamp(), %s, %s, NULL, NULL,
                   pg_catalog.clock_timestamp())
           ON CONFLICT (version) DO UPDATE SET
               name = EXCLUDED.name, phase = EXCLUDED.phase, up_sha256 = EXCLUDED.up_sha256,
               down_sha256 = EXCLUDED.down_sha256, verify_sha256 = EXCLUDED.verify_sha256,
               status = 'applied', applied_at = EXCLUDED.applied_at, applied_by = EXCLUDED.applied_by,
               execution_ms = EXCLUDED.execution_ms, rolled_back_at = NULL, rolled_back_by = NULL,
               updated_at = EXCLUDED.updated_at""",
        [*_identity(migration), by, execution_ms],
    )
    record_event(conn, migration.version, "applied", by, run_id, execution_ms, migration.checksums)


def mark_rolled_back(conn, migration, by: str, run_id: str, execution_ms: int) -> None:
    conn.execute(
        """UPDATE migration.runbook_ledger
              SET status = 'rolled_back', rolled_back_at = pg_catalog.clock_timestamp(),
                  rolled_back_by = %s, updated_at = pg_catalog.clock_timestamp()
            WHERE version = %s""",
        [by, migration.version],
    )
    record_event(conn, migration.version, "rolled_back", by, run_id, execution_ms, migration.checksums)


def mark_failed(conn, migration, by: str, run_id: str, error: str) -> None:
    """Record a failed attempt in its own transaction (the migration's own was rolled back).

    A version that was never applied gets status 'failed'; an applied version whose
    rollback failed stays 'applied' (that is the truth) and only the event says it failed.
    """
    # Best effort: the connection may be gone; the original error is what the operator needs.
    with contextlib.suppress(psycopg.Error):
        _record_failure(conn, migration, by, run_id, error)


def _record_failure(conn, migration, by: str, run_id: str, error: str) -> None:
    with conn.transaction():
        conn.execute(
            """INSERT INTO migration.runbook_ledger
                   (version, name, phase, up_sha256, down_sha256, verify_sha256, status)
               VALUES (%s, %s, %s, %s, %s, %s, 'failed')
               ON CONFLICT (version) DO UPDATE SET status = 'failed', updated_at = pg_catalog.clock_timestamp()
               WHERE migration.runbook_ledger.status <> 'applied'""",
            _identity(migration),
        )
        record_event(conn, migration.version, "failed", by, run_id, details={"error": error[:2000]})


def accept_checksums(conn, migration, old: LedgerRow, by: str, run_id: str, reason: str) -> None:
    with conn.transaction():
        conn.execute(
            """UPDATE migration.runbook_ledger
                  SET up_sha256 = %s, down_sha256 = %s, verify_sha256 = %s,
                      updated_at = pg_catalog.clock_timestamp()
                WHERE version = %s""",
            [migration.checksums["up"], migration.checksums["down"], migration.checksums["verify"], migration.version],
        )
        record_event(
            conn,
            migration.version,
            "checksum_accepted",
            by,
            run_id,
            checksums=migration.checksums,
            details={
                "reason": reason,
                "previous": {"up": old.up_sha256, "down": old.down_sha256, "verify": old.verify_sha256},
            },
        )
