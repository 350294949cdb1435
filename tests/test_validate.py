"""Full validation of the data migrations, on real PostgreSQL with the sample's hostile data."""

from __future__ import annotations

import pytest
from ansible.module_utils.bayview import data_migrate, data_migrations, data_sync, fingerprint, migrate, validate
from ansible.module_utils.bayview.db import connect
from conftest import MIGRATIONS, run_playbook

from bayview_runbook.engine import DATA_MIGRATIONS

NAMES = ["0001_memorial_persons", "0002_chapel_persons"]  # what the unit cases validate
EVERY = data_migrations.names(DATA_MIGRATIONS)  # what the fixture migrates, as Phase 3 does


@pytest.fixture
def migrated_db(legacy_db):
    migrate.run(legacy_db.params(), MIGRATIONS, None, 2, "test", "r", check_mode=False)
    for name in EVERY:
        data_migrate.run(legacy_db.params(), data_migrations.load(DATA_MIGRATIONS, name), batch_size=700)
    return legacy_db


def run_validation(db, baseline=None) -> dict:
    return validate.validate(db.params(), [data_migrations.load(DATA_MIGRATIONS, n) for n in NAMES], baseline, "test")


def check(result: dict, name: str) -> dict:
    return next(c for c in result["checks"] if c["check"] == name)


def test_a_faithful_migration_passes_and_the_result_is_stored(migrated_db):
    with connect(migrated_db.params()) as conn:
        baseline = fingerprint.store(conn, fingerprint.take(conn), "before", None)
    result = run_validation(migrated_db, baseline)
    assert result["passed"], validate.failures(result)
    persons = migrated_db.scalar(
        "SELECT count(*) FROM core.person_legacy_links WHERE data_migration = ANY(%s)", [NAMES]
    )
    quarantined = migrated_db.scalar(
        "SELECT count(*) FROM migration.quarantine WHERE data_migration = ANY(%s)", [NAMES]
    )
    compared = sum(check(result, f"{n}: fields")["rows_compared"] for n in NAMES)
    assert compared == persons + quarantined  # every migrated and quarantined candidate, nothing skipped
    assert {c["check"] for c in result["checks"]} >= {"persons: links", "legacy: fingerprint"}
    stored = migrated_db.query(
        "SELECT passed, run_id FROM migration.validation_runs WHERE id = %s", [result["validation_id"]]
    )
    assert stored == [(True, "test")]


def test_a_corrupted_target_row_is_found_by_its_legacy_key(migrated_db):
    person = migrated_db.scalar(
        "SELECT person_id FROM core.person_legacy_links WHERE legacy_table = 'bayview.memorials' "
        "AND legacy_id = 1234 AND role = 'deceased'"
    )
    with migrated_db.connect() as conn:
        conn.execute("UPDATE core.persons SET first_name = 'Tampered' WHERE id = %s", [person])
    result = run_validation(migrated_db)
    assert not result["passed"]
    fields = check(result, "0001_memorial_persons: fields")
    assert [d["legacy_id"] for d in fields["differences"]] == [1234]
    assert any("Tampered" in text for text in fields["differences"][0]["found"])
    assert not any("Tampered" in text for text in fields["differences"][0]["expected"])
    assert check(result, "0002_chapel_persons: fields")["passed"]
    assert "legacy keys 1234" in validate.failures(result)


def test_stale_rows_missing_links_and_orphans_are_reported_until_the_sync(migrated_db):
    with migrated_db.connect("bayview_app") as app:
        app.execute("UPDATE bayview.memorials SET last_name = 'Changed' WHERE id IN (17, 1501)")
        app.execute("DELETE FROM bayview.attachments WHERE memorial_id = 30")
        app.execute("DELETE FROM bayview.memorial_payments WHERE memorial_id = 30")
        app.execute("DELETE FROM bayview.memorials WHERE id = 30")
    with migrated_db.connect() as conn:
        conn.execute("INSERT INTO core.persons (person_type, first_name, last_name) VALUES ('other', 'No', 'Link')")
    result = run_validation(migrated_db)
    failed = {c["check"] for c in result["checks"] if not c["passed"]}
    assert failed == {
        "0001_memorial_persons: counts",
        "0001_memorial_persons: fields",
        "0001_memorial_persons: links",
        "persons: links",
    }
    assert [d["legacy_id"] for d in check(result, "0001_memorial_persons: fields")["differences"]] == [17, 30, 1501]
    assert check(result, "0001_memorial_persons: links")["dangling_legacy_ids"] == [30]

    data_sync.sync(migrated_db.params(), data_migrations.load(DATA_MIGRATIONS, NAMES[0]), margin_seconds=3600)
    with migrated_db.connect() as conn:
        conn.execute("DELETE FROM core.persons WHERE last_name = 'Link'")
    result = run_validation(migrated_db)
    assert result["passed"], validate.failures(result)


def test_a_legacy_change_after_the_baseline_fails_the_fingerprint_check(migrated_db):
    with connect(migrated_db.params()) as conn:
        baseline = fingerprint.store(conn, fingerprint.take(conn), "before", None)
    with migrated_db.connect() as conn:
        conn.execute("UPDATE crouse_chapel.blackout_dates SET reason = reason || '!' WHERE id = 1")
    result = run_validation(migrated_db, baseline)
    assert not check(result, "legacy: fingerprint")["passed"]
    assert "crouse_chapel.blackout_dates" in check(result, "legacy: fingerprint")["summary"]


def test_the_validate_playbook_passes_then_fails_naming_the_differing_key(migrated_db, tmp_path):
    ok = run_playbook(migrated_db, "validate.yml", records_dir=tmp_path)
    assert ok.returncode == 0, ok.output
    assert "all equal to their legacy source" in ok.stdout
    with migrated_db.connect() as conn:
        conn.execute(
            "UPDATE core.persons SET last_name = 'Tampered' WHERE id = (SELECT person_id "
            "FROM core.person_legacy_links WHERE legacy_table = 'crouse_chapel.service_applications' "
            "AND role = 'contact' ORDER BY legacy_id OFFSET 40 LIMIT 1)"
        )
    key = migrated_db.scalar(
        "SELECT legacy_id FROM core.person_legacy_links l JOIN core.persons p ON p.id = l.person_id "
        "WHERE p.last_name = 'Tampered'"
    )
    failed = run_playbook(migrated_db, "validate.yml", records_dir=tmp_path)
    assert failed.returncode != 0
    assert f"0002_chapel_persons: fields: rows differ from their legacy source at legacy keys {key} " in failed.stdout
    assert migrated_db.scalar("SELECT count(*) FROM migration.validation_runs WHERE NOT passed") == 1
