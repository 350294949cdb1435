"""The keeper of a run: a small process that lives exactly as long as the run's ansible-playbook.

A run that is killed (SIGKILL, SIGINT, a closed terminal, a crashed control node) never reaches
the task that finishes its record. So that it does not stay `running` forever, the module that
starts the record also starts a keeper: a process forked from it, detached, that keeps one
database session named `bayview-keeper <run id>` open and records the task the run is at (read
from the file the bayview_run callback plugin writes). When the ansible-playbook process ends
without having finished its record, the keeper marks the run interrupted, with when and the task
it stopped at, and writes its JSON and HTML record.

The keeper closes a run only once every process of it is gone (a module Ansible left behind
when the playbook was killed may still be finishing its transaction), so the record never says
a run stopped while part of it still works.

If the keeper dies with everything else (the whole control node gone), its session goes with it:
the next run, or `status`, finds a running run whose keeper session is gone, and that was last
seen over STALE_SECONDS ago (a keeper reconnecting after a server restart is not gone), and
closes it the same way (close_interrupted). A run without a keeper (no callback plugin: the
engine called from Python) is never taken for interrupted.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path

from ansible.module_utils.bayview import db

KEEPER_APPLICATION = "bayview-keeper"
POLL_SECONDS = 0.5
HEARTBEAT_SECONDS = 10
# A run whose keeper session is gone is taken for interrupted by others only when it was last seen
# this long ago: a keeper reconnecting after a restart touches its run within seconds.
STALE_SECONDS = 3 * HEARTBEAT_SECONDS
# Seconds the keeper keeps trying to reach a database that went away (a restart) before it gives up.
RECONNECT_SECONDS = 120

# Runs that were kept alive, are still 'running', and whose keeper session is gone: interrupted.
CLOSE_INTERRUPTED = """
UPDATE migration.runbook_runs r
   SET status = 'interrupted', finished_at = coalesce(r.last_seen_at, r.started_at),
       details = r.details || jsonb_build_object(
           'failed_task', coalesce(r.current_task, 'unknown'),
           'error', 'interrupted: ' || %(why)s::text,
           'interrupted', jsonb_build_object('detected_at', pg_catalog.clock_timestamp()::text,
                                             'detected_by', %(by)s::text, 'last_seen_at', r.last_seen_at::text,
                                             'stopped_at_task', r.current_task))
 WHERE r.status = 'running' AND r.kept_alive
   AND (r.run_id = %(run_id)s
        OR (%(run_id)s::text IS NULL
            AND r.last_seen_at < pg_catalog.clock_timestamp() - make_interval(secs => %(stale)s)))
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a
                    WHERE a.application_name = %(keeper)s::text || ' ' || r.run_id
                      AND a.pid <> pg_catalog.pg_backend_pid())
RETURNING r.run_id, r.playbook, r.phase, r.operator, r.control_host, r.check_mode, r.started_at::text,
          r.finished_at::text, r.version_before, r.details
