#!/usr/bin/python
"""Ansible module: the emergency stop of the runbook, and lifting it."""

from __future__ import annotations

DOCUMENTATION = r"""
module: bayview_halt
short_description: Stop the runbook's running migrations and keep them stopped, or lift that halt
description:
  - C(halted) records a halt in C(migration.runbook_halts), then terminates every other session of the runbook
    (application name C(bayview-runbook)) and waits until the run lock is free. A batch cut off in the middle
    rolls back with its checkpoint. While halted, no data migration, sync or forward migration runs; down
    migrations and reversals still do, so the rollback can proceed.
  - C(lifted) clears the halt (recorded). Every phase playbook does this when it starts.
version_added: "0.1.0"
author: ["Bay View runbook team (!UNKNOWN)"]
extends_documentation_fragment: [bayview_connection]
options:
  state:
    description: Halt the runbook or lift the halt.
    type: str
    choices: [halted, lifted]
    required: true
  reason:
    description: Why (recorded with the halt).
    type: str
    default: emergency rollback
  operator:
    description: Who (defaults to the login name).
    type: str
  run_id:
    description: The run that sets or lifts the halt.
    type: str
    default: ""
  wait_seconds:
    description: How long to wait for the stopped sessions to let go of the run lock.
    type: float
    default: 30
"""

EXAMPLES = r"""
- name: Stop running migrations
  ansible.legacy.bayview_halt:
    connection: "{{ bayview_db_connection }}"
    state: halted
    reason: emergency rollback
"""

RETURN = r"""
stopped_sessions:
  description: The runbook sessions that were terminated (pid, user, state, query).
  returned: when state is halted
  type: list
  elements: dict
halt:
  description: The halt now in force.
  returned: when state is halted
  type: dict
lifted:
  description: Ids of the halts lifted.
  returned: when state is lifted
  type: list
  elements: int
"""

import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.bayview import db  # import-safe: it guards psycopg itself
from ansible.module_utils.bayview.module_support import new_module, operator, run_guarded

try:  # the engine needs psycopg (a store, boto3): without them new_module says so, naming the library
    from ansible.module_utils.bayview import halts, ledger
except ImportError:
    ENGINE_IMPORT_ERROR = traceback.format_exc()
else:
    ENGINE_IMPORT_ERROR = None


def main() -> None:
    module = new_module(
        AnsibleModule,
        import_error=ENGINE_IMPORT_ERROR,
        argument_spec={
            "state": {"type": "str", "choices": ["halted", "lifted"], "required": True},
            "reason": {"type": "str", "default": "emergency rollback"},
            "operator": {"type": "str"},
            "run_id": {"type": "str", "default": ""},
            "wait_seconds": {"type": "float", "default": 30},
        },
    )
    p = module.params

    def action() -> None:
        with db.connect(p) as conn:
            if p["state"] == "lifted":
                if module.check_mode:
                    module.exit_json(changed=halts.active(conn) is not None, lifted=[])
                lifted = halts.lift(conn, operator(module), p["run_id"])
                module.exit_json(changed=bool(lifted), lifted=lifted)
            if module.check_mode:
                module.exit_json(changed=True, stopped_sessions=[], halt={})
            ledger.bootstrap(conn, operator(module), p["run_id"])
            halt = halts.halt(conn, p["reason"], operator(module), p["run_id"])
            stopped = halts.stop_runbook_sessions(conn, p["wait_seconds"])
            module.exit_json(changed=True, stopped_sessions=stopped, halt=halt)

    run_guarded(module, action, database=db.describe(p))


if __name__ == "__main__":
    main()
