"""The fault-injection matrix: every operator playbook, struck at every task boundary and inside
its long tasks, then run again.

The matrix is generated from real runs, so a new task is covered without editing anything: for
each scenario (a playbook, from the state it runs in) an unfaulted census run records every task
start (plugins/callback/bayview_fault.py) and every failpoint it reaches inside a long task
(module_utils/bayview/failpoints.py). Each case then strikes one fault at one of those points:

  sigkill       kill -9 of ansible-playbook (its keeper closes the run as interrupted)
  sigint        Ctrl-C of ansible-playbook (Ansible stops its workers)
  terminate     pg_terminate_backend of every session of the runbook's role
  restart       the PostgreSQL server restarted (fast: every session is cut)
  s3_cut        the S3 endpoint unreachable (through a proxy that drops every connection)
  store_full    the file store's filesystem full (a tmpfs, filled up; root only: mount)
  smtp_down     the SMTP receiver refusing mail
  webhook_down  the webhook receiver answering 503

Process and database faults strike at every boundary and failpoint; the store and receiver faults
at the boundaries before the tasks that use them (and the upload failpoint). After the fault the
environment is healed, any process of the struck run is let finish, and the same playbook runs
again. A case survives when that run completes the work exactly (the state equals the census
run's) or refuses with a reason and a next step, the legacy data is byte for byte what it was,
and every run of the case is closed with a JSON record whose status says what happened.

`make faults` runs every case and prints one line per case and "survived N of N"; `make test`
runs a sample (tests/test_faults.py, tests/sampling.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import wait_until_unused  # noqa: E402 - the tests' own helpers
from s3_endpoint import CuttingProxy, MotoServer  # noqa: E402

from bayview_runbook import legacy_sample  # noqa: E402
from bayview_runbook.engine import ROOT  # noqa: E402
from bayview_runbook.localpg import RUNBOOK_ROLE, LocalCluster  # noqa: E402
from bayview_runbook.receivers import HttpReceiver, SmtpReceiver  # noqa: E402

PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")
ROWS = 200  # a small legacy database: the matrix is about faults, not volume
PROCESS_KINDS = ("sigkill", "sigint", "terminate", "restart")
# The full store is a tmpfs the matrix mounts and fills: only root can mount it.
CAN_FILL_A_STORE = os.geteuid() == 0
STORE_ACTIONS = ("ansible.legacy.bayview_restore_point", "ansible.legacy.bayview_run_record")
NOTIFY_ACTIONS = ("ansible.legacy.bayview_notify",)
# The task of roles/run_record/tasks/finish.yml that writes how the run ended.
FINISH_TASK = "run_record : Finish the run record"
WAIT_SECONDS = 600  # failure guards, not timings: how long a run or a closing may take at most


@dataclass(frozen=True)
class Scenario:
    name: str
    playbook: str
    after: tuple[str, ...]  # the phase playbooks run before, to reach the state it runs in
    arguments: Callable[[str, dict], list[str]] = lambda db, prepared: []  # from the database name


def _restore_point_of_phase1(db: str, prepared: dict) -> list[str]:
    return ["-e", f"restore_point={prepared['restore_points'][0]}", "-e", f"confirm_restore={db}"]


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("phase1", "phase1.yml", ()),
        Scenario("phase2", "phase2.yml", ("phase1.yml",)),
        Scenario("phase3", "phase3.yml", ("phase1.yml", "phase2.yml")),
        Scenario("phase4", "phase4.yml", ("phase1.yml", "phase2.yml", "phase3.yml")),
        Scenario("phase5", "phase5.yml", ("phase1.yml", "phase2.yml", "phase3.yml", "phase4.yml")),
        Scenario("rollback", "emergency_rollback.yml", ("phase1.yml", "phase2.yml", "phase3.yml")),
        Scenario("rollback_restore", "emergency_rollback.yml", ("phase1.yml",), _restore_point_of_phase1),
        Scenario("restore", "restore.yml", ("phase1.yml",), lambda db, p: ["-e", "restore_point=latest"]),
        Scenario("restore_drill", "restore_drill.yml", ("phase1.yml",)),
        Scenario("validate", "validate.yml", ("phase1.yml", "phase2.yml", "phase3.yml")),
    )
}


@dataclass(frozen=True)
class Case:
    scenario: str
    point: str  # "task 12: <name>" or "inside: <failpoint>"
    kind: str
    task_index: int | None = None
    failpoint: str | None = None

    @property
    def label(self) -> str:
        return f"{self.scenario} | {self.point} | {self.kind}"


@dataclass
class Census:
    tasks: list[dict]
    failpoints: list[str]
    digest: dict
    seconds: float


@dataclass
class Outcome:
    case: Case
    survived: bool
    detail: str
    seconds: float

    @property
    def line(self) -> str:
        return f"{'survived' if self.survived else 'FAILED  '} {self.seconds:5.0f}s  {self.case.label}: {self.detail}"


@dataclass
class Harness:
    """One cluster, an S3 endpoint behind a cutting proxy, receivers that can be taken down, and the
    prepared states (a template database and a copy of the store after each phase)."""

    workdir: Path
    cluster: LocalCluster = field(init=False)
    prepared: dict = field(default_factory=dict)
    censuses: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        os.chmod(self.workdir, 0o755)  # noqa: S103 - the postgres user must reach it; it holds no secret
        self.flags = self.workdir / "flags"
        self.flags.mkdir(exist_ok=True)
        self.cluster = LocalCluster.at(self.workdir / "pg")
        self.cluster.start()
        self.moto = MotoServer()
        self.proxy = CuttingProxy(self.moto.port, cut_after=1 << 62, cut_flag=self.flags / "s3_cut")
        self.http = HttpReceiver(down_flag=self.flags / "webhook_down")
        self.smtp = SmtpReceiver(down_flag=self.flags / "smtp_down")
        self.s3 = boto3.client("s3", endpoint_url=self.moto.url, region_name="us-east-1", **_AWS)
        self.s3.create_bucket(Bucket="faults")
        legacy_sample.create_database(self.cluster.conninfo(), "fm_legacy")
        legacy_sample.load(self.cluster.conninfo(dbname="fm_legacy"), rows=ROWS, variant="full")
        self.prepared[()] = {"template": "fm_legacy", "store": self._empty_dir("store-legacy"), "restore_points": []}

    def close(self) -> None:
        for stop in (self.http.stop, self.smtp.stop, self.proxy.close, self.moto.stop):
            with contextlib.suppress(Exception):
                stop()
        self.cluster.stop(remove=True)

    # --- databases and stores ---
    def _empty_dir(self, name: str) -> Path:
        path = self.workdir / name
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path

    def _sql(self, query, dbname: str = "postgres", params=None) -> list[tuple]:
        with psycopg.connect(self.cluster.conninfo(dbname=dbname), autocommit=True) as conn:
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description else []

    def runs(self, db: str) -> list[tuple[str, str]]:
        """(run_id, status) of every run of the database, oldest first (none before the first)."""
        if not self._sql("SELECT to_regclass('migration.runbook_runs') IS NOT NULL", dbname=db)[0][0]:
            return []
        return self._sql("SELECT run_id, status FROM migration.runbook_runs ORDER BY started_at", dbname=db)

    def _copy_database(self, template: str, name: str) -> None:
        with psycopg.connect(self.cluster.conninfo(), autocommit=True) as conn:
            wait_until_unused(conn, template)
        self._sql(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))
        self._sql(
            sql.SQL("GRANT CONNECT, CREATE ON DATABASE {} TO {}").format(
                sql.Identifier(name), sql.Identifier(RUNBOOK_ROLE)
            )
        )

    def _drop_databases(self, prefix: str) -> None:
        for (name,) in self._sql("SELECT datname FROM pg_database WHERE datname LIKE %s", params=[f"{prefix}%"]):
            self._sql(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def _state(self, after: tuple[str, ...]) -> dict:
        """The template database and store after the playbooks `after`, prepared once."""
        if after in self.prepared:
            return self.prepared[after]
        before = self._state(after[:-1])
        name = f"fm_after_{len(after)}"
        self._copy_database(before["template"], name)
        store = self._empty_dir(f"store-{name}")
        copy_store(before, store, name)
        result = self.run_playbook(name, after[-1], [], store, self._empty_dir(f"records-{name}"))
        if result.returncode != 0:
            raise RuntimeError(f"preparing {after}: {after[-1]} failed:\n{result.stdout[-3000:]}")
        points = sorted(p.name for p in (store / name).glob("*") if (p / "manifest.json").exists())
        self.prepared[after] = {"template": name, "store": store, "restore_points": before["restore_points"] + points}
        return self.prepared[after]

    # --- running playbooks ---
    def env(self, db: str, store: Path | None, records: Path) -> dict[str, str]:
        env = {**os.environ, **self.cluster.env(), **_AWS_ENV}
        env.update(
            {
                "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
                "ANSIBLE_CALLBACKS_ENABLED": "bayview_run,bayview_fault",
                "ANSIBLE_NOCOLOR": "1",
                "BAYVIEW_DB_NAME": db,
                "BAYVIEW_RECORDS_DIR": str(records),
                "BAYVIEW_WEBHOOK_URL": self.http.url(),
                "BAYVIEW_SMTP_PORT": str(self.smtp.port),
                "BAYVIEW_FAILPOINT_DATABASE": db,
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_EC2_METADATA_DISABLED": "true",
            }
        )
        if store is not None:
            env["BAYVIEW_RESTORE_POINT_DIR"] = str(store)
        return env

    def command(self, playbook: str, extra: list[str], s3_prefix: str | None) -> list[str]:
        cmd = [PLAYBOOK, str(ROOT / "playbooks" / playbook), *extra]
        if s3_prefix:
            cmd += ["-e", f"restore_point_store=s3://faults/{s3_prefix}", "-e", f"s3_endpoint_url={self.proxy.url}"]
        return cmd

    def run_playbook(self, db, playbook, extra, store, records, s3_prefix=None, fault_env=None):
        env = {**self.env(db, store, records), **(fault_env or {})}
        return subprocess.run(
            self.command(playbook, extra, s3_prefix),
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=WAIT_SECONDS,
            check=False,
        )

    # --- the matrix ---
    def census(self, scenario: Scenario) -> Census:
        if scenario.name in self.censuses:
            return self.censuses[scenario.name]
        prepared = self._state(scenario.after)
        db = f"fm_census_{scenario.name}"
        self._drop_databases(db)
        self._copy_database(prepared["template"], db)
        store = self._empty_dir(f"census-store-{scenario.name}")
        copy_store(prepared, store, db)
        tasks_file, points_file = (
            self.workdir / f"census-{scenario.name}.jsonl",
            self.workdir / f"census-{scenario.name}.fp",
        )
        tasks_file.unlink(missing_ok=True)
        points_file.unlink(missing_ok=True)
        started = time.monotonic()
        result = self.run_playbook(
            db,
            scenario.playbook,
            scenario.arguments(db, prepared),
            store,
            self._empty_dir(f"census-records-{scenario.name}"),
            fault_env={"BAYVIEW_FAULT_CENSUS": str(tasks_file), "BAYVIEW_FAILPOINT_CENSUS": str(points_file)},
        )
        if result.returncode != 0:
            raise RuntimeError(f"the census run of {scenario.name} failed:\n{result.stdout[-3000:]}")
        tasks = [json.loads(line) for line in tasks_file.read_text().splitlines()]
        failpoints = sorted(set(points_file.read_text().split())) if points_file.exists() else []
        census = Census(tasks, failpoints, digest(self.cluster, db), time.monotonic() - started)
        self._drop_databases(db)
        self.censuses[scenario.name] = census
        return census

    def cases(self, scenario: Scenario) -> list[Case]:
        census = self.census(scenario)
        cases = []
        for task in census.tasks:
            point = f"task {task['index']}: {task['name']}"
            kinds = list(PROCESS_KINDS)
            if task["action"] in STORE_ACTIONS:
                kinds += ["s3_cut", "store_full"] if CAN_FILL_A_STORE else ["s3_cut"]
            if task["action"] in NOTIFY_ACTIONS:
                kinds += ["smtp_down", "webhook_down"]
            cases += [Case(scenario.name, point, kind, task_index=task["index"]) for kind in kinds]
        for failpoint in census.failpoints:
            store_kinds = ["s3_cut", "store_full"] if CAN_FILL_A_STORE else ["s3_cut"]
            kinds = list(PROCESS_KINDS) + (store_kinds if failpoint == "restore_point.uploading" else [])
            cases += [Case(scenario.name, f"inside: {failpoint}", kind, failpoint=failpoint) for kind in kinds]
        return cases

    # --- one case ---
    def fault_command(self, kind: str, db: str, store: Path) -> str:
        if kind == "sigkill":
            return 'kill -KILL "$BAYVIEW_PLAYBOOK_PID"'
        if kind == "sigint":
            return 'kill -INT "$BAYVIEW_PLAYBOOK_PID"'
        if kind == "terminate":
            query = (
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE usename = '{RUNBOOK_ROLE}' AND pid <> pg_backend_pid()"
            )
            return shlex.join(["psql", self.cluster.conninfo(dbname=db), "-qAtc", query]) + " >/dev/null"
        if kind == "restart":  # with a clean environment: the server must not carry the run's variables
            return 'env -i PATH="$PATH" ' + shlex.join(self.cluster.restart_command()) + " >/dev/null"
        if kind == "store_full":
            return f"dd if=/dev/zero of={shlex.quote(str(store / '.filler'))} bs=1M 2>/dev/null; true"
        return f"touch {shlex.quote(str(self.flags / kind))}"  # s3_cut, smtp_down, webhook_down

    def heal(self, store: Path) -> None:
        for flag in self.flags.iterdir():
            flag.unlink()
        (store / ".filler").unlink(missing_ok=True)
        self.proxy.heal()

    def run_case(self, case: Case) -> Outcome:
        started = time.monotonic()
        scenario = SCENARIOS[case.scenario]
        census, prepared = self.census(scenario), self._state(scenario.after)
        db = f"fm_case_{uuid.uuid4().hex[:8]}"
        self._copy_database(prepared["template"], db)
        records = self._empty_dir(f"records-{db}")
        s3_prefix = db if case.kind == "s3_cut" else None
        store = self.workdir / f"store-{db}"
        mounted = False
        try:
            if case.kind == "store_full":
                store.mkdir()
                mounted = (
                    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(store)]).returncode == 0
                )
                if not mounted:
                    return Outcome(case, False, "could not mount a tmpfs for the full store (needs root)", 0)
            copy_store(prepared, store, db)
            if s3_prefix:
                for path in store.rglob("*"):
                    if path.is_file():
                        self.s3.upload_file(str(path), "faults", f"{s3_prefix}/{path.relative_to(store)}")
            extra = scenario.arguments(db, prepared)
            legacy_before = legacy_dump(self.cluster, db)
            runs_before = {run_id for run_id, _ in self.runs(db)}
            fault = {"BAYVIEW_FAULT_COMMAND": self.fault_command(case.kind, db, store)}
            if case.task_index is not None:
                fault["BAYVIEW_FAULT_AT"] = str(case.task_index)
            else:
                # Inside a module: its environment has BAYVIEW_PLAYBOOK_PID from the bayview_run plugin.
                fault = {
                    "BAYVIEW_FAILPOINT": case.failpoint,
                    "BAYVIEW_FAILPOINT_COMMAND": fault["BAYVIEW_FAULT_COMMAND"],
                }
            struck = self._run_struck(db, scenario.playbook, extra, store, records, s3_prefix, fault)
            self.heal(store)
            wait_for_processes_of(struck.pid)
            struck_runs = self.new_runs(db, runs_before, records)
            again = self.run_playbook(db, scenario.playbook, extra, store, records, s3_prefix)
            detail = self._judge(case, census, db, struck, again, legacy_before, runs_before, records, struck_runs)
            return Outcome(case, detail.startswith("ok"), detail, time.monotonic() - started)
        except Exception as exc:  # noqa: BLE001 - one case's surprise is its failure, not the matrix's
            return Outcome(case, False, f"harness error: {type(exc).__name__}: {exc}", time.monotonic() - started)
        finally:
            if store.exists():
                self.heal(store)
            if mounted:
                subprocess.run(["umount", str(store)], check=False)
            shutil.rmtree(store, ignore_errors=True)
            self._drop_databases(db)

    def _run_struck(self, db, playbook, extra, store, records, s3_prefix, fault) -> subprocess.CompletedProcess:
        env = {**self.env(db, store, records), **fault}
        proc = subprocess.Popen(
            self.command(playbook, extra, s3_prefix),
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        out, _ = proc.communicate(timeout=WAIT_SECONDS)
        result = subprocess.CompletedProcess(proc.args, proc.returncode, out, "")
        result.pid = proc.pid
        return result

    def new_runs(self, db: str, runs_before: set, records: Path) -> dict[str, str]:
        """{run_id: status} of the runs since runs_before: in the database, or, for a run whose row a
        restore swapped out with the database it ran in (it is in the kept one), in its JSON record."""
        found = {run_id: status for run_id, status in self.runs(db) if run_id not in runs_before}
        for path in sorted(records.glob("*.json")):
            record = json.loads(path.read_text())
            if record["run_id"] not in runs_before:
                found.setdefault(record["run_id"], record["status"])
        return found

    def _judge(self, case, census, db, struck, again, legacy_before, runs_before, records, struck_runs) -> str:
        """'ok: ...' when the case survived, else what went wrong."""
        problems = []
        if again.returncode == 0:
            outcome = "the run again completed"
            state = digest(self.cluster, db)
            if state != census.digest:
                differing = sorted(k for k in state if state[k] != census.digest.get(k))
                problems.append(f"state differs from the unfaulted run in {differing}")
        elif "Next step" in again.stdout:
            reason = next((line.strip() for line in again.stdout.splitlines() if "Next step" in line), "")
            outcome = f"the run again refused: {reason[:160]}"
        else:
            problems.append(f"the run again failed without a next step:\n{again.stdout[-1500:]}")
            outcome = ""
        if legacy_dump(self.cluster, db) != legacy_before:
            problems.append("the legacy data changed")
        wait_until_runs_closed(self, db)
        for run_id, status in self.runs(db):
            if run_id in runs_before:
                continue
            files = list(records.glob(f"{run_id}-*.json"))
            if not files:
                problems.append(f"run {run_id} ({status}) has no JSON record")
            elif json.loads(files[0].read_text())["status"] != status:
                problems.append(f"run {run_id}: its JSON record says something else than the database ({status})")
        # The struck run, as recorded before the run again (its row may have gone with a swapped restore).
        # Struck after its record was finished (only the closing message was left), the run had ended:
        # its record says how, and a kill then cannot change that.
        finished_before = case.task_index is not None and any(
            t["name"] == FINISH_TASK and t["index"] < case.task_index for t in census.tasks
        )
        for run_id, status in struck_runs.items():
            if finished_before:
                if status not in ("succeeded", "failed"):
                    problems.append(f"the struck run {run_id} finished its record before the strike but is {status}")
                continue
            if struck.returncode != 0 and status == "succeeded":
                problems.append(
                    f"the struck run {run_id} failed (exit {struck.returncode}) but is recorded as succeeded"
                )
            # Killed (-9) or interrupted (Ansible exits 99 on SIGINT): nothing of it could say "failed".
            if struck.returncode in (-9, 99) and status != "interrupted":
                problems.append(
                    f"the struck run {run_id} ended with exit {struck.returncode} but is recorded as {status}"
                )
        if problems:
            return "; ".join(problems)
        return f"ok: struck run exit {struck.returncode}; {outcome}"


def copy_store(prepared: dict, store: Path, db: str) -> None:
    """The prepared store, with the template database's restore points also listed under db (their
    manifests still point at the dumps where they are)."""
    shutil.copytree(prepared["store"], store, dirs_exist_ok=True)
    own = store / prepared["template"]
    if own.is_dir():
        shutil.copytree(own, store / db, dirs_exist_ok=True)


# moto accepts any key pair; these are its documented dummy values, not secrets.
_AWS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}  # noqa: S105
_AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}  # noqa: S105


def digest(cluster: LocalCluster, db: str) -> dict:
    """What a run must leave exactly as an unfaulted one does (no ids, no times)."""
    with psycopg.connect(cluster.conninfo(dbname=db), autocommit=True) as conn:

        def q(query: str):
            exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [query.split(" FROM ")[1].split()[0]])
            return conn.execute(query).fetchall() if exists.fetchone()[0] else None

        return {
            "ledger": q("SELECT version, status FROM migration.runbook_ledger ORDER BY version"),
            "checkpoints": q(
                "SELECT data_migration, status, rows_read, candidates, migrated, quarantined, excluded, checksum "
                "FROM migration.data_migration_checkpoints ORDER BY 1"
            ),
            "persons": q("SELECT count(*) FROM core.persons"),
            "links": q(
                "SELECT count(*), count(DISTINCT (legacy_table, legacy_id, role)) FROM core.person_legacy_links"
            ),
            "quarantine": q("SELECT count(*) FROM migration.quarantine"),
            "dual_write": q("SELECT mode FROM migration.dual_write_mode"),
            "gates": q(
                "SELECT DISTINCT ON (phase) phase, passed, signed_off_by IS NOT NULL FROM migration.phase_gates "
                "ORDER BY phase, id DESC"
            ),
            "halts": q("SELECT count(*) FROM migration.runbook_halts WHERE cleared_at IS NULL"),
        }


def legacy_dump(cluster: LocalCluster, db: str) -> bytes:
    args = ["pg_dump", "--data-only", "--restrict-key=bayviewfaults", "-n", "bayview", "-n", "crouse_chapel"]
    return subprocess.run([*args, "-d", cluster.conninfo(dbname=db)], capture_output=True, check=True).stdout


def _processes_of(pid: int) -> list[int]:
    marker = f"BAYVIEW_PLAYBOOK_PID={pid}".encode()
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if int(proc.name) == pid or marker in (proc / "environ").read_bytes().split(b"\0"):
                found.append(int(proc.name))
    return found


def wait_for_processes_of(pid: int) -> None:
    """Let every process of a struck run (an orphaned module, its keeper) finish first, as an
    operator would check before running again."""
    deadline = time.monotonic() + WAIT_SECONDS
    while _processes_of(pid):
        if time.monotonic() > deadline:
            raise RuntimeError(f"processes of the struck run are still running: {_processes_of(pid)}")
        time.sleep(0.2)


def wait_until_runs_closed(harness: Harness, db: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while any(status == "running" for _, status in harness.runs(db)):
        if time.monotonic() > deadline:
            raise RuntimeError("a run of the case stayed 'running'")
        time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The fault-injection matrix (make faults).")
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS), help="only these (default: all)")
    parser.add_argument("--kind", action="append", help="only these fault kinds (default: all)")
    parser.add_argument("--match", action="append", help="only the cases whose label contains one of these")
    parser.add_argument("--list", action="store_true", help="print the matrix, run nothing")
    args = parser.parse_args(argv)
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="bayview-faults-"))
    harness = Harness(workdir)
    outcomes: list[Outcome] = []
    try:
        for name in args.scenario or sorted(SCENARIOS):
            cases = [
                c
                for c in harness.cases(SCENARIOS[name])
                if (not args.kind or c.kind in args.kind) and (not args.match or any(m in c.label for m in args.match))
            ]
            print(f"== {name}: {len(cases)} cases ({len(harness.census(SCENARIOS[name]).tasks)} task boundaries)")
            for case in cases:
                if args.list:
                    print(f"   {case.label}", flush=True)
                    continue
                outcome = harness.run_case(case)
                outcomes.append(outcome)
                print(outcome.line, flush=True)
    finally:
        harness.close()
        shutil.rmtree(workdir, ignore_errors=True)
    survived = sum(o.survived for o in outcomes)
    print(f"survived {survived} of {len(outcomes)} in {time.monotonic() - started:.0f}s")
    return 0 if survived == len(outcomes) else 1


if __name__ == "__main__":
    os.environ.update(_AWS_ENV)
    sys.exit(main())
