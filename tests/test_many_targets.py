"""A phase over several databases of one inventory: a canary first, then the rest; or one at a time.
A failure stops the hosts that have not started, and the run says where each host stands. The
emergency rollback goes on over the others when one fails; status shows every host."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, drop_database, new_database, playbook_command

# Phase 1 on three databases, twice (about two minutes); Phases 1-3 and a rollback (about five): make e2e
pytestmark = pytest.mark.e2e
CLI = str(Path(sys.executable).parent / "bayview-runbook")


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


def play(playbook, db, inv, tmp_path, *extra):
    """ansible-playbook over the inventory inv."""
    cmd, env = playbook_command(db, playbook, "-i", str(inv), *extra, records_dir=tmp_path / "records")
    return run(cmd, env, tmp_path)


def cli(db, inv, tmp_path, *args):
    """bayview-runbook over the inventory inv, as an operator runs it."""
    _, env = playbook_command(db, "status.yml", records_dir=tmp_path / "records")  # the same environment
    return run([CLI, *args, "-i", str(inv)], env, tmp_path)


def run(cmd, env, tmp_path):
    """(exit status, output); records in tmp_path/records, restore points in tmp_path/store."""
    env.update({"BAYVIEW_RESTORE_POINT_DIR": str(tmp_path / "store"), "BAYVIEW_ARTIFACTS_DIR": str(tmp_path / "art")})
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    return result.returncode, result.stdout + result.stderr


def phase1(db, inv, tmp_path, *extra):
    return play("phase1.yml", db, inv, tmp_path, *extra)


def hosts_line(output: str, state: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(f"{state}: ")).split(": ", 1)[1]


def applied(db) -> int:
    if db.scalar("SELECT to_regclass('migration.runbook_ledger')") is None:
        return 0
    return db.scalar("SELECT count(*) FROM migration.runbook_ledger WHERE status = 'applied'")


@pytest.fixture
def three(cluster, full_template):
    made = [new_database(cluster, full_template) for _ in range(3)]
    yield made
    for db in made:
        drop_database(db)


def test_a_failing_host_stops_the_rest_and_the_run_says_where_each_host_stands(three, tmp_path):
    first, _, third = three
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
    first, _, third = three
    inv = inventory(tmp_path, {"first": first.name, "third": third.name})
    code, output = phase1(first, inv, tmp_path, "-e", "bayview_one_at_a_time=sometimes")
    assert code != 0
    assert "bayview_one_at_a_time" in output
    assert applied(first) == 0 and applied(third) == 0


LEGACY = ("bayview", "crouse_chapel")
THRESHOLDS = "Watch the error rates (quarantine growth, dual-write discrepancies)"
LOCKS = "Refuse if another session still holds locks on the tables involved"


def records(tmp_path, playbook: str) -> list[dict]:
    """The JSON run records of a playbook's runs (the combined reports end in -hosts.json: not these)."""
    return [json.loads(p.read_text()) for p in sorted((tmp_path / "records").glob(f"*-{Path(playbook).stem}.json"))]


def combined(tmp_path, playbook: str) -> dict[str, dict]:
    """The combined report of the one run of a playbook: host -> its entry, in the inventory's order."""
    [path] = (tmp_path / "records").glob(f"*-{Path(playbook).stem}-hosts.json")
    assert path.with_suffix(".html").is_file()
    return {h["host"]: h for h in json.loads(path.read_text())["hosts"]}


def run_of(db, playbook: str) -> str:
    [run_id] = [r[0] for r in db.query("SELECT run_id FROM migration.runbook_runs WHERE playbook = %s", [playbook])]
    return run_id


def assert_everything_is_per_host(dbs: dict, tmp_path) -> None:
    """Every run, restore point and gate of each database is its own, and names it."""
    written = [json.loads(p.read_text()) for p in (tmp_path / "records").glob("*.json") if "-hosts" not in p.name]
    for db in dbs.values():
        runs = {r[0] for r in db.query("SELECT run_id FROM migration.runbook_runs")}
        assert runs == {r["run_id"] for r in written if r["database"].endswith(f"/{db.name}")}, db.name
        manifests = [json.loads(p.read_text()) for p in (tmp_path / "store" / db.name).glob("*/manifest.json")]
        assert manifests and {m["database"] for m in manifests} == {db.name}
        for run_id, restore_point in db.query("SELECT run_id, restore_point FROM migration.phase_gates"):
            assert run_id in runs and restore_point in {m["id"] for m in manifests} | {None}, (db.name, run_id)


def latest_gates(db) -> dict[int, bool]:
    return dict(db.query("SELECT DISTINCT ON (phase) phase, passed FROM migration.phase_gates ORDER BY phase, id DESC"))


def sections(stdout: str) -> dict[str, str]:
    """host -> its section of `bayview-runbook status`."""
    return {part.split("\n", 1)[0]: part for part in stdout.split("\n== ")[1:]}


