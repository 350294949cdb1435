"""Restore points on a million memorial rows (file store), each against its plain tool:
- create  <= 1.2x `pg_dump -Fc > /dev/null`
- restore <= 1.2x a plain `pg_restore` of the same file into a new database
- peak memory of the runbook process < 150 MB, and the same at 100k rows as at 1M (<= 1.2x).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from bench.common import ROOT, legacy_cluster, report

TARGET = 1.2
MEMORY_LIMIT_MB = 150


def worker(action: str, cluster, dbname: str, store_url: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.restore_point_worker", action, str(cluster.state_dir), dbname, store_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def timed(cmd: list[str], env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def measure(rows: int) -> dict:
    with legacy_cluster(rows) as (cluster, dbname), tempfile.TemporaryDirectory() as tmp:
        env = {**__import__("os").environ, **cluster.env(), "PGUSER": "bayview_runbook", "PGDATABASE": dbname}
        store_url = f"file://{tmp}/store"
        dump_file = Path(tmp) / "plain.dump"
        baseline_dump = timed(["pg_dump", "-Fc"], env)  # pg_dump -Fc > /dev/null
        created = worker("create", cluster, dbname, store_url)
        subprocess.run(["pg_dump", "-Fc", "-f", str(dump_file)], check=True, env=env)
        with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE plain_restore OWNER bayview_runbook TEMPLATE template0")
        baseline_restore = timed(
            [
                "pg_restore",
                "--exit-on-error",
                "--single-transaction",
                "-U",
                "postgres",
                "-d",
                "plain_restore",
                str(dump_file),
            ],
            env,
        )
        restored = worker("restore", cluster, dbname, store_url)
    return {
        "create": created["seconds"],
        "dump": baseline_dump,
        "restore": restored["seconds"],
        "plain_restore": baseline_restore,
        "peak_mb": max(created["peak_mb"], restored["peak_mb"]),
    }


def run() -> bool:
    small, large = measure(100_000), measure(1_000_000)
    ok = report(
        "restore point create (1,000,000 memorials)", large["create"], large["dump"], "pg_dump -Fc >/dev/null", TARGET
    )
    ok &= report("restore (1,000,000 memorials)", large["restore"], large["plain_restore"], "plain pg_restore", TARGET)
    memory_ok = large["peak_mb"] < MEMORY_LIMIT_MB and large["peak_mb"] <= small["peak_mb"] * 1.2
    print(
        f"restore point peak memory: {large['peak_mb']:.0f} MB at 1M rows, {small['peak_mb']:.0f} MB at 100k "
        f"-> ratio {large['peak_mb'] / small['peak_mb']:.2f} (target < {MEMORY_LIMIT_MB} MB and <= 1.20) "
        f"{'PASS' if memory_ok else 'FAIL'}"
    )
    return ok and memory_ok
