"""Run records: who ran which playbook, where, when, with what result.

Each run gets a row in migration.runbook_runs and, when it finishes, a JSON file in the
records directory, so the record survives even if the database is later restored.
Records are bookkeeping: writing them never counts as a change.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

from ansible.module_utils.bayview import db, ledger


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]


def start(params: dict, playbook: str, phase: str | None, operator: str, check_mode: bool) -> dict:
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
    conn = db.connect(params)
    try:
        ledger.bootstrap(conn, operator, run_id)
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
    finally:
        conn.close()
    return record


def finish(params: dict, record: dict, status: str, details: dict, records_dir: Path | None) -> dict:
    record = {**record, "status": status, "details": details}
    record["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
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
    if records_dir is not None:
        record["record_file"] = str(write_json(records_dir, record))
    return record


def write_json(records_dir: Path, record: dict) -> Path:
    """Write atomically (temp file + rename): a crash never leaves half a record."""
    records_dir = Path(records_dir)
    records_dir.mkdir(parents=True, exist_ok=True)
    name = f"{record['run_id']}-{Path(record['playbook']).stem}.json"
    target = records_dir / name
    fd, tmp = tempfile.mkstemp(dir=records_dir, prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w") as fh:
        json.dump(record, fh, indent=2, sort_keys=True, default=str)
        fh.write("\n")
    os.chmod(tmp, 0o640)
    os.replace(tmp, target)
    return target


def write_audit(store, record: dict) -> dict:
    """The audit copy of a finished record, beside the restore points (audit/<database>/...), so
    it survives a restore of the database. A store that fails is noted, never fatal."""
    database = record.get("database", "unknown").split("/")[-1]
    key = f"audit/{database}/{record['run_id']}-{Path(record['playbook']).stem}.json"
    try:
        store.put_small(key, json.dumps(record, indent=2, sort_keys=True, default=str).encode())
        return {**record, "audit_file": f"{store.url.rstrip('/')}/{key}"}
    except Exception as exc:  # noqa: BLE001 - the run's result must not depend on the audit copy
        return {**record, "audit_error": f"{type(exc).__name__}: {exc}"}
