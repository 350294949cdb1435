"""What every benchmark shares: a disposable cluster with sample legacy data, and timing."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bayview_runbook import legacy_sample
from bayview_runbook.engine import ROOT  # noqa: F401 - re-exported; also makes the engine importable
from bayview_runbook.localpg import RUNBOOK_ROLE, LocalCluster


@contextlib.contextmanager
def legacy_cluster(rows: int) -> Iterator[tuple[LocalCluster, str]]:
    state = Path(tempfile.mkdtemp(prefix="bayview-bench-"))
    os.chmod(state, 0o755)  # noqa: S103 - the postgres user must reach it; it holds no secret
    cluster = LocalCluster.at(state)
    cluster.start()
    try:
        legacy_sample.create_database(cluster.conninfo(), "bench")
        legacy_sample.load(cluster.conninfo(dbname="bench"), rows=rows)
        yield cluster, "bench"
    finally:
        cluster.stop(remove=True)
        shutil.rmtree(state, ignore_errors=True)


def engine_params(cluster: LocalCluster, dbname: str) -> dict:
    return {
        "connection": {
            "host": "127.0.0.1",
            "port": cluster.port,
            "dbname": dbname,
            "user": RUNBOOK_ROLE,
            "password": None,
            "sslmode": "disable",
            "passfile": str(cluster.passfile),
        },
        "application_name": "bayview-bench",
        "lock_timeout_ms": 500,
        "statement_timeout_s": 3600,
    }


def best_of(runs: int, action) -> float:
    """Best wall time of several runs (the least disturbed by the machine)."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def duration(seconds: float) -> str:
    return f"{seconds * 1000:.2f}ms" if seconds < 1 else f"{seconds:.2f}s"


def report(name: str, measured: float, baseline: float, baseline_name: str, target: float) -> bool:
    ratio = measured / baseline
    ok = ratio <= target
    print(
        f"{name}: {duration(measured)} vs {baseline_name} {duration(baseline)} -> ratio {ratio:.2f} "
        f"(target <= {target:.2f}) {'PASS' if ok else 'FAIL'}"
    )
    return ok


def report_at_least(name: str, ratio: float, target: float, what: str) -> bool:
    """A ratio that must reach the target (e.g. a throughput ratio)."""
    ok = ratio >= target
    print(f"{name}: {what} ratio {ratio:.2f} (target >= {target:g}) {'PASS' if ok else 'FAIL'}")
    return ok
