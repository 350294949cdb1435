#!/usr/bin/python
"""Ansible module: check, record and sign off Bay View's phase gates."""

from __future__ import annotations

DOCUMENTATION = r"""
module: bayview_gate
short_description: Check, record and sign off Bay View's phase gates
description:
  - C(checked) refuses unless the previous phase's latest gate passed and was signed off (Phase 1 has none).
  - C(recorded) stores this phase's success criteria with their evidence and restore point in
    C(migration.phase_gates), signs it off when O(signoff_by) is given (or O(auto_signoff) on a local rehearsal
    database), and fails when a criterion failed.
  - C(signed_off) signs the latest passed gate of O(phase) afterwards.
  - Automatic sign-off is refused for any database host that is not this machine.
  - C(voided) (after an emergency rollback) records a gate that did not pass for O(phase) and every later
    phase whose latest gate passed, so each must be run again in order.
version_added: "0.1.0"
author: ["Bay View runbook team (!UNKNOWN)"]
extends_documentation_fragment: [bayview_connection]
options:
  phase:
    description: The phase (1-5; for C(voided), the first phase to void, 6 voids none).
    type: int
    required: true
  state:
    description: What to do.
    type: str
    choices: [checked, recorded, signed_off, voided]
    default: checked
  criteria:
    description: Each success criterion as C(name), C(passed) and C(detail).
    type: list
    elements: dict
    default: []
  evidence:
    description: Facts that back the criteria (run ids, validation id, fingerprints, counts).
    type: dict
    default: {}
  restore_point:
    description: The restore point this phase took before changing anything.
    type: str
  run_id:
    description: The phase run.
    type: str
  signoff_by:
    description: The person signing off.
    type: str
  approval_requested_at:
    description:
      - With C(signed_off), when the approval being recorded was requested (an AWX approval node's C(created)).
        A gate recorded after it is refused, so that an approval signs off only the run it followed.
    type: str
  auto_signoff:
    description:
      - Sign off a passed gate automatically. Refused unless O(environment) is C(local) or C(molecule), the
        database is on this machine, and the server marks itself as a disposable rehearsal cluster
        (it has the role C(bayview_disposable_cluster), which C(bayview-localpg) creates).
    type: bool
    default: false
  environment:
    description: The inventory's C(bayview_environment) (automatic sign-off needs C(local) or C(molecule)).
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Refuse to start before Phase 1 is signed off
  ansible.legacy.bayview_gate:
    connection: "{{ bayview_db_connection }}"
    phase: 2
    state: checked
"""

RETURN = r"""
gate:
  description: The gate (previous phase's for checked), with criteria, evidence, restore point and sign-off.
  returned: when there is one
  type: dict
voided_phases:
  description: The phases whose gates were voided.
  returned: when state is voided
  type: list
  elements: int
"""

import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.bayview import db  # import-safe: it guards psycopg itself
from ansible.module_utils.bayview.errors import RunbookError
from ansible.module_utils.bayview.module_support import new_module, operator, run_guarded

try:  # the engine needs psycopg (a store, boto3): without them new_module says so, naming the library
    from ansible.module_utils.bayview import gates, ledger
except ImportError:
    ENGINE_IMPORT_ERROR = traceback.format_exc()
else:
    ENGINE_IMPORT_ERROR = None


def main() -> None:
    module = new_module(
        AnsibleModule,
        import_error=ENGINE_IMPORT_ERROR,
        argument_spec={
            "phase": {"type": "int", "required": True},
            "state": {"type": "str", "choices": ["checked", "recorded", "signed_off", "voided"], "default": "checked"},
            "criteria": {"type": "list", "elements": "dict", "default": []},
            "evidence": {"type": "dict", "default": {}},
            "restore_point": {"type": "str"},
            "run_id": {"type": "str"},
            "signoff_by": {"type": "str"},
            "approval_requested_at": {"type": "str"},
            "auto_signoff": {"type": "bool", "default": False},
            "environment": {"type": "str", "default": ""},
        },
    )
    p = module.params

    def action() -> None:
        with db.connect(p) as conn:
            if p["state"] == "checked":
                module.exit_json(changed=False, gate=gates.require_previous(conn, p["phase"]))
            if module.check_mode:
                module.exit_json(changed=False, msg="check mode: no gate recorded")
            ledger.bootstrap(conn, operator(module), p["run_id"] or "")
            if p["state"] == "voided":
                voided = gates.void_from(conn, p["phase"], p["run_id"] or "", "rolled back by the emergency rollback")
                module.exit_json(changed=bool(voided), voided_phases=voided)
            if p["state"] == "signed_off":
                if not p["signoff_by"]:
                    raise RunbookError("Sign-off needs a name.", '-e signoff_by="Your Name"')
                gate, changed = gates.sign_off(conn, p["phase"], p["signoff_by"], p["approval_requested_at"])
                module.exit_json(changed=changed, gate=gate)
            for c in p["criteria"]:
                c["passed"] = module.boolean(c.get("passed"))
            gate = gates.record(
                conn,
                p["connection"]["host"] or "",
                p["phase"],
                p["run_id"] or "",
                p["criteria"],
                p["evidence"],
                p["restore_point"],
                p["signoff_by"],
                p["auto_signoff"],
                p["environment"],
            )
        if not gate["passed"]:
            failed = "; ".join(f"{c['name']}: {c.get('detail', '')}" for c in gate["criteria"] if not c["passed"])
            module.fail_json(
                msg=f"Phase {p['phase']} did not pass its gate: {failed}",
                next_step="fix what failed and run the phase again; the next phase stays closed until then.",
                gate=gate,
            )
        module.exit_json(changed=False, gate=gate)

    run_guarded(module, action, database=db.describe(p), phase=p["phase"])


if __name__ == "__main__":
    main()
