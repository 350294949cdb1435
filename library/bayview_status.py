#!/usr/bin/python
"""Ansible module: the state of a Bay View database target, and the thresholds that stop a phase."""

from __future__ import annotations

DOCUMENTATION = r"""
module: bayview_status
short_description: Read the state of a Bay View database target; stop when error rates exceed thresholds
description:
  - Returns the ledger, the latest gate of each phase, the dual-write mode, the data migration checkpoints, the
    number of open dual-write discrepancies and the runbook sessions running (and which holds the run lock).
  - With O(max_quarantine_ratio) or O(max_open_discrepancies), fails when quarantine growth or discrepancies
    exceed them.
  - Reads only.
version_added: "0.1.0"
author: ["Bay View runbook team (!UNKNOWN)"]
extends_documentation_fragment: [bayview_connection]
options:
  max_quarantine_ratio:
    description: Largest share of a data migration's persons that may go to quarantine.
    type: float
  max_open_discrepancies:
    description: Most open dual-write discrepancies allowed.
    type: int
  close_interrupted:
    description:
      - Close, as interrupted, the runs whose keeper is gone (killed, or their control node died), writing
        their JSON and HTML records into O(records_dir). This is bookkeeping, never C(changed).
    type: bool
    default: false
  records_dir:
    description: Where the records of the runs closed as interrupted go.
    type: path
"""

EXAMPLES = r"""
- name: Stop if error rates are too high
  ansible.legacy.bayview_status:
    connection: "{{ bayview_db_connection }}"
    max_quarantine_ratio: 0.25
    max_open_discrepancies: 0
"""

RETURN = r"""
state:
  description:
    - database (host:port/name), version, ledger, gates, dual_write, cutover, halt, running_runs, interrupted_runs,
      data_migrations, open_discrepancies, runbook_sessions.
    - With O(close_interrupted), also closed_interrupted_runs (the runs it found interrupted and closed).
  returned: always
  type: dict
"""

import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.bayview import db  # import-safe: it guards psycopg itself
from ansible.module_utils.bayview.module_support import new_module, run_guarded

try:  # the engine needs psycopg (a store, boto3): without them new_module says so, naming the library
    from ansible.module_utils.bayview import run_keeper, run_record, status
except ImportError:
    ENGINE_IMPORT_ERROR = traceback.format_exc()
else:
    ENGINE_IMPORT_ERROR = None


def main() -> None:
    module = new_module(
        AnsibleModule,
        import_error=ENGINE_IMPORT_ERROR,
        argument_spec={
            "max_quarantine_ratio": {"type": "float"},
            "max_open_discrepancies": {"type": "int"},
            "close_interrupted": {"type": "bool", "default": False},
            "records_dir": {"type": "path"},
        },
    )
    p = module.params

    def action() -> None:
        closed = []
        with db.connect(p) as conn:
            if p["close_interrupted"] and not module.check_mode:
                closed = run_keeper.close_interrupted(conn, "its keeper was gone when status looked", "status")
                run_record.record_interrupted(closed, p["records_dir"])
            state = status.read(conn)
        state["database"] = db.describe(p)  # a run over several databases says which this is
        state["closed_interrupted_runs"] = [r["run_id"] for r in closed]
        if p["max_quarantine_ratio"] is not None or p["max_open_discrepancies"] is not None:
            problems = status.error_rates(
                state,
                p["max_quarantine_ratio"] if p["max_quarantine_ratio"] is not None else 1.0,
                p["max_open_discrepancies"] if p["max_open_discrepancies"] is not None else 2**31,
            )
            if problems:
                module.fail_json(
                    msg="Error rates exceed the thresholds that stop a phase: " + "; ".join(problems),
                    next_step="look at migration.quarantine and migration.dual_write_discrepancies; fix the cause, "
                    "sync, and run the phase again (or roll back).",
                    state=state,
                )
        module.exit_json(changed=False, state=state)

    run_guarded(module, action, database=db.describe(p))


if __name__ == "__main__":
    main()
