"""Loading sql/migrations: the real set is valid; broken sets are refused before anything runs."""

from __future__ import annotations

import shutil

import pytest
from ansible.module_utils.bayview.errors import RunbookError
from ansible.module_utils.bayview.migrate import check_files
from ansible.module_utils.bayview.migration_files import last_version_of_phase, load_migrations
from conftest import MIGRATIONS, add_migration


def test_the_shipped_migrations_are_a_valid_guarded_set():
    migrations = load_migrations(MIGRATIONS)
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    check_files(migrations)
    assert last_version_of_phase(migrations, 1) == 4
    assert all(len(m.checksums["up"]) == 64 for m in migrations)
    view = migrations[2]
    assert ("bayview", "memorials", ("id", "submission_id", "first_name", "last_name", "created_at")) in view.requires


def test_a_gap_is_refused(migrations_copy):
    add_migration(migrations_copy, 6, "after_gap", "SELECT 1;", "SELECT 1;", "SELECT 1;")
    with pytest.raises(RunbookError, match=r"version\(s\) 5 are missing"):
        load_migrations(migrations_copy)


def test_a_repeated_version_is_refused(migrations_copy):
    shutil.copytree(migrations_copy / "0004_integration_points", migrations_copy / "4_integration_again")
    with pytest.raises(RunbookError, match="version 4 is used twice"):
        load_migrations(migrations_copy)


@pytest.mark.parametrize("part", ["down", "verify"])
def test_a_missing_down_or_verify_is_refused(migrations_copy, part):
    (migrations_copy / "0003_memorial_persons_view" / f"{part}.sql").unlink()
    with pytest.raises(RunbookError, match=f"0003_memorial_persons_view has no {part}.sql"):
        load_migrations(migrations_copy)


def test_a_missing_phase_header_is_refused(migrations_copy):
    path = add_migration(migrations_copy, 5, "x", "CREATE TABLE core.x (id int);", "DROP TABLE core.x;", "SELECT 1;")
    (path / "up.sql").write_text("CREATE TABLE core.x (id int);\n")
    with pytest.raises(RunbookError, match="no '-- phase: N' header"):
        load_migrations(migrations_copy)


def test_phases_must_not_go_backwards(migrations_copy):
    add_migration(migrations_copy, 5, "p2", "SELECT 1;", "SELECT 1;", "SELECT 1;", phase=2)
    add_migration(migrations_copy, 6, "p1", "SELECT 1;", "SELECT 1;", "SELECT 1;", phase=1)
    with pytest.raises(RunbookError, match="phases must not go backwards"):
        load_migrations(migrations_copy)
