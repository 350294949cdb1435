#!/usr/bin/python
"""Ansible module: record the start and end of a runbook run."""

from __future__ import annotations

DOCUMENTATION = r"""
module: bayview_run_record
short_description: Record who ran which Bay View playbook, when, and with what result
description:
  - C(started) creates the run (its id ties ledger events and fingerprints together) and a row in
    C(migration.runbook_runs). Runs that were interrupted without finishing their record (their keeper is
    gone) are closed first, as C(interrupted), with their JSON and HTML record in O(records_dir). It then
    starts the run's keeper, a detached process that marks the run interrupted if the ansible-playbook process
    ends before the run finishes its record (needs the C(bayview_run) callback plugin).
  - C(finished) completes that row and writes the run record as JSON into O(records_dir).
  - Bookkeeping only, so never C(changed). In check mode nothing is written to the database.
version_added: "0.1.0"
author: ["Bay View runbook team (!UNKNOWN)"]
extends_documentation_fragment: [bayview_connection, bayview_store]
options:
  state:
    description: Start or finish the run.
    type: str
    choices: [started, finished]
    required: true
  playbook:
    description: Playbook being run (for C(started)).
    type: str
    default: ""
  phase:
    description: Phase or action name (for example C(1) or C(emergency_rollback)).
    type: str
  operator:
    description: Who runs this (defaults to the login name).
    type: str
  run:
    description: The C(record) returned by the C(started) call (for C(finished)).
    type: dict
  status:
    description: Result of the run (for C(finished)).
    type: str
    choices: [succeeded, failed]
    default: succeeded
  details:
    description: Evidence to keep with the record (fingerprint ids, versions, checks).
    type: dict
    default: {}
  records_dir:
    description: Directory for the JSON run record and its HTML report (and those of interrupted runs).
    type: path
  tags:
    description: The tags the playbook ran with (recorded).
    type: list
    elements: str
    default: []
  runbook_version:
    description: Version of the runbook (recorded).
    type: str
    default: ""
  store:
    description:
      - The store that also keeps a copy of each finished record (and of each interrupted run's) and its report
        under C(audit/<database>/), so the audit trail survives a restore of the database. Playbooks pass
        C(bayview_store), the restore points' store. Without it, no audit copy is written.
    required: false
"""

EXAMPLES = r"""
- name: Start the run record
  ansible.legacy.bayview_run_record:
    connection: "{{ bayview_db_connection }}"
    state: started
    playbook: phase1.yml
    phase: "1"
    store: "{{ bayview_store }}"
  register: run
"""

RETURN = r"""
record:
  description:
    - The run record (run_id, operator, times, status, versions, details, record_file).
    - For C(started), also C(kept_alive) (a keeper watches the run) and C(interrupted_runs_closed).
  returned: always
  type: dict
"""

import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.bayview import db, stores  # import-safe: db guards psycopg; stores imports boto3 only for S3
from ansible.module_utils.bayview.module_support import new_module, operator, run_guarded

try:  # the engine needs psycopg (a store, boto3): without them new_module says so, naming the library
    from ansible.module_utils.bayview import run_record
except ImportError:
    ENGINE_IMPORT_ERROR = traceback.format_exc()
else:
    ENGINE_IMPORT_ERROR = None


def main() -> None:
    module = new_module(
        AnsibleModule,
        import_error=ENGINE_IMPORT_ERROR,
        argument_spec={
            "state": {"type": "str", "choices": ["started", "finished"], "required": True},
            "playbook": {"type": "str", "default": ""},
            "phase": {"type": "str"},
            "operator": {"type": "str"},
            "run": {"type": "dict"},
            "status": {"type": "str", "choices": ["succeeded", "failed"], "default": "succeeded"},
            "details": {"type": "dict", "default": {}},
            "records_dir": {"type": "path"},
            "tags": {"type": "list", "elements": "str", "default": []},
            "runbook_version": {"type": "str", "default": ""},
            **stores.argument_spec(required=False),
        },
        required_if=[("state", "finished", ["run"])],
    )
    p = module.params

    def audit_store():
        return stores.from_params(p["store"]) if p["store"] else None

    def audit(record: dict) -> dict:
        store = audit_store()
        return run_record.write_audit(store, record) if store else record

    def keep(records: list[dict]) -> None:  # the records of interrupted runs, as of a finished one
        run_record.record_interrupted(records, p["records_dir"], audit_store() if records else None)

    def action() -> None:
        if p["state"] == "started":
            record = run_record.start(p, p["playbook"], p["phase"], operator(module), module.check_mode, keep)
            record.update(tags=p["tags"], runbook_version=p["runbook_version"])
        else:
            record = audit(run_record.finish(p, p["run"], p["status"], p["details"], p["records_dir"]))
        module.exit_json(changed=False, record=record)

    run_guarded(module, action, database=db.describe(p))


if __name__ == "__main__":
    main()
