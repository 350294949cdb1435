"""The data-access layer and the dual-write manager, as the association's application uses them:
with its own role (bayview_app), on real PostgreSQL."""

from __future__ import annotations

import psycopg
import pytest
from ansible.module_utils.bayview import data_migrate, data_migrations, data_sync, dual_write, migrate, validate
from ansible.module_utils.bayview.db import connect
from ansible.module_utils.bayview.errors import RunbookError
from conftest import MIGRATIONS

from bayview_runbook.data_access import BridgeAdapter, DualWriteManager, ModernAdapter, application_grants
from bayview_runbook.engine import DATA_MIGRATIONS
from bayview_runbook.localpg import APP_ROLE

MEMORIALS = "bayview.memorials"
NAME = "0001_memorial_persons"


@pytest.fixture
def dual_db(legacy_db):
    """Phase 2 applied, the application role granted, the mode switched to dual."""
    migrate.run(legacy_db.params(), MIGRATIONS, None, 2, "test", "r", check_mode=False)
    with connect(legacy_db.params()) as conn:
        conn.execute(application_grants(APP_ROLE))
        dual_write.set_mode(conn, "dual", "test", "dual-write tests")
    return legacy_db


def test_dual_write_creates_exactly_what_the_migration_would(dual_db):
    with dual_db.connect(APP_ROLE) as app:
        manager = DualWriteManager(app)
        new_id = manager.insert(
            MEMORIALS, {"first_name": " Ada ", "last_name": "Lovelace", "contact_name": "Jo Bloggs"}
        )
        source, people = BridgeAdapter(app).people(MEMORIALS, new_id)
        assert source == "modern"
        assert {(p["role"], p["first_name"], p["last_name"]) for p in people} == {
            ("deceased", "Ada", "Lovelace"),
            ("contact", "Jo", "Bloggs"),
        }
        manager.update(MEMORIALS, new_id, {"first_name": "Augusta Ada"})
        manager.update(MEMORIALS, new_id, {"contact_name": "n/a"})  # a placeholder: no contact any more
        assert [(p["role"], p["first_name"]) for p in ModernAdapter(app).people(MEMORIALS, new_id)] == [
            ("deceased", "Augusta Ada")
        ]
        manager.delete(MEMORIALS, new_id)
        assert ModernAdapter(app).people(MEMORIALS, new_id) == []
    # Then the batches reach these rows: counted, not written twice, and the totals still add up.
    result = data_migrate.run(dual_db.params(), data_migrations.load(DATA_MIGRATIONS, NAME), batch_size=700)
    assert result["migrated"] + result["quarantined"] + result["excluded"] == result["candidates"]
    links = dual_db.scalar("SELECT count(*) FROM core.person_legacy_links WHERE data_migration = %s", [NAME])
    assert links == result["migrated"]


def test_the_legacy_row_survives_a_failing_modern_write_and_the_sync_repairs_it(dual_db):
    # The new schema rejects every write: the legacy row must still commit.
    with dual_db.connect() as conn:
        conn.execute(
            "CREATE FUNCTION core.reject() RETURNS trigger LANGUAGE plpgsql AS "
            "$$BEGIN RAISE EXCEPTION 'modern side unavailable'; END$$"
        )
        conn.execute("CREATE TRIGGER reject BEFORE INSERT ON core.persons FOR EACH ROW EXECUTE FUNCTION core.reject()")
    with dual_db.connect(APP_ROLE) as app:
        new_id = DualWriteManager(app).insert(MEMORIALS, {"first_name": "Grace", "last_name": "Hopper"})
    assert dual_db.scalar("SELECT last_name FROM bayview.memorials WHERE id = %s", [new_id]) == "Hopper"
    assert dual_db.query(
        "SELECT legacy_table, legacy_id, operation, error FROM migration.dual_write_discrepancies"
    ) == [(MEMORIALS, new_id, "insert", "modern side unavailable")]
    assert dual_db.scalar("SELECT count(*) FROM core.person_legacy_links WHERE legacy_id = %s", [new_id]) == 0

    with dual_db.connect() as conn:
        conn.execute("DROP TRIGGER reject ON core.persons")
    result = data_sync.sync(dual_db.params(), data_migrations.load(DATA_MIGRATIONS, NAME), margin_seconds=3600)
    assert result["discrepancies_repaired"] == 1
    assert dual_db.scalar("SELECT count(*) FROM migration.dual_write_discrepancies WHERE resolved_at IS NULL") == 0
    assert (
        dual_db.scalar(
            "SELECT p.last_name FROM core.persons p JOIN core.person_legacy_links l ON l.person_id = p.id "
            "WHERE l.legacy_id = %s AND l.role = 'deceased'",
            [new_id],
        )
        == "Hopper"
    )


