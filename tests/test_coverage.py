"""Coverage: every legacy column carried by a data migration, declared as left behind with its
reason, or named as unmapped; the cutover refuses while anything is unmapped."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import psycopg
import pytest
from ansible.module_utils.bayview import coverage, data_migrations, validate
from ansible.module_utils.bayview.errors import RunbookError
from conftest import ROOT, drop_database, new_database, run_playbook
from conftest import TestDatabase as Database
from psycopg import sql

from bayview_runbook import mapping_doc

DATA_MIGRATIONS = ROOT / "migrations" / "data"
CONFIGURED = data_migrations.names(DATA_MIGRATIONS)  # bayview_data_migrations' default: all of them
PERSONS_ONLY = ["0001_memorial_persons", "0002_chapel_persons"]
# What another environment may have that no data migration knows (LEGACY.md: environments differ).
UNKNOWN_TO_THE_MIGRATIONS = (
    "ALTER TABLE bayview.memorials ADD COLUMN hymn_requested text",
    "CREATE TABLE crouse_chapel.candle_orders (id serial PRIMARY KEY, candles integer)",
)


def add_what_no_migration_knows(db: Database) -> None:
    with db.connect() as conn:
        for statement in UNKNOWN_TO_THE_MIGRATIONS:
            conn.execute(statement)


def configured():
    return [data_migrations.load(DATA_MIGRATIONS, name) for name in CONFIGURED]


def report(db: Database, migrations=None) -> dict:
    with psycopg.connect(db.cluster.conninfo(dbname=db.name)) as conn:
        return coverage.report(conn, configured() if migrations is None else migrations)


@pytest.fixture
def empty_db(cluster):
    db = Database(cluster, f"t_{uuid.uuid4().hex[:10]}")
    with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db.name)))
    yield db
    drop_database(db)


def test_every_legacy_column_is_accounted_for_on_the_rehearsal_database(legacy_db):
    found = report(legacy_db)
    tables = {t["table"]: t for t in found["tables"]}
    catalog = dict(
        legacy_db.query(
            "SELECT table_schema || '.' || table_name, count(*) FROM information_schema.columns "
            "WHERE table_schema IN ('bayview', 'crouse_chapel') GROUP BY 1"
        )
    )
    assert {t for t, v in tables.items() if v["present"]} == set(catalog)
    for name, table in tables.items():
        assert len(table["mapped"]) + len(table["not_carried"]) + len(table["unmapped"]) == catalog[name], name
    memorials = tables["bayview.memorials"]
    assert memorials["mapped"]["other_first_name"] == ["core.persons.first_name (0001_memorial_persons)"]
    assert memorials["mapped"]["fee_amount"] == ["property.memorial_applications.fee (0003_memorial_applications)"]
    assert memorials["not_carried"] == {"updated_at": memorials["not_carried"]["updated_at"]}
    # The whole record is carried: nothing unmapped, every table read by a data migration.
    assert found["unmapped"] == [] and found["tables_without_a_data_migration"] == []
    assert found["complete"] is True
    # With the people alone (the ledger before 0009), the records themselves are unmapped.
    people = report(legacy_db, [data_migrations.load(DATA_MIGRATIONS, n) for n in PERSONS_ONLY])
    assert "bayview.memorials.message" in people["unmapped"] and "bayview.memorials.fee_amount" in people["unmapped"]
    assert "crouse_chapel.clergy" in people["tables_without_a_data_migration"]
    assert people["complete"] is False


def test_a_variant_environment_names_its_extra_columns_and_the_declared_ones_it_lacks(cluster, full_template):
    db = new_database(cluster, full_template)
    try:
        # This environment has a column nobody knew of, and lacks the second_ persons.
        with db.connect() as conn:
            conn.execute(
                "ALTER TABLE bayview.memorials ADD COLUMN plot_row text, DROP COLUMN second_first_name CASCADE"
            )
        found = report(db)
        memorials = next(t for t in found["tables"] if t["table"] == "bayview.memorials")
        assert "plot_row" in memorials["unmapped"] and "bayview.memorials.plot_row" in found["unmapped"]
        assert "second_first_name" in memorials["declared_not_in_this_environment"]
    finally:
        drop_database(db)


def test_declarations_are_checked_for_form(empty_db):
    def migration(**declared):
        return SimpleNamespace(NAME="0009_x", LEGACY_TABLE="bayview.t", **declared)

    for declared, says in [
        ({"CARRIED": {"a": "core.t.a"}, "NOT_CARRIED": {"a": "kept in the audit log only"}}, "both carried and not"),
        ({"CARRIED": {"a": "bayview.t.a"}}, "not schema.table.column of the new design"),
        ({"NOT_CARRIED": {"a": "obsolete"}}, "gives no reason"),
    ]:
        with pytest.raises(RunbookError, match=says):
            report(empty_db, [migration(**declared)])


def test_the_mapping_document_says_where_every_column_of_every_data_migration_goes(tmp_path):
    document = (ROOT / "docs" / "mapping.md").read_text(encoding="utf-8")
    assert mapping_doc.current(document) == mapping_doc.generated(), "docs/mapping.md is behind: run make docs"
    for migration in data_migrations.load_all(DATA_MIGRATIONS):
        carried, not_carried = coverage.declarations(migration)
        part = document.partition(f"### `{migration.NAME}`")[2].partition("\n### ")[0]
        for column in [*carried, *not_carried]:
            assert f"| `{column}` |" in part, (migration.NAME, column)

    # A stale part is written anew, the prose around it kept; a document without the markers is refused.
    stale = tmp_path / "mapping.md"
    stale.write_text(
        f"Prose.\n\n{mapping_doc.BEGIN}\n### `0001_old`\n{mapping_doc.END}\nMore prose.\n", encoding="utf-8"
    )
    assert mapping_doc.main([str(stale)]) == 0
    assert stale.read_text(encoding="utf-8") == f"Prose.\n\n{mapping_doc.generated()}\nMore prose.\n"
    unmarked = tmp_path / "unmarked.md"
    unmarked.write_text("Prose only.\n", encoding="utf-8")
    assert mapping_doc.main([str(unmarked)]) == 2
    assert unmarked.read_text(encoding="utf-8") == "Prose only.\n"


def test_complete_coverage_still_needs_a_passed_validation_of_every_migration(empty_db):
    with empty_db.connect() as conn:
        conn.execute("CREATE SCHEMA bayview; CREATE TABLE bayview.t (id int PRIMARY KEY, note text, legacy_flag int)")
    declared = SimpleNamespace(
        NAME="0009_t",
        LEGACY_TABLE="bayview.t",
        CARRIED={"id": "core.t_links.legacy_id", "note": "core.t.note"},
        NOT_CARRIED={"legacy_flag": "always 0 since 2019, read by nothing"},
    )
    found = report(empty_db, [declared])
    assert found["complete"] and found["unmapped"] == [] and found["not_carried"] == 1
    coverage.require_complete(found, empty_db.name, "The cutover")  # does not raise

    with psycopg.connect(empty_db.cluster.conninfo(dbname=empty_db.name), autocommit=True) as conn:
        with pytest.raises(RunbookError, match="No validation has run yet: The cutover is refused"):
            validate.require_last_passed(conn, ["0009_t"], "The cutover")
        conn.execute("CREATE SCHEMA migration")
        conn.execute((ROOT / "sql/migrations/0008_validation_runs/up.sql").read_text())
        checks = '[{"check": "0009_t: counts", "passed": true, "summary": "ok"}]'
        conn.execute("INSERT INTO migration.validation_runs (passed, seconds, checks) VALUES (true, 1, %s)", [checks])
        assert validate.require_last_passed(conn, ["0009_t"], "The cutover")["validation_id"] == 1
        with pytest.raises(RunbookError, match="did not cover 0010_u"):
            validate.require_last_passed(conn, ["0009_t", "0010_u"], "The cutover")
        failed = '[{"check": "0009_t: counts", "passed": false, "summary": "3 rows missing"}]'
        conn.execute("INSERT INTO migration.validation_runs (passed, seconds, checks) VALUES (false, 1, %s)", [failed])
        with pytest.raises(RunbookError, match="it failed: 3 rows missing"):
            validate.require_last_passed(conn, ["0009_t"], "The cutover")


def test_the_coverage_playbook_fails_naming_each_unmapped_column(legacy_db):
    complete = run_playbook(legacy_db, "coverage.yml")
    assert complete.returncode == 0, complete.output[-3000:]
    assert "0 unmapped" in " ".join(complete.stdout.split())
    add_what_no_migration_knows(legacy_db)
    result = run_playbook(legacy_db, "coverage.yml")
    assert result.returncode == 2, result.output[-3000:]
    text = " ".join(result.stdout.split())
    assert "bayview.memorials.hymn_requested" in text and "crouse_chapel.candle_orders.id" in text
    assert "bayview.memorials: " in text and " unmapped of " in text  # the table-by-table summary
    assert "Next step" in text or "next_step" in text


def test_the_cutover_is_refused_before_anything_changes_while_coverage_is_incomplete(dual_db, tmp_path):
    add_what_no_migration_knows(dual_db)
    runs = dual_db.scalar("SELECT count(*) FROM migration.runbook_runs")
    legacy = dual_db.pg_dump("bayview", "crouse_chapel")
    result = run_playbook(
        dual_db, "phase5.yml", "-e", f"confirm_cutover={dual_db.name}", "-e", f"restore_point_store=file://{tmp_path}"
    )
    assert result.returncode != 0
    text = " ".join(result.stdout.split())
    assert "The cutover is refused; nothing was changed" in text and "bayview.memorials.hymn_requested" in text
    assert dual_db.scalar("SELECT mode FROM migration.dual_write_mode") == "dual"
    assert dual_db.scalar("SELECT count(*) FROM migration.runbook_runs") == runs  # no run even started
    assert dual_db.pg_dump("bayview", "crouse_chapel") == legacy
    assert not any(tmp_path.iterdir())  # no restore point taken
