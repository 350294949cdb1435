#!/usr/bin/python
"""Ansible module: create, list, verify, prune, restore and drill Bay View restore points."""

from __future__ import annotations

DOCUMENTATION = r"""
module: bayview_restore_point
short_description: Restore points of a Bay View database in S3 or a local directory
description:
  - C(create) streams C(pg_dump -Fc) straight into the store (S3 multipart upload or a file), computing
    its SHA-256 on the way, and writes a manifest last. An upload without a manifest is not a restore point.
  - C(verify) re-reads the object, checks size and SHA-256, and that C(pg_restore --list) reads it.
  - C(restore) verifies, restores into a new database, checks its legacy fingerprint against the manifest,
    and only with O(confirm_restore) equal to the live database's name makes it live, keeping the
    previous one under a dated name. A restore never drops a database.
  - C(prune) keeps the newest O(keep) per label, never the newest verified one, and clears leftovers of
    uploads that died. C(drill) restores the newest into a scratch database, checks and times it, drops it.
  - Check mode plans and changes nothing (prune lists what would go).
version_added: "0.1.0"
author: ["Bay View runbook team (!UNKNOWN)"]
extends_documentation_fragment: [bayview_connection, bayview_connection.admin, bayview_store]
options:
  state:
    description: What to do.
    type: str
    choices: [create, list, verify, prune, restore, drill, rehearse_rollback]
    required: true
  label:
    description: What the restore point protects (for example C(phase1)); prune keeps O(keep) per label.
    type: str
    default: manual
  restore_point:
    description: Id of a restore point, or C(latest) (verify, restore).
    type: str
    default: latest
  confirm_restore:
    description: The live database's name, to make a restored database live. Anything else is refused.
    type: str
    default: ""
  keep:
    description: Restore points to keep per label when pruning.
    type: int
    default: 5
  orphan_grace_minutes:
    description: Leftovers of unfinished uploads younger than this are left alone (they may still be running).
    type: int
    default: 60
  pg_dump_path:
    description: pg_dump to use (not older than the server).
    type: str
    default: pg_dump
  pg_restore_path:
    description: pg_restore to use (not older than the server).
    type: str
    default: pg_restore
  migrations_dir:
    description: The versioned SQL migrations (rehearse_rollback).
    type: path
  phase:
    description: The phase whose migrations the rollback rehearsal applies and rolls back.
    type: int
  data_migrations:
    description: Data migrations the rollback rehearsal runs and reverses on the scratch copy.
    type: list
    elements: str
    default: []
  data_migrations_dir:
    description: The directory of the data migration modules.
    type: path
  accept_checksum_versions:
    description: Versions whose changed files the rollback rehearsal accepts, as the phase will.
    type: list
    elements: int
    default: []
  accept_checksum_reason:
    description: Why (required with O(accept_checksum_versions)).
    type: str
    default: ""
  run_id:
    description: Run id from bayview_run_record.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Take a restore point before Phase 2
  ansible.legacy.bayview_restore_point:
    connection: "{{ bayview_db_connection }}"
    state: create
    store:
      url: s3://bayview-backups/production
      s3_endpoint_url: https://nyc3.digitaloceanspaces.com
    label: phase2
  register: rp

- name: Restore it into a new database and make it live
  ansible.legacy.bayview_restore_point:
    connection: "{{ bayview_db_connection }}"
    admin_connection: "{{ bayview_admin_db_connection }}"
    state: restore
    store: "{{ bayview_store }}"
    restore_point: "{{ rp.restore_point.id }}"
    confirm_restore: bayview
"""

RETURN = r"""
restore_point:
  description: The manifest of the restore point created, verified or restored.
  returned: when state is create, verify, restore
  type: dict
restore_points:
  description: Manifests (without the catalog detail), newest first.
  returned: when state is list
  type: list
  elements: dict
verification:
  description: Size, sha256 and number of table-data entries read back.
  returned: when state is verify
  type: dict
steps:
  description: Numbered steps of a restore.
  returned: when state is restore
  type: list
  elements: str
pruned:
  description: Ids removed (or that would be, in check mode), and leftovers cleared.
  returned: when state is prune
  type: dict
drill:
  description: Restore point drilled and seconds to restore.
  returned: when state is drill
  type: dict
rehearsal:
  description: The rollback rehearsal on a scratch copy (what was applied, reversed and rolled back; seconds).
  returned: when state is rehearse_rollback
  type: dict
"""

import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.bayview import db, stores  # import-safe: db guards psycopg; stores imports boto3 only for S3
from ansible.module_utils.bayview.module_support import new_module, operator, run_guarded

