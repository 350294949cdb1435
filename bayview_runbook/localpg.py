"""A disposable local PostgreSQL cluster for rehearsals, tests and Molecule.

The server files live under /tmp (a checkout under a 0700 home is not reachable by the
postgres user); the client-side files (pgpass, cluster.json) live in a state directory
owned by whoever runs this, normally `.rehearsal/` in the checkout.

initdb and pg_ctl refuse to run as root, so when we are root they run through
`runuser -u postgres --`. Every client connects over TCP on 127.0.0.1 with SCRAM
passwords read from the generated pgpass file: the same path production takes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

PG_BIN = Path(os.environ.get("BAYVIEW_PG_BIN", "/usr/lib/postgresql/15/bin"))
SUPERUSER = "postgres"
# The web application's role owns the legacy schemas; the runbook's role only reads them.
APP_ROLE = "bayview_app"
RUNBOOK_ROLE = "bayview_runbook"
DISPOSABLE_MARKER = "bayview_disposable_cluster"  # a role; see module_utils/bayview/gates.py


class ClusterError(RuntimeError):
    pass


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class LocalCluster:
    state_dir: Path
    port: int
    server_dir: Path

    @classmethod
    def at(cls, state_dir: Path, port: int | None = None) -> LocalCluster:
        state_dir = state_dir.resolve()
        info = state_dir / "cluster.json"
        if info.exists():
            data = json.loads(info.read_text())
            return cls(state_dir, int(data["port"]), Path(data["server_dir"]))
        tag = hashlib.sha256(str(state_dir).encode()).hexdigest()[:10]
        server_dir = Path(tempfile.gettempdir()) / f"bayview-pg-{os.geteuid()}-{tag}"
        return cls(state_dir, port or free_port(), server_dir)

    @property
    def data_dir(self) -> Path:
        return self.server_dir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.server_dir / "run"

    @property
    def log_file(self) -> Path:
        return self.socket_dir / "server.log"

    @property
    def passfile(self) -> Path:
        return self.state_dir / "pgpass"

    def conninfo(self, user: str = SUPERUSER, dbname: str = "postgres") -> str:
        return (
            f"host=127.0.0.1 port={self.port} dbname={dbname} user={user} "
            f"passfile={self.passfile} application_name=bayview-localpg"
        )

    def env(self) -> dict[str, str]:
        """Variables that point libpq tools (psql, pg_dump) at this cluster."""
        return {
            "PGHOST": "127.0.0.1",
            "PGPORT": str(self.port),
            "PGPASSFILE": str(self.passfile),
            "BAYVIEW_DB_PORT": str(self.port),
            "BAYVIEW_DB_PASSFILE": str(self.passfile),
        }

    def is_running(self) -> bool:
        if not (self.data_dir / "PG_VERSION").exists():
            return False
        result = subprocess.run(
            _as_server_user([str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "status"]),
            capture_output=True,
            text=True,
        )
        return result.returncode == 0

    def start(self, max_connections: int = 25) -> None:
        """Create (once) and start the cluster. Starting a running cluster is a no-op."""
        if self.is_running():
            return
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb(max_connections)
        elif _port_in_use(self.port):
            raise ClusterError(
                f"port {self.port} on 127.0.0.1 is taken by another program; "
                f"stop it, or remove {self.state_dir} to let a new cluster pick a free port"
            )
        result = subprocess.run(
            _as_server_user(
                [
                    str(PG_BIN / "pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_file),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            ),
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            log = self.log_file.read_text()[-2000:] if self.log_file.exists() else ""
            raise ClusterError(f"PostgreSQL did not start: {result.stderr.strip()}\n{log}")
        if not self.passfile.exists():
            self._create_roles()

    def _initdb(self, max_connections: int) -> None:
        if _port_in_use(self.port):
            raise ClusterError(f"port {self.port} on 127.0.0.1 is already in use; choose another with --port")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if self.server_dir.exists():
            shutil.rmtree(self.server_dir)
        self.server_dir.mkdir(mode=0o755)
        self.socket_dir.mkdir(mode=0o700)
        if os.geteuid() == 0:
            shutil.chown(self.server_dir, "postgres", "postgres")
            shutil.chown(self.socket_dir, "postgres", "postgres")
        result = subprocess.run(
            _as_server_user(
                [
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    SUPERUSER,
                    "--auth-local=trust",  # only via our private 0700 socket directory
                    "--auth-host=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ]
            ),
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise ClusterError(f"initdb failed: {result.stderr.strip()}")
        settings = {
            "port": str(self.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.socket_dir}'",
            # Production allows 25 connections in all; rehearse under the same limit.
            "max_connections": str(max_connections),
            "shared_buffers": "'256MB'",
            # A disposable cluster: durability buys nothing here, speed does.
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "log_line_prefix": "'%m [%p] %a '",
        }
        conf = "".join(f"{k} = {v}\n" for k, v in settings.items())
        auto = self.data_dir / "postgresql.auto.conf"
        subprocess.run(
            _as_server_user(["tee", "-a", str(auto)]),
            input=conf,
            text=True,
            capture_output=True,
            check=True,
        )
        (self.state_dir / "cluster.json").write_text(
            json.dumps({"port": self.port, "server_dir": str(self.server_dir)}, indent=2) + "\n"
        )

    def _create_roles(self) -> None:
        passwords = {role: secrets.token_urlsafe(24) for role in (SUPERUSER, APP_ROLE, RUNBOOK_ROLE)}
        sql = [
            f"ALTER ROLE {SUPERUSER} PASSWORD '{passwords[SUPERUSER]}';",
            f"CREATE ROLE {APP_ROLE} LOGIN PASSWORD '{passwords[APP_ROLE]}';",
            f"CREATE ROLE {RUNBOOK_ROLE} LOGIN CREATEDB PASSWORD '{passwords[RUNBOOK_ROLE]}';",
            # The runbook must see other sessions to refuse when one holds locks.
            f"GRANT pg_read_all_stats TO {RUNBOOK_ROLE};",
            # The runbook signs gates off automatically only on a server that has this role: a session
            # cannot pretend to (only a superuser makes roles), and no production cluster has it.
            f"CREATE ROLE {DISPOSABLE_MARKER} NOLOGIN;",
            f"COMMENT ON ROLE {DISPOSABLE_MARKER} IS 'a disposable rehearsal cluster made by bayview-localpg';",
        ]
        self.psql_socket("\n".join(sql))
        lines = "".join(f"127.0.0.1:{self.port}:*:{r}:{p}\n" for r, p in passwords.items())
        fd = os.open(self.passfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(lines)

    def psql_socket(self, sql: str, dbname: str = "postgres") -> str:
        """Run SQL as the superuser over the private socket (used only to bootstrap roles)."""
        result = subprocess.run(
            _as_server_user(
                [
                    str(PG_BIN / "psql"),
                    "-X",
                    "-q",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-h",
                    str(self.socket_dir),
                    "-p",
                    str(self.port),
                    "-U",
                    SUPERUSER,
                    "-d",
                    dbname,
                ]
            ),
            input=sql,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise ClusterError(f"psql failed: {result.stderr.strip()}")
        return result.stdout

    def restart_command(self) -> list[str]:
        """The command that restarts the server (fast: sessions are cut), waiting until it is back."""
        return _as_server_user(
            [str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_file), "-m", "fast", "-w", "restart"]
        )

    def stop(self, remove: bool = True) -> bool:
        """Stop the server; with remove, delete its files too. Returns whether one ran."""
        was_running = self.is_running()
        if was_running:
            subprocess.run(
                _as_server_user([str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"]),
                capture_output=True,
                text=True,
                check=True,
            )
        if remove:
            shutil.rmtree(self.server_dir, ignore_errors=True)
            for name in ("pgpass", "cluster.json"):
                (self.state_dir / name).unlink(missing_ok=True)
        return was_running


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop", "status", "env"])
    parser.add_argument("--state", default=".rehearsal", help="client-side state directory")
    parser.add_argument("--port", type=int, help="TCP port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--max-connections", type=int, default=25)
    args = parser.parse_args(argv)
    cluster = LocalCluster.at(Path(args.state), args.port)
    try:
        if args.action == "start":
            cluster.start(args.max_connections)
            print(f"local PostgreSQL running on 127.0.0.1:{cluster.port} (files in {cluster.server_dir})")
        elif args.action == "stop":
            ran = cluster.stop()
            print("local PostgreSQL stopped and removed" if ran else "no local PostgreSQL was running")
        elif args.action == "status":
            running = cluster.is_running()
            print(f"running on 127.0.0.1:{cluster.port}" if running else "not running")
            return 0 if running else 3
        else:
            for key, value in cluster.env().items():
                print(f"export {key}={value}")
    except ClusterError as exc:
        print(f"bayview-localpg: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