"""


def close_interrupted(conn, why: str, by: str, run_id: str | None = None) -> list[dict]:
    """Mark interrupted every run that lost its keeper over STALE_SECONDS ago (or, for its keeper,
    run_id at once); returns their records."""
    if not conn.execute("SELECT to_regclass('migration.runbook_runs') IS NOT NULL").fetchone()[0]:
        return []
    with conn.transaction():
        rows = conn.execute(
            CLOSE_INTERRUPTED,
            {"why": why, "by": by, "run_id": run_id, "keeper": KEEPER_APPLICATION, "stale": STALE_SECONDS},
        ).fetchall()
    keys = ("run_id", "playbook", "phase", "operator", "control_host", "check_mode", "started_at", "finished_at")
    records = []
    for row in rows:
        record = dict(zip(keys, row[:8], strict=True))
        record.update(status="interrupted", version_before=row[8], details=row[9], db_recorded=True)
        record["database"] = f"{conn.info.host}:{conn.info.port}/{conn.info.dbname}"
        records.append(record)
    return records


def start(params: dict, run_id: str, on_interrupted: Callable[[list[dict]], None]) -> bool:
    """Fork the keeper of run_id when the bayview_run callback plugin told us the playbook's pid;
    returns once the keeper holds its session (True), or at once when there is no playbook to
    watch (False). on_interrupted(records) runs in the keeper, for the records it closes."""
    playbook_pid = os.environ.get("BAYVIEW_PLAYBOOK_PID")
    if not playbook_pid:
        return False
    ready_read, ready_write = os.pipe()
    child = os.fork()
    if child:  # the module: wait until the keeper is connected, so the run never looks unkept
        os.close(ready_write)
        ready = os.read(ready_read, 1) == b"1"
        os.close(ready_read)
        os.waitpid(child, 0)
        return ready
    # The first child: detach, then fork the keeper and leave (the keeper is nobody's child).
    try:
        os.close(ready_read)
        os.setsid()
        if os.fork():
            os._exit(0)
        _detach_stdio(keep=ready_write)
        _keep(params, run_id, int(playbook_pid), os.environ.get("BAYVIEW_TASK_FILE"), ready_write, on_interrupted)
    finally:
        os._exit(0)  # never run the module's own exit handlers (they would print its result twice)


def _detach_stdio(keep: int) -> None:
    """Ansible reads the module's output until every copy of it is closed: the keeper keeps none."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.closerange(3, keep)
    os.closerange(keep + 1, os.sysconf("SC_OPEN_MAX"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _task(task_file: str | None) -> str | None:
    """The name of the task the run is at, as the bayview_run callback plugin last wrote it."""
    if not task_file:
        return None
    try:
        return Path(task_file).read_text().strip() or None
    except OSError:
        return None


def _processes_of_the_run(playbook_pid: int) -> list[int]:
    """The processes still carrying the run's BAYVIEW_PLAYBOOK_PID (an orphaned worker or module),
    other than this keeper."""
    marker, mine = f"BAYVIEW_PLAYBOOK_PID={playbook_pid}".encode(), os.getpid()
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError, ValueError):
            if int(proc.name) != mine and marker in (proc / "environ").read_bytes().split(b"\0"):
                found.append(int(proc.name))
    return found


# The record of a run still running, brought up to date; no row once the run finished its record.
TOUCH_RUN = """
UPDATE migration.runbook_runs SET current_task = coalesce(%s, current_task), last_seen_at = pg_catalog.clock_timestamp()
 WHERE run_id = %s AND status = 'running' RETURNING 1
"""


def _keep(params: dict, run_id: str, playbook_pid: int, task_file, ready: int, on_interrupted) -> None:
    """Watch the playbook's process every POLL_SECONDS; touch the record when the task changes (or
    every HEARTBEAT_SECONDS); close the run as interrupted when the process is gone first."""
    try:
        _watch(params, run_id, playbook_pid, task_file, ready, on_interrupted)
    finally:
        if task_file and not _alive(playbook_pid):
            with contextlib.suppress(OSError):
                os.unlink(task_file)  # the callback plugin removes it when the playbook ends normally


def _watch(params: dict, run_id: str, playbook_pid: int, task_file, ready: int, on_interrupted) -> None:
    keeper_params = {**params, "application_name": f"{KEEPER_APPLICATION} {run_id}"}
    conn = db.connect(keeper_params)
    conn.execute("UPDATE migration.runbook_runs SET kept_alive = true WHERE run_id = %s", [run_id])
    os.write(ready, b"1")
    os.close(ready)
    recorded_task, touched = None, 0.0
    while True:
        # Read before the record: a run that finished, then exited, is not interrupted. The run lasts
        # as long as any process of it does (a module left behind may still commit its transaction).
        alive = _alive(playbook_pid) or bool(_processes_of_the_run(playbook_pid))
        task = _task(task_file)
        if alive and task == recorded_task and time.monotonic() - touched < HEARTBEAT_SECONDS:
            time.sleep(POLL_SECONDS)
            continue
        try:
            if conn.closed:
                conn = _reconnect(keeper_params, playbook_pid)
                if conn is None:
                    return  # the database stayed away; the next run or status closes the record
            if conn.execute(TOUCH_RUN, [task, run_id]).fetchone() is None:
                return  # the run finished its record
            recorded_task, touched = task, time.monotonic()
            if not alive:  # close_interrupted passes over the session it runs in: this one
                records = close_interrupted(
                    conn, "the ansible-playbook process ended without finishing its record", "its keeper", run_id
                )
                on_interrupted(records)
                return
        except Exception:  # noqa: BLE001 - a lost connection: reconnect on the next turn
            with contextlib.suppress(Exception):
                conn.close()
            time.sleep(POLL_SECONDS)


def _reconnect(params: dict, playbook_pid: int):
    deadline = time.monotonic() + RECONNECT_SECONDS
    while _alive(playbook_pid) and time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            return db.connect(params)
        time.sleep(1)
    with contextlib.suppress(Exception):
        return db.connect(params)  # one last try: the playbook may have ended meanwhile
    return None
