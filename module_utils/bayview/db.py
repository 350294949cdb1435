"""Database sessions for the runbook: one argument spec, one way to connect, one run lock.

Every session names itself (application_name), bounds its waits (lock_timeout,
statement_timeout), notices a dead client (client_connection_check_interval, so a
SIGKILLed runner's transaction and locks go away within seconds) and uses fixed output
formats (TimeZone, DateStyle) so content hashes are comparable across runs and hosts.
"""

from __future__ import annotations

import os
import random
import time
import traceback
from collections.abc import Callable
from typing import TypeVar

try:
    import psycopg
    from psycopg import errors as pg_errors

    HAS_PSYCOPG, PSYCOPG_IMPORT_ERROR = True, None
except ImportError:  # reported by the module through fail_json (module_support.new_module)
    HAS_PSYCOPG, PSYCOPG_IMPORT_ERROR = False, traceback.format_exc()

from ansible.module_utils.bayview.errors import RunbookError

T = TypeVar("T")

# pg_advisory_lock(int4, int4) key: "BVWB" and the lock's purpose. One lock for every
# runbook action that changes the database, so two runners never interleave.
LOCK_NAMESPACE = 0x42565742
RUN_LOCK = 1


def connection_argument_spec() -> dict:
    """The `connection` option every module takes (playbooks pass bayview_db_connection)."""
    return {
        "connection": {
            "type": "dict",
            "required": True,
            "options": {
                "host": {"type": "str", "required": True},
                "port": {"type": "int", "default": 5432},
                "dbname": {"type": "str", "required": True},
                "user": {"type": "str", "required": True},
                "password": {"type": "str", "no_log": True},
                "sslmode": {"type": "str", "default": "prefer"},
                "passfile": {"type": "path"},
            },
        },
        "application_name": {"type": "str", "default": "bayview-runbook"},
        "lock_timeout_ms": {"type": "int", "default": 500},
        "statement_timeout_s": {"type": "int", "default": 600},
    }


def describe(params: dict) -> str:
    """host:port/dbname, for messages (never includes credentials)."""
    c = params["connection"]
    return f"{c['host']}:{c['port']}/{c['dbname']}"


def waits(params: dict) -> dict[str, str]:
    """How long a session of the runbook waits for a lock and for one statement."""
    return {
        "lock_timeout": f"{int(params.get('lock_timeout_ms') or 500)}ms",
        "statement_timeout": f"{int(params.get('statement_timeout_s') or 600)}s",
    }


def connect(params: dict) -> psycopg.Connection:
    """Open an autocommit session; callers open explicit transactions with conn.transaction()."""
    c = params["connection"]
    kwargs = {
        "host": c["host"],
        "port": c["port"],
        "dbname": c["dbname"],
        "user": c["user"],
        "sslmode": c.get("sslmode") or "prefer",
        "application_name": params.get("application_name") or "bayview-runbook",
        "connect_timeout": 10,
    }
    if c.get("password"):
        kwargs["password"] = c["password"]
    if c.get("passfile"):
        kwargs["passfile"] = c["passfile"]
    try:
        conn = psycopg.connect(autocommit=True, **kwargs)
    except psycopg.OperationalError as exc:
        raise RunbookError(
            f"Could not connect to {describe(params)} as {c['user']}: {str(exc).strip()}",
            "check bayview_db_host, bayview_db_port, bayview_db_name, bayview_db_user and the "
            "password (vault) for this inventory, and that the server accepts connections.",
        ) from None
    settings = {
        **waits(params),
        "idle_in_transaction_session_timeout": "10min",
        "client_connection_check_interval": "2s",
        "TimeZone": "UTC",
        "DateStyle": "ISO, MDY",
        "IntervalStyle": "postgres",
        "extra_float_digits": "1",
        "bytea_output": "hex",
        # Migrations must name every object with its schema: an unqualified name can
        # never land in a legacy schema by accident.
        "search_path": "",
        # The runbook's statements are batches of thousands of rows: compiling one costs more than it
        # saves (2 s a statement, measured, once a planner setting such as enable_nestloop = off
        # inflates its cost estimate past jit_above_cost).
        "jit": "off",
    }
    for name, value in settings.items():
        conn.execute("SELECT pg_catalog.set_config(%s, %s, false)", [name, value])
    return conn


