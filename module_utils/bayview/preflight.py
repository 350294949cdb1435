"""Preflight: everything that must be true before the runbook changes anything.

Each check returns a result with a name, ok, and a sentence for the operator. The module
fails if any check fails, listing all failures at once; a failed preflight changes nothing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

import psycopg
from ansible.module_utils.bayview import db, ledger
from ansible.module_utils.bayview.errors import RunbookError
from ansible.module_utils.bayview.migrate import NEW_SCHEMAS, check_files
from ansible.module_utils.bayview.migration_files import Migration, load_migrations
from ansible.module_utils.bayview.protected_guard import PROTECTED_SCHEMAS

TARGET_SCHEMAS = (*NEW_SCHEMAS, "migration")
OLDEST_SUPPORTED_SERVER = 13


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def client_major(tool: str) -> tuple[int | None, str]:
    """Major version of a PostgreSQL client tool (pg_dump, pg_restore), and its version line."""
    path = shutil.which(tool)
    if path is None:
        return None, f"{tool} not found on PATH"
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    return (int(match.group(1)) if match else None), out


def check_server_version(conn: psycopg.Connection) -> Check:
    major = db.server_major(conn)
    version = conn.execute("SHOW server_version").fetchone()[0]
    ok = major >= OLDEST_SUPPORTED_SERVER
    return Check(
        "server_version",
        ok,
        f"PostgreSQL {version}"
        + ("" if ok else f"; the runbook supports PostgreSQL {OLDEST_SUPPORTED_SERVER} or newer"),
    )


def check_client_tools(conn: psycopg.Connection, tools: list[str]) -> list[Check]:
    """pg_dump refuses to dump a newer server; catch a mismatch before anything changes."""
    server = db.server_major(conn)
    checks = []
    for tool in tools:
        major, line = client_major(tool)
        if major is None:
            checks.append(
                Check(f"{Path(tool).name}_version", False, f"{line}; install the PostgreSQL {server} client tools")
            )
        elif major < server:
            checks.append(
                Check(
                    f"{Path(tool).name}_version",
                    False,
                    f"{line} is older than the server (PostgreSQL {server}); it cannot dump or restore "
                    f"this server. Install the PostgreSQL {server} client tools on the control node "
                    "(or point pg_dump_path/pg_restore_path at them).",
                )
            )
        else:
            checks.append(Check(f"{Path(tool).name}_version", True, f"{line} (server {server})"))
    return checks


def check_connections(conn: psycopg.Connection, needed: int) -> Check:
    max_conn, reserved, used, role_limit, role_used = conn.execute(
        """SELECT current_setting('max_connections')::int,
                  current_setting('superuser_reserved_connections')::int,
                  (SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE backend_type = 'client backend'),
                  (SELECT rolconnlimit FROM pg_catalog.pg_roles WHERE rolname = current_user),
                  (SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE usename = current_user)"""
    ).fetchone()
    free = max_conn - reserved - used
    # This session is already counted in `used`, and the run will reuse it or close it.
    available = free + 1
    if role_limit is not None and role_limit >= 0:
        available = min(available, role_limit - role_used + 1)
    ok = available >= needed
    return Check(
        "free_connections",
        ok,
        f"{available} connection(s) available for this run (max_connections {max_conn}, "
        f"{reserved} reserved, {used} in use); the run needs {needed}"
        + ("" if ok else ". Wait for a quieter moment, or free connections held by other clients."),
    )


def check_privileges(conn: psycopg.Connection) -> Check:
    can_create_db, migration_exists, can_create_migration, sees_others = conn.execute(
        """SELECT has_database_privilege(current_database(), 'CREATE'),
                  to_regnamespace('migration') IS NOT NULL,
                  CASE WHEN to_regnamespace('migration') IS NULL THEN true
                       ELSE has_schema_privilege('migration', 'CREATE') END,
                  (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)
                  OR pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER')"""
    ).fetchone()
    problems = []
    if not can_create_db:
        problems.append("CREATE on the database (to create the new schemas)")
    if migration_exists and not can_create_migration:
        problems.append("CREATE on schema migration (for the runbook's ledger)")
    if not sees_others:
        problems.append("membership in pg_read_all_stats (to see sessions that hold locks)")
    user = conn.info.user
    if problems:
        return Check("privileges", False, f"role {user} lacks " + "; ".join(problems) + ". Grant them, then run again.")
    return Check("privileges", True, f"role {user} can create the new schemas and see other sessions")


