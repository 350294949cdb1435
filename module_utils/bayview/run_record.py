"""Run records: who ran which playbook, where, when, with what result.

Each run gets a row in migration.runbook_runs and, when it finishes, a JSON file and an HTML
report in the records directory (and a copy in the store), so the record survives even if the
database is later restored. A run that never finishes (killed, interrupted) is closed as
interrupted by its keeper, or by the next run or `status` (run_keeper.py), and gets its files
too. Records are bookkeeping: writing them never counts as a change.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from ansible.module_utils.bayview import db, ledger, report, run_keeper


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]


def start(
    params: dict, playbook: str, phase: str | None, operator: str, check_mode: bool, keep: Callable | None = None
) -> dict:
    """Record the start of a run. Runs that lost their keeper are closed as interrupted first,
    each handed to keep(records); the run's own keeper is started, handing its records to keep."""
    run_id = new_run_id()
    record = {
        "run_id": run_id,
        "playbook": playbook,
        "phase": phase,
        "operator": operator,
        "control_host": socket.gethostname(),
        "check_mode": check_mode,
        "database": db.describe(params),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "status": "running",
    }
    if check_mode:
        return record  # a dry run writes nothing to the database
    keep = keep or (lambda records: None)
    conn = db.connect(params)
    try:
        ledger.bootstrap(conn, operator, run_id)
        interrupted = run_keeper.close_interrupted(
            conn, "its keeper was gone when the next run started (its control node died or was killed)", f"run {run_id}"
        )
        keep(interrupted)  # their records first: nothing after this may leave them unwritten
        version = ledger.current_version(ledger.read(conn))
        record["version_before"] = version
        with conn.transaction():
            conn.execute(
                """INSERT INTO migration.runbook_runs
                       (run_id, playbook, phase, operator, control_host, check_mode, status, version_before)
                   VALUES (%s, %s, %s, %s, %s, %s, 'running', %s)""",
                [run_id, playbook, phase, operator, record["control_host"], check_mode, version],
            )
        record["db_recorded"] = True
        record["interrupted_runs_closed"] = [{k: r[k] for k in ("run_id", "playbook", "details")} for r in interrupted]
        try:
            record["kept_alive"] = run_keeper.start(params, run_id, keep)
        except Exception as exc:
            # A run nobody keeps could never be closed if it were killed: it does not start.
            with conn.transaction():
                conn.execute(
                    "UPDATE migration.runbook_runs SET status = 'failed', finished_at = pg_catalog.clock_timestamp(), "
                    "details = jsonb_build_object('error', %s::text) WHERE run_id = %s",
                    [f"its keeper could not start: {exc}", run_id],
                )
            raise
    finally:
        conn.close()
    return record


def record_interrupted(records: list[dict], records_dir: Path | None, store=None) -> None:
    """The JSON record and HTML report of runs closed as interrupted, and their audit copies."""
    for record in records:
        closed = write_files(record, records_dir)
        if store is not None:
            write_audit(store, closed)


def finish(params: dict, record: dict, status: str, details: dict, records_dir: Path | None) -> dict:
    record = {**record, "status": status, "details": details}
    finished = datetime.now(UTC)
    record["finished_at"] = finished.isoformat(timespec="seconds")
    if record.get("started_at"):
        record["seconds"] = round((finished - datetime.fromisoformat(record["started_at"])).total_seconds())
    if record.get("db_recorded"):
        conn = db.connect(params)
        try:
            record["version_after"] = ledger.current_version(ledger.read(conn))
            with conn.transaction():
                conn.execute(
                    """UPDATE migration.runbook_runs
                          SET finished_at = pg_catalog.clock_timestamp(), status = %s,
                              version_after = %s, details = %s::jsonb
                        WHERE run_id = %s""",
                    [status, record["version_after"], json.dumps(details, default=str), record["run_id"]],
                )
        finally:
            conn.close()
    return write_files(record, records_dir)


def write_files(record: dict, records_dir: Path | None) -> dict:
    """The record as JSON and its HTML report in records_dir (when given)."""
    if records_dir is not None:
        stem = Path(records_dir) / file_stem(record)
        record["record_file"], record["report_file"] = f"{stem}.json", f"{stem}.html"
        write_atomically(Path(record["record_file"]), json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")
        write_atomically(Path(record["report_file"]), report.render(record))
    return record


def file_stem(record: dict) -> str:
    return f"{record['run_id']}-{Path(record['playbook']).stem}"


def write_atomically(target: Path, text: str) -> Path:
    """Temp file + rename: a crash never leaves half a record or report."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=target.suffix)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(tmp, 0o640)
    os.replace(tmp, target)
    return target


def write_audit(store, record: dict) -> dict:
    """The audit copy of a finished record and its report, beside the restore points
    (audit/<database>/...), so both survive a restore of the database. A store that fails is
    noted, never fatal."""
    database = record.get("database", "unknown").split("/")[-1]
    key = f"audit/{database}/{file_stem(record)}"
    try:
        store.put_small(f"{key}.html", report.render(record).encode())
        store.put_small(f"{key}.json", json.dumps(record, indent=2, sort_keys=True, default=str).encode())
        return {**record, "audit_file": f"{store.url.rstrip('/')}/{key}.json"}
    except Exception as exc:  # noqa: BLE001 - the run's result must not depend on the audit copy
        return {**record, "audit_error": f"{type(exc).__name__}: {exc}"}
