#!/usr/bin/python
"""Ansible module: read or set the dual-write mode stored in the database."""

from __future__ import annotations

DOCUMENTATION = r"""
module: bayview_dual_write
short_description: Set Bay View's dual-write mode (legacy-only, dual, modern-only), recorded
description:
  - The mode lives in C(migration.dual_write_mode), so every application reads the same switch.
  - Changing it records who, when and why in C(migration.dual_write_mode_history). Setting the current mode
    changes nothing. Check mode reports what would change; diff mode shows the mode before and after.
version_added: "0.1.0"
author: ["Bay View runbook team (!UNKNOWN)"]
extends_documentation_fragment: [bayview_connection]
options:
  mode:
    description: The mode to set; omit to only read it.
    type: str
    choices: [legacy-only, dual, modern-only]
  reason:
    description: Why the mode changes (kept in the history).
    type: str
    default: ""
  operator:
    description: Who changes it (defaults to the login name).
    type: str
  grant_to:
    description:
      - The application's database role; before the mode is set, it is granted what it needs to write the new
        design (SELECT, INSERT, UPDATE, DELETE on the persons, their links and the quarantine, the mode, the
        discrepancy log). Granting it is a change (C(changed)); grants already held change nothing.
    type: str
  confirm_leave_modern_only:
    description:
      - The database's name, to leave C(modern-only) after a cutover. Anything else is refused, changing nothing
        (check mode refuses too), so no playbook can leave it by accident.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Switch on dual writes
  ansible.legacy.bayview_dual_write:
    connection: "{{ bayview_db_connection }}"
    mode: dual
    reason: Phase 2 parallel implementation
"""

RETURN = r"""
before:
  description: The mode (with who set it and when) before this task.
  returned: always
  type: dict
after:
  description: The mode after this task (the planned one in check mode).
  returned: always
  type: dict
granted:
  description: Whether O(grant_to) was granted privileges it did not have.
  returned: when O(mode) is given
  type: bool
"""

import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.bayview import db  # import-safe: it guards psycopg itself
from ansible.module_utils.bayview.module_support import new_module, operator, run_guarded

try:  # the engine needs psycopg (a store, boto3): without them new_module says so, naming the library
    from ansible.module_utils.bayview import dual_write
except ImportError:
    ENGINE_IMPORT_ERROR = traceback.format_exc()
else:
    ENGINE_IMPORT_ERROR = None


def main() -> None:
    module = new_module(
        AnsibleModule,
        import_error=ENGINE_IMPORT_ERROR,
        argument_spec={
            "mode": {"type": "str", "choices": list(dual_write.MODES)},
            "reason": {"type": "str", "default": ""},
            "operator": {"type": "str"},
            "confirm_leave_modern_only": {"type": "str", "default": ""},
            "grant_to": {"type": "str"},
        },
    )
    p = module.params

    def action() -> None:
        with db.connect(p) as conn:
            missing = conn.execute("SELECT to_regclass('migration.dual_write_mode') IS NULL").fetchone()[0]
            if missing and module.check_mode and p["mode"]:
                # A dry run of Phase 2: the migrations that create the setting have not run for real.
                module.exit_json(changed=True, msg=f"would set {p['mode']} once the Phase 2 migrations create it")
            before = dual_write.get_mode(conn)
            granted = (
                bool(p["grant_to"]) and not module.check_mode and dual_write.grant_application(conn, p["grant_to"])
            )
            if p["mode"] is None or p["mode"] == before["mode"]:
                module.exit_json(changed=granted, before=before, after=before, granted=granted)
            if module.check_mode:
                dual_write.refuse_leaving_modern_only(
                    before, p["mode"], p["connection"]["dbname"], p["confirm_leave_modern_only"]
                )
                after = {**before, "mode": p["mode"]}
            else:
                before, after = dual_write.set_mode(
                    conn, p["mode"], operator(module), p["reason"], p["confirm_leave_modern_only"]
                )
        result = {"changed": True, "before": before, "after": after, "granted": granted}
        if module._diff:
            result["diff"] = {"before": f"mode: {before['mode']}\n", "after": f"mode: {after['mode']}\n"}
        module.exit_json(**result)

    run_guarded(module, action, database=db.describe(p))


if __name__ == "__main__":
    main()
