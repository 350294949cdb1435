"""The batched data migration on a million memorial rows, against its baselines in the same run.

1. throughput: batched run >= 0.7x one plain INSERT ... SELECT of the same transform;
2. throughput: batched run >= 50x the seed's approach (OFFSET pages, a per-row existence check
   and one-row-at-a-time inserts), measured on a sample of the same rows;
3. a second run on fully migrated data takes <= 5% of the first;
4. full validation takes <= 2x the migration;
5. a concurrent legacy writer (steady inserts and updates, as the web application) sees no
   error and a p99 latency <= 3x its baseline while the migration runs.
"""

from __future__ import annotations

import statistics
import threading
import time

import psycopg

from bayview_runbook.engine import DATA_MIGRATIONS, SQL_MIGRATIONS, data_migrate, db, migrate, validate
from bench.common import engine_params, legacy_cluster, report, report_at_least

ROWS = 1_000_000
SEED_SAMPLE = 2_000
SEED_PAGE = 100
BATCH_SIZE = 5_000
WRITER_OPS_PER_SECOND = 50


def _empty_target(conn) -> None:
    conn.execute("TRUNCATE core.persons, core.person_legacy_links, migration.quarantine")
    conn.execute("DELETE FROM migration.data_migration_checkpoints")
    conn.execute("VACUUM ANALYZE core.persons")


def seed_approach(conn, migration, sample: int, total: int) -> None:
    """What the seed did: OFFSET pages, then per candidate an existence check and single inserts.

    The sample's pages are spread evenly over the table, as a full run would meet them: an
    OFFSET page costs more the further into the table it is."""
    one_row = psycopg.sql.SQL(
        "WITH " + data_migrate.CLASSIFIED + " SELECT role, person_type, first_name, last_name, birth_date, death_date "
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


class Writer(threading.Thread):
    """The web application: steady inserts and updates of memorial rows, each timed."""

    def __init__(self, conninfo: str):
        super().__init__(daemon=True)
        self.conninfo, self.latencies, self.errors = conninfo, [], []
        self.stop = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            n = 0
            while not self.stop.is_set():
                n += 1
                started = time.perf_counter()
                try:
                    if n % 2:
                        conn.execute(
                            "INSERT INTO bayview.memorials (submission_id, first_name, last_name, contact_name) "
                            "VALUES (%s, 'Bench', 'Writer', 'Jo Contact')",
                            [f"MG-bench-{n}"],
                        )
                    else:
                        row = n * 7919 % ROWS + 1
                        conn.execute("UPDATE bayview.memorials SET contact_phone = %s WHERE id = %s", [str(n), row])
                except psycopg.Error as exc:
                    self.errors.append(str(exc))
                self.latencies.append(time.perf_counter() - started)
                time.sleep(max(0.0, 1 / WRITER_OPS_PER_SECOND - (time.perf_counter() - started)))


def p99(latencies: list[float]) -> float:
    return statistics.quantiles(latencies, n=100)[98]


def run() -> bool:
    with legacy_cluster(ROWS) as (cluster, dbname):
        params = engine_params(cluster, dbname)
        migrate.run(params, SQL_MIGRATIONS, None, 2, "bench", "bench", check_mode=False)
        migration = data_migrate.load(DATA_MIGRATIONS, "0001_memorial_persons")
        conn = db.connect(params)
        conn.execute("SELECT count(*) FROM bayview.memorials")  # warm the cache for every contender

        started = time.perf_counter()
        seed_approach(conn, migration, SEED_SAMPLE, ROWS)
        seed_rate = SEED_SAMPLE / (time.perf_counter() - started)
        _empty_target(conn)

        started = time.perf_counter()
        with conn.transaction():
            conn.execute(
                data_migrate.statement(
                    data_migrate.CLASSIFY_AND_WRITE, data_migrate.candidates_sql_for(conn, migration), migration
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
        plain = time.perf_counter() - started
        _empty_target(conn)
        conn.close()

        writer = Writer(cluster.conninfo(user="bayview_app", dbname=dbname))
        writer.start()
        time.sleep(10)
        baseline_ops = len(writer.latencies)
        baseline_p99 = p99(writer.latencies)
        started = time.perf_counter()
        first = data_migrate.run(params, migration, batch_size=BATCH_SIZE)
        batched = time.perf_counter() - started
        writer.stop.set()
        writer.join()
        during = p99(writer.latencies[baseline_ops:])

        started = time.perf_counter()
        data_migrate.run(params, migration, batch_size=BATCH_SIZE)
        rerun = time.perf_counter() - started
        # The writer changed rows the batches had already passed: the sync brings them up to date,
        # as every phase does before it validates.
        data_migrate.sync(params, migration, batch_size=BATCH_SIZE, margin_seconds=0)
        started = time.perf_counter()
        validation = validate.validate(params, [migration])
        validating = time.perf_counter() - started

    print(
        f"migrated {first['rows_read']:,} memorial rows into {first['migrated']:,} persons "
        f"({first['quarantined']:,} quarantined) in {batched:.1f}s, {first['rows_read'] / batched:,.0f} rows/s; "
        f"writer {len(writer.latencies) - baseline_ops} ops during it, {len(writer.errors)} errors"
    )
    results = [
        report_at_least(f"batched vs one INSERT ... SELECT ({ROWS:,} rows)", plain / batched, 0.7, "throughput"),
        report_at_least(
            f"batched vs the seed's OFFSET approach ({SEED_SAMPLE:,}-row sample)",
            (first["rows_read"] / batched) / seed_rate,
            50,
            "throughput",
        ),
        report("second run on migrated data", rerun, batched, "first run", 0.05),
        report(f"full validation ({'passed' if validation['passed'] else 'FAILED'})", validating, batched, "run", 2),
        report("concurrent writer p99 during the migration", during, baseline_p99, "writer p99 alone", 3),
    ]
    if writer.errors:
        print(f"concurrent writer errors: {writer.errors[:3]} FAIL")
    return all(results) and not writer.errors and validation["passed"]
