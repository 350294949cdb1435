"""One export or import in a fresh process, printing its time and peak memory as JSON (so the
memory figure is that of the runbook's own process, nothing else)."""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from bench.common import engine_params  # isort: skip (sets the engine path)
from ansible.module_utils.bayview import data_package, package_export, package_import  # noqa: E402
from ansible.module_utils.bayview.stores import open_store  # noqa: E402

from bayview_runbook.engine import SQL_MIGRATIONS  # noqa: E402
from bayview_runbook.localpg import LocalCluster  # noqa: E402


def main() -> None:
    action, state, dbname, store_url, target = sys.argv[1:6]
    cluster = LocalCluster.at(Path(state))
    params = engine_params(cluster, dbname)
    admin = engine_params(cluster, dbname)
    admin["connection"]["user"] = "postgres"
    store = open_store(store_url)
    started = time.perf_counter()
    if action == "export":
        summary = package_export.export(params, store, list(data_package.SCHEMAS), ["csv"])
        descriptor = data_package.find(store, dbname, summary["export_id"])
        result = {
            "tables": sorted(descriptor["bayview"]["tables"]),
            "schemas": descriptor["bayview"]["schemas"],
            "rows": summary["rows"],
        }
    else:
        done = package_import.import_package(params, admin, store, dbname, "latest", target, SQL_MIGRATIONS)
        result = {"rows": done["rows"]}
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, **result}))


if __name__ == "__main__":
    main()