def test_the_stored_mode_decides_what_is_written(dual_db):
    with connect(dual_db.params()) as conn:
        dual_write.set_mode(conn, "legacy-only", "test", "back to legacy")
    with dual_db.connect(APP_ROLE) as app:
        manager = DualWriteManager(app)
        new_id = manager.insert(MEMORIALS, {"first_name": "Only", "last_name": "Legacy"})
        assert BridgeAdapter(app).people(MEMORIALS, new_id)[0] == "legacy"  # read falls back to legacy
        with pytest.raises(RunbookError, match="has no column nickname"):
            manager.update(MEMORIALS, new_id, {"nickname": "x"})
        with pytest.raises(RunbookError, match="not served"):
            manager.insert("crouse_chapel.no_such_table", {"file_name": "x"})
    with connect(dual_db.params()) as conn:
        dual_write.set_mode(conn, "modern-only", "test", "cutover")
    with dual_db.connect(APP_ROLE) as app, pytest.raises(RunbookError, match="frozen after the cutover"):
        DualWriteManager(app).insert(MEMORIALS, {"first_name": "Too", "last_name": "Late"})
    assert dual_db.scalar("SELECT count(*) FROM bayview.memorials WHERE last_name = 'Late'") == 0
    assert dual_db.scalar("SELECT count(*) FROM core.person_legacy_links WHERE legacy_id = %s", [new_id]) == 0


def test_a_lost_connection_is_not_mistaken_for_a_discrepancy(dual_db):
    with dual_db.connect(APP_ROLE) as app, dual_db.connect() as admin:
        manager = DualWriteManager(app)
        pid = app.info.backend_pid
        original = data_sync.resync_rows

        def killed(*args):
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
            return original(*args)

        data_sync.resync_rows = killed
        try:
            with pytest.raises(psycopg.OperationalError):
                manager.insert(MEMORIALS, {"first_name": "Never", "last_name": "Committed"})
        finally:
            data_sync.resync_rows = original
    assert dual_db.scalar("SELECT count(*) FROM bayview.memorials WHERE last_name = 'Committed'") == 0
    assert dual_db.scalar("SELECT count(*) FROM migration.dual_write_discrepancies") == 0