def server_major(conn: psycopg.Connection) -> int:
    return conn.info.server_version // 10000


def lock_holder(conn: psycopg.Connection) -> str:
    row = conn.execute(
        """SELECT a.pid, a.usename, a.application_name, a.client_addr::text,
                  to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS TZ'), a.state
             FROM pg_catalog.pg_locks l
             JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted
              AND l.classid = %s::oid AND l.objid = %s::oid AND l.objsubid = 2""",
        [LOCK_NAMESPACE, RUN_LOCK],
    ).fetchone()
    if row is None:
        return "an unknown session (it may have just finished)"
    pid, user, app, addr, started, state = row
    return f"pid {pid} (user {user}, application '{app}', from {addr or 'local socket'}, connected {started}, {state})"


def acquire_run_lock(conn: psycopg.Connection, target: str, wait_seconds: float = 10.0) -> None:
    """Take the runbook's session advisory lock, waiting briefly for another run to finish."""
    deadline = time.monotonic() + wait_seconds
    while True:
        got = conn.execute("SELECT pg_catalog.pg_try_advisory_lock(%s, %s)", [LOCK_NAMESPACE, RUN_LOCK]).fetchone()[0]
        if got:
            return
        if time.monotonic() >= deadline:
            raise RunbookError(
                f"Another runbook run holds the migration lock on {target}: {lock_holder(conn)}. "
                f"Waited {wait_seconds:g}s; nothing was changed.",
                "let that run finish (or, if it is dead, end its session with "
                "pg_terminate_backend(pid)), then run this playbook again.",
            )
        time.sleep(0.5)


def release_run_lock(conn: psycopg.Connection) -> None:
    if not conn.closed:
        conn.execute("SELECT pg_catalog.pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, RUN_LOCK])


def retry_on_lock_timeout(
    action: Callable[[], T], attempts: int = 5, base_delay: float = 0.5, what: str = "statement"
) -> T:
    """Run action (one whole transaction); on lock_timeout, back off with jitter and retry."""
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except pg_errors.LockNotAvailable:
            if attempt == attempts:
                raise RunbookError(
                    f"{what} could not get its locks within lock_timeout after {attempts} "
                    "attempts: another session keeps a conflicting lock. Nothing of it was applied.",
                    "find the blocking session in pg_stat_activity (pg_blocking_pids), wait for "
                    "it to finish, then run again.",
                ) from None
            time.sleep(base_delay * 2 ** (attempt - 1) * (0.5 + random.random()))  # noqa: S311
    raise AssertionError("unreachable")


def libpq_env(params: dict, dbname: str | None = None) -> dict[str, str]:
    """Environment for pg_dump/pg_restore: credentials travel here, never on the command line."""
    c = params["connection"]
    # The connection comes from params alone; only the client's TLS files (a credential's CA
    # certificate under AWX) are kept from the environment, as libpq reads them for psycopg too.
    tls = ("PGSSLROOTCERT", "PGSSLCERT", "PGSSLKEY", "PGSSLCRL")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG") or k in tls}
    env.update(
        {
            "PGHOST": str(c["host"]),
            "PGPORT": str(c["port"]),
            "PGDATABASE": dbname or c["dbname"],
            "PGUSER": c["user"],
            "PGSSLMODE": c.get("sslmode") or "prefer",
            "PGAPPNAME": params.get("application_name") or "bayview-runbook",
            "PGCONNECT_TIMEOUT": "10",
        }
    )
    if c.get("password"):
        env["PGPASSWORD"] = c["password"]
    if c.get("passfile"):
        env["PGPASSFILE"] = c["passfile"]
    return env


def with_database(params: dict, dbname: str) -> dict:
    """The same connection parameters, pointed at another database of the same server."""
    return {**params, "connection": {**params["connection"], "dbname": dbname}}
