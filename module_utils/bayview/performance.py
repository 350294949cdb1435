"""Performance of representative legacy queries (sql/performance/*.sql): a baseline taken in
Phase 1, compared in Phase 4. A query slower than max_regression times its baseline (plus a
small absolute allowance, since a 1 ms query doubling is noise) fails the check."""

from __future__ import annotations

import hashlib
import statistics
import time
from pathlib import Path

import psycopg
from ansible.module_utils.bayview.errors import RunbookError

RUNS = 7  # the median of this many runs, after one warm-up
ALLOWANCE_MS = 5.0


def load_queries(directory: Path) -> dict[str, str]:
    queries = {p.stem: p.read_text() for p in sorted(Path(directory).glob("*.sql"))}
    if not queries:
        raise RunbookError(f"There are no queries in {directory}.", "add representative read-only legacy queries.")
    return queries


def measure(conn: psycopg.Connection, queries: dict[str, str]) -> dict[str, float]:
    """Median milliseconds of each query, read-only."""
    timings = {}
    for name, text in queries.items():
        samples = []
        for _run in range(RUNS + 1):
            with conn.transaction():
                conn.execute("SET TRANSACTION READ ONLY")
                started = time.perf_counter()
                conn.execute(text).fetchall()
                samples.append((time.perf_counter() - started) * 1000)
        timings[name] = round(statistics.median(samples[1:]), 3)
    return timings


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def store_baseline(conn: psycopg.Connection, queries: dict[str, str], timings: dict[str, float], run_id: str) -> None:
    with conn.transaction():
        for name, ms in timings.items():
            conn.execute(
                "INSERT INTO migration.performance_baselines (run_id, query_name, query_sha256, milliseconds) "
                "VALUES (%s, %s, %s, %s)",
                [run_id, name, _sha(queries[name]), ms],
            )


def compare(conn: psycopg.Connection, queries: dict[str, str], timings: dict[str, float], max_regression: float):
    """(results, problems): each query against its latest baseline of the same text."""
    results, problems = [], []
    for name, ms in timings.items():
        row = conn.execute(
            "SELECT milliseconds::float8 FROM migration.performance_baselines WHERE query_name = %s "
            "AND query_sha256 = %s ORDER BY id DESC LIMIT 1",
            [name, _sha(queries[name])],
        ).fetchone()
        if row is None:
            problems.append(f"{name}: no baseline (Phase 1 takes it; a changed query needs a new one)")
            continue
        allowed = row[0] * max_regression + ALLOWANCE_MS
        results.append({"query": name, "baseline_ms": row[0], "now_ms": ms, "allowed_ms": round(allowed, 3)})
        if ms > allowed:
            problems.append(f"{name}: {ms:.1f} ms against a baseline of {row[0]:.1f} ms (allowed {allowed:.1f} ms)")
    return results, problems
