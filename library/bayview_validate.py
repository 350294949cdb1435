#!/usr/bin/python
"""Ansible module: validate the data migrations against their legacy sources."""

from __future__ import annotations

DOCUMENTATION = r"""
module: bayview_validate
short_description: Validate Bay View's data migrations field by field against the legacy rows
description:
  - For each data migration, the checkpoint's counts must reconcile with the legacy table, the links and the
    quarantine.
  - Every migrated field of every row is compared with what the migration's transform makes of its legacy row,
    by hashing key ranges on both sides and splitting again only the ranges that differ. The first differing
    legacy keys are reported with both sides.
  - Every link must point at an existing legacy row, and every person must have a link.
  - With O(baseline_fingerprint_id), the legacy schemas must be unchanged since that fingerprint.
  - Everything is read in one snapshot. The result is stored in C(migration.validation_runs), also in check mode
    (validation only reads the migrated data). A failed check fails the task with what differs.
version_added: "0.1.0"
author: ["Bay View runbook team (!UNKNOWN)"]
extends_documentation_fragment: [bayview_connection]
options:
  data_migrations:
    description: Names of the data migrations to validate (files in O(data_migrations_dir)).
    type: list
    elements: str
    required: true
  data_migrations_dir:
    description: The directory of the data migration modules (migrations/data).
    type: path
    required: true
  baseline_fingerprint_id:
    description: A stored legacy fingerprint the legacy schemas must still match.
    type: int
  run_id:
    description: The run this validation belongs to (stored with the result).
    type: str
  max_differences:
    description: How many differing legacy keys (and dangling links, orphan persons) to report at most.
    type: int
    default: 10
"""

EXAMPLES = r"""
- name: Validate the persons migrations
  ansible.legacy.bayview_validate:
    connection: "{{ bayview_db_connection }}"
    data_migrations: [0001_memorial_persons, 0002_chapel_persons]
    data_migrations_dir: "{{ bayview_project_dir }}/migrations/data"
"""

RETURN = r"""
validation:
  description: validation_id, passed, seconds and every check with its summary and details.
  returned: always
  type: dict
"""

import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.bayview import db  # import-safe: it guards psycopg itself
from ansible.module_utils.bayview.module_support import new_module, run_guarded

try:  # the engine needs psycopg (a store, boto3): without them new_module says so, naming the library
    from ansible.module_utils.bayview import data_migrations, validate
except ImportError:
    ENGINE_IMPORT_ERROR = traceback.format_exc()
else:
    ENGINE_IMPORT_ERROR = None


def main() -> None:
    module = new_module(
        AnsibleModule,
        import_error=ENGINE_IMPORT_ERROR,
        argument_spec={
            "data_migrations": {"type": "list", "elements": "str", "required": True},
            "data_migrations_dir": {"type": "path", "required": True},
            "baseline_fingerprint_id": {"type": "int"},
            "run_id": {"type": "str"},
            "max_differences": {"type": "int", "default": 10},
        },
    )
    p = module.params

    def action() -> None:
        migrations = [data_migrations.load(p["data_migrations_dir"], name) for name in p["data_migrations"]]
        result = validate.validate(p, migrations, p["baseline_fingerprint_id"], p["run_id"], p["max_differences"])
        if not result["passed"]:
            module.fail_json(
                msg=f"Validation {result['validation_id']} failed: {validate.failures(result)}",
                next_step="see the differences in the result (or in migration.validation_runs); sync or "
                "reverse and re-run the data migration, then validate again.",
                validation=result,
            )
        module.exit_json(changed=False, validation=result)

    run_guarded(module, action, database=db.describe(p))


if __name__ == "__main__":
    main()
