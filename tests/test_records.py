"""The whole record in the new design: memorial applications, chapel services, their details and
payments, migrated by the same engine as the persons, on real PostgreSQL with hostile values."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from ansible.module_utils.bayview import data_migrate, data_migrations, data_sync, migrate, validate
from ansible.module_utils.bayview.errors import RunbookError
from conftest import MIGRATIONS, ROOT, _template, drop_database, new_database, wait_until_blocked_by

DATA = ROOT / "migrations" / "data"
ALL = data_migrations.names(DATA)
RECORD_TABLES = {
    "0003_memorial_applications": ("bayview.memorials", "property.memorial_applications"),
    "0004_chapel_services": ("crouse_chapel.service_applications", "events.chapel_services"),
    "0005_wedding_details": ("crouse_chapel.wedding_details", "events.wedding_details"),
    "0006_memorial_service_details": ("crouse_chapel.memorial_details", "events.memorial_service_details"),
    "0007_baptism_details": ("crouse_chapel.baptism_details", "events.baptism_details"),
    "0008_general_use_details": ("crouse_chapel.general_use_details", "events.general_use_details"),
    "0009_memorial_payments": ("bayview.memorial_payments", "finance.payments"),
    "0010_chapel_payments": ("crouse_chapel.payments", "finance.payments"),
    "0011_clergy": ("crouse_chapel.clergy", "events.clergy"),
    "0012_service_clergy": ("crouse_chapel.service_clergy", "events.service_clergy"),
    "0013_service_music": ("crouse_chapel.service_music", "events.service_music"),
    "0014_service_musicians": ("crouse_chapel.service_musicians", "events.service_musicians"),
    "0015_service_equipment": ("crouse_chapel.service_equipment", "events.service_equipment"),
    "0016_policy_acknowledgments": ("crouse_chapel.policy_acknowledgments", "events.policy_acknowledgments"),
    "0017_service_notifications": ("crouse_chapel.notifications", "events.service_notifications"),
    "0018_chapel_availability": ("crouse_chapel.chapel_availability", "events.chapel_availability"),
    "0019_blackout_dates": ("crouse_chapel.blackout_dates", "events.blackout_dates"),
    "0020_attachments": ("bayview.attachments", "property.attachments"),
    "0021_legacy_audit_log": ("bayview.audit_log", "migration.legacy_audit_log"),
    "0022_prepayments": ("bayview.prepayments", "finance.payments"),
}
LEGACY = ("bayview", "crouse_chapel")


def load(name):
    return data_migrations.load(DATA, name)


@pytest.fixture
def phase2_db(legacy_db):
    migrate.run(legacy_db.params(), MIGRATIONS, None, 2, "test", "r", check_mode=False)
    return legacy_db


def hostile_rows(db) -> dict:
    """Legacy rows the forms really wrote (as the application would: the test plays the application)."""
    q = db.scalar
    return {
        "sentence": q(
            "INSERT INTO bayview.memorials (first_name, last_name, application_type, celebrant_requested, "
            "payment_status, fee_amount, message) VALUES ('Zoë', 'O''Brien', "
            "'Immediate placement of ashes in the Memorial Garden', 'Not provided', ' PAID ', 150.5, '  ') RETURNING id"
        ),
        "future": q(
            "INSERT INTO bayview.memorials (first_name, last_name, application_type, payment_status) "
            "VALUES ('Ann', 'Lee', 'I would like to reserve a space for future use', '') RETURNING id"
        ),
        "refunded": q(
            "INSERT INTO bayview.memorials (first_name, last_name, application_type, payment_status) "
            "VALUES ('Ruth', 'King', 'immediate', 'refunded') RETURNING id"
        ),
        "orphan_wedding": q(
            "INSERT INTO crouse_chapel.wedding_details (application_id, couple_names, guest_count) "
            "VALUES (NULL, 'A & B', 10) RETURNING id"
        ),
        "negative_guests": q(
            "INSERT INTO crouse_chapel.wedding_details (application_id, couple_names, guest_count) "
            "SELECT min(id), 'C & D', -3 FROM crouse_chapel.service_applications RETURNING id"
        ),
    }


def run_all(db, batch_size: int = 300) -> dict:
    return {name: data_migrate.run(db.params(), load(name), batch_size=batch_size) for name in ALL}


def test_every_record_migrates_validates_and_reverses_exactly(phase2_db):
    hostile = hostile_rows(phase2_db)
    legacy_before = phase2_db.pg_dump(*LEGACY)
    results = run_all(phase2_db)
    for name, (legacy, target) in RECORD_TABLES.items():
        r = results[name]
        assert r["status"] == "completed" and r["rows_read"] == phase2_db.scalar(f"SELECT count(*) FROM {legacy}")
        assert r["migrated"] + r["quarantined"] + r["excluded"] == r["candidates"] == r["rows_read"]  # one per row
        linked = phase2_db.scalar(f"SELECT count(*) FROM {target} WHERE data_migration = %s", [name])
        assert linked == r["migrated"], name
    # What could not enter the new design waits in quarantine, with the reason and the whole row.
    quarantine = {
        (n, i): reason
        for n, i, reason in phase2_db.query(
            "SELECT data_migration, legacy_id, reason FROM migration.quarantine WHERE role = 'record'"
        )
    }
    assert quarantine == {
        ("0003_memorial_applications", hostile["refunded"]): (
            "payment_status 'refunded' is not one of pending, paid, waived"
        ),
        ("0005_wedding_details", hostile["orphan_wedding"]): "its service application (none) is not in the new design",
        ("0005_wedding_details", hostile["negative_guests"]): "guest_count -3 is negative",
    }
    # Every chapel service's details and payments refer to their service; persons join their records by role.
    assert (
        phase2_db.scalar(
            "SELECT count(*) FROM events.wedding_details d JOIN events.chapel_services s ON s.id = d.service_id "
            "JOIN crouse_chapel.wedding_details w ON w.id = d.legacy_id WHERE w.application_id <> s.legacy_id"
        )
        == 0
    )
    assert phase2_db.scalar(
        "SELECT count(*) FROM core.record_persons r JOIN core.persons p ON p.id = r.person_id "
        "WHERE r.record_table = 'property.memorial_applications' AND r.role = 'deceased'"
    ) == phase2_db.scalar(
        "SELECT count(*) FROM core.person_legacy_links WHERE legacy_table = 'bayview.memorials' AND role = 'deceased' "
        "AND legacy_id <> %s",  # the quarantined memorial has no record yet for its deceased to belong to
        [hostile["refunded"]],
    )
    result = validate.validate(phase2_db.params(), [load(n) for n in ALL], None, "test")
    assert result["passed"], validate.failures(result)
    assert {c["check"] for c in result["checks"]} >= {f"{n}: fields" for n in RECORD_TABLES}

    for name in reversed(ALL):
        data_migrate.reverse(phase2_db.params(), load(name), dependents=data_migrations.dependents(DATA, name))
    for _legacy, target in RECORD_TABLES.values():
        assert phase2_db.scalar(f"SELECT count(*) FROM {target}") == 0
    assert phase2_db.scalar("SELECT count(*) FROM migration.quarantine") == 0
    assert phase2_db.pg_dump(*LEGACY) == legacy_before  # read, never written


def test_the_documented_clean_up_rules_of_the_records(phase2_db):
    hostile = hostile_rows(phase2_db)
    run_all(phase2_db)
    row = phase2_db.query(
        "SELECT application_type, celebrant, payment_status, fee::text, message FROM property.memorial_applications "
        "WHERE legacy_id = %s",
        [hostile["sentence"]],
    )
    assert row == [("immediate", None, "paid", "150.50", None)]  # sentence read, 'Not provided' and '  ' are NULL
    assert phase2_db.query(
        "SELECT application_type, payment_status FROM property.memorial_applications WHERE legacy_id = %s",
        [hostile["future"]],
    ) == [("future", None)]
    # Across the sample: every sentence-like type became immediate or future, or NULL when it said nothing.
    assert phase2_db.query(
        "SELECT DISTINCT coalesce(application_type, 'NULL') FROM property.memorial_applications ORDER BY 1"
    ) == [("NULL",), ("future",), ("immediate",)]
    assert (
        phase2_db.scalar(
            "SELECT count(*) FROM property.memorial_applications a JOIN bayview.memorials m ON m.id = a.legacy_id "
            "WHERE btrim(m.application_type) = '' AND a.application_type IS NOT NULL"
        )
        == 0
    )
    assert (
        phase2_db.scalar(
            "SELECT count(*) FROM property.memorial_applications WHERE celebrant IN ('', 'none') OR message = ''"
        )
        == 0
    )
    assert (
        phase2_db.scalar(
            "SELECT count(*) FROM events.chapel_services s JOIN crouse_chapel.service_applications a ON a.id = s.legacy_id "
            "WHERE s.service_type <> a.application_type OR s.status <> a.status OR s.service_date <> a.service_date"
        )
        == 0
    )


def test_a_migration_waits_for_what_it_depends_on_and_is_reversed_after_its_dependents(phase2_db):
    params = phase2_db.params()
    with pytest.raises(RunbookError, match=r"depends on 0004_chapel_services \(not started\)"):
        data_migrate.run(params, load("0005_wedding_details"))
    assert phase2_db.scalar("SELECT count(*) FROM migration.data_migration_checkpoints") == 0  # refused before anything
    # A sample (Phase 2's trial) needs its dependency started only; rows whose service is not in the sample wait.
    data_migrate.run(params, load("0004_chapel_services"), batch_size=100, max_batches=1)
    sample = data_migrate.run(params, load("0005_wedding_details"), batch_size=100, max_batches=1)
    assert sample["migrated"] + sample["quarantined"] == 100 and sample["quarantined"] > 0
    with pytest.raises(RunbookError, match="depends on 0004_chapel_services \\(running\\)"):
        data_migrate.run(params, load("0005_wedding_details"))  # a whole run needs it completed
    with pytest.raises(RunbookError, match="cannot be reversed while 0005_wedding_details \\(running\\) depends on it"):
        data_migrate.reverse(
            params, load("0004_chapel_services"), dependents=data_migrations.dependents(DATA, "0004_chapel_services")
        )
    assert phase2_db.scalar("SELECT count(*) FROM events.wedding_details") == sample["migrated"]  # unchanged
    data_migrate.reverse(params, load("0005_wedding_details"))
    data_migrate.reverse(params, load("0004_chapel_services"), dependents=["0005_wedding_details"])
    assert phase2_db.scalar("SELECT count(*) FROM events.chapel_services") == 0


def test_one_module_call_for_several_migrations_stops_at_the_first_refused_naming_it_and_those_done(phase2_db):
    """Phase 3's sync and the emergency rollback's reverse give the module a list (one call, not one
    per migration): the first that fails stops the call, and its error says which and what is done."""
    arguments = phase2_db.params() | {
        "data_migrations": ["0003_memorial_applications", "0005_wedding_details", "0006_memorial_service_details"],
        "data_migrations_dir": str(DATA),
    }
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible"), "localhost", "-c", "local"]
        + ["-m", "ansible.legacy.bayview_data_migrate", "-a", json.dumps(arguments)]
        + ["-e", f"ansible_python_interpreter={sys.executable}", "--one-line"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0, result.stdout[-3000:]
    failure = json.loads(result.stdout.partition("localhost | FAILED! => ")[2])
    assert failure["msg"].startswith("0005_wedding_details: ") and "depends on 0004_chapel_services" in failure["msg"]
    assert failure["completed"] == ["0003_memorial_applications"] and failure["next_step"]
    done = phase2_db.query("SELECT data_migration, status FROM migration.data_migration_checkpoints")
    assert done == [("0003_memorial_applications", "completed")]  # the one after the refusal never started


def test_reversing_one_migration_leaves_the_others_and_legacy_intact(phase2_db):
    legacy_before = phase2_db.pg_dump(*LEGACY)
    run_all(phase2_db)
    others = phase2_db.query(
        "SELECT 'persons', count(*) FROM core.persons UNION ALL SELECT 'applications', count(*) FROM "
        "property.memorial_applications UNION ALL SELECT 'weddings', count(*) FROM events.wedding_details "
        "UNION ALL SELECT 'memorial payments', count(*) FROM finance.payments WHERE paid_for = 'memorial_application'"
    )
    result = data_migrate.reverse(phase2_db.params(), load("0010_chapel_payments"))
    assert result["rows_removed"] == phase2_db.scalar("SELECT count(*) FROM crouse_chapel.payments")
    assert phase2_db.scalar("SELECT count(*) FROM finance.payments WHERE paid_for = 'chapel_service'") == 0
    assert (
        phase2_db.query(
            "SELECT 'persons', count(*) FROM core.persons UNION ALL SELECT 'applications', count(*) FROM "
            "property.memorial_applications UNION ALL SELECT 'weddings', count(*) FROM events.wedding_details "
            "UNION ALL SELECT 'memorial payments', count(*) FROM finance.payments WHERE paid_for = 'memorial_application'"
        )
        == others
    )
    assert phase2_db.pg_dump(*LEGACY) == legacy_before


def test_sync_follows_inserts_updates_and_deletes_in_several_tables(phase2_db):
    run_all(phase2_db)
    with phase2_db.connect() as app:  # the web application's writes, after the migration
        app.execute("UPDATE bayview.memorials SET message = 'Rest in peace', payment_status = 'waived' WHERE id = 7")
        app.execute("UPDATE crouse_chapel.wedding_details SET guest_count = 250 WHERE id = 3")  # no updated_at
        gone = app.execute("DELETE FROM crouse_chapel.payments WHERE id = 2 RETURNING id").fetchone()[0]
        new = app.execute(
            "INSERT INTO bayview.memorial_payments (memorial_id, amount, payment_method, paid_at, reference) "
            "VALUES (8, 75.25, 'Check', now(), 'chk-1') RETURNING id"
        ).fetchone()[0]
    results = {name: data_sync.sync(phase2_db.params(), load(name), margin_seconds=0) for name in ALL}
    assert results["0003_memorial_applications"]["changes_this_run"] == 1
    assert results["0005_wedding_details"]["changes_this_run"] == 1
    assert results["0010_chapel_payments"]["deleted_rows_removed"] == 1
    assert results["0009_memorial_payments"]["batches_this_run"] == 1
    q = phase2_db.query
    assert q("SELECT message, payment_status FROM property.memorial_applications WHERE legacy_id = 7") == [
        ("Rest in peace", "waived")
    ]
    assert q("SELECT guest_count FROM events.wedding_details WHERE legacy_id = 3") == [(250,)]
    assert q(
        "SELECT count(*) FROM finance.payments WHERE legacy_table = 'crouse_chapel.payments' AND legacy_id = %s", [gone]
    ) == [(0,)]
    assert q(
        "SELECT p.amount::text, p.method, a.legacy_id FROM finance.payments p "
        "JOIN property.memorial_applications a ON a.id = p.memorial_application_id "
        "WHERE p.legacy_table = 'bayview.memorial_payments' AND p.legacy_id = %s",
        [new],
    ) == [("75.25", "check", 8)]
    again = {name: data_sync.sync(phase2_db.params(), load(name), margin_seconds=0) for name in ALL}
    assert {n: r["changes_this_run"] for n, r in again.items()} == dict.fromkeys(ALL, 0)
    result = validate.validate(phase2_db.params(), [load(n) for n in ALL], None, "test")
    assert result["passed"], validate.failures(result)


def test_validation_names_the_key_of_a_corrupted_detail_field(phase2_db):
    run_all(phase2_db)
    with phase2_db.connect() as conn:
        conn.execute("UPDATE events.memorial_service_details SET deceased_name = 'Someone else' WHERE legacy_id = 5")
    result = validate.validate(phase2_db.params(), [load(n) for n in ALL], None, "test")
    assert not result["passed"]
    failed = [c for c in result["checks"] if not c["passed"]]
    assert [c["check"] for c in failed] == ["0006_memorial_service_details: fields"]
    assert [d["legacy_id"] for d in failed[0]["differences"]] == [5]


def test_sigkill_in_the_middle_of_a_detail_batch_resumes_with_exact_counts(phase2_db, tmp_path):
    for name in ("0004_chapel_services",):
        data_migrate.run(phase2_db.params(), load(name))
    detail = load("0005_wedding_details")
    reference = data_migrate.dry_run(phase2_db.params(), detail)["would"]
    data_migrate.run(phase2_db.params(), detail, batch_size=50, max_batches=2)  # committed progress
    script = tmp_path / "runner.py"
    script.write_text(
        "import bayview_runbook.engine\n"
        "from ansible.module_utils.bayview import data_migrate, data_migrations\n"
        f"params = {phase2_db.params()!r}\n"
        "params['lock_timeout_ms'] = 120000\n"
        f"data_migrate.run(params, data_migrations.load({str(DATA)!r}, '0005_wedding_details'), batch_size=50)\n"
    )
    with phase2_db.connect() as blocker:
        blocker.autocommit = False
        blocker.execute("LOCK TABLE events.wedding_details IN EXCLUSIVE MODE")  # the third batch waits inside
        holder = blocker.info.backend_pid
        runner = subprocess.Popen([sys.executable, str(script)], start_new_session=True)
        wait_until_blocked_by(phase2_db, holder, runner)
        os.killpg(runner.pid, signal.SIGKILL)
        runner.wait()
        blocker.rollback()
    last_key, migrated = phase2_db.query(
        "SELECT last_key, migrated FROM migration.data_migration_checkpoints WHERE data_migration = %s", [detail.NAME]
    )[0]
    assert migrated == phase2_db.scalar("SELECT count(*) FROM events.wedding_details")  # nothing of the killed batch
    assert last_key == phase2_db.scalar(
        "SELECT max(id) FROM (SELECT id FROM crouse_chapel.wedding_details ORDER BY id LIMIT 100) k"
    )
    result = data_migrate.run(phase2_db.params(), detail, batch_size=50)
    assert result["status"] == "completed"
    assert (result["migrated"], result["quarantined"]) == (reference["migrated"], reference.get("quarantined", 0))
    assert phase2_db.scalar("SELECT count(*) FROM events.wedding_details") == reference["migrated"]
    assert (
        phase2_db.scalar(
            "SELECT count(*) FROM (SELECT legacy_id FROM events.wedding_details GROUP BY 1 HAVING count(*) > 1) d"
        )
        == 0
    )


def test_an_environment_without_prepayments_completes_that_migration_with_nothing_to_do(cluster):
    db = new_database(cluster, _template(cluster, "minimal"))  # no bayview.prepayments, one person per memorial
    try:
        migrate.run(db.params(), MIGRATIONS, None, 2, "test", "r", check_mode=False)
        results = run_all(db)
        assert all(r["status"] == "completed" for r in results.values())
        assert results["0022_prepayments"]["legacy_table"] == "not in this environment"
        assert results["0022_prepayments"]["legacy_total"] == 0
        assert data_migrate.dry_run(db.params(), load("0023_prepayment_persons"))["would"] == {}
        synced = data_sync.sync(db.params(), load("0022_prepayments"), margin_seconds=0)
        assert synced["changes_this_run"] == 0 and synced["legacy_table"] == "not in this environment"
        result = validate.validate(db.params(), [load(n) for n in ALL], None, "test")
        assert result["passed"], validate.failures(result)
        absent = next(c for c in result["checks"] if c["check"] == "0022_prepayments: counts")
        assert absent["summary"] == "bayview.prepayments is not in this environment: nothing to migrate"
    finally:
        drop_database(db)
