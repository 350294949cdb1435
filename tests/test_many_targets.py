"""A phase over several databases of one inventory: a canary first, then the rest; or one at a time.
A failure stops the hosts that have not started, and the run says where each host stands."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml
from conftest import ROOT, drop_database, new_database, playbook_command

pytestmark = pytest.mark.e2e  # Phase 1 on three databases, twice (about two minutes): make e2e


def inventory(tmp_path, databases: dict[str, str]):
    """The local inventory's settings, with one host per database, in this order."""
    directory = tmp_path / "inventory" / "many"
    directory.mkdir(parents=True)
    (directory / "group_vars").symlink_to(ROOT / "inventories" / "local" / "group_vars")
    hosts = {name: {"bayview_db_name": dbname} for name, dbname in databases.items()}
    (directory / "hosts.yml").write_text(
        yaml.safe_dump({"all": {"children": {"bayview_databases": {"hosts": hosts}}}}, sort_keys=False)
    )
    return directory


def phase1(db, inv, tmp_path, *extra):
    cmd, env = playbook_command(db, "phase1.yml", "-i", str(inv), *extra, records_dir=tmp_path / "records")
    env["BAYVIEW_RESTORE_POINT_DIR"] = str(tmp_path / "restore_points")
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    return result.returncode, result.stdout + result.stderr


def hosts_line(output: str, state: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(f"{state}: ")).split(": ", 1)[1]


def applied(db) -> int:
    if db.scalar("SELECT to_regclass('migration.runbook_ledger')") is None:
        return 0
    return db.scalar("SELECT count(*) FROM migration.runbook_ledger WHERE status = 'applied'")


@pytest.fixture
def three(cluster, full_template):
    made = [new_database(cluster, full_template) for _ in range(2)]
    yield made
    for db in made:
        drop_database(db)


def test_a_failing_host_stops_the_rest_and_the_run_says_where_each_host_stands(three, tmp_path):
    first, third = three
    # The second host names a database that does not exist: its preflight fails, before any change.
    inv = inventory(tmp_path, {"first": first.name, "missing": "bayview_no_such_db", "third": third.name})

    # One at a time: the first is done, the second fails, the third never starts.
    code, output = phase1(first, inv, tmp_path, "-e", "bayview_one_at_a_time=true")
    assert code != 0, output
    assert hosts_line(output, "done") == "first"
    assert hosts_line(output, "failed") == "missing"
    assert hosts_line(output, "never started") == "third"
    assert applied(first) == 4 and applied(third) == 0

    # A canary, then the rest together: the failing canary stops both others before they start.
    inv2 = inventory(tmp_path / "2", {"missing": "bayview_no_such_db", "third": third.name, "first": first.name})
    code, output = phase1(first, inv2, tmp_path, "-e", "bayview_one_at_a_time=false")
    assert code != 0, output
    assert hosts_line(output, "failed") == "missing"
    assert hosts_line(output, "never started") == "third, first"
    assert applied(third) == 0

    # The canary passes, then the rest run together: all three done, each with its own record.
    inv3 = inventory(tmp_path / "3", {"first": first.name, "third": third.name})
    code, output = phase1(first, inv3, tmp_path)
    assert code == 0, output
    assert hosts_line(output, "done") == "first, third" and hosts_line(output, "failed") == "-"
    assert applied(third) == 4
    # Every run record names its database, the failed host's too (its record is the file alone).
    records = [json.loads(p.read_text()) for p in (tmp_path / "records").glob("*-phase1.json")]
    databases = {r["database"].split("/")[-1] for r in records}
    assert databases == {first.name, third.name, "bayview_no_such_db"}
    assert [r["status"] for r in records if r["database"].endswith("/bayview_no_such_db")] == ["failed", "failed"]


def test_a_value_that_is_not_a_boolean_is_refused_before_any_host_changes(three, tmp_path):
    first, third = three
    inv = inventory(tmp_path, {"first": first.name, "third": third.name})
    code, output = phase1(first, inv, tmp_path, "-e", "bayview_one_at_a_time=sometimes")
    assert code != 0
    assert "bayview_one_at_a_time" in output
    assert applied(first) == 0 and applied(third) == 0
