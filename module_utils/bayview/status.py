"""The state of a database target in one read: ledger, phase gates, dual-write mode and the
cutover, an emergency halt, data migrations, open discrepancies, runs running or interrupted,
and running runbook sessions. Used to document the state before a phase, to watch error rates
during it, and by `bayview-runbook status`."""

from __future__ import annotations

import psycopg
from ansible.module_utils.bayview import data_migrate, db, dual_write, gates, halts, ledger
from psycopg import sql

RUNBOOK_SESSIONS = """
SELECT pid, usename, application_name, state, to_char(query_start, 'YYYY-MM-DD HH24:MI:SS TZ'),
       EXISTS (SELECT 1 FROM pg_catalog.pg_locks l WHERE l.pid = a.pid AND l.locktype = 'advisory'
                  AND l.granted AND l.classid = %s::oid AND l.objid = %s::oid) AS holds_run_lock
  FROM pg_catalog.pg_stat_activity a
 WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name LIKE 'bayview%%'
   AND application_name NOT LIKE 'bayview-keeper %%'  -- a run's keeper: shown with the runs, not as work
"""


RUNS = """
SELECT run_id, playbook, status, operator, control_host, started_at::text, finished_at::text, kept_alive,
       current_task, last_seen_at::text, details->'interrupted'->>'detected_by'
  FROM migration.runbook_runs WHERE status = ANY(%s) ORDER BY started_at DESC LIMIT %s
"""
RUN_KEYS = (
    "run_id",
    "playbook",
    "status",
    "operator",
    "control_host",
    "started_at",
    "finished_at",
    "kept_alive",
    "current_task",
    "last_seen_at",
    "detected_by",
)
# When the database was cut over to the modern-only it is in now, and by whom.
CUTOVER = """
SELECT changed_at::text, changed_by, reason FROM migration.dual_write_mode_history
 WHERE new_mode = 'modern-only' ORDER BY changed_at DESC LIMIT 1
"""


# The records of the new design, and how many were created there (after the cutover: no legacy row).
RECORD_TABLES = ("property.memorial_applications", "events.chapel_services", "finance.payments")
RECORDS = """
SELECT count(*), count(*) FILTER (WHERE legacy_id IS NULL) FROM {}
"""


def _records(conn: psycopg.Connection) -> list[dict]:
    found = []
    for table in RECORD_TABLES:
        if _exists(conn, table):
            rows, created = conn.execute(sql.SQL(RECORDS).format(sql.SQL(table))).fetchone()
            found.append({"table": table, "rows": rows, "created_in_new_design": created})
    return found


def _runs(conn: psycopg.Connection, statuses: list[str], limit: int) -> list[dict]:
    return [dict(zip(RUN_KEYS, r, strict=True)) for r in conn.execute(RUNS, [statuses, limit])]


def _exists(conn: psycopg.Connection, table: str) -> bool:
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL", [table]).fetchone()[0]


def read(conn: psycopg.Connection) -> dict:
    rows = ledger.read(conn)
    state = {
        "version": ledger.current_version(rows),
        "ledger": [{"version": v, "name": r.name, "phase": r.phase, "status": r.status} for v, r in rows.items()],
        "gates": gates.all_latest(conn),
        "dual_write": dual_write.get_mode(conn) if _exists(conn, "migration.dual_write_mode") else None,
        "cutover": None,
        "halt": halts.active(conn),
        "running_runs": [],
        "interrupted_runs": [],
        "data_migrations": [],
        "open_discrepancies": 0,
        "records": [],
    }
    if state["dual_write"] is not None and state["dual_write"]["mode"] == "modern-only":
        row = conn.execute(CUTOVER).fetchone()
        state["cutover"] = dict(zip(("at", "by", "reason"), row, strict=True)) if row else None
    if _exists(conn, "migration.runbook_runs"):
        state["running_runs"] = _runs(conn, ["running"], 20)
        state["interrupted_runs"] = _runs(conn, ["interrupted"], 5)
    if _exists(conn, "migration.data_migration_checkpoints"):
        state["data_migrations"] = data_migrate.checkpoints(conn)
    state["records"] = _records(conn)
    if _exists(conn, "migration.dual_write_discrepancies"):
        state["open_discrepancies"] = conn.execute(
            "SELECT count(*) FROM migration.dual_write_discrepancies WHERE resolved_at IS NULL"
        ).fetchone()[0]
    keys = ("pid", "user", "application_name", "state", "query_start", "holds_run_lock")
    state["runbook_sessions"] = [
        dict(zip(keys, r, strict=True)) for r in conn.execute(RUNBOOK_SESSIONS, [db.LOCK_NAMESPACE, db.RUN_LOCK])
    ]
    return state


def error_rates(state: dict, max_quarantine_ratio: float, max_open_discrepancies: int) -> list[str]:
    """What exceeds the thresholds that stop a phase (empty when all is well)."""
    problems = []
    for m in state["data_migrations"]:
        if m["candidates"] - m["excluded"] > 0:
            ratio = m["quarantined"] / (m["candidates"] - m["excluded"])
            if ratio > max_quarantine_ratio:
                problems.append(
                    f"{m['data_migration']}: {ratio:.1%} of the rows found went to quarantine "
                    f"(threshold {max_quarantine_ratio:.0%})"
                )
    if state["open_discrepancies"] > max_open_discrepancies:
        problems.append(
            f"{state['open_discrepancies']} dual-write discrepancies are open (threshold {max_open_discrepancies})"
        )
    return problems
