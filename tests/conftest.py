"""Shared fixtures: one disposable PostgreSQL cluster per test session, a template database
with the sample legacy data, and a fresh copy of it for every test that needs one.
Playbooks run for real through ansible-playbook."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from bayview_runbook import legacy_sample
from bayview_runbook.engine import ROOT
from bayview_runbook.engine import SQL_MIGRATIONS as MIGRATIONS
from bayview_runbook.localpg import RUNBOOK_ROLE, LocalCluster

TEMPLATE_ROWS = 2000
UNTRACKED_BEFORE = pytest.StashKey[set]()


def _untracked_in_checkout() -> set[str]:
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return {line[3:] for line in status.stdout.splitlines() if line.startswith("?? ")}


def pytest_sessionstart(session):
    session.config.stash[UNTRACKED_BEFORE] = _untracked_in_checkout()


def pytest_sessionfinish(session, exitstatus):
    """Nothing a run writes may land in the checkout unless .gitignore covers it."""
    new = sorted(_untracked_in_checkout() - session.config.stash.get(UNTRACKED_BEFORE, set()))
    if new:
        print(
            f"\nThe tests left {len(new)} file(s) in the checkout that .gitignore does not cover:",
            *new[:20],
            sep="\n  ",
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_report_header(config):
    from sampling import full_matrix, seed

    if full_matrix():
        return "bayview: every case of the long matrices (BAYVIEW_FULL_MATRIX=1)"
    return f"bayview: a sample of the long matrices, seed {seed()[:12]} (BAYVIEW_SAMPLE_SEED to repeat it)"


@pytest.fixture(scope="session")
def cluster():
    # Under /tmp with a short path: the postgres user must reach the server files.
    state = Path(tempfile.mkdtemp(prefix="bayview-test-"))
    os.chmod(state, 0o755)  # noqa: S103 - the postgres user must reach it; it holds no secret
    c = LocalCluster.at(state)
    c.start()
    yield c
    c.stop(remove=True)
    shutil.rmtree(state, ignore_errors=True)


def _template(cluster: LocalCluster, variant: str) -> str:
    name = f"legacy_template_{variant}"
    with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    if not exists:
        legacy_sample.create_database(cluster.conninfo(), name)
        legacy_sample.load(cluster.conninfo(dbname=name), rows=TEMPLATE_ROWS, variant=variant)
    return name


@pytest.fixture(scope="session")
def full_template(cluster):
    return _template(cluster, "full")


def wait_until_unused(conn: psycopg.Connection, dbname: str) -> None:
    """A template can be copied only when nobody is connected to it: the keeper of the last run on it
    leaves once it has seen its playbook end (a failure guard of a minute, not a timing)."""
    deadline = time.monotonic() + 60
    while conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [dbname]).fetchone()[0]:
        assert time.monotonic() < deadline, f"sessions on {dbname} stayed"
        time.sleep(0.1)


@dataclass
class TestDatabase:
    cluster: LocalCluster
    name: str

    def connect(self, user: str = "postgres", **kwargs) -> psycopg.Connection:
        return psycopg.connect(self.cluster.conninfo(user=user, dbname=self.name), autocommit=True, **kwargs)

    def query(self, query: str, params=None, user: str = "postgres") -> list[tuple]:
        with self.connect(user) as conn:
            return conn.execute(query, params).fetchall()

    def scalar(self, query: str, params=None, user: str = "postgres"):
        rows = self.query(query, params, user)
        return rows[0][0] if rows else None

    def schemas(self) -> list[str]:
        return [
            r[0]
            for r in self.query(
                "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "
                "AND nspname <> 'information_schema' ORDER BY 1"
            )
        ]

    def params(self, user: str = RUNBOOK_ROLE) -> dict:
        """Module-style parameters for calling the engine directly."""
        return {
            "connection": {
                "host": "127.0.0.1",
                "port": self.cluster.port,
                "dbname": self.name,
                "user": user,
                "password": None,
                "sslmode": "disable",
                "passfile": str(self.cluster.passfile),
            },
            "application_name": "bayview-test",
            "lock_timeout_ms": 500,
            "statement_timeout_s": 60,
        }

    def pg_dump(self, *schemas: str, options: tuple[str, ...] = ()) -> bytes:
        args = ["pg_dump", "--restrict-key=bayviewtest", *options, "-d", self.cluster.conninfo(dbname=self.name)]
        for schema in schemas:
            args += ["-n", schema]
        return subprocess.run(args, capture_output=True, check=True).stdout


def new_database(cluster: LocalCluster, template: str) -> TestDatabase:
    name = f"t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
        wait_until_unused(conn, template)
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))
        # Database-level grants are not copied from a template.
        conn.execute(
            sql.SQL("GRANT CONNECT, CREATE ON DATABASE {} TO {}").format(
                sql.Identifier(name), sql.Identifier(RUNBOOK_ROLE)
            )
        )
    return TestDatabase(cluster, name)


@pytest.fixture(scope="session")
def dual_template(cluster, full_template, tmp_path_factory):
    """Phases 1 and 2 done once (dual-write on), for the tests that start there (new_database copies it).
    Its restore points are in the store it returns, under its own name."""
    db = new_database(cluster, full_template)
    store = tmp_path_factory.mktemp("dual-template-store")
    for phase in (1, 2):
        result = run_playbook(db, f"phase{phase}.yml", "-e", f"restore_point_store=file://{store}")
        assert result.returncode == 0, result.output[-3000:]
    assert db.scalar("SELECT mode FROM migration.dual_write_mode") == "dual"
    return db.name


def drop_database(db: TestDatabase) -> None:
    with psycopg.connect(db.cluster.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db.name)))


@pytest.fixture
def dual_db(cluster, dual_template):
    """A copy of the Phases 1-2 database (dual-write on), dropped after the test."""
    db = new_database(cluster, dual_template)
    yield db
    drop_database(db)


@pytest.fixture
def legacy_db(cluster, full_template):
    db = new_database(cluster, full_template)
    yield db
    drop_database(db)


@pytest.fixture
def migrations_copy(tmp_path) -> Path:
    """A private copy of the Phase 1 migrations (0001-0004) that a test may extend or edit."""
    target = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, target)
    for version in target.iterdir():
        up = version / "up.sql"
        if up.is_file() and "-- phase: 1\n" not in up.read_text():
            shutil.rmtree(version)
    return target


def add_migration(directory: Path, version: int, name: str, up: str, down: str, verify: str, phase: int = 1) -> Path:
    path = directory / f"{version:04d}_{name}"
    path.mkdir()
    header = f"-- phase: {phase}\n-- description: test migration {name}\n"
    (path / "up.sql").write_text(up if up.startswith("-- phase") else header + up)
    (path / "down.sql").write_text(down)
    (path / "verify.sql").write_text(verify)
    return path


@dataclass
class PlaybookResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def changed(self) -> int | None:
        for line in self.stdout.splitlines():
            if "changed=" in line and "ok=" in line:
                return int(line.split("changed=")[1].split()[0])
        return None

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def playbook_command(db: TestDatabase, playbook: str, *extra: str, records_dir: Path | None = None):
    env = dict(os.environ)
    env.update(db.cluster.env())
    env.update(
        {
            "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
            "BAYVIEW_DB_NAME": db.name,
            "BAYVIEW_RECORDS_DIR": str(records_dir or Path(tempfile.gettempdir()) / "bayview-test-records"),
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_NOCOLOR": "1",
        }
    )
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), str(ROOT / "playbooks" / playbook), *extra]
    return cmd, env


# up, down, verify of a migration that stays in flight until the test lets it go: it waits for an
# advisory lock the test holds (advisory locks are per database, so the rollback rehearsal on the
# scratch copy does not wait). Its run gets a lock timeout long enough to wait as long as it takes.
HELD_MIGRATION_LOCK = 20261201
HELD_MIGRATION = (
    f"CREATE TABLE core.slow (id int);\nSELECT pg_catalog.pg_advisory_xact_lock({HELD_MIGRATION_LOCK});\n",
    "DROP TABLE core.slow;\n",
    "SELECT id FROM core.slow WHERE false;\n",
)
LONG_LOCK_TIMEOUT = "bayview_lock_timeout_ms=300000"


def wait_until_blocked_by(db, holder_pid: int, proc: subprocess.Popen) -> int:
    """The pid of the migration's session, once it waits on the holder's lock (a failure guard
    of ten minutes, not a timing: the migration cannot get past the lock)."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        pid = db.scalar("SELECT pid FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", [holder_pid])
        if pid:
            return pid
        assert proc.poll() is None, "the playbook ended before its migration reached the held lock"
        time.sleep(0.1)
    raise AssertionError("the held migration never started")


