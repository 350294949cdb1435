#!/usr/bin/python
"""Ansible module: import a portable export into a new, empty database."""

from __future__ import annotations

DOCUMENTATION = r"""
module: bayview_import
short_description: Import a Bay View export package into a new, empty database, verified
description:
  - Finds the export O(export_id) (or the newest) of O(source_database) in the store, refuses one written by a newer
    runbook (package format or ledger version) naming both versions, refuses a target database that exists and holds
    anything (naming what it holds), and re-reads every file of the package (bytes and sha256) before it creates
    anything.
  - Then creates the database under a temporary name and, in one transaction, loads C(schema.sql), COPYs every table
    in (streamed), creates indexes, constraints and triggers and sets the sequences; compares every table's rows and
    content hash and the legacy fingerprint with the package's metadata, and renames it to O(import_database).
  - A failure drops the partial database; if that fails too, the error names it as a failed import to drop.
  - An existing empty O(import_database) is loaded in place in that one transaction, and compared before it
    commits, so a failure (or a killed run) leaves it as it was.
  - Check mode verifies and plans, and creates nothing.
version_added: "0.3.0"
author: ["Bay View runbook team (!UNKNOWN)"]
extends_documentation_fragment: [bayview_connection, bayview_connection.admin, bayview_store]
options:
  source_database:
    description: The database the export was taken from (its exports are under C(exports/<source_database>/)).
      Defaults to the connection's database.
    type: str
  export_id:
    description: Id of the export, or C(latest).
    type: str
    default: latest
  import_database:
    description: The new database to create (or an existing empty one to load).
    type: str
    required: true
  migrations_dir:
    description: This runbook's versioned migrations (the newest version it knows; a newer package is refused).
    type: path
    required: true
  runbook_version:
    description: Version of this runbook (named in a refusal).
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Import the newest export into a new database
  ansible.legacy.bayview_import:
    connection: "{{ bayview_db_connection }}"
    admin_connection: "{{ bayview_admin_db_connection }}"
    store:
      url: file:///var/backups/bayview
    export_id: latest
    import_database: bayview_copy
    migrations_dir: "{{ bayview_migrations_dir }}"
"""

RETURN = r"""
import:
  description: The export imported, the database, tables, rows, sequences, seconds, and the numbered steps.
  returned: always, on success
  type: dict
"""

import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.bayview import db, stores  # import-safe: db guards psycopg; stores imports boto3 only for S3
from ansible.module_utils.bayview.module_support import new_module, run_guarded

try:  # the engine needs psycopg (a store, boto3): without them new_module says so, naming the library
    from ansible.module_utils.bayview import package_import
except ImportError:
    ENGINE_IMPORT_ERROR = traceback.format_exc()
else:
    ENGINE_IMPORT_ERROR = None

# Same suboptions as `connection` (password no_log included).
ADMIN_CONNECTION = {"type": "dict", "options": db.connection_argument_spec()["connection"]["options"]}


def main() -> None:
    module = new_module(
        AnsibleModule,
        import_error=ENGINE_IMPORT_ERROR,
        argument_spec={
            **stores.argument_spec(),
            "admin_connection": ADMIN_CONNECTION,
            "source_database": {"type": "str"},
            "export_id": {"type": "str", "default": "latest"},
            "import_database": {"type": "str", "required": True},
            "migrations_dir": {"type": "path", "required": True},
            "runbook_version": {"type": "str", "default": ""},
        },
    )
    p = module.params

    def action() -> None:
        store = stores.from_params(p["store"])
        admin = {**p, "connection": p["admin_connection"]} if p["admin_connection"] else p
        result = package_import.import_package(
            p,
            admin,
            store,
            p["source_database"] or p["connection"]["dbname"],
            p["export_id"],
            p["import_database"],
            p["migrations_dir"],
            p["runbook_version"],
            module.check_mode,
        )
        module.exit_json(changed=True, **{"import": result})

    run_guarded(module, action, database=db.describe(p), store=p["store"]["url"], import_database=p["import_database"])


if __name__ == "__main__":
    main()
