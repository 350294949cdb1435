#!/usr/bin/python
"""Ansible module: the coverage of the legacy tables by the data migrations, column by column."""

from __future__ import annotations

DOCUMENTATION = r"""
module: bayview_coverage
short_description: Prove that the data migrations carry every legacy column (or say why not)
description:
  - Compares what each data migration declares (C(CARRIED), C(NOT_CARRIED)) with the live catalog of the legacy
    schemas of this database, and reports per legacy table the columns mapped, not carried and unmapped. A legacy
    table that no data migration reads is unmapped entirely.
  - With O(require_complete), fails naming each unmapped column as schema.table.column.
  - With O(require_validated), also fails unless the newest validation passed and covered every data migration.
  - Reads only.
version_added: "0.2.0"
author: ["Bay View runbook team (!UNKNOWN)"]
extends_documentation_fragment: [bayview_connection]
options:
  data_migrations:
    description: Names of the data migrations that will run (files in O(data_migrations_dir)).
    type: list
    elements: str
    required: true
  data_migrations_dir:
    description: The directory of the data migration modules (migrations/data).
    type: path
    required: true
  require_complete:
    description: Fail when any legacy column is unmapped.
    type: bool
    default: false
  require_validated:
    description: Fail unless the newest validation passed and covered every data migration.
    type: bool
    default: false
  refused_action:
    description: What is refused when a requirement fails (for the message), for example C(the cutover).
    type: str
    default: this run
"""

EXAMPLES = r"""
- name: Refuse the cutover unless every legacy column is carried and the data validated
  ansible.legacy.bayview_coverage:
    connection: "{{ bayview_db_connection }}"
    data_migrations: [0001_memorial_persons, 0002_chapel_persons]
    data_migrations_dir: "{{ bayview_project_dir }}/migrations/data"
    require_complete: true
    require_validated: true
    refused_action: the cutover
"""

RETURN = r"""
coverage:
  description:
    - tables (per legacy table its data_migrations, mapped, not_carried, unmapped and the declared columns this
      environment lacks), legacy_tables, legacy_columns, mapped, not_carried, unmapped (schema.table.column),
      tables_without_a_data_migration, complete, and summary (one line per table).
  returned: always
  type: dict
validation:
  description: The newest validation that allowed it (validation_id, validated_at), with O(require_validated).
  returned: when require_validated
  type: dict
"""

import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.bayview import db  # import-safe: it guards psycopg itself
from ansible.module_utils.bayview.module_support import new_module, run_guarded

try:  # the engine needs psycopg (a store, boto3): without them new_module says so, naming the library
    from ansible.module_utils.bayview import coverage, data_migrations, validate
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
            "require_complete": {"type": "bool", "default": False},
            "require_validated": {"type": "bool", "default": False},
            "refused_action": {"type": "str", "default": "this run"},
        },
    )
    p = module.params

    def action() -> None:
        migrations = [data_migrations.load(p["data_migrations_dir"], name) for name in p["data_migrations"]]
        with db.connect(p) as conn:
            found = coverage.report(conn, migrations)
            result = {"coverage": found}
            if p["require_complete"]:
                coverage.require_complete(found, db.describe(p), p["refused_action"].capitalize())
            if p["require_validated"]:
                result["validation"] = validate.require_last_passed(
                    conn, p["data_migrations"], p["refused_action"].capitalize()
                )
        module.exit_json(changed=False, **result)

    run_guarded(module, action, database=db.describe(p))


if __name__ == "__main__":
    main()
