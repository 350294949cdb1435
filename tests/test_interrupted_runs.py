"""A run that never reaches the end of its playbook (Ctrl-C, kill -9, a control node that dies) is
recorded as interrupted, with when and the task it stopped at, and gets its JSON and HTML record:
by its keeper at once, or by the next run or `status` when the keeper died with it."""

from __future__ import annotations

import json
import signal
import subprocess
import time

from conftest import (
    HELD_MIGRATION,
    HELD_MIGRATION_LOCK,
    LONG_LOCK_TIMEOUT,
    add_migration,
    kill_tree,
    playbook_command,
    run_playbook,
    wait_until_blocked_by,
)

MIGRATE_TASK = "migrate : Bring the database to the planned version"  # as Ansible names it


def start_held_phase1(db, migrations_copy, records_dir, holder) -> subprocess.Popen:
    """Phase 1 with a migration that waits on the holder's advisory lock, once it does."""
    add_migration(migrations_copy, 5, "held", *HELD_MIGRATION)
    holder.execute("SELECT pg_advisory_lock(%s)", [HELD_MIGRATION_LOCK])
    cmd, env = playbook_command(
        db,
        "phase1.yml",
        "-e",
        f"bayview_migrations_dir={migrations_copy}",
        "-e",
        LONG_LOCK_TIMEOUT,
        records_dir=records_dir,
    )
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    wait_until_blocked_by(db, holder.info.backend_pid, proc)
    return proc


def wait_until_not_running(db, run_id: str) -> str:
    """The run's status once something closed it (a failure guard of two minutes, not a timing)."""
    deadline = time.monotonic() + 120
    while (status := db.scalar("SELECT status FROM migration.runbook_runs WHERE run_id = %s", [run_id])) == "running":
        assert time.monotonic() < deadline, "nobody closed the interrupted run"
        time.sleep(0.1)
    return status


def wait_until_nothing_blocked_by(db, holder_pid: int) -> None:
    deadline = time.monotonic() + 120
    while db.scalar("SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", [holder_pid]):
        assert time.monotonic() < deadline, "the interrupted module never let go of its statement"
        time.sleep(0.1)


def status_lines(result) -> str:
    """The status playbook's output with its line folding undone."""
    return " ".join(result.stdout.split())


def the_phase1_run(db) -> tuple[str, str, bool]:
    return db.query("SELECT run_id, status, kept_alive FROM migration.runbook_runs WHERE playbook = 'phase1.yml'")[0]


def test_ctrl_c_in_the_middle_of_a_migration_is_recorded_as_interrupted(legacy_db, migrations_copy, tmp_path):
    with legacy_db.connect() as holder:
        proc = start_held_phase1(legacy_db, migrations_copy, tmp_path, holder)
        run_id, status, kept = the_phase1_run(legacy_db)
        assert (status, kept) == ("running", True)
        proc.send_signal(signal.SIGINT)  # Ctrl-C: the terminal signals ansible-playbook, which stops its workers
        proc.wait(timeout=120)
        assert wait_until_not_running(legacy_db, run_id) == "interrupted"
        # Ansible passes the signal on to the module, which cancels its statement: wait for that before
        # letting the lock go (a module that got its lock first would have committed whole, never half).
        wait_until_nothing_blocked_by(legacy_db, holder.info.backend_pid)
    details = legacy_db.scalar("SELECT details FROM migration.runbook_runs WHERE run_id = %s", [run_id])
    assert details["failed_task"] == MIGRATE_TASK and details["interrupted"]["detected_by"] == "its keeper"
    assert details["interrupted"]["last_seen_at"]
    # Nothing of the interrupted migration was kept.
    assert legacy_db.scalar("SELECT to_regclass('core.slow')") is None
    assert legacy_db.scalar("SELECT count(*) FROM migration.runbook_ledger WHERE version = 5") == 0
    [record] = [json.loads(p.read_text()) for p in tmp_path.glob(f"{run_id}-phase1.json")]
    assert record["status"] == "interrupted" and record["details"]["failed_task"] == MIGRATE_TASK
    report = (tmp_path / f"{run_id}-phase1.html").read_text()
    assert "INTERRUPTED" in report and MIGRATE_TASK in report

    status = run_playbook(legacy_db, "status.yml", records_dir=tmp_path)
    assert status.returncode == 0, status.output[-3000:]
    assert f"{run_id} at {MIGRATE_TASK}" in status_lines(status)


def test_a_run_killed_with_its_keeper_is_closed_by_status(legacy_db, migrations_copy, tmp_path):
    with legacy_db.connect() as holder:
        proc = start_held_phase1(legacy_db, migrations_copy, tmp_path, holder)
        run_id, _, _ = the_phase1_run(legacy_db)
        kill_tree(proc)  # the control node dies: the playbook, its worker, the module and the keeper
    assert legacy_db.scalar("SELECT status FROM migration.runbook_runs WHERE run_id = %s", [run_id]) == "running"
    assert not list(tmp_path.glob(f"{run_id}-*.json"))
    # Just seen: its keeper may only be reconnecting (a server restart), so status leaves it running.
    early = run_playbook(legacy_db, "status.yml", records_dir=tmp_path)
    assert early.returncode == 0
    assert run_id in status_lines(early).split("Runs running:")[1].split("Interrupted runs:")[0]
    # As if the control node had died a minute ago.
    legacy_db.query(
        "UPDATE migration.runbook_runs SET last_seen_at = last_seen_at - interval '1 minute' WHERE run_id = %s "
        "RETURNING 1",
        [run_id],
    )

    status = run_playbook(legacy_db, "status.yml", records_dir=tmp_path)
    assert status.returncode == 0, status.output[-3000:]
    assert f"{run_id} at {MIGRATE_TASK}" in status_lines(status)
    details = legacy_db.scalar("SELECT details FROM migration.runbook_runs WHERE run_id = %s", [run_id])
    assert details["interrupted"]["detected_by"] == "status" and details["failed_task"] == MIGRATE_TASK
    [record] = [json.loads(p.read_text()) for p in tmp_path.glob(f"{run_id}-phase1.json")]
    assert record["status"] == "interrupted"
    # The next run finishes the work: version 5 is applied once.
    again = run_playbook(
        legacy_db, "phase1.yml", "-e", f"bayview_migrations_dir={migrations_copy}", records_dir=tmp_path
    )
    assert again.returncode == 0, again.output[-3000:]
    assert legacy_db.scalar("SELECT status FROM migration.runbook_ledger WHERE version = 5") == "applied"
