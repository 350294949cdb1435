"""The emergency stop: end the runbook sessions still at work and keep them from starting again.

The emergency rollback sets a halt (migration.runbook_halts, which survives any rollback) and
terminates every other session of the runbook. A batch that was cut off rolls back with its
checkpoint (one transaction), so nothing is left half-done. While the halt is set, no data
migration, sync or forward migration runs, so a phase playbook that was interrupted between two
tasks cannot carry on behind the rollback's back. Starting a phase playbook again is the
operator's decision to go forward: it clears the halt, recorded with who and which run.
"""

from __future__ import annotations

import time

import psycopg
from ansible.module_utils.bayview import db
from ansible.module_utils.bayview.errors import RunbookError

RUNBOOK_APPLICATION = "bayview-runbook"


def _table_exists(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT to_regclass('migration.runbook_halts') IS NOT NULL").fetchone()[0]


def active(conn: psycopg.Connection) -> dict | None:
    if not _table_exists(conn):
        return None
    row = conn.execute(
        "SELECT id, reason, run_id, set_by, set_at::text FROM migration.runbook_halts "
        "WHERE cleared_at IS NULL ORDER BY id DESC LIMIT 1"
    ).fetchone()
    return dict(zip(("id", "reason", "run_id", "set_by", "set_at"), row, strict=True)) if row else None


def require_not_halted(conn: psycopg.Connection, what: str) -> None:
    halt = active(conn)
    if halt:
        raise RunbookError(
            f"{what} refused: the runbook was halted by {halt['set_by']} at {halt['set_at']} ({halt['reason']}). "
            "Nothing was changed.",
            "finish the emergency rollback; to go forward again, run the phase playbook you want to "
            "resume (it lifts the halt, recorded).",
        )


def halt(conn: psycopg.Connection, reason: str, by: str, run_id: str) -> dict:
    with conn.transaction():
        conn.execute(
            "INSERT INTO migration.runbook_halts (reason, run_id, set_by) VALUES (%s, %s, %s)", [reason, run_id, by]
        )
    return active(conn)


def lift(conn: psycopg.Connection, by: str, run_id: str) -> list[int]:
    """Clear every active halt; returns the ids cleared (none: nothing to record)."""
    if not _table_exists(conn):
        return []
    with conn.transaction():
        return [
            r[0]
            for r in conn.execute(
                "UPDATE migration.runbook_halts SET cleared_by = %s, cleared_run_id = %s, "
                "cleared_at = pg_catalog.clock_timestamp() WHERE cleared_at IS NULL RETURNING id",
                [by, run_id],
            )
        ]


def stop_runbook_sessions(conn: psycopg.Connection, wait_seconds: float = 30.0) -> list[dict]:
    """Terminate the runbook's other sessions (those of the runbook's own role: a role may end its
    own sessions without any privilege) and wait until the run lock is free."""
    # MATERIALIZED: the filter runs first, then pg_terminate_backend on what it kept (in one WHERE,
    # PostgreSQL may call the function before it checks the user, and try a superuser's session).
    stopped = [
        dict(zip(("pid", "user", "state", "query"), r, strict=True))
        for r in conn.execute(
            """WITH runbook_sessions AS MATERIALIZED (
                   SELECT pid, usename, state, left(query, 200) AS query FROM pg_catalog.pg_stat_activity
                    WHERE datname = current_database() AND pid <> pg_catalog.pg_backend_pid()
                      AND application_name = %s AND usename = current_user)
               SELECT pid, usename, state, query FROM runbook_sessions WHERE pg_catalog.pg_terminate_backend(pid)""",
            [RUNBOOK_APPLICATION],
        )
    ]
    db.acquire_run_lock(conn, "this database", wait_seconds)  # proves the stopped run let go
    db.release_run_lock(conn)
    deadline = time.monotonic() + wait_seconds
    while conn.execute(
        "SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE pid = ANY(%s)", [[s["pid"] for s in stopped]]
    ).fetchone()[0]:
        if time.monotonic() > deadline:
            raise RunbookError(
                "Runbook sessions did not end after pg_terminate_backend.",
                "check pg_stat_activity for them and end them by hand, then run the rollback again.",
            )
        time.sleep(0.1)
    return stopped
