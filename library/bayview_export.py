#!/usr/bin/python
"""Ansible module: the portable export of the whole system as a Frictionless Data Package."""

from __future__ import annotations

DOCUMENTATION = r"""
module: bayview_export
short_description: Export the whole Bay View database as a verifiable Frictionless Data Package
description:
  - C(export) writes, from one REPEATABLE READ snapshot, every table of O(schemas) (the legacy schemas, the new
    design and the runbook's records) into the store under C(exports/<database>/<id>/) as CSV and/or JSON Lines,
    streamed with COPY, with C(schema.sql) (pg_dump --schema-only), C(metadata.json) (row counts, content hashes,
    sequences, versions, the legacy fingerprint) and, with C(sql), C(database.sql) (a plain script for psql).
  - The descriptor C(datapackage.json) (bytes and sha256 of every file, a Table Schema per table) is written last,
    so an export cut off before the end never lists as complete; what it wrote is removed where the store allows.
  - C(list) lists the complete exports of the database, newest first.
  - Check mode plans (the tables it would write) and writes nothing.
version_added: "0.3.0"
author: ["Bay View runbook team (!UNKNOWN)"]
extends_documentation_fragment: [bayview_connection, bayview_store]
options:
  state:
    description: What to do.
    type: str
    choices: [export, list]
    default: export
  schemas:
    description:
      - The schemas to export, of those the runbook knows (those that exist are exported). Omitted, the whole
        system (every choice).
    type: list
    elements: str
    choices: [bayview, crouse_chapel, core, property, education, events, recreation, finance, migration]
  formats:
    description: C(csv) and C(jsonl) write one file per table; C(sql) a plain script psql loads into an empty database.
    type: list
    elements: str
    choices: [csv, jsonl, sql]
    default: [csv]
  pg_dump_path:
    description: pg_dump to use (not older than the server).
    type: str
    default: pg_dump
  runbook_version:
    description: Version of the runbook (recorded in the package; an older runbook refuses to import it).
    type: str
    default: ""
  run_id:
    description: Run id from bayview_run_record.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Export everything as CSV and JSON Lines
  ansible.legacy.bayview_export:
    connection: "{{ bayview_db_connection }}"
    store:
      url: s3://bayview-backups/production
      s3_endpoint_url: https://nyc3.digitaloceanspaces.com
    formats: [csv, jsonl]
  register: export

- name: List the complete exports
  ansible.legacy.bayview_export:
    connection: "{{ bayview_db_connection }}"
    store:
      url: file:///var/backups/bayview
    state: list
"""

RETURN = r"""
export:
  description: The package written (id, tables, rows, bytes, versions), its location and its files.
  returned: when state is export
  type: dict
exports:
  description: Complete exports of the database, newest first.
  returned: when state is list
  type: list
  elements: dict
plan:
  description: The tables an export would write.
  returned: in check mode, when state is export
  type: dict
"""

import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.bayview import (  # import-safe: db guards psycopg; stores imports boto3 only for S3
    data_package,
    db,
    stores,
)
from ansible.module_utils.bayview.module_support import new_module, run_guarded

try:  # the engine needs psycopg (a store, boto3): without them new_module says so, naming the library
    from ansible.module_utils.bayview import package_export
except ImportError:
    ENGINE_IMPORT_ERROR = traceback.format_exc()
else:
    ENGINE_IMPORT_ERROR = None


def main() -> None:
    module = new_module(
        AnsibleModule,
        import_error=ENGINE_IMPORT_ERROR,
        argument_spec={
            "state": {"type": "str", "choices": ["export", "list"], "default": "export"},
            **stores.argument_spec(),
            "schemas": {"type": "list", "elements": "str", "choices": list(data_package.SCHEMAS)},
            "formats": {"type": "list", "elements": "str", "choices": list(data_package.FORMATS), "default": ["csv"]},
            "pg_dump_path": {"type": "str", "default": "pg_dump"},
            "runbook_version": {"type": "str", "default": ""},
            "run_id": {"type": "str", "default": ""},
        },
    )
    p = module.params
    schemas = list(data_package.SCHEMAS) if p["schemas"] is None else p["schemas"]

    def action() -> None:
        store = stores.from_params(p["store"])
        if p["state"] == "list":
            packages = data_package.list_packages(store, p["connection"]["dbname"])
            module.exit_json(changed=False, exports=[data_package.summary(d) for d in packages])
        if module.check_mode:
            plan = package_export.plan(p, schemas, p["formats"])
            module.exit_json(changed=True, plan=plan, msg=f"would export {len(plan['would_export'])} tables")
        export = package_export.export(
            p, store, schemas, p["formats"], p["pg_dump_path"], p["runbook_version"], p["run_id"]
        )
        module.exit_json(changed=True, export=export)

    run_guarded(module, action, database=db.describe(p), store=p["store"]["url"])


if __name__ == "__main__":
    main()
