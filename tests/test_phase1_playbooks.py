"""Phase 1 and the emergency rollback, run for real with ansible-playbook on real PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from ansible.module_utils.bayview import migrate
from ansible.module_utils.bayview.errors import RunbookError
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

NEW_SCHEMAS = {"core", "property", "education", "events", "recreation", "finance"}
LEGACY = ("bayview", "crouse_chapel")


def ledger(db):
    return db.query("SELECT version, status FROM migration.runbook_ledger ORDER BY version")


def test_phase1_applies_then_second_run_changes_nothing(legacy_db, tmp_path):
    first = run_playbook(legacy_db, "phase1.yml", records_dir=tmp_path)
    assert first.returncode == 0, first.output
    assert first.changed == 1  # the migrations (a restore point is a copy in the store, not a change)
    assert set(legacy_db.schemas()) >= NEW_SCHEMAS
    assert ledger(legacy_db) == [(1, "applied"), (2, "applied"), (3, "applied"), (4, "applied")]
    assert legacy_db.scalar("SELECT count(*) FROM migration.memorial_persons") >= 2000

    second = run_playbook(legacy_db, "phase1.yml", records_dir=tmp_path)
    assert second.returncode == 0, second.output
    assert second.changed == 0
    assert legacy_db.scalar("SELECT count(*) FROM migration.runbook_ledger_events WHERE action = 'applied'") == 4

    records = sorted(tmp_path.glob("*-phase1.json"))
    assert len(records) == 2
    record = json.loads(records[-1].read_text())
    assert record["status"] == "succeeded" and record["version_after"] == 4
    assert legacy_db.scalar("SELECT count(*) FROM migration.runbook_runs WHERE status = 'succeeded'") == 2


def test_rollback_to_baseline_leaves_legacy_byte_identical_and_no_new_schema(legacy_db):
    schemas_before = legacy_db.schemas()
    dump_before = legacy_db.pg_dump(*LEGACY)
    handmade_before = legacy_db.query("SELECT * FROM migration.schema_versions ORDER BY id")
    assert run_playbook(legacy_db, "phase1.yml").returncode == 0

    rollback = run_playbook(legacy_db, "emergency_rollback.yml")
    assert rollback.returncode == 0, rollback.output
    assert "Versions still applied: []" in rollback.stdout
    assert legacy_db.pg_dump(*LEGACY) == dump_before
    assert legacy_db.schemas() == schemas_before
    assert ledger(legacy_db) == [(1, "rolled_back"), (2, "rolled_back"), (3, "rolled_back"), (4, "rolled_back")]
    # The hand-made ledger rows are exactly as they were.
    assert legacy_db.query("SELECT * FROM migration.schema_versions ORDER BY id") == handmade_before
    assert [r[1] for r in handmade_before] == ["001", "1", "002", "2", "1", "01"]
    events = legacy_db.query(
        "SELECT action FROM migration.runbook_ledger_events WHERE action = 'adopted_handmade_ledger'"
    )
    assert len(events) == 1

    # The rollback halted the runbook; running Phase 1 again lifts the halt (recorded) and re-applies.
    assert legacy_db.scalar("SELECT count(*) FROM migration.runbook_halts WHERE cleared_at IS NULL") == 1
    again = run_playbook(legacy_db, "phase1.yml")
    assert again.returncode == 0 and again.changed == 2
    assert legacy_db.scalar("SELECT count(*) FROM migration.runbook_halts WHERE cleared_at IS NULL") == 0
    history = legacy_db.query("SELECT action, count(*) FROM migration.runbook_ledger_events GROUP BY 1 ORDER BY 1")
    assert ("applied", 8) in history and ("rolled_back", 4) in history


def test_emergency_rollback_through_a_restore_point(legacy_db, tmp_path):
    """-e restore_point=<id> with confirm_restore: the restore point taken before Phase 1 becomes
    the live database (the previous one is kept, nothing dropped); the legacy data is as it was."""
    store = f"restore_point_store=file://{tmp_path / 'store'}"
    dump_before = legacy_db.pg_dump(*LEGACY, options=("--data-only",))
    assert run_playbook(legacy_db, "phase1.yml", "-e", store, records_dir=tmp_path).returncode == 0
    [record] = [json.loads(p.read_text()) for p in tmp_path.glob("*-phase1.json")]
    point = record["details"]["restore_point"]

    rollback = run_playbook(
        legacy_db,
        "emergency_rollback.yml",
        "-e",
        store,
        "-e",
        f"restore_point={point}",
        "-e",
        f"confirm_restore={legacy_db.name}",
        records_dir=tmp_path,
    )
    assert rollback.returncode == 0, rollback.output[-4000:]
    assert "core" not in legacy_db.schemas()  # the live database is the one from before Phase 1
    # The rows byte for byte. (A restore re-deparses CHECK expressions, e.g. ANY ((ARRAY[...])::text[])
    # becomes ANY (ARRAY[(...)::text]): the same constraint, so the definitions are not compared as text;
    # the restore itself checked the legacy fingerprint against the restore point's manifest.)
    assert legacy_db.pg_dump(*LEGACY, options=("--data-only",)) == dump_before
    kept = legacy_db.query(
        "SELECT datname FROM pg_database WHERE datname LIKE %s", [f"{legacy_db.name[:40]}_before_restore_%"]
    )
    assert len(kept) == 1
    # The live database's grants came with it (a dump does not carry them): the runbook can work there.
    acl = "SELECT datacl::text[] FROM pg_database WHERE datname = %s"
    assert sorted(legacy_db.scalar(acl, [legacy_db.name])) == sorted(legacy_db.scalar(acl, [kept[0][0]]))
    [done] = [json.loads(p.read_text()) for p in tmp_path.glob("*-emergency_rollback.json")]
    assert done["status"] == "succeeded" and done["details"]["restore"]["swapped"]
    # Its checklist says what was observed: a restore brings the legacy data of the restore point
    # (checked against its manifest), which is not the same claim as "unchanged".
    checklist = {c["name"]: c for c in done["details"]["checklist"]}
    assert all(c["passed"] is True for c in checklist.values()), checklist
    matched = checklist["the restored legacy data matches the restore point"]["detail"]
    assert matched == f"fingerprint {done['details']['restore']['legacy_fingerprint_matched']}"
    assert "the legacy data unchanged" not in checklist
    assert checklist["rolled back"]["detail"].startswith(f"restored {point} as {legacy_db.name}")
    # The live database's own records stay true: Phase 1, caught running by its restore point, is
    # closed there saying why; the rollback's row came along with the swap and finished there.
    runs = dict(legacy_db.query("SELECT run_id, status FROM migration.runbook_runs"))
    assert runs == {record["run_id"]: "interrupted", done["run_id"]: "succeeded"}
    why = legacy_db.scalar("SELECT details->>'error' FROM migration.runbook_runs WHERE run_id = %s", [record["run_id"]])
    assert f"restore point {point} was taken while this run was running" in why


def test_partial_rollback_to_a_target_version(legacy_db):
    assert run_playbook(legacy_db, "phase1.yml").returncode == 0
    result = run_playbook(legacy_db, "emergency_rollback.yml", "-e", "target_version=2")
    assert result.returncode == 0, result.output
    assert ledger(legacy_db) == [(1, "applied"), (2, "applied"), (3, "rolled_back"), (4, "rolled_back")]
    assert legacy_db.scalar("SELECT to_regclass('core.persons') IS NOT NULL")
    assert legacy_db.scalar("SELECT to_regclass('migration.memorial_persons') IS NULL")


def test_check_mode_plans_and_changes_nothing(legacy_db):
    schemas_before = legacy_db.schemas()
    result = run_playbook(legacy_db, "phase1.yml", "--check", "--diff")
    assert result.returncode == 0, result.output
    assert "0004 integration_points" in result.stdout  # the planned ledger in diff mode
    assert legacy_db.schemas() == schemas_before
    assert legacy_db.scalar("SELECT to_regclass('migration.runbook_ledger')") is None


def test_concurrent_run_waits_then_fails_naming_the_holder(legacy_db):
    from ansible.module_utils.bayview import db

    holder = db.connect({**legacy_db.params(), "application_name": "another-runbook-run"})
    try:
        db.acquire_run_lock(holder, "test")
        second = run_playbook(legacy_db, "phase1.yml", "-e", "bayview_lock_wait_seconds=1")
        assert second.returncode != 0
        assert "holds the migration lock" in second.stdout and "another-runbook-run" in second.stdout
        assert ledger(legacy_db) == []  # it waited, then changed nothing
    finally:
        holder.close()
    again = run_playbook(legacy_db, "phase1.yml")
    assert again.returncode == 0, again.output
    assert ledger(legacy_db)[-1] == (4, "applied")


def test_sigkill_in_the_middle_of_a_migration_is_completed_by_the_next_run(legacy_db, migrations_copy):
    add_migration(migrations_copy, 5, "slow", *HELD_MIGRATION)
    migrations_arg = f"bayview_migrations_dir={migrations_copy}"
    cmd, env = playbook_command(legacy_db, "phase1.yml", "-e", migrations_arg, "-e", LONG_LOCK_TIMEOUT)
    with legacy_db.connect() as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [HELD_MIGRATION_LOCK])
        proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        wait_until_blocked_by(legacy_db, holder.info.backend_pid, proc)
        kill_tree(proc)  # ansible-playbook, its worker and the module, mid-transaction
    # Versions 1-4 committed; 5 was in flight and must have left nothing behind.
    assert legacy_db.scalar("SELECT to_regclass('core.slow')") is None
    assert (5, "applied") not in ledger(legacy_db)

    rerun = run_playbook(legacy_db, "phase1.yml", "-e", migrations_arg)
    assert rerun.returncode == 0, rerun.output
    assert ledger(legacy_db) == [(v, "applied") for v in range(1, 6)]
    assert (
        legacy_db.scalar(
            "SELECT count(*) FROM migration.runbook_ledger_events WHERE version = 5 AND action = 'applied'"
        )
        == 1
    )


def test_checksum_drift_is_refused_then_accepted_explicitly(legacy_db, migrations_copy):
    arg = f"bayview_migrations_dir={migrations_copy}"
    assert run_playbook(legacy_db, "phase1.yml", "-e", arg).returncode == 0
    up = migrations_copy / "0002_core_persons" / "up.sql"
    up.write_text(up.read_text() + "\n-- a comment added after it was applied\n")

    refused = run_playbook(legacy_db, "phase1.yml", "-e", arg)
    assert refused.returncode != 0
    assert "checksum drift" in refused.stdout and "0002_core_persons: up.sql changed" in refused.stdout

    # Accepting without a reason is refused before the engine connects (the playbook passes it through).
    with pytest.raises(RunbookError, match="needs a reason"):
        migrate.run(legacy_db.params(), migrations_copy, None, 1, "test", "r", False, accept_changed=[2])

    accepted = run_playbook(
        legacy_db,
        "phase1.yml",
        "-e",
        arg,
        "-e",
        '{"accept_checksum_versions": [2], "accept_checksum_reason": "comment only"}',
    )
    assert accepted.returncode == 0, accepted.output
    reason = legacy_db.scalar(
        "SELECT details->>'reason' FROM migration.runbook_ledger_events WHERE action = 'checksum_accepted'"
    )
    assert reason == "comment only"
    assert run_playbook(legacy_db, "phase1.yml", "-e", arg).changed == 0


def test_guard_refuses_a_migration_that_writes_legacy_data_naming_file_and_line(legacy_db, migrations_copy):
    bad = add_migration(
        migrations_copy,
        5,
        "bad",
        "CREATE TABLE core.ok (id int);\n\nUPDATE bayview.memorials SET message = '';\n",
        "DROP TABLE core.ok;\n",
        "SELECT id FROM core.ok WHERE false;\n",
    )
    schemas_before = legacy_db.schemas()
    result = run_playbook(legacy_db, "phase1.yml", "-e", f"bayview_migrations_dir={migrations_copy}")
    assert result.returncode != 0
    assert f"{bad}/up.sql, line 5: UPDATE of a protected table" in result.stdout
    assert legacy_db.schemas() == schemas_before  # refused before anything was touched


def test_failing_verify_leaves_no_trace(legacy_db, migrations_copy):
    add_migration(
        migrations_copy,
        5,
        "broken_verify",
        "CREATE TABLE core.half (id int);\n",
        "DROP TABLE core.half;\n",
        "SELECT no_such_column FROM core.half;\n",
    )
    result = run_playbook(legacy_db, "phase1.yml", "-e", f"bayview_migrations_dir={migrations_copy}")
    assert result.returncode != 0
    assert "its verify step failed" in result.stdout
    # The rollback rehearsal on the scratch copy met it first: production was never touched.
    assert "Rehearse the rollback on a scratch copy" in result.stdout
    assert legacy_db.scalar("SELECT to_regclass('core.half')") is None
    assert ledger(legacy_db) == []
    assert legacy_db.scalar("SELECT status FROM migration.runbook_runs ORDER BY started_at DESC LIMIT 1") == "failed"


def test_connection_error_is_clear_and_exit_status_non_zero(legacy_db):
    result = run_playbook(legacy_db, "phase1.yml", "-e", "bayview_db_port=1")
    assert result.returncode != 0
    assert "Could not connect to 127.0.0.1:1/" in result.stdout and "Next step" in result.stdout


def test_a_failed_preflight_changes_nothing_but_is_recorded(legacy_db, tmp_path):
    with legacy_db.connect("bayview_app") as app:
        app.autocommit = False
        app.execute("SELECT 1 FROM bayview.memorials LIMIT 1")  # idle in transaction, holding a lock
        time.sleep(1.1)
        result = run_playbook(
            legacy_db, "phase1.yml", "-e", "bayview_idle_in_transaction_seconds=1", records_dir=tmp_path
        )
        app.rollback()
    assert result.returncode != 0
    assert "Preflight refused" in result.stdout and "blocking_sessions" in result.stdout
    assert legacy_db.scalar("SELECT to_regclass('migration.runbook_ledger')") is None  # nothing created
    assert legacy_db.scalar("SELECT to_regnamespace('core')") is None
    [record] = tmp_path.glob("*.json")
    assert json.loads(record.read_text())["status"] == "failed"


def test_the_password_never_appears_in_output_or_records(legacy_db, tmp_path):
    password = next(
        line.rsplit(":", 1)[1].strip()
        for line in legacy_db.cluster.passfile.read_text().splitlines()
        if ":bayview_runbook:" in line
    )
    result = run_playbook(
        legacy_db,
        "phase1.yml",
        "-vvv",
        "-e",
        f"bayview_db_password={password}",
        "-e",
        "bayview_db_passfile=",
        "-e",
        "bayview_admin_db_password=",
        "-e",
        f"bayview_admin_db_passfile={legacy_db.cluster.passfile}",  # the superuser's, for the scratch copy
        records_dir=tmp_path,
    )
    assert result.returncode == 0, result.output[-3000:]
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in result.stdout  # it was used, and masked
    assert password not in result.output
    for record in tmp_path.glob("*.json"):
        assert password not in record.read_text()
    assert (
        legacy_db.scalar("SELECT count(*) FROM migration.runbook_runs WHERE details::text LIKE %s", [f"%{password}%"])
        == 0
    )