def process_tree(pid: int) -> list[int]:
    """pid, all its descendants (parents first), and every process that carries its
    BAYVIEW_PLAYBOOK_PID: Ansible's workers call setsid() and the run's keeper is detached, so
    killing ansible-playbook's process group would leave the worker, its module and the keeper."""
    children: dict[int, list[int]] = {}
    of_the_run = []
    marker = f"BAYVIEW_PLAYBOOK_PID={pid}".encode()
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            if marker in (proc / "environ").read_bytes().split(b"\0"):
                of_the_run.append(int(proc.name))
        except OSError:
            continue  # the process ended meanwhile
        children.setdefault(int(fields[1]), []).append(int(proc.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop(0)
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree + [p for p in of_the_run if p not in tree]


def kill_tree(proc: subprocess.Popen) -> None:
    """Kill a playbook run as a crash of the control node would: every process of it at once
    (stopped first, so that none of them, the keeper least of all, acts on another's death)."""
    pids = process_tree(proc.pid)
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
    proc.wait(timeout=60)


def run_playbook(db: TestDatabase, playbook: str, *extra: str, records_dir: Path | None = None) -> PlaybookResult:
    cmd, env = playbook_command(db, playbook, *extra, records_dir=records_dir)
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    return PlaybookResult(result.returncode, result.stdout, result.stderr)
