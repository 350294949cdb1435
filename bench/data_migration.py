"""The batched data migration on a million memorial rows, against its baselines in the same run.

Each mode against its own target (issue 4's decision):
- one worker (the default), for runs beside the live application: a concurrent legacy writer
  (steady inserts and updates, as the web application, in its own process) sees no error and a
  p99 latency <= 3x its baseline while the migration runs;
- two workers (bayview_data_migration_workers=2), for a quiet maintenance window (no writer):
  throughput >= 50x the seed's approach (OFFSET pages, a per-row existence check and
  one-row-at-a-time inserts), measured on a sample of the same rows, also in a quiet database.
Both: throughput >= 0.7x one plain INSERT ... SELECT of the same transform.
And for the default:
4. a second run on fully migrated data takes <= 5% of the first;
5. full validation takes <= 2x the migration.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import time

import psycopg

from bayview_runbook.engine import (
    DATA_MIGRATIONS,
    SQL_MIGRATIONS,
    data_migrate,
    data_migration_sql,
    data_migrations,
    data_sync,
    db,
    migrate,
    validate,
)
from bench.common import engine_params, legacy_cluster, report, report_at_least

ROWS = 1_000_000
SEED_SAMPLE = 2_000
SEED_PAGE = 100
BATCH_SIZE = 5_000
WRITER_OPS_PER_SECOND = 50


def _empty_target(conn) -> None:
    conn.execute("SET lock_timeout = '30s'")  # autovacuum may be analysing the fresh rows: it yields after 1s
    conn.execute("TRUNCATE core.persons, core.person_legacy_links, core.record_person_links, migration.quarantine")
    conn.execute("DELETE FROM migration.data_migration_checkpoints")
    conn.execute("VACUUM ANALYZE core.persons")


def seed_approach(conn, migration, sample: int, total: int) -> None:
    """What the seed did: OFFSET pages, then per candidate an existence check and single inserts.

    The sample's pages are spread evenly over the table, as a full run would meet them: an
    OFFSET page costs more the further into the table it is."""
    one_row = psycopg.sql.SQL(
        "WITH "
        + data_migration_sql.CLASSIFIED
        + " SELECT role, person_type, first_name, last_name, birth_date, death_date "
        "FROM cls WHERE outcome = 'migrated'"
    ).format(candidates=data_migrate.candidates_sql_for(conn, migration))
    pages = sample // SEED_PAGE
    for offset in range(0, total, total // pages)[:pages]:
        page = conn.execute(
            "SELECT id FROM bayview.memorials ORDER BY id LIMIT %s OFFSET %s", [SEED_PAGE, offset]
        ).fetchall()
        for (legacy_id,) in page:
            for role, ptype, first, last, born, died in conn.execute(
                one_row, {"lo": legacy_id - 1, "hi": legacy_id, "ids": None}
            ).fetchall():
                exists = conn.execute(
                    "SELECT 1 FROM core.persons WHERE first_name IS NOT DISTINCT FROM %s "
                    "AND last_name IS NOT DISTINCT FROM %s AND birth_date IS NOT DISTINCT FROM %s",
                    [first, last, born],
                ).fetchone()
                if exists:
                    continue
                person = conn.execute(
                    "INSERT INTO core.persons (person_type, first_name, last_name, birth_date, death_date) "
                    "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                    [ptype, first, last, born, died],
                ).fetchone()[0]
                conn.execute(
                    "INSERT INTO core.person_legacy_links (person_id, legacy_table, legacy_id, role) "
                    "VALUES (%s, 'bayview.memorials', %s, %s)",
                    [person, legacy_id, role],
                )


def write_like_the_web_application(conninfo: str, stop, results) -> None:
    """The web application, in its own process (as in production, and away from this process's
    GIL): steady inserts and updates of memorial rows, each timed. Puts (start times, latencies,
    errors) on results when stopped."""
    starts, latencies, errors = [], [], []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        n = 0
        while not stop.is_set():
            n += 1
            starts.append(time.time())
            started = time.perf_counter()
            try:
                if n % 2:
                    conn.execute(
                        "INSERT INTO bayview.memorials (submission_id, first_name, last_name, contact_name) "
                        "VALUES (%s, 'Bench', 'Writer', 'Jo Contact')",
                        [f"MG-bench-{n}-{os.getpid()}"],
                    )
                else:
                    row = n * 7919 % ROWS + 1
                    conn.execute("UPDATE bayview.memorials SET contact_phone = %s WHERE id = %s", [str(n), row])
            except psycopg.Error as exc:
                errors.append(str(exc))
            latencies.append(time.perf_counter() - started)
            time.sleep(max(0.0, 1 / WRITER_OPS_PER_SECOND - (time.perf_counter() - started)))
    results.put((starts, latencies, errors))


def p99(latencies: list[float]) -> float:
    return statistics.quantiles(latencies, n=100)[98]


def migrate_in_a_quiet_window(params: dict, migration, workers: int) -> dict:
    """One full batched run with nothing else writing."""
    started = time.perf_counter()
    result = data_migrate.run(params, migration, batch_size=BATCH_SIZE, workers=workers)
    seconds = time.perf_counter() - started
    return {"result": result, "seconds": seconds, "rate": result["rows_read"] / seconds}


def migrate_beside_the_writer(cluster, dbname: str, params: dict, migration, workers: int) -> dict:
    """One full batched run while the writer works; the writer's p99 alone (10 s before) and during it."""
    spawn = multiprocessing.get_context("spawn")
    stop, results = spawn.Event(), spawn.Queue()
    writer = spawn.Process(
        target=write_like_the_web_application,
        args=(cluster.conninfo(user="bayview_app", dbname=dbname), stop, results),
    )
    writer.start()
    time.sleep(10)
    began = time.time()
    started = time.perf_counter()
    result = data_migrate.run(params, migration, batch_size=BATCH_SIZE, workers=workers)
    seconds = time.perf_counter() - started
    ended = time.time()
    stop.set()
    starts, latencies, errors = results.get(timeout=60)
    writer.join()
    alone = [lat for at, lat in zip(starts, latencies, strict=True) if at < began]
    during = [lat for at, lat in zip(starts, latencies, strict=True) if began <= at <= ended]
    return {
        "result": result,
        "seconds": seconds,
        "rate": result["rows_read"] / seconds,
        "p99_alone": p99(alone),
        "p99_during": p99(during),
        "ops_during": len(during),
        "errors": errors,
    }


