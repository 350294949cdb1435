"""The engine called directly on real PostgreSQL: runtime guard, preflight, fingerprint."""

from __future__ import annotations

import psycopg
import pytest
from ansible.module_utils.bayview import fingerprint, migrate, preflight
from ansible.module_utils.bayview.db import connect
from ansible.module_utils.bayview.errors import RunbookError
from conftest import MIGRATIONS, add_migration, new_database


def migrate_to(db, directory, version):
    return migrate.run(
        db.params(), directory, target_version=version, target_phase=None, by="test", run_id="r", check_mode=False
    )


def run_migrate(db, directory, user="bayview_runbook", **kwargs):
    return migrate.run(
        db.params(user),
        directory,
        target_version=None,
        target_phase=kwargs.pop("phase", None),
        by="test",
        run_id="test-run",
        check_mode=False,
        **kwargs,
    )


def test_runtime_guard_rolls_back_a_dynamic_write_the_static_guard_cannot_see(legacy_db, migrations_copy):
    # Dynamic SQL, run as a superuser that *could* write: only the runtime guard stands in the way.
    add_migration(
        migrations_copy,
        5,
        "sneaky",
        "CREATE TABLE core.sneaky (id int);\n"
        "DO $$ BEGIN EXECUTE 'UPDATE ' || 'bay' || 'view.memorials SET message = message WHERE id = 1'; END $$;\n",
        "DROP TABLE core.sneaky;\n",
        "SELECT id FROM core.sneaky WHERE false;\n",
    )
    before = legacy_db.scalar("SELECT updated_at FROM bayview.memorials WHERE id = 1")
    with pytest.raises(RunbookError, match=r"wrote to protected table\(s\) bayview.memorials"):
        run_migrate(legacy_db, migrations_copy, user="postgres")
    assert legacy_db.scalar("SELECT to_regclass('core.sneaky')") is None
    assert legacy_db.scalar("SELECT updated_at FROM bayview.memorials WHERE id = 1") == before
    assert legacy_db.scalar("SELECT status FROM migration.runbook_ledger WHERE version = 5") == "failed"


def test_runtime_guard_rolls_back_dynamic_ddl_on_legacy(legacy_db, migrations_copy):
    add_migration(
        migrations_copy,
        5,
        "sneaky_ddl",
        "CREATE TABLE core.sneaky (id int);\n"
        "DO $$ BEGIN EXECUTE format('CREATE INDEX ON %I.memorials (notion_id)', 'bayview'); END $$;\n",
        "DROP TABLE core.sneaky;\n",
        "SELECT id FROM core.sneaky WHERE false;\n",
    )
    with pytest.raises(RunbookError, match="changed the protected catalog"):
        run_migrate(legacy_db, migrations_copy, user="postgres")
    assert (
        legacy_db.scalar("SELECT count(*) FROM pg_indexes WHERE schemaname = 'bayview' AND indexdef LIKE '%notion_id%'")
        == 0
    )


def test_a_down_that_leaves_objects_behind_is_undone(legacy_db, migrations_copy):
    add_migration(
        migrations_copy,
        5,
        "leaky_down",
        "CREATE TABLE core.leaky (id int);\n",
        "SELECT 1;\n",
        "SELECT id FROM core.leaky WHERE false;\n",
    )
    run_migrate(legacy_db, migrations_copy)
    with pytest.raises(RunbookError, match="still passes, so its objects are not gone"):
        migrate_to(legacy_db, migrations_copy, 4)
    assert legacy_db.scalar("SELECT status FROM migration.runbook_ledger WHERE version = 5") == "applied"


def test_lock_timeout_is_retried_then_reported(legacy_db, migrations_copy):
    add_migration(
        migrations_copy,
        5,
        "needs_lock",
        "ALTER TABLE core.persons ADD COLUMN nickname text;\n",
        "ALTER TABLE core.persons DROP COLUMN nickname;\n",
        "SELECT nickname FROM core.persons WHERE false;\n",
    )
    migrate_to(legacy_db, migrations_copy, 4)
    with legacy_db.connect() as blocker:
        blocker.autocommit = False
        blocker.execute("SELECT count(*) FROM core.persons")  # holds ACCESS SHARE until rollback
        with pytest.raises(RunbookError, match="could not get its locks within lock_timeout after 2 attempts"):
            run_migrate(legacy_db, migrations_copy, lock_attempts=2)
        blocker.rollback()
    outcome = run_migrate(legacy_db, migrations_copy)
    assert [a["version"] for a in outcome.applied] == [5]


def test_preflight_reports_legacy_column_drift(cluster, migrations_copy):
    from conftest import _template

    db = new_database(cluster, _template(cluster, "minimal"))
    add_migration(
        migrations_copy,
        5,
        "needs_other_person",
        "-- phase: 1\n-- requires: bayview.memorials(id, other_first_name, other_last_name)\n"
        "-- requires: bayview.prepayments(id)\nCREATE TABLE core.x (id int);\n",
        "DROP TABLE core.x;\n",
        "SELECT id FROM core.x WHERE false;\n",
    )
    checks = {c.name: c for c in preflight.run(db.params(), migrations_copy, 1, 2, ["pg_dump"], 60, 300)}
    assert not checks["legacy_columns"].ok
    assert "bayview.memorials(other_first_name, other_last_name), absent here" in checks["legacy_columns"].detail
    assert "needs table bayview.prepayments" in checks["legacy_columns"].detail
    assert checks["server_version"].ok and checks["pg_dump_version"].ok


