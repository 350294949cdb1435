#!/usr/bin/python
"""Ansible module: apply or roll back the versioned migrations in sql/migrations."""

from __future__ import annotations

DOCUMENTATION = r"""
module: bayview_migrate
short_description: Apply or roll back Bay View's versioned, reversible migrations
description:
  - Brings the database to a target version using C(sql/migrations/NNNN_name/{up,down,verify}.sql),
    recording each step in the ledger C(migration.runbook_ledger) and its history.
  - The whole set is checked first (gaps, repeats, missing files, writes to the protected legacy
    schemas, checksum drift); a refused run changes nothing.
  - Each migration runs in one transaction with its ledger row, under the runbook's advisory lock.
  - Check mode plans (pending versions and their files) and changes nothing. Diff mode shows the
    ledger before and after.
version_added: "0.1.0"
author: ["Bay View runbook team (!UNKNOWN)"]
extends_documentation_fragment: [bayview_connection]
options:
  migrations_dir:
    description: Directory of the versioned migrations.
    type: path
    required: true
  target_version:
    description:
      - Version to bring the database to; lower than the current version rolls back. C(0) is the
        baseline before Phase 1. Mutually exclusive with O(phase).
    type: int
  phase:
    description: Apply every migration whose phase is at most this one (the last version of that phase).
    type: int
  operator:
    description: Who runs this, recorded in the ledger (defaults to the login name).
    type: str
  run_id:
    description: Run id from bayview_run_record, to tie ledger events to the run.
    type: str
    default: ""
  accept_checksum_versions:
    description:
      - Applied versions whose changed files are deliberately accepted. Their new checksums are
        recorded with the reason; nothing is re-run.
    type: list
    elements: int
    default: []
  accept_checksum_reason:
    description: Why the changed files are safe to accept; required with O(accept_checksum_versions).
    type: str
    default: ""
  lock_wait_seconds:
    description: How long to wait for another run's lock before failing with the holder's name.
    type: float
    default: 10
  lock_retries:
    description: Attempts per migration when a lock is not granted within the lock timeout.
    type: int
    default: 5
  direction:
    description:
      - C(down) refuses a target above the current version, before anything changes (the emergency rollback
        only goes down); C(any) goes either way.
    type: str
    choices: [any, down]
    default: any
"""

EXAMPLES = r"""
- name: Apply the Phase 1 migrations
  ansible.legacy.bayview_migrate:
    connection: "{{ bayview_db_connection }}"
    migrations_dir: "{{ bayview_migrations_dir }}"
    phase: 1
    run_id: "{{ run.record.run_id }}"

- name: Roll back to the baseline before Phase 1
  ansible.legacy.bayview_migrate:
    connection: "{{ bayview_db_connection }}"
    migrations_dir: "{{ bayview_migrations_dir }}"
    target_version: 0
"""

RETURN = r"""
plan:
  description: What the run would do or did (versions to apply, roll back, accept).
  returned: always
  type: dict
applied:
  description: Versions applied by this run, with their execution time in ms.
  returned: always
  type: list
  elements: dict
rolled_back:
  description: Versions rolled back by this run, with their execution time in ms.
  returned: always
  type: list
  elements: dict
accepted:
  description: Versions whose changed checksums were accepted.
  returned: always
  type: list
  elements: int
pending_changes:
  description: Whether the plan applies, rolls back or accepts anything (also in check mode).
  returned: always
  type: bool
version_before:
  description: Ledger version before the run.
  returned: always
  type: int
version_after:
  description: Ledger version after the run (planned version in check mode).
  returned: always
  type: int
remaining_versions:
  description: Versions applied after the run.
  returned: always
  type: list
  elements: int
new_schemas_present:
  description: Schemas of the new design present after the run (C(migration) is the tool's own and not listed).
  returned: always
  type: list
  elements: str
"""

import traceback
from pathlib import Path

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.bayview import db  # import-safe: it guards psycopg itself
from ansible.module_utils.bayview.module_support import new_module, operator, run_guarded

try:  # the engine needs psycopg (a store, boto3): without them new_module says so, naming the library
    from ansible.module_utils.bayview import migrate
except ImportError:
    ENGINE_IMPORT_ERROR = traceback.format_exc()
else:
    ENGINE_IMPORT_ERROR = None


def main() -> None:
    module = new_module(
        AnsibleModule,
        import_error=ENGINE_IMPORT_ERROR,
        argument_spec={
            "migrations_dir": {"type": "path", "required": True},
            "target_version": {"type": "int"},
            "phase": {"type": "int"},
            "operator": {"type": "str"},
            "run_id": {"type": "str", "default": ""},
            "accept_checksum_versions": {"type": "list", "elements": "int", "default": []},
            "accept_checksum_reason": {"type": "str", "default": ""},
            "lock_wait_seconds": {"type": "float", "default": 10},
            "lock_retries": {"type": "int", "default": 5},
            "direction": {"type": "str", "choices": ["any", "down"], "default": "any"},
        },
        mutually_exclusive=[("target_version", "phase")],
    )
    p = module.params

    def action() -> None:
        outcome = migrate.run(
            p,
            Path(p["migrations_dir"]),
            target_version=p["target_version"],
            target_phase=p["phase"],
            by=operator(module),
            run_id=p["run_id"],
            check_mode=module.check_mode,
            accept_changed=p["accept_checksum_versions"],
            accept_reason=p["accept_checksum_reason"],
            lock_wait_seconds=p["lock_wait_seconds"],
            lock_attempts=p["lock_retries"],
            direction=p["direction"],
        )
        after = outcome.ledger_after
        remaining = sorted(int(v) for v, r in after.items() if r["status"] == "applied")
        changed = outcome.plan.changes if module.check_mode else outcome.changed
        result = {
            "changed": changed,
            "plan": outcome.plan.summary(),
            "pending_changes": outcome.plan.changes,
            "applied": outcome.applied,
            "rolled_back": outcome.rolled_back,
            "accepted": outcome.accepted,
            "version_before": outcome.plan.current_version,
            "version_after": outcome.plan.target_version if module.check_mode else _contiguous(remaining),
            "remaining_versions": remaining,
            "new_schemas_present": outcome.new_schemas_present,
        }
        if module._diff:
            result["diff"] = {
                "before_header": "ledger before",
                "after_header": "ledger after" + (" (planned)" if module.check_mode else ""),
                "before": migrate.render_ledger(outcome.ledger_before),
                "after": migrate.render_ledger(after),
            }
        module.exit_json(**result)

    run_guarded(module, action, database=db.describe(p), migrations_dir=p["migrations_dir"])


def _contiguous(versions: list[int]) -> int:
    current = 0
    while current + 1 in versions:
        current += 1
    return current


if __name__ == "__main__":
    main()
