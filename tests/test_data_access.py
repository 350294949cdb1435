"""The data-access layer and the dual-write manager, as the association's application uses them:
with its own role (bayview_app), on real PostgreSQL."""

from __future__ import annotations

import psycopg
import pytest
from ansible.module_utils.bayview import data_migrate, dual_write, migrate
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
    result = data_migrate.run(dual_db.params(), data_migrate.load(DATA_MIGRATIONS, NAME), batch_size=700)
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
    result = data_migrate.sync(dual_db.params(), data_migrate.load(DATA_MIGRATIONS, NAME), margin_seconds=3600)
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
            manager.insert("bayview.attachments", {"file_name": "x"})
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
        original = data_migrate.resync_rows

        def killed(*args):
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
            return original(*args)

        data_migrate.resync_rows = killed
        try:
            with pytest.raises(psycopg.OperationalError):
                manager.insert(MEMORIALS, {"first_name": "Never", "last_name": "Committed"})
        finally:
            data_migrate.resync_rows = original
    assert dual_db.scalar("SELECT count(*) FROM bayview.memorials WHERE last_name = 'Committed'") == 0
    assert dual_db.scalar("SELECT count(*) FROM migration.dual_write_discrepancies") == 0
