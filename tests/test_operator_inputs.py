"""Operator input is validated before anything changes: a wrong value is refused naming the
variable, the value and what is allowed, by ansible-playbook and the CLI alike; the emergency
rollback plans its target before it halts anything or switches the mode."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import playbook_command, run_playbook

from bayview_runbook.engine import ROOT

CLI = str(Path(sys.executable).parent / "bayview-runbook")


def unfolded(result) -> str:
    return " ".join(result.output.split())


def nothing_changed_since(db, before: dict) -> None:
    assert state(db) == before


def state(db) -> dict:
    return {
        "ledger": db.query("SELECT version, status FROM migration.runbook_ledger ORDER BY version"),
        "mode": db.scalar("SELECT mode FROM migration.dual_write_mode"),
        "halts": db.scalar("SELECT count(*) FROM migration.runbook_halts"),
        "history": db.scalar("SELECT count(*) FROM migration.dual_write_mode_history"),
    }


def test_wrong_rollback_targets_are_refused_before_the_halt(dual_db, tmp_path):
    before = state(dual_db)
    not_a_number = run_playbook(dual_db, "emergency_rollback.yml", "-e", "target_version=abc")
    assert not_a_number.returncode != 0
    assert "argument 'target_version' is of type str and we were unable to convert to int" in unfolded(not_a_number)
    assert "'abc'" in unfolded(not_a_number)
    nothing_changed_since(dual_db, before)  # not rolled back to the baseline, not halted, still dual

    too_high = run_playbook(dual_db, "emergency_rollback.yml", "-e", "target_version=999")
    assert too_high.returncode != 0
    assert "Target version 999 does not exist: the migrations go from 1 to" in unfolded(too_high)
    assert "restore the restore point" not in unfolded(too_high)  # a typo is not a disaster
    assert "Nothing was changed" in unfolded(too_high)
    nothing_changed_since(dual_db, before)

    no_confirmation = run_playbook(dual_db, "emergency_rollback.yml", "-e", "restore_point=latest")
    assert no_confirmation.returncode != 0 and f"needs -e confirm_restore={dual_db.name}" in unfolded(no_confirmation)
    missing = run_playbook(
        dual_db, "emergency_rollback.yml", "-e", "restore_point=nope", "-e", f"confirm_restore={dual_db.name}"
    )
    assert missing.returncode != 0 and "Restore point nope is not in" in unfolded(missing)
    nothing_changed_since(dual_db, before)

    # The CLI hands the value to the same validation.
    _, env = playbook_command(dual_db, "emergency_rollback.yml")
    env["BAYVIEW_ARTIFACTS_DIR"] = str(tmp_path / "artifacts")
    cli = subprocess.run([CLI, "rollback", "--to", "abc"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert cli.returncode != 0
    assert "argument 'target_version' is of type str and we were unable to convert to int" in " ".join(
        cli.stdout.split()
    )
    nothing_changed_since(dual_db, before)


def test_settings_out_of_range_are_refused_naming_the_range(dual_db):
    before = state(dual_db)
    runs = dual_db.scalar("SELECT count(*) FROM migration.runbook_runs")
    zero = run_playbook(dual_db, "phase3.yml", "-e", "bayview_batch_size=0")
    assert zero.returncode != 0
    assert "bayview_batch_size is 0; it must be between 1 and 1000000. Nothing was changed." in unfolded(zero)
    workers = run_playbook(dual_db, "phase3.yml", "-e", "bayview_data_migration_workers=3")
    assert workers.returncode != 0
    assert "value of bayview_data_migration_workers must be one of: 1, 2, got: 3" in unfolded(workers)
    ratio = run_playbook(dual_db, "phase3.yml", "-e", "bayview_max_quarantine_ratio=abc")
    assert ratio.returncode != 0 and "bayview_max_quarantine_ratio" in unfolded(ratio)
    nothing_changed_since(dual_db, before)
    assert dual_db.scalar("SELECT count(*) FROM migration.runbook_runs") == runs  # refused before even a record


def test_status_shows_the_halt_the_mode_and_the_runs(dual_db, tmp_path):
    rollback = run_playbook(dual_db, "emergency_rollback.yml", "-e", "target_version=4")
    assert rollback.returncode == 0, rollback.output[-3000:]
    status = run_playbook(dual_db, "status.yml", records_dir=tmp_path)
    assert status.returncode == 0, status.output[-3000:]
    text = unfolded(status)
    assert "Halt: HALTED by" in text and "emergency rollback" in text and "a phase playbook lifts it" in text
    assert "Cutover: none" in text and "Runs running: []" in text  # an empty list has no quotes to escape
