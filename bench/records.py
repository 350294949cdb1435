"""The whole record on one million memorials and half a million chapel applications with their
details, against baselines measured in the same run:
1. each data migration of a legacy table with 100k rows or more reaches >= 0.9x the throughput of
   one plain INSERT ... SELECT of the same transform (its candidates, its target, its links);
2. every data migration completes (the whole record);
3. full validation of everything takes <= 1x the migrations;
4. the runbook process stays under 150 MB of resident memory (its peak, from the kernel).
"""

from __future__ import annotations

import resource
import time

from psycopg import sql

from bayview_runbook.engine import (
    DATA_MIGRATIONS,
    SQL_MIGRATIONS,
    data_migrate,
    data_migration_sql,
    data_migrations,
    db,
    migrate,
    validate,
)
from bench.common import engine_params, legacy_cluster, report, report_at_least

ROWS = 1_000_000  # memorials; the sample makes half as many chapel applications, with their details
BATCH_SIZE = 5_000
LARGE = 100_000
RSS_LIMIT_MB = 150

# One plain statement: every migrated candidate of the whole table, its target rows and links.
PLAIN = (
    "WITH "
    + data_migration_sql.CLASSIFIED
    + """,
numbered AS (SELECT cls.*, nextval({sequence}) AS target_id FROM cls WHERE outcome = 'migrated'),
{write}
SELECT (SELECT count(*) FROM written)"""
)


def plain_insert(conn, migration) -> tuple[float, int]:
    """The baseline: one INSERT ... SELECT of the same transform, timed, then removed again."""
    target = data_migration_sql.Target(migration)
    statement = data_migration_sql.statement(PLAIN, data_migrate.candidates_sql_for(conn, migration), migration)
    params = {"lo": 0, "hi": 2**31 - 1, "ids": None, "name": migration.NAME, "legacy_table": migration.LEGACY_TABLE}
    with conn.transaction():
        conn.execute(data_migration_sql.BATCH_PLANNER_SETTING)
        started = time.perf_counter()
        written = conn.execute(statement, params).fetchone()[0]
        seconds = time.perf_counter() - started
    conn.execute("SET lock_timeout = '30s'")  # autovacuum may be analysing the fresh rows: it yields after 1s
    with conn.transaction():
        conn.execute(data_migration_sql.statement(data_migration_sql.REVERSE, sql.SQL(""), migration), [migration.NAME])
    conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.SQL(target.table)))
    if target.link_table:
        conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.SQL(target.link_table)))
    return seconds, written


def run() -> bool:
    ok = True
    with legacy_cluster(ROWS) as (cluster, dbname):
        params = engine_params(cluster, dbname)
        migrate.run(params, SQL_MIGRATIONS, None, 2, "bench", "bench", check_mode=False)
        migrations = data_migrations.load_all(DATA_MIGRATIONS)
        conn = db.connect(params)
        conn.autocommit = True
        migrated_seconds, all_completed = 0.0, True
        for migration in migrations:
            rows = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.SQL(migration.LEGACY_TABLE))).fetchone()[
                0
            ]
            baseline = plain_insert(conn, migration) if rows >= LARGE else None
            started = time.perf_counter()
            result = data_migrate.run(params, migration, batch_size=BATCH_SIZE)
            seconds = time.perf_counter() - started
            migrated_seconds += seconds
            completed = result["status"] == "completed" and result["rows_read"] == rows
            print(
                f"{migration.NAME}: {rows} rows in {seconds:.1f}s ({result['status']}, {result['migrated']} migrated)"
            )
            all_completed &= completed
            if baseline:
                plain_seconds, written = baseline
                ratio = (result["migrated"] / seconds) / (written / plain_seconds) if written else 0.0
                ok &= report_at_least(f"{migration.NAME} throughput", ratio, 0.9, "batched / one INSERT ... SELECT")
        conn.close()
        verdict = "all completed" if all_completed else "NOT all completed"
        print(f"whole record: {len(migrations)} data migrations {verdict}")
        ok &= all_completed

        started = time.perf_counter()
        result = validate.validate(params, migrations, None, "bench")
        validation_seconds = time.perf_counter() - started
        ok &= result["passed"]
        ok &= report("full validation", validation_seconds, migrated_seconds, "the migrations", 1.0)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        within = peak_mb < RSS_LIMIT_MB
        print(
            f"peak RSS of the runbook process: {peak_mb:.0f} MB (target < {RSS_LIMIT_MB} MB) "
            f"{'PASS' if within else 'FAIL'}"
        )
        ok &= within
    return bool(ok)


if __name__ == "__main__":
    raise SystemExit(0 if run() else 1)