def test_phases_1_to_3_and_the_rollback_over_three_databases_one_failing_mid_way(three, tmp_path):
    a, b, c = three
    dbs = {"a": a, "b": b, "c": c}
    # b's legacy data says every person with a birth date died the day before: Phases 1 and 2 carry
    # none of it; Phase 3's data migrations quarantine those persons, beyond the threshold.
    with b.connect() as conn:
        conn.execute(
            "UPDATE bayview.memorials SET death_date = birth_date - 1, other_death_date = other_birth_date - 1, "
            "second_death_date = second_birth_date - 1 WHERE birth_date IS NOT NULL"
        )
    legacy = {name: db.pg_dump(*LEGACY) for name, db in dbs.items()}
    inv = inventory(tmp_path, {name: db.name for name, db in dbs.items()})
    for playbook in ("phase1.yml", "phase2.yml"):  # the canary a, then b and c together
        code, output = play(playbook, a, inv, tmp_path)
        assert code == 0, output[-4000:]
        assert hosts_line(output, "done") == "a, b, c"
    c_before = c.pg_dump()
    version = applied(a)  # every migration of Phases 1 and 2

    # Phase 3 one at a time: a is done, b fails mid-way (after its data migrations), c never starts.
    code, output = play("phase3.yml", a, inv, tmp_path, "-e", "bayview_one_at_a_time=true")
    assert code != 0
    assert [hosts_line(output, s) for s in ("done", "failed", "never started")] == ["a", "b", "c"], output[-4000:]
    [failed] = [r for r in records(tmp_path, "phase3.yml") if r["database"].endswith(f"/{b.name}")]
    assert failed["status"] == "failed" and failed["details"]["failed_task"] == THRESHOLDS
    assert "0001_memorial_persons" in failed["details"]["error"] and failed["details"]["restore_point"]
    assert b.scalar("SELECT count(*) FROM core.persons") > 0  # it had migrated rows: mid-way
    # ... and changed nothing it should not have: the legacy data, the ledger, dual-write, no Phase 3 gate.
    assert b.pg_dump(*LEGACY) == legacy["b"]
    assert applied(b) == version and b.scalar("SELECT mode FROM migration.dual_write_mode") == "dual"
    assert latest_gates(b) == {1: True, 2: True}
    assert c.pg_dump() == c_before  # never started: not a row, not a record
    assert latest_gates(a) == {1: True, 2: True, 3: True}
    report = combined(tmp_path, "phase3.yml")
    assert list(report) == ["a", "b", "c"]
    assert [report[h]["state"] for h in report] == ["done", "failed", "never started"]
    assert (report["a"]["run_id"], report["a"]["run_status"]) == (run_of(a, "phase3.yml"), "succeeded")
    assert (report["b"]["run_id"], report["b"]["run_status"]) == (run_of(b, "phase3.yml"), "failed")
    assert report["c"]["run_id"] is None and report["b"]["database"].endswith(f"/{b.name}")
    assert_everything_is_per_host(dbs, tmp_path)

    # status shows every host, each named; one that cannot be reached says so and hides none.
    everyone = inventory(tmp_path / "status", {**{n: db.name for n, db in dbs.items()}, "gone": "bayview_no_such_db"})
    code, output = cli(a, everyone, tmp_path, "status")
    assert code != 0
    shown = sections(output)
    assert set(shown) == {"a", "b", "c", "gone"}, output
    for name, db in dbs.items():
        assert f"Database 127.0.0.1:{db.cluster.port}/{db.name}\nLedger version {version}" in shown[name]
    assert "Phase 3: passed" in shown["a"] and "Phase 3" not in shown["b"] + shown["c"]
    assert "could not be read" in shown["gone"] and "bayview_no_such_db" in shown["gone"]

    # The rollback over all three while a report holds a lock on a's legacy table (idle in its
    # transaction): a's refuses after its halt, b's and c's go on and complete.
    with a.connect() as held:
        held.execute("BEGIN")
        held.execute("SELECT count(*) FROM bayview.memorials")
        time.sleep(1.1)  # idle in transaction beyond the threshold below
        code, output = cli(a, inv, tmp_path, "rollback", "--to", "0", "-e", "bayview_idle_in_transaction_seconds=1")
    assert code != 0
    # The CLI shows where each host stands, and each host's run report, and the combined one.
    assert all(f"bayview-runbook: {h} run report " in output for h in dbs), output[-4000:]
    assert Path(output.split("Combined report: ")[1].split()[0]).is_file()
    assert [hosts_line(output, s) for s in ("done", "failed", "never started")] == ["b, c", "a", "-"], output[-4000:]
    assert f"The emergency rollback of {a.name} stopped at '{LOCKS}'" in " ".join(output.split())
    [refused] = [r for r in records(tmp_path, "emergency_rollback.yml") if r["database"].endswith(f"/{a.name}")]
    assert refused["details"]["failed_task"] == LOCKS and refused["details"]["changed_anything"] is True
    assert applied(a) == version and latest_gates(a) == {1: True, 2: True, 3: True}  # halted, nothing rolled back
    assert a.scalar("SELECT count(*) FROM migration.runbook_halts WHERE cleared_at IS NULL") == 1
    for db in (b, c):
        assert applied(db) == 0 and "core" not in db.schemas()
        assert set(latest_gates(db).values()) == {False}  # voided: each phase must pass again
    assert {name: db.pg_dump(*LEGACY) for name, db in dbs.items()} == legacy
    report = combined(tmp_path, "emergency_rollback.yml")
    assert [(h, report[h]["state"], report[h]["run_status"]) for h in report] == [
        ("a", "failed", "failed"),
        ("b", "done", "succeeded"),
        ("c", "done", "succeeded"),
    ]
    assert all(report[h]["run_id"] == run_of(db, "emergency_rollback.yml") for h, db in dbs.items())
    assert_everything_is_per_host(dbs, tmp_path)
