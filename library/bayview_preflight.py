#!/usr/bin/python
"""Ansible module: the checks that must pass before the runbook changes anything."""

from __future__ import annotations

DOCUMENTATION = r"""
module: bayview_preflight
short_description: Check that a Bay View database target is safe to change
description:
  - Checks, without changing anything, the server version; that pg_dump and pg_restore on the
    control node are not older than the server; free connections; the runbook role's privileges;
    that no long-running or idle-in-transaction session holds locks on the tables involved; that
    the migration files are a valid, guarded set; and that the legacy columns the pending
    migrations rely on exist (a drift report otherwise).
  - Fails listing every failed check at once, each with its next step.
version_added: "0.1.0"
author: ["Bay View runbook team (!UNKNOWN)"]
extends_documentation_fragment: [bayview_connection]
options:
  migrations_dir:
    description: Directory of the versioned migrations; omit to skip the file and legacy-column checks.
    type: path
  phase:
    description: Only migrations up to this phase count as pending for the legacy-column check.
    type: int
  connections_needed:
    description: Connections the run needs at once (production allows 25 in all, the web application holds some).
    type: int
    default: 2
  client_tools:
    description: PostgreSQL client tools that must be at least as new as the server.
    type: list
    elements: str
    default: [pg_dump, pg_restore]
  idle_in_transaction_seconds:
    description: An idle-in-transaction session holding locks longer than this blocks the run.
    type: int
    default: 60
  long_running_seconds:
    description: An active transaction holding locks longer than this blocks the run.
    type: int
    default: 300
  blocking_sessions:
    description:
      - Whether to check for sessions that hold locks on the tables involved.
      - The emergency rollback checks them only after its halt has ended the runbook's own sessions
        (a stuck batch is what it must stop, not a reason to refuse).
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Preflight before Phase 1
  ansible.legacy.bayview_preflight:
    connection: "{{ bayview_db_connection }}"
    migrations_dir: "{{ bayview_migrations_dir }}"
    phase: 1
"""

RETURN = r"""
checks:
  description: Every check with its name, result and a sentence for the operator.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "server_version", "ok": true, "detail": "PostgreSQL 15.18"}]
failed_checks:
  description: Names of the checks that failed.
  returned: always
  type: list
  elements: str
"""

import traceback
from pathlib import Path

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.bayview import db  # import-safe: it guards psycopg itself
from ansible.module_utils.bayview.module_support import new_module, run_guarded

try:  # the engine needs psycopg (a store, boto3): without them new_module says so, naming the library
    from ansible.module_utils.bayview import preflight
except ImportError:
    ENGINE_IMPORT_ERROR = traceback.format_exc()
else:
    ENGINE_IMPORT_ERROR = None


def main() -> None:
    module = new_module(
        AnsibleModule,
        import_error=ENGINE_IMPORT_ERROR,
        argument_spec={
            "migrations_dir": {"type": "path"},
            "phase": {"type": "int"},
            "connections_needed": {"type": "int", "default": 2},
            "client_tools": {"type": "list", "elements": "str", "default": ["pg_dump", "pg_restore"]},
            "idle_in_transaction_seconds": {"type": "int", "default": 60},
            "long_running_seconds": {"type": "int", "default": 300},
            "blocking_sessions": {"type": "bool", "default": True},
        },
    )
    p = module.params

    def action() -> None:
        checks = preflight.run(
            p,
            Path(p["migrations_dir"]) if p["migrations_dir"] else None,
            p["phase"],
            p["connections_needed"],
            p["client_tools"],
            p["idle_in_transaction_seconds"],
            p["long_running_seconds"],
            p["blocking_sessions"],
        )
        failed = [c for c in checks if not c.ok]
        result = {"changed": False, "checks": preflight.as_dicts(checks), "failed_checks": [c.name for c in failed]}
        if failed:
            reasons = "\n".join(f"- {c.name}: {c.detail}" for c in failed)
            module.fail_json(msg=f"Preflight refused {db.describe(p)}; nothing was changed:\n{reasons}", **result)
        module.exit_json(**result)

    run_guarded(module, action, database=db.describe(p))


if __name__ == "__main__":
    main()