def test_after_the_cutover_records_are_created_in_the_new_design_and_read_back_through_the_bridge(dual_db):
    """A memorial and a chapel wedding recorded after a confirmed cutover, by the application's role."""
    names = data_migrations.names(DATA_MIGRATIONS)
    for name in names:
        data_migrate.run(dual_db.params(), data_migrations.load(DATA_MIGRATIONS, name))
    with dual_db.connect(APP_ROLE) as app:
        modern = ModernAdapter(app)
        with pytest.raises(RunbookError, match="dual-write mode is dual: the legacy tables are still the source"):
            modern.create("memorial_application", {"application_type": "immediate"})
        assert BridgeAdapter(app).record("memorial_application", legacy_id=5)[0] == "modern"  # migrated
    with connect(dual_db.params()) as conn:
        dual_write.set_mode(conn, "modern-only", "test", "cutover confirmed")
    with dual_db.connect(APP_ROLE) as app:
        modern, bridge = ModernAdapter(app), BridgeAdapter(app)
        memorial = modern.create(
            "memorial_application",
            {
                "submission_id": "MG-1767225600000",
                "application_type": "immediate",
                "fee": "250.00",
                "payment_status": "pending",
                "message": "Forever in our hearts",
            },
            persons={
                "deceased": {"first_name": "Zoë", "last_name": "O'Brien", "death_date": "2026-11-02"},
                "contact": {"first_name": "Jo", "last_name": "Bloggs", "email": "jo@example.org"},
            },
            payments=[{"amount": "250.00", "method": "card", "reference": "ch_1"}],
        )
        wedding = modern.create(
            "chapel_service",
            {"service_type": "wedding", "service_date": "2027-06-12", "service_time": "14:00", "status": "pending"},
            persons={"contact": {"first_name": "Sam", "last_name": "Ortiz"}},
            details={"couple_names": "Sam & Alex", "guest_count": 120, "fee": "500.00"},
        )
        source, record = bridge.record("memorial_application", memorial)
        assert source == "modern" and record["application_type"] == "immediate" and str(record["fee"]) == "250.00"
        assert record["persons"]["deceased"]["last_name"] == "O'Brien"
        assert record["persons"]["contact"]["person_type"] == "contact"
        assert [str(p["amount"]) for p in record["payments"]] == ["250.00"]
        _source, service = bridge.record("chapel_service", wedding)
        assert (
            service["details"]["couple_names"] == "Sam & Alex" and service["persons"]["contact"]["first_name"] == "Sam"
        )
        assert modern.update("chapel_service", wedding, {"status": "approved"}) == 1
        assert modern.cancel("memorial_application", memorial) == 1
        assert modern.read("memorial_application", memorial)["status"] == "cancelled"  # kept, never deleted
        assert modern.read("chapel_service", wedding)["status"] == "approved"
        with pytest.raises(RunbookError, match="has no field nickname"):
            modern.update("chapel_service", wedding, {"nickname": "x"})
        with pytest.raises(psycopg.errors.CheckViolation):  # the new design's own constraints hold
            modern.create(
                "chapel_service",
                {"service_type": "concert", "service_date": "2027-01-01", "service_time": "10:00", "status": "pending"},
            )
    # Validation still passes: the new records are the new design's own (their persons have record links).
    result = validate.validate(dual_db.params(), [data_migrations.load(DATA_MIGRATIONS, n) for n in names], None, "t")
    assert result["passed"], validate.failures(result)
    assert dual_db.scalar("SELECT count(*) FROM bayview.memorials WHERE submission_id = 'MG-1767225600000'") == 0


def test_dual_write_mirrors_a_chapel_service_and_its_details_through_their_own_transforms(dual_db):
    with dual_db.connect(APP_ROLE) as app:
        manager = DualWriteManager(app)
        service = manager.insert(
            "crouse_chapel.service_applications",
            {
                "application_type": "wedding",
                "service_date": "2027-08-14",
                "service_time": "15:00",
                "contact_name": "Sam Ortiz",
                "contact_phone": "231-555-0101",
            },
        )
        manager.insert(
            "crouse_chapel.wedding_details",
            {"application_id": service, "couple_names": " Sam & Alex ", "guest_count": 80},
        )
        source, record = BridgeAdapter(app).record("chapel_service", legacy_id=service)
        assert source == "modern" and record["service_type"] == "wedding" and record["status"] == "pending"
        assert record["details"]["couple_names"] == "Sam & Alex"  # cleaned as the batches clean it
        assert record["persons"]["contact"]["last_name"] == "Ortiz"
        manager.delete("crouse_chapel.service_applications", service)  # legacy cascades to its details
        assert ModernAdapter(app).find("chapel_service", service) is None  # and so does the new design
    assert dual_db.scalar("SELECT count(*) FROM events.wedding_details WHERE couple_names = 'Sam & Alex'") == 0
