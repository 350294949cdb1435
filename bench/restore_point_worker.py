"""One restore-point operation in a fresh process, printing its time and peak memory as JSON
(so the memory figure is that of the runbook's own process, nothing else)."""

from __future__ import annotations

import json
import resource
import sys
import time

from bench.common import engine_params  # isort: skip (sets the engine path)
from ansible.module_utils.bayview import restore_points  # noqa: E402
from ansible.module_utils.bayview.stores import open_store  # noqa: E402

from bayview_runbook.localpg import LocalCluster  # noqa: E402


def main() -> None:
    action, state, dbname, store_url = sys.argv[1:5]
    cluster = LocalCluster.at(__import__("pathlib").Path(state))
    params = engine_params(cluster, dbname)
    admin = engine_params(cluster, dbname)
    admin["connection"]["user"] = "postgres"
    store = open_store(store_url)
    started = time.perf_counter()
    if action == "create":
        result = restore_points.create(params, store, "bench")["object_key"]
    else:
        result = restore_points.restore(params, admin, store, "latest", confirm="")["restored_database"]
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "result": result}))


if __name__ == "__main__":
    main()