def test_preflight_refuses_an_idle_in_transaction_session_holding_legacy_locks(legacy_db):
    with legacy_db.connect("bayview_app") as app:
        app.autocommit = False
        app.execute("SELECT 1 FROM bayview.memorials LIMIT 1")
        pid = app.info.backend_pid
        check = preflight.check_blocking_sessions(connect(legacy_db.params()), idle_seconds=0, active_seconds=300)
        app.rollback()
    assert not check.ok
    assert f"pid {pid} (bayview_app" in check.detail and "bayview.memorials" in check.detail
    assert "pg_terminate_backend" in check.detail


def test_preflight_refuses_client_tools_older_than_the_server(legacy_db, tmp_path):
    # A stand-in for an old pg_dump on the control node: we only have the 15 client here.
    old = tmp_path / "pg_dump"
    old.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 14.11'\n")
    old.chmod(0o755)
    with connect(legacy_db.params()) as conn:
        [check] = preflight.check_client_tools(conn, [str(old)])
    assert not check.ok
    assert "14.11 is older than the server (PostgreSQL 15)" in check.detail


def test_preflight_counts_free_connections_against_the_limit(legacy_db):
    with connect(legacy_db.params()) as conn:
        assert preflight.check_connections(conn, 2).ok
        refused = preflight.check_connections(conn, 40)
    assert not refused.ok and "max_connections 25" in refused.detail


def test_preflight_refuses_a_role_without_privileges(legacy_db):
    with connect(legacy_db.params("bayview_app")) as conn:
        check = preflight.check_privileges(conn)
    assert not check.ok and "pg_read_all_stats" in check.detail


def test_fingerprint_sees_content_row_count_and_catalog_changes(legacy_db):
    with connect(legacy_db.params()) as conn:
        base = fingerprint.take(conn)
        assert fingerprint.differences(base, fingerprint.take(conn)) == []
    with legacy_db.connect("bayview_app") as app:
        app.execute("UPDATE bayview.memorials SET message = message || '.' WHERE id = 7")
        app.execute("DELETE FROM bayview.attachments WHERE id = 1")
        app.execute("CREATE INDEX extra_idx ON bayview.memorials (notion_id)")
    with connect(legacy_db.params()) as conn:
        diffs = fingerprint.differences(base, fingerprint.take(conn))
    assert "table bayview.memorials: same row count, but row contents changed" in diffs
    assert any(d.startswith("table bayview.attachments:") and "rows before" in d for d in diffs)
    assert "catalog: index bayview.memorials bayview.extra_idx added" in diffs


def test_a_write_to_the_handmade_ledger_shows_in_the_fingerprint(legacy_db):
    with connect(legacy_db.params()) as conn:
        base = fingerprint.take(conn)
    legacy_db.query("UPDATE migration.schema_versions SET description = 'edited' WHERE id = 1 RETURNING id")
    with connect(legacy_db.params()) as conn:
        diffs = fingerprint.differences(base, fingerprint.take(conn))
    assert diffs == ["table migration.schema_versions: same row count, but row contents changed"]


def test_check_mode_reads_but_never_writes(legacy_db):
    outcome = migrate.run(legacy_db.params(), MIGRATIONS, None, 1, "test", "r", check_mode=True)
    assert [m["version"] for m in outcome.plan.summary()["apply"]] == [1, 2, 3, 4]
    assert legacy_db.scalar("SELECT to_regnamespace('core')") is None
    assert legacy_db.scalar("SELECT to_regclass('migration.runbook_ledger')") is None


def test_the_runbook_role_cannot_write_legacy_tables_in_the_rehearsal(legacy_db):
    # Defence in depth in the rehearsal: the runbook's role only reads the legacy schemas.
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        legacy_db.query("DELETE FROM bayview.memorials WHERE id = 1", user="bayview_runbook")


def test_the_parallel_fingerprint_equals_the_serial_one(legacy_db):
    with connect(legacy_db.params()) as conn:
        serial = fingerprint.take(conn)
    parallel = fingerprint.take_parallel(lambda: connect(legacy_db.params()), split_min_pages=1)
    assert parallel["tables"] == serial["tables"]
    assert parallel["fingerprint_sha256"] == serial["fingerprint_sha256"]


def test_a_table_whose_columns_cannot_be_hashed_falls_back_to_text_hashing(legacy_db):
    with legacy_db.connect("bayview_app") as app:
        app.execute("CREATE TABLE bayview.notes (id int, body json)")  # json has no hash function
        app.execute("INSERT INTO bayview.notes VALUES (1, '{}')")
        app.execute("GRANT SELECT ON bayview.notes TO bayview_runbook")
    with connect(legacy_db.params()) as conn:
        fp = fingerprint.take(conn)
    assert fp["tables"]["bayview.notes"]["hash"] == "text" and fp["tables"]["bayview.notes"]["rows"] == 1
    assert fp["tables"]["bayview.memorials"]["hash"] == "record"
