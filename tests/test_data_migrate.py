"""Batched data migration of the memorial persons, on real PostgreSQL with the sample's hostile data."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ansible.module_utils.bayview import data_migrate, data_migrations, data_sync, migrate
from ansible.module_utils.bayview.errors import RunbookError
from conftest import MIGRATIONS, ROOT

DATA = ROOT / "migrations" / "data"
NAME = "0001_memorial_persons"


@pytest.fixture
def phase2_db(legacy_db):
    migrate.run(legacy_db.params(), MIGRATIONS, None, 2, "test", "r", check_mode=False)
    return legacy_db


def migration():
    return data_migrations.load(DATA, NAME)


def totals(db) -> dict:
    persons = db.scalar("SELECT count(*) FROM core.persons")
    links = db.scalar("SELECT count(*) FROM core.person_legacy_links WHERE data_migration = %s", [NAME])
    quarantined = db.scalar("SELECT count(*) FROM migration.quarantine WHERE data_migration = %s", [NAME])
    return {"persons": persons, "links": links, "quarantined": quarantined}


def runner_script(tmp_path: Path, db, workers: int) -> Path:
    """A separate process that runs the migration in batches of 250, waiting as long as a lock holds it."""
    script = tmp_path / "runner.py"
    script.write_text(
        "import bayview_runbook.engine\n"
        "from ansible.module_utils.bayview import data_migrate, data_migrations\n"
        f"params = {db.params()!r}\n"
        "params['lock_timeout_ms'] = 120000\n"
        f"data_migrate.run(params, data_migrations.load({str(DATA)!r}, {NAME!r}), batch_size=250, workers={workers})\n"
    )
    return script


def resumes_exactly(db, reference: dict, workers: int) -> None:
    """Run again after a kill: the counts the dry run predicted, no duplicate link."""
    result = data_migrate.run(db.params(), migration(), batch_size=250, workers=workers)
    assert result["status"] == "completed" and result["rows_read"] == 2000
    assert (result["migrated"], result["quarantined"], result["excluded"]) == (
        reference["migrated"],
        reference["quarantined"],
        reference["excluded"],
    )
    assert totals(db)["persons"] == reference["migrated"]
    assert (
        db.scalar(
            "SELECT count(*) FROM (SELECT legacy_id, role FROM core.person_legacy_links GROUP BY 1, 2 HAVING count(*) > 1) d"
        )
        == 0
    )


def test_counts_add_up_and_the_dry_run_predicted_them(phase2_db):
    plan = data_migrate.dry_run(phase2_db.params(), migration())["would"]
    assert phase2_db.scalar("SELECT count(*) FROM migration.data_migration_checkpoints") == 0  # dry run wrote nothing
    result = data_migrate.run(phase2_db.params(), migration(), batch_size=300)
    assert result["status"] == "completed" and result["batches"] == 7  # 2000 rows / 300
    assert result["rows_read"] == result["legacy_total"] == 2000
    assert result["candidates"] == 2000 * 5  # deceased, other, second, contact, member sponsor
    assert result["migrated"] + result["quarantined"] + result["excluded"] == result["candidates"]
    assert (result["migrated"], result["quarantined"], result["excluded"]) == (
        plan["migrated"],
        plan["quarantined"],
        plan["excluded"],
    )
    assert totals(phase2_db) == {
        "persons": result["migrated"],
        "links": result["migrated"],
        "quarantined": result["quarantined"],
    }
    again = data_migrate.run(phase2_db.params(), migration(), batch_size=300)
    assert again["batches_this_run"] == 0 and totals(phase2_db)["persons"] == result["migrated"]
    assert data_migrate.dry_run(phase2_db.params(), migration())["would"] == {}


def test_clean_up_rules_and_hostile_names(phase2_db):
    data_migrate.run(phase2_db.params(), migration(), batch_size=1000)
    q = phase2_db.scalar
    # Placeholders and blanks never become names; text is trimmed; one-word names are last names.
    assert (
        q(
            "SELECT count(*) FROM core.persons WHERE lower(first_name) IN ('n/a', 'unknown', 'tbd', '-', '') OR lower(last_name) IN ('n/a', 'unknown', '')"
        )
        == 0
    )
    assert (
        q("SELECT count(*) FROM core.persons WHERE first_name <> btrim(first_name) OR last_name <> btrim(last_name)")
        == 0
    )
    one_word = q(
        "SELECT count(*) FROM bayview.memorials m JOIN core.person_legacy_links l ON l.legacy_id = m.id AND l.role = 'deceased' "
        "JOIN core.persons p ON p.id = l.person_id WHERE btrim(m.first_name) = btrim(m.last_name) AND m.first_name <> '' "
        "AND p.first_name IS NULL AND p.last_name = btrim(m.last_name)"
    )
    assert one_word > 0
    for hostile in ("O'Brien", "Nguyễn", "Robert'); DROP TABLE bayview.memorials;--", "🌹 Rose"):
        assert q("SELECT count(*) FROM core.persons WHERE first_name = %s OR last_name = %s", [hostile, hostile]) > 0, (
            hostile
        )
    # Every quarantined row keeps its reason and the legacy row as it was.
    reasons = dict(phase2_db.query("SELECT reason, count(*) FROM migration.quarantine GROUP BY 1"))
    assert set(reasons) == {"no usable name", "death date before birth date"}
    assert q("SELECT count(*) FROM migration.quarantine WHERE legacy_row ? 'submission_id'") == sum(reasons.values())
    # Contacts are split at the last space and e-mail addresses lower-cased.
    assert q("SELECT count(*) FROM core.persons WHERE person_type = 'contact' AND email <> lower(email)") == 0
    # Every person has exactly one link, and every link points at an existing memorial.
    assert (
        q(
            "SELECT count(*) FROM core.persons p WHERE NOT EXISTS (SELECT 1 FROM core.person_legacy_links l WHERE l.person_id = p.id)"
        )
        == 0
    )
    assert (
        q(
            "SELECT count(*) FROM core.person_legacy_links l WHERE NOT EXISTS (SELECT 1 FROM bayview.memorials m WHERE m.id = l.legacy_id)"
        )
        == 0
    )


def test_sigkill_in_the_middle_of_a_batch_resumes_with_no_duplicate_and_no_gap(phase2_db, tmp_path):
    reference = data_migrate.dry_run(phase2_db.params(), migration())["would"]
    data_migrate.run(phase2_db.params(), migration(), batch_size=250, max_batches=2)  # committed progress
    script = runner_script(tmp_path, phase2_db, workers=1)
    with phase2_db.connect() as blocker:
        blocker.autocommit = False
        blocker.execute("LOCK TABLE core.persons IN EXCLUSIVE MODE")  # the third batch will wait inside its transaction
        runner = subprocess.Popen([sys.executable, str(script)], start_new_session=True)
        deadline = time.monotonic() + 60
        while not phase2_db.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'bayview-test' AND wait_event_type = 'Lock'"
        ):
            assert time.monotonic() < deadline, "the runner never reached its batch"
            time.sleep(0.1)
        os.killpg(runner.pid, signal.SIGKILL)
        runner.wait()
        blocker.rollback()
    checkpoint = phase2_db.query("SELECT last_key, rows_read, migrated FROM migration.data_migration_checkpoints")[0]
    assert checkpoint[0] == 500 and checkpoint[1] == 500  # only the two committed batches
    assert totals(phase2_db)["persons"] == checkpoint[2]  # nothing of the killed batch remains

    resumes_exactly(phase2_db, reference, workers=1)


def test_two_workers_write_what_one_writes_with_the_same_checkpoint(phase2_db):
    one = data_migrate.run(phase2_db.params(), migration(), batch_size=300)
    persons_one = phase2_db.query(
        "SELECT l.legacy_id, l.role, p.first_name, p.last_name, p.birth_date FROM core.persons p "
        "JOIN core.person_legacy_links l ON l.person_id = p.id ORDER BY 1, 2"
    )
    data_migrate.reverse(phase2_db.params(), migration())
    two = data_migrate.run(phase2_db.params(), migration(), batch_size=300, workers=2)
    keys = ("status", "last_key", "rows_read", "candidates", "migrated", "quarantined", "excluded", "batches")
    assert {k: two[k] for k in keys} == {k: one[k] for k in keys}
    assert two["checksum"] == one["checksum"]  # the same batches, chained in the same key order
    assert [t["last_key"] for t in two["batch_timings"]] == [300, 600, 900, 1200, 1500, 1800, 2000]
    assert (
        phase2_db.query(
            "SELECT l.legacy_id, l.role, p.first_name, p.last_name, p.birth_date FROM core.persons p "
            "JOIN core.person_legacy_links l ON l.person_id = p.id ORDER BY 1, 2"
        )
        == persons_one
    )


def test_a_batch_that_finished_first_waits_for_the_one_before_it(phase2_db, tmp_path):
    """Two workers: the first batch of a round is held by a lock, the second finishes its work.
    The second must not commit before the first; killed then, the run leaves neither behind."""
    reference = data_migrate.dry_run(phase2_db.params(), migration())["would"]
    data_migrate.run(phase2_db.params(), migration(), batch_size=250, max_batches=2)
    script = runner_script(tmp_path, phase2_db, workers=2)
    first_of_round = phase2_db.scalar(
        "SELECT min(id) FROM bayview.memorials WHERE id > 500 AND death_date IS NULL "
        "AND lower(btrim(last_name)) NOT IN ('', 'n/a', 'na', 'unknown', '-', '--', '?', 'tbd', 'none', 'null')"
    )
    with phase2_db.connect() as blocker:
        blocker.autocommit = False
        # An uncommitted link for a legacy row of the third batch: its insert waits on this transaction.
        person = blocker.execute(
            "INSERT INTO core.persons (person_type, last_name) VALUES ('other', 'Blocker') RETURNING id"
        ).fetchone()[0]
        blocker.execute(
            "INSERT INTO core.person_legacy_links (person_id, legacy_table, legacy_id, role) "
            "VALUES (%s, 'bayview.memorials', %s, 'deceased')",
            [person, first_of_round],
        )
        runner = subprocess.Popen([sys.executable, str(script)], start_new_session=True)
        deadline = time.monotonic() + 60
        while phase2_db.query(
            "SELECT wait_event_type, state FROM pg_stat_activity WHERE application_name = 'bayview-test' "
            "AND backend_xid IS NOT NULL ORDER BY 1"
        ) != [("Client", "idle in transaction"), ("Lock", "active")]:
            assert time.monotonic() < deadline, phase2_db.query(
                "SELECT wait_event_type, wait_event, state, backend_xid::text, left(query, 60) FROM pg_stat_activity "
                "WHERE application_name = 'bayview-test'"
            )
            time.sleep(0.1)
        # The finished batch is idle in its transaction, and that transaction is still in progress: it
        # waits for the one before it instead of committing.
        finished_xid = phase2_db.scalar(
            "SELECT backend_xid::text FROM pg_stat_activity WHERE application_name = 'bayview-test' "
            "AND state = 'idle in transaction'"
        )
        assert phase2_db.scalar("SELECT pg_xact_status(%s::xid8)", [finished_xid]) == "in progress"
        assert phase2_db.scalar("SELECT last_key FROM migration.data_migration_checkpoints") == 500
        # Two workers, two connections: the run's own is the first worker's.
        assert (
            phase2_db.scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'bayview-test' "
                "AND pid <> pg_backend_pid()"
            )
            == 2
        )
        os.killpg(runner.pid, signal.SIGKILL)
        runner.wait()
        blocker.rollback()
    checkpoint = phase2_db.query("SELECT last_key, rows_read, migrated FROM migration.data_migration_checkpoints")[0]
    assert checkpoint[:2] == (500, 500)
    assert totals(phase2_db)["persons"] == checkpoint[2]  # nothing of either batch remains
    assert phase2_db.scalar("SELECT count(*) FROM core.person_legacy_links WHERE legacy_id > 500") == 0

    resumes_exactly(phase2_db, reference, workers=2)


def test_workers_must_be_at_least_one(phase2_db):
    with pytest.raises(RunbookError, match="workers must be at least 1"):
        data_migrate.run(phase2_db.params(), migration(), workers=0)
    assert phase2_db.scalar("SELECT count(*) FROM migration.data_migration_checkpoints") == 0


def test_reverse_removes_exactly_what_the_migration_created(phase2_db):
    phase2_db.query(
        "INSERT INTO core.persons (person_type, first_name, last_name) VALUES ('other', 'Kept', 'Person') RETURNING id",
        user="bayview_runbook",
    )
    legacy_before = phase2_db.pg_dump("bayview", "crouse_chapel")
    created = data_migrate.run(phase2_db.params(), migration(), batch_size=1000)["migrated"]
    result = data_migrate.reverse(phase2_db.params(), migration())
    assert result["rows_removed"] == created
    assert phase2_db.query("SELECT first_name, last_name FROM core.persons") == [("Kept", "Person")]
    assert totals(phase2_db)["quarantined"] == 0 and totals(phase2_db)["links"] == 0
    assert phase2_db.pg_dump("bayview", "crouse_chapel") == legacy_before
    again = data_migrate.run(phase2_db.params(), migration(), batch_size=1000)
    assert again["migrated"] == created  # a reversed migration can run again from the start


def test_an_unknown_data_migration_is_refused_with_the_known_ones(phase2_db):
    from ansible.module_utils.bayview.errors import RunbookError

    with pytest.raises(RunbookError, match="use one of: 0001_memorial_persons"):
        data_migrations.load(DATA, "0099_nope")
    assert Path(DATA / "README.md").is_file()


def test_chapel_persons_migrate_beside_memorial_persons_and_reverse_independently(phase2_db):
    chapel = data_migrations.load(DATA, "0002_chapel_persons")
    memorial = data_migrate.run(phase2_db.params(), migration(), batch_size=1000)
    result = data_migrate.run(phase2_db.params(), chapel, batch_size=400)
    applications = phase2_db.scalar("SELECT count(*) FROM crouse_chapel.service_applications")
    assert result["rows_read"] == applications and result["candidates"] == applications * 2
    assert result["migrated"] + result["quarantined"] + result["excluded"] == result["candidates"]
    links = dict(phase2_db.query("SELECT data_migration, count(*) FROM core.person_legacy_links GROUP BY 1"))
    assert links == {NAME: memorial["migrated"], "0002_chapel_persons": result["migrated"]}
    assert (
        phase2_db.scalar(
            "SELECT count(*) FROM core.person_legacy_links WHERE legacy_table = 'crouse_chapel.service_applications' AND role = 'contact'"
        )
        > 0
    )
    data_migrate.reverse(phase2_db.params(), chapel)
    assert dict(phase2_db.query("SELECT data_migration, count(*) FROM core.person_legacy_links GROUP BY 1")) == {
        NAME: memorial["migrated"]
    }


def test_incremental_sync_picks_up_new_and_updated_rows_and_keeps_person_ids(phase2_db):
    first = data_migrate.run(phase2_db.params(), migration(), batch_size=500)
    person_of_7 = phase2_db.scalar(
        "SELECT person_id FROM core.person_legacy_links WHERE legacy_id = 7 AND role = 'deceased'"
    )
    with phase2_db.connect("bayview_app") as app:  # the web application keeps working
        app.execute("UPDATE bayview.memorials SET first_name = 'Renamed', last_name = 'Person' WHERE id = 7")
        app.execute(
            "UPDATE bayview.memorials SET contact_name = '', contact_email = '', contact_phone = '' WHERE id = 8"
        )
        app.execute("UPDATE bayview.memorials SET birth_date = '2000-01-01', death_date = '1990-01-01' WHERE id = 9")
        app.execute(
            "INSERT INTO bayview.memorials (submission_id, first_name, last_name, contact_name) "
            "VALUES ('MG-new-1', 'New', 'Arrival', 'Jo Contact'), ('MG-new-2', '', '', '')"
        )
        app.execute("DELETE FROM bayview.attachments WHERE memorial_id = 10")
        app.execute("DELETE FROM bayview.memorial_payments WHERE memorial_id = 10")
        app.execute("DELETE FROM bayview.memorials WHERE id = 10")
    assert phase2_db.scalar("SELECT count(*) FROM core.person_legacy_links WHERE legacy_id = 10") > 0
    result = data_sync.sync(phase2_db.params(), migration(), batch_size=500, margin_seconds=0)
    assert result["resynced_this_run"] >= 3 and result["rows_read"] == 2001
    assert result["deleted_rows_removed"] > 0
    assert phase2_db.scalar("SELECT count(*) FROM core.person_legacy_links WHERE legacy_id = 10") == 0
    assert result["migrated"] + result["quarantined"] + result["excluded"] == result["candidates"]
    q = phase2_db.scalar
    assert q("SELECT person_id FROM core.person_legacy_links WHERE legacy_id = 7 AND role = 'deceased'") == person_of_7
    assert q("SELECT first_name || ' ' || last_name FROM core.persons WHERE id = %s", [person_of_7]) == "Renamed Person"
    assert q("SELECT count(*) FROM core.person_legacy_links WHERE legacy_id = 8 AND role = 'contact'") == 0
    assert (
        q("SELECT reason FROM migration.quarantine WHERE legacy_id = 9 AND role = 'deceased'")
        == "death date before birth date"
    )
    assert (
        q(
            "SELECT count(*) FROM core.persons p JOIN core.person_legacy_links l ON l.person_id = p.id "
            "JOIN bayview.memorials m ON m.id = l.legacy_id WHERE m.submission_id = 'MG-new-1'"
        )
        == 2
    )
    # The synced state equals a migration from scratch of today's legacy data.
    synced = {k: result[k] for k in ("migrated", "quarantined", "excluded")}
    data_migrate.reverse(phase2_db.params(), migration())
    fresh = data_migrate.run(phase2_db.params(), migration(), batch_size=500)
    assert {k: fresh[k] for k in ("migrated", "quarantined", "excluded")} == synced
    assert first["rows_read"] == 2000


def test_a_sync_of_unchanged_rows_at_the_watermark_changes_nothing(phase2_db):
    """A bulk load gives many legacy rows one updated_at, inside the sync's margin: every sync reads
    them again, and must find nothing to do (reported unchanged, nothing rewritten)."""
    with phase2_db.connect("bayview_app") as app:
        app.execute("UPDATE bayview.memorials SET message = message")  # the trigger: one updated_at for all
    data_migrate.run(phase2_db.params(), migration(), batch_size=500)
    with phase2_db.connect("bayview_app") as app:  # one real change among them
        app.execute("UPDATE bayview.memorials SET first_name = 'Changed' WHERE id = 7")
    first = data_sync.sync(phase2_db.params(), migration(), batch_size=500)
    assert first["resynced_this_run"] == 1 and first["changes_this_run"] == 1  # changed since the run began
    persons_xmin = phase2_db.query("SELECT id, xmin::text FROM core.persons ORDER BY id")
    quarantine_xmin = phase2_db.query("SELECT id, xmin::text FROM migration.quarantine ORDER BY id")
    second = data_sync.sync(phase2_db.params(), migration(), batch_size=500)
    assert second["resynced_this_run"] == 2000  # read again: the bulk load is inside the margin
    assert second["changes_this_run"] == 0 and second["batches_this_run"] == 0
    # Nothing was rewritten: every person and quarantine row is the same row version as before.
    assert phase2_db.query("SELECT id, xmin::text FROM core.persons ORDER BY id") == persons_xmin
    assert phase2_db.query("SELECT id, xmin::text FROM migration.quarantine ORDER BY id") == quarantine_xmin


def test_the_dual_write_mode_is_stored_and_every_change_recorded(phase2_db):
    from ansible.module_utils.bayview import dual_write
    from ansible.module_utils.bayview.db import connect
    from ansible.module_utils.bayview.errors import RunbookError

    with connect(phase2_db.params()) as conn:
        assert dual_write.get_mode(conn)["mode"] == "legacy-only"
        before, after = dual_write.set_mode(conn, "dual", "Jane Operator", "Phase 2")
        assert (before["mode"], after["mode"], after["changed_by"]) == ("legacy-only", "dual", "Jane Operator")
        assert dual_write.set_mode(conn, "dual", "someone", "again") == (after, after)  # no change, no record
        with pytest.raises(RunbookError, match="Unknown dual-write mode"):
            dual_write.set_mode(conn, "both", "x", "")
    history = phase2_db.query("SELECT old_mode, new_mode, changed_by, reason FROM migration.dual_write_mode_history")
    assert history == [("legacy-only", "dual", "Jane Operator", "Phase 2")]
