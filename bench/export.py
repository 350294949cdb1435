"""The portable export and its import on one million memorials plus the new design (the first data
migrations run), each against its plain tool, measured in the same run (each side twice,
alternating, the best of each compared):
- export to CSV <= 1.5x server-side `COPY ... TO` files of the same tables (the same snapshot's worth);
- import <= 1.5x `pg_restore` of a `pg_dump -Fc` of the same schemas into a new database;
- the runbook process (export, and import) under 150 MB RSS at 100k and at 1M rows.

`python -m bench export`; BAYVIEW_BENCH_EXPORT_ROWS=100000 measures one size only (comma-separated).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

from bench.common import ROOT, engine_params, legacy_cluster, report

TARGET = 1.5
RSS_LIMIT_MB = 150
ATTEMPTS = 2
SEEDED = ["0001_memorial_persons", "0002_chapel_persons", "0003_memorial_applications", "0004_chapel_services"]


def _worker(action: str, cluster, dbname: str, store_url: str, target: str = "") -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.export_worker", action, str(cluster.state_dir), dbname, store_url, target],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def _copy_to_files(cluster, dbname: str, tables: list[str], directory: Path) -> float:
    """The baseline: server-side COPY of every table to a file, one after the other."""
    os.chmod(directory.parent, 0o755)  # noqa: S103 - the server (user postgres) must reach it; scratch data
    directory.mkdir(mode=0o777)
    os.chmod(directory, 0o777)  # noqa: S103 - the server writes here
    with psycopg.connect(cluster.conninfo(dbname=dbname), autocommit=True) as conn:
        started = time.perf_counter()
        for i, name in enumerate(tables):
            schema, table = name.split(".", 1)
            conn.execute(
                sql.SQL("COPY {} TO {} (FORMAT csv, HEADER true)").format(
                    sql.Identifier(schema, table), sql.Literal(str(directory / f"{i}.csv"))
                )
            )
        return time.perf_counter() - started


def measure(rows: int) -> dict:
    from bayview_runbook.engine import DATA_MIGRATIONS, SQL_MIGRATIONS, data_migrate, data_migrations, migrate

    with legacy_cluster(rows) as (cluster, dbname), tempfile.TemporaryDirectory() as tmp:
        params = engine_params(cluster, dbname)
        migrate.run(params, SQL_MIGRATIONS, None, None, "bench", "bench", check_mode=False)
        for name in SEEDED:
            data_migrate.run(params, data_migrations.load(DATA_MIGRATIONS, name), batch_size=50_000)
        with psycopg.connect(cluster.conninfo(dbname=dbname), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")  # the same warm, settled tables for every contender
        store_url = f"file://{tmp}/store"
        env = {**os.environ, **cluster.env(), "PGUSER": "postgres", "PGDATABASE": dbname}
        dump = Path(tmp) / "plain.dump"
        # The machine's noise moves one timing by more than the margins: each side runs ATTEMPTS
        # times, alternating with its baseline, and the best of each is compared.
        exports, copies, imports, restores = [], [], [], []
        for attempt in range(ATTEMPTS):
            exported = _worker("export", cluster, dbname, store_url)
            exports.append(exported)
            copies.append(_copy_to_files(cluster, dbname, exported["tables"], Path(tmp) / f"copy{attempt}"))
            if attempt == 0:
                schemas = [f"--schema={s}" for s in exported["schemas"]]
                subprocess.run(["pg_dump", "-Fc", "-f", str(dump), *schemas], check=True, env=env)
            restores.append(_pg_restore(cluster, dump, f"plain_restore{attempt}", env))
            imports.append(_worker("import", cluster, dbname, store_url, f"imported{attempt}"))
    return {
        "rows": rows,
        "package_rows": exports[0]["rows"],
        "export": min(e["seconds"] for e in exports),
        "copy_to": min(copies),
        "import": min(i["seconds"] for i in imports),
        "pg_restore": min(restores),
        "peak_mb": max(r["peak_mb"] for r in exports + imports),
    }


def _pg_restore(cluster, dump: Path, target: str, env: dict) -> float:
    """The baseline: a plain pg_restore of the pg_dump -Fc into a new database, timed."""
    with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER bayview_runbook TEMPLATE template0").format(sql.Identifier(target))
        )
    started = time.perf_counter()
    subprocess.run(
        ["pg_restore", "--exit-on-error", "-d", target, str(dump)], check=True, env=env, stdout=subprocess.DEVNULL
    )
    return time.perf_counter() - started


def run() -> bool:
    sizes = [int(n) for n in os.environ.get("BAYVIEW_BENCH_EXPORT_ROWS", "100000,1000000").split(",")]
    ok = True
    for result in (measure(n) for n in sizes):
        label = f"{result['rows']:,} memorials, {result['package_rows']:,} rows in all"
        ok &= report(f"export to CSV ({label})", result["export"], result["copy_to"], "COPY ... TO files", TARGET)
        ok &= report(f"import ({label})", result["import"], result["pg_restore"], "pg_restore of pg_dump -Fc", TARGET)
        memory_ok = result["peak_mb"] < RSS_LIMIT_MB
        print(
            f"export/import peak RSS ({label}): {result['peak_mb']:.0f} MB (target < {RSS_LIMIT_MB} MB) "
            f"{'PASS' if memory_ok else 'FAIL'}"
        )
        ok &= memory_ok
    return ok