def run() -> bool:
    with legacy_cluster(ROWS) as (cluster, dbname):
        params = engine_params(cluster, dbname)
        migrate.run(params, SQL_MIGRATIONS, None, 2, "bench", "bench", check_mode=False)
        migration = data_migrations.load(DATA_MIGRATIONS, "0001_memorial_persons")
        conn = db.connect(params)
        conn.execute("SELECT count(*) FROM bayview.memorials")  # warm the cache for every contender

        started = time.perf_counter()
        seed_approach(conn, migration, SEED_SAMPLE, ROWS)
        seed_rate = SEED_SAMPLE / (time.perf_counter() - started)
        _empty_target(conn)

        started = time.perf_counter()
        with conn.transaction():
            conn.execute(data_migration_sql.BATCH_PLANNER_SETTING)  # planned as the batches are
            conn.execute(
                data_migration_sql.statement(
                    data_migration_sql.CLASSIFY_AND_WRITE, data_migrate.candidates_sql_for(conn, migration), migration
                ),
                {
                    "lo": 0,
                    "hi": 2**31 - 1,
                    "ids": None,
                    "name": migration.NAME,
                    "legacy_table": migration.LEGACY_TABLE,
                    "range_has_links": False,  # an empty target, as the batches find it
                },
            )
        plain_rate = ROWS / (time.perf_counter() - started)
        _empty_target(conn)

        # Two workers first (then emptied), so the default run is the one rerun and validated.
        two = migrate_in_a_quiet_window(params, migration, workers=2)
        _empty_target(conn)
        conn.close()
        one = migrate_beside_the_writer(cluster, dbname, params, migration, workers=1)

        started = time.perf_counter()
        data_migrate.run(params, migration, batch_size=BATCH_SIZE)
        rerun = time.perf_counter() - started
        # The writer changed rows the batches had already passed: the sync brings them up to date,
        # as every phase does before it validates.
        data_sync.sync(params, migration, batch_size=BATCH_SIZE, margin_seconds=0)
        started = time.perf_counter()
        validation = validate.validate(params, [migration])
        validating = time.perf_counter() - started

    first = one["result"]
    print(
        f"migrated {first['rows_read']:,} memorial rows into {first['migrated']:,} persons "
        f"({first['quarantined']:,} quarantined); seed approach {seed_rate:,.0f} rows/s, "
        f"one INSERT ... SELECT {plain_rate:,.0f} rows/s"
    )
    label = "1 worker (the default), beside the application"
    print(
        f"{label}: {one['seconds']:.1f}s, {one['rate']:,.0f} rows/s ({one['rate'] / seed_rate:.1f}x the seed, "
        f"no target in this mode); writer {one['ops_during']} ops during it, {len(one['errors'])} errors"
    )
    results = [
        report_at_least(f"  {label} vs one INSERT ... SELECT", one["rate"] / plain_rate, 0.7, "throughput"),
        report(
            f"  {label}: concurrent writer p99 during the migration",
            one["p99_during"],
            one["p99_alone"],
            "writer p99 alone",
            3,
        ),
    ]
    if one["errors"]:
        print(f"  concurrent writer errors: {one['errors'][:3]} FAIL")
        results.append(False)
    label = "2 workers, in a quiet maintenance window"
    print(f"{label}: {two['seconds']:.1f}s, {two['rate']:,.0f} rows/s")
    results += [
        report_at_least(f"  {label} vs one INSERT ... SELECT", two["rate"] / plain_rate, 0.7, "throughput"),
        report_at_least(
            f"  {label} vs the seed's OFFSET approach ({SEED_SAMPLE:,}-row sample)",
            two["rate"] / seed_rate,
            50,
            "throughput",
        ),
    ]
    results += [
        report("second run on migrated data", rerun, one["seconds"], "first run", 0.05),
        report(
            f"full validation ({'passed' if validation['passed'] else 'FAILED'})", validating, one["seconds"], "run", 2
        ),
    ]
    return all(results) and validation["passed"]