try:  # the engine needs psycopg (a store, boto3): without them new_module says so, naming the library
    from ansible.module_utils.bayview import data_migrations, restore_points
except ImportError:
    ENGINE_IMPORT_ERROR = traceback.format_exc()
else:
    ENGINE_IMPORT_ERROR = None


def _summary(manifest: dict) -> dict:
    """A manifest without the bulky catalog detail, for task output."""
    fp = manifest.get("legacy_fingerprint", {})
    return {**manifest, "legacy_fingerprint": {k: fp.get(k) for k in ("scope", "fingerprint_sha256", "tables")}}


# Same suboptions as `connection` (password no_log included).
ADMIN_CONNECTION = {"type": "dict", "options": db.connection_argument_spec()["connection"]["options"]}


def main() -> None:
    module = new_module(
        AnsibleModule,
        import_error=ENGINE_IMPORT_ERROR,
        argument_spec={
            "state": {
                "type": "str",
                "choices": ["create", "list", "verify", "prune", "restore", "drill", "rehearse_rollback"],
                "required": True,
            },
            **stores.argument_spec(),
            "label": {"type": "str", "default": "manual"},
            "restore_point": {"type": "str", "default": "latest"},
            "confirm_restore": {"type": "str", "default": ""},
            "keep": {"type": "int", "default": 5},
            "orphan_grace_minutes": {"type": "int", "default": 60},
            "admin_connection": ADMIN_CONNECTION,
            "pg_dump_path": {"type": "str", "default": "pg_dump"},
            "pg_restore_path": {"type": "str", "default": "pg_restore"},
            "run_id": {"type": "str", "default": ""},
            "migrations_dir": {"type": "path"},
            "phase": {"type": "int"},
            "data_migrations": {"type": "list", "elements": "str", "default": []},
            "data_migrations_dir": {"type": "path"},
            "accept_checksum_versions": {"type": "list", "elements": "int", "default": []},
            "accept_checksum_reason": {"type": "str", "default": ""},
        },
        required_if=[("state", "rehearse_rollback", ("migrations_dir", "phase"))],
    )
    p = module.params

    def action() -> None:
        store = stores.from_params(p["store"])
        database = p["connection"]["dbname"]
        admin = {**p, "connection": p["admin_connection"]} if p["admin_connection"] else p
        state = p["state"]
        if state == "create":
            if module.check_mode:
                module.exit_json(changed=True, msg=f"would create a restore point of {database} in {store.url}")
            manifest = restore_points.create(p, store, p["label"], p["pg_dump_path"], p["run_id"])
            module.exit_json(changed=True, restore_point=_summary(manifest))
        if state == "list":
            points = [_summary(m) for m in restore_points.list_points(store, database)]
            module.exit_json(changed=False, restore_points=points)
        if state == "verify":
            manifest = restore_points.find(store, database, p["restore_point"])
            checked = restore_points.verify(store, manifest, p["pg_restore_path"])
            module.exit_json(changed=False, restore_point=_summary(manifest), verification=checked)
        if state == "prune":
            result = restore_points.prune(
                store, database, p["keep"], p["pg_restore_path"], p["orphan_grace_minutes"], module.check_mode
            )
            module.exit_json(changed=bool(result["pruned"] or result["orphans_removed"]), pruned=result)
        if state == "restore":
            result = restore_points.restore(
                p,
                admin,
                store,
                p["restore_point"],
                p["confirm_restore"],
                p["pg_restore_path"],
                module.check_mode,
                p["run_id"],
            )
            module.exit_json(changed=not module.check_mode, steps=result["steps"], restore_point=result)
        if module.check_mode:
            module.exit_json(changed=False, msg=f"the {state} is skipped in check mode")
        if state == "rehearse_rollback":
            data = [data_migrations.load(p["data_migrations_dir"], n) for n in p["data_migrations"]]
            rehearsal = restore_points.rehearse_rollback(
                p,
                admin,
                store,
                p["restore_point"],
                p["migrations_dir"],
                p["phase"],
                data,
                operator(module),
                p["run_id"],
                p["pg_restore_path"],
                p["accept_checksum_versions"],
                p["accept_checksum_reason"],
            )
            module.exit_json(changed=False, rehearsal=rehearsal)
        module.exit_json(changed=False, drill=restore_points.drill(p, admin, store, p["pg_restore_path"]))

    run_guarded(module, action, database=db.describe(p), store=p["store"]["url"])


if __name__ == "__main__":
    main()
