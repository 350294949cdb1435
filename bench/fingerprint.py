"""The legacy fingerprint on a million memorial rows, against reading the same data once.

Baseline: `pg_dump --data-only` of the same protected schemas to /dev/null, i.e. what it
costs to read every protected row once. Target: the fingerprint costs at most that (1.0x).
"""

from __future__ import annotations

import subprocess

from bench.common import best_of, engine_params, legacy_cluster, report  # isort: skip (sets the engine path)
from ansible.module_utils.bayview import db, fingerprint  # noqa: E402

ROWS = 1_000_000
TARGET = 1.0


def run() -> bool:
    with legacy_cluster(ROWS) as (cluster, dbname):
        params = engine_params(cluster, dbname)
        dump = [
            "pg_dump",
            "--data-only",
            "-n",
            "bayview",
            "-n",
            "crouse_chapel",
            "-d",
            cluster.conninfo(user="bayview_runbook", dbname=dbname),
            "-f",
            "/dev/null",
        ]
        baseline = best_of(3, lambda: subprocess.run(dump, check=True))
        conn = db.connect(params)
        try:
            measured = best_of(3, lambda: fingerprint.take(conn))
        finally:
            conn.close()
    return report(f"fingerprint ({ROWS:,} memorials)", measured, baseline, "pg_dump --data-only", TARGET)