def check_blocking_sessions(conn: psycopg.Connection, idle_seconds: int, active_seconds: int) -> Check:
    rows = conn.execute(
        """SELECT a.pid, a.usename, a.application_name, a.state,
                  extract(epoch FROM now() - coalesce(a.state_change, a.xact_start))::int,
                  extract(epoch FROM now() - a.xact_start)::int,
                  string_agg(DISTINCT pg_catalog.format('%%I.%%I', n.nspname, c.relname), ', ')
             FROM pg_catalog.pg_stat_activity a
             JOIN pg_catalog.pg_locks l ON l.pid = a.pid AND l.locktype = 'relation'
             JOIN pg_catalog.pg_class c ON c.oid = l.relation
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE a.pid <> pg_backend_pid()
              AND a.datname = current_database()
              AND n.nspname = ANY(%s)
              AND ((a.state LIKE 'idle in transaction%%' AND now() - a.state_change > make_interval(secs => %s))
                   OR (a.state = 'active' AND now() - a.xact_start > make_interval(secs => %s)))
            GROUP BY 1, 2, 3, 4, 5, 6""",
        [list(PROTECTED_SCHEMAS + TARGET_SCHEMAS), idle_seconds, active_seconds],
    ).fetchall()
    if not rows:
        return Check(
            "blocking_sessions",
            True,
            "no long-running or idle-in-transaction session holds locks on the tables involved",
        )
    listed = "; ".join(
        f"pid {pid} ({user}, '{app}', {state} for {idle}s, transaction open {xact}s) locks {rels}"
        for pid, user, app, state, idle, xact, rels in rows
    )
    return Check(
        "blocking_sessions",
        False,
        f"session(s) holding locks on the tables involved: {listed}. Our DDL would queue behind them "
        "and block the web application. Ask their owner to finish; if a session is abandoned, end "
        "it with SELECT pg_terminate_backend(pid), then run again.",
    )


def check_legacy_columns(conn: psycopg.Connection, migrations: list[Migration]) -> Check:
    """The legacy columns each migration relies on (its `requires:` header) must exist."""
    needed = sorted({f"{schema}.{table}" for m in migrations for schema, table, _columns in m.requires})
    existing: dict[str, set[str]] = {}
    for name, column in conn.execute(
        """SELECT table_schema || '.' || table_name, column_name FROM information_schema.columns
            WHERE table_schema || '.' || table_name = ANY(%s)""",
        [needed],
    ).fetchall():
        existing.setdefault(name, set()).add(column)
    missing = []
    for m in migrations:
        for schema, table, columns in m.requires:
            present = existing.get(f"{schema}.{table}", set())
            if not present:
                missing.append(f"{m.label} needs table {schema}.{table}, which this database does not have")
                continue
            absent = [c for c in columns if c not in present]
            if absent:
                missing.append(f"{m.label} needs {schema}.{table}({', '.join(absent)}), absent here")
    if missing:
        return Check(
            "legacy_columns",
            False,
            "legacy schema drift: " + "; ".join(missing) + ". This environment differs from the one the "
            "migrations were written for; adapt the migrations (or their requires: lines) first.",
        )
    total = sum(len(cols) for m in migrations for _schema, _table, cols in m.requires)
    return Check("legacy_columns", True, f"all {total} legacy column(s) the pending migrations rely on exist")


def check_ledger(conn: psycopg.Connection) -> Check:
    handmade = ledger.handmade_ledger_rows(conn)
    rows = ledger.read(conn)
    version = ledger.current_version(rows)
    parts = [f"runbook ledger at version {version}" if rows else "no runbook ledger yet (it will be created)"]
    if handmade is not None:
        parts.append(f"hand-made migration.schema_versions with {handmade} row(s) found; it is adopted and kept as is")
    return Check("ledger", True, "; ".join(parts))


def run(
    params: dict,
    migrations_dir: Path | None,
    target_phase: int | None,
    connections_needed: int,
    client_tools: list[str],
    idle_seconds: int,
    active_seconds: int,
    blocking_sessions: bool = True,
) -> list[Check]:
    checks: list[Check] = []
    pending: list[Migration] = []
    if migrations_dir is not None:
        try:
            migrations = load_migrations(migrations_dir)
            check_files(migrations)
            checks.append(
                Check("migration_files", True, f"{len(migrations)} migration(s) in {migrations_dir}, guard passed")
            )
            pending = [m for m in migrations if target_phase is None or m.phase <= target_phase]
        except RunbookError as err:
            checks.append(Check("migration_files", False, str(err)))
    conn = db.connect(params)
    try:
        checks.append(check_server_version(conn))
        checks.extend(check_client_tools(conn, client_tools))
        checks.append(check_connections(conn, connections_needed))
        checks.append(check_privileges(conn))
        if blocking_sessions:
            checks.append(check_blocking_sessions(conn, idle_seconds, active_seconds))
        if migrations_dir is not None:
            applied = ledger.current_version(ledger.read(conn))
            checks.append(check_legacy_columns(conn, [m for m in pending if m.version > applied]))
        checks.append(check_ledger(conn))
    finally:
        conn.close()
    return checks


def as_dicts(checks: list[Check]) -> list[dict]:
    return [asdict(c) for c in checks]
