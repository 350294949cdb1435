#!/usr/bin/python
"""Ansible module: take and compare the fingerprint of the protected legacy data."""

from __future__ import annotations

DOCUMENTATION = r"""
module: bayview_fingerprint
short_description: Prove that Bay View's protected legacy data did not change
description:
  - C(take) records the legacy fingerprint (per protected table, row count and content hash;
    plus a hash of the protected catalog) in C(migration.runbook_fingerprints).
  - C(compare) takes a new fingerprint and fails loudly, naming every difference, if it differs
    from the baseline.
  - Fingerprints are bookkeeping, so the module never reports changed. In check mode nothing is stored.
version_added: "0.1.0"
author: ["Bay View runbook team (!UNKNOWN)"]
extends_documentation_fragment: [bayview_connection]
options:
  state:
    description: Take a fingerprint, or take one and compare it with O(baseline_id).
    type: str
    choices: [take, compare]
    default: take
  label:
    description: What the fingerprint is for (for example C(phase1-before)).
    type: str
    required: true
  run_id:
    description: Run id from bayview_run_record.
    type: str
    default: ""
  baseline_id:
    description: Id of the stored fingerprint to compare against (required for C(compare) outside check mode).
    type: int
  scope:
    description:
      - C(full) hashes row contents and the catalog; C(catalog) only the catalog and is for runs
        during which the web application is known to be writing legacy rows.
    type: str
    choices: [full, catalog]
    default: full
"""

EXAMPLES = r"""
- name: Fingerprint the legacy data before the phase
  ansible.legacy.bayview_fingerprint:
    connection: "{{ bayview_db_connection }}"
    label: phase1-before
  register: before

- name: Prove the legacy data unchanged
  ansible.legacy.bayview_fingerprint:
    connection: "{{ bayview_db_connection }}"
    state: compare
    label: phase1-after
    baseline_id: "{{ before.fingerprint_id }}"
"""

RETURN = r"""
fingerprint_id:
  description: Id of the stored fingerprint (null in check mode).
  returned: always
  type: int
fingerprint_sha256:
  description: Hash over the whole fingerprint.
  returned: always
  type: str
tables:
  description: Per protected table, its row count and content hash.
  returned: always
  type: dict
differences:
  description: What differs from the baseline (compare only); empty when unchanged.
  returned: when state is compare
  type: list
  elements: str
"""

import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.bayview import db  # import-safe: it guards psycopg itself
from ansible.module_utils.bayview.module_support import new_module, run_guarded

try:  # the engine needs psycopg (a store, boto3): without them new_module says so, naming the library
    from ansible.module_utils.bayview import fingerprint
except ImportError:
    ENGINE_IMPORT_ERROR = traceback.format_exc()
else:
    ENGINE_IMPORT_ERROR = None


def main() -> None:
    module = new_module(
        AnsibleModule,
        import_error=ENGINE_IMPORT_ERROR,
        argument_spec={
            "state": {"type": "str", "choices": ["take", "compare"], "default": "take"},
            "label": {"type": "str", "required": True},
            "run_id": {"type": "str", "default": ""},
            "baseline_id": {"type": "int"},
            "scope": {"type": "str", "choices": ["full", "catalog"], "default": "full"},
        },
    )
    p = module.params

    def action() -> None:
        conn = db.connect(p)
        try:
            baseline = None
            if p["state"] == "compare" and p["baseline_id"] is not None:
                baseline = fingerprint.load(conn, p["baseline_id"])
                if baseline is None:
                    module.fail_json(
                        msg=f"No stored fingerprint with id {p['baseline_id']} on {db.describe(p)}. Next step: "
                        "pass the fingerprint_id registered by the 'take' task of this run."
                    )
            elif p["state"] == "compare" and not module.check_mode:
                module.fail_json(
                    msg="state=compare needs baseline_id. Next step: register the 'take' task "
                    "and pass its fingerprint_id."
                )
            fp = fingerprint.take(conn, p["scope"] if baseline is None else baseline["scope"])
            fp_id = None if module.check_mode else fingerprint.store(conn, fp, p["label"], p["run_id"])
        finally:
            conn.close()
        result = {
            "changed": False,
            "fingerprint_id": fp_id,
            "fingerprint_sha256": fp["fingerprint_sha256"],
            "tables": fp["tables"],
        }
        if p["state"] == "compare":
            diffs = fingerprint.differences(baseline, fp) if baseline else []
            result["differences"] = diffs
            if diffs:
                module.fail_json(
                    msg=f"THE PROTECTED LEGACY DATA CHANGED on {db.describe(p)} since fingerprint "
                    f"{p['baseline_id']}: " + "; ".join(diffs) + ". Next step: stop; do not continue the "
                    "phase. Compare migration.runbook_fingerprints rows, find the writer, and restore the "
                    "restore point taken before the phase if the legacy data was damaged.",
                    **result,
                )
        module.exit_json(**result)

    run_guarded(module, action, database=db.describe(p))


if __name__ == "__main__":
    main()
