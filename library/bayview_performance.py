#!/usr/bin/python
"""Ansible module: baseline or compare the performance of representative legacy queries."""

from __future__ import annotations

DOCUMENTATION = r"""
module: bayview_performance
short_description: Baseline (Phase 1) or compare (Phase 4) representative legacy queries
description:
  - Runs each query of O(queries_dir) read-only, one warm-up and seven timed runs, and keeps the median.
  - C(baseline) stores the timings in C(migration.performance_baselines).
  - C(compared) fails when a query is slower than O(max_regression) times its latest baseline (plus 5 ms).
version_added: "0.1.0"
author: ["Bay View runbook team (!UNKNOWN)"]
extends_documentation_fragment: [bayview_connection]
options:
  state:
    description: Take the baseline or compare with it.
    type: str
    choices: [baseline, compared]
    required: true
  queries_dir:
    description: Directory of read-only C(.sql) queries, one per file.
    type: path
    required: true
  max_regression:
    description: How many times its baseline a query may take.
    type: float
    default: 1.5
  run_id:
    description: The run taking the baseline.
    type: str
"""

EXAMPLES = r"""
- name: Compare with the Phase 1 baseline
  ansible.legacy.bayview_performance:
    connection: "{{ bayview_db_connection }}"
    state: compared
    queries_dir: "{{ bayview_project_dir }}/sql/performance"
"""

RETURN = r"""
timings:
  description: Median milliseconds per query.
  returned: always
  type: dict
comparison:
  description: Each query with baseline_ms, now_ms and allowed_ms.
  returned: when state is compared
  type: list
"""

import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.bayview import db  # import-safe: it guards psycopg itself
from ansible.module_utils.bayview.module_support import new_module, operator, run_guarded

try:  # the engine needs psycopg (a store, boto3): without them new_module says so, naming the library
    from ansible.module_utils.bayview import ledger, performance
except ImportError:
    ENGINE_IMPORT_ERROR = traceback.format_exc()
else:
    ENGINE_IMPORT_ERROR = None


def main() -> None:
    module = new_module(
        AnsibleModule,
        import_error=ENGINE_IMPORT_ERROR,
        argument_spec={
            "state": {"type": "str", "choices": ["baseline", "compared"], "required": True},
            "queries_dir": {"type": "path", "required": True},
            "max_regression": {"type": "float", "default": 1.5},
            "run_id": {"type": "str"},
        },
    )
    p = module.params

    def action() -> None:
        queries = performance.load_queries(p["queries_dir"])
        with db.connect(p) as conn:
            timings = performance.measure(conn, queries)
            if p["state"] == "baseline":
                if not module.check_mode:
                    ledger.bootstrap(conn, operator(module), p["run_id"] or "")
                    performance.store_baseline(conn, queries, timings, p["run_id"] or "")
                module.exit_json(changed=False, timings=timings)
            results, problems = performance.compare(conn, queries, timings, p["max_regression"])
        if problems:
            module.fail_json(
                msg="Legacy queries regressed: " + "; ".join(problems),
                next_step="look for a lock, a missing index or load the new schema adds; roll back if it persists.",
                timings=timings,
                comparison=results,
            )
        module.exit_json(changed=False, timings=timings, comparison=results)

    run_guarded(module, action, database=db.describe(p))


if __name__ == "__main__":
    main()
