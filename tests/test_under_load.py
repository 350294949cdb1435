"""Phases 1-5 and an emergency rollback while three processes of the association's application
write through the data-access layer: every write the application saw commit is in the legacy
tables, none was refused, and validation passed in every phase that validates."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_playbook

from bayview_runbook.localpg import APP_ROLE

WRITERS = 3
# The web application writes legacy rows during the run: the fingerprint compares the catalog only.
UNDER_LOAD = ("-e", "bayview_fingerprint_scope=catalog")


@pytest.mark.e2e
def test_phases_and_the_rollback_under_the_applications_writes(legacy_db, tmp_path):
    store = ("-e", f"restore_point_store=file://{tmp_path / 'store'}")
    stop = tmp_path / "stop"
    logs = [tmp_path / f"writer-{n}.jsonl" for n in range(WRITERS)]
    writers = [
        subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).parent / "app_writer.py"),
                "--conninfo",
                legacy_db.cluster.conninfo(user=APP_ROLE, dbname=legacy_db.name),
                "--writer",
                str(n),
                "--writers",
                str(WRITERS),
                "--log",
                str(logs[n]),
                "--stop",
                str(stop),
            ]
        )
        for n in range(WRITERS)
    ]
    try:
        # Phase 1 too: its baseline of the legacy queries is taken under the same load as Phase 4's comparison.
        for playbook in ("phase1.yml", "phase2.yml", "phase3.yml", "phase4.yml", "phase5.yml"):
            result = run_playbook(legacy_db, playbook, *store, *UNDER_LOAD, records_dir=tmp_path)
            assert result.returncode == 0, f"{playbook}:\n{result.output[-4000:]}"
        validations = legacy_db.query("SELECT passed FROM migration.validation_runs ORDER BY id")
        rollback = run_playbook(
            legacy_db, "emergency_rollback.yml", *store, *UNDER_LOAD, "-e", "target_version=4", records_dir=tmp_path
        )
        assert rollback.returncode == 0, rollback.output[-4000:]
    finally:
        stop.touch()
        for writer in writers:
            writer.wait(timeout=120)
    writes = [json.loads(line) for log in logs for line in log.read_text().splitlines()]
    assert [w for w in writes if "refused" in w] == []
    assert len(writes) > 100 and {w["op"] for w in writes} == {"insert", "update", "delete"}
    assert validations and all(passed for (passed,) in validations)  # phases 3, 4 and 5 validated

    # Every committed write is in the legacy tables: the last write of each row decides what it holds.
    # Each row is written by one writer, so its log's order is the commit order of the row's writes.
    last = {(w["table"], w["key"]): w for w in writes}
    for (table, key), w in last.items():
        row = legacy_db.query(f"SELECT contact_name FROM {table} WHERE id = %s", [key])  # noqa: S608 - our table names
        if w["op"] == "delete":
            assert row == [], f"{table} {key} was deleted, yet it is there"
        else:
            assert len(row) == 1, f"{table} {key} was written ({w['op']}), yet it is gone"
            assert row[0][0] == w["values"]["contact_name"], (table, key, w)
