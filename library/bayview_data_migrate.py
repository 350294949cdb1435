#!/usr/bin/python
"""Ansible module: run or reverse a batched data migration from migrations/data."""

from __future__ import annotations

DOCUMENTATION = r"""
module: bayview_data_migrate
short_description: Move legacy rows into the new design in resumable batches, or reverse that
description:
  - Runs the data migration O(data_migration) (a Python module in O(data_migrations_dir)) from its
    last checkpoint in batches that walk the primary key. Each batch and its checkpoint commit together,
    so a run killed at any moment resumes with no duplicate and no gap.
  - Rows that cannot be migrated go to C(migration.quarantine) with the reason and never abort a batch;
    migrated + quarantined + excluded = candidates at every checkpoint.
  - Progress (rows done of total, rate, estimated time left) is in C(migration.data_migration_checkpoints),
    which an operator can query from another terminal while it runs.
  - C(reversed) removes exactly the rows the migration created in its target table (persons, memorial
    applications, chapel services, details, payments), found through their links.
  - A migration runs only after the migrations it depends on (its C(DEPENDS_ON)) have completed, and is
    reversed only after those that depend on it have been reversed; otherwise it is refused, naming them.
  - Check mode is the dry run (counts per outcome and role, with sample legacy ids) and writes nothing.
version_added: "0.1.0"
author: ["Bay View runbook team (!UNKNOWN)"]
extends_documentation_fragment: [bayview_connection]
options:
  data_migration:
    description:
      - Name of the data migration (its file name without C(.py)), for example C(0001_memorial_persons).
      - One of O(data_migration) and O(data_migrations) is required.
    type: str
  data_migrations:
    description:
      - Several data migrations, done one after the other in this order in one call (Phase 2's trial uses it,
        one module call instead of one per migration). For O(state=reversed) give them last first.
      - Each is still its own run with its own checkpoint; the call stops at the first that fails.
    type: list
    elements: str
  data_migrations_dir:
    description: Directory of the data migrations.
    type: path
    required: true
  state:
    description:
      - C(migrated) runs it from its checkpoint to the end of the legacy table.
      - C(synced) is the incremental mode while the web application keeps writing. It migrates new rows,
        repairs the rows the dual-write manager logged as discrepancies, brings up to date, in place,
        the rows of legacy rows updated since the last sync, and removes what deleted legacy rows
        produced; then it recounts.
      - C(reversed) removes what it created.
    type: str
    choices: [migrated, synced, reversed]
    default: migrated
  sync_margin_seconds:
    description: The sync remembers a point this far behind the server's clock, so a late write is not missed.
    type: int
    default: 300
  batch_size:
    description: Legacy rows per batch (one short transaction each).
    type: int
    default: 5000
  max_batches:
    description: Stop after this many batches (to migrate a sample, or in stages).
    type: int
  lock_wait_seconds:
    description: How long to wait for another runbook run's lock before failing with its name.
    type: float
    default: 10
  batch_pause_seconds:
    description: Rest between two rounds of batches (outside any transaction), to spare a busy production server.
    type: float
    default: 0
  workers:
    description:
      - Batches run side by side, each on its own connection and key range, when O(state=migrated).
        Each batch still commits only after the one before it, so the checkpoint always covers an unbroken
        prefix of the keys and a run killed at any moment resumes as with one worker.
      - C(2) uses two connections and about 1.6 times the throughput, but also a second core of the
        database server. On a two-core server that triples the web application's worst latencies, so keep
        C(1) while the application is live there; use C(2) in a quiet window or on a larger server.
    type: int
    default: 1
  new_rows:
    description:
      - With O(state=synced), whether the sync first migrates legacy rows past the checkpoint. Phase 2's trial
        syncs with C(false), so that it repairs and brings up to date only the rows it migrated.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Dry run (check mode) of the memorial persons migration
  ansible.legacy.bayview_data_migrate:
    connection: "{{ bayview_db_connection }}"
    data_migrations_dir: "{{ bayview_project_dir }}/migrations/data"
    data_migration: 0001_memorial_persons
  check_mode: true

- name: Migrate the memorial persons
  ansible.legacy.bayview_data_migrate:
    connection: "{{ bayview_db_connection }}"
    data_migrations_dir: "{{ bayview_project_dir }}/migrations/data"
    data_migration: 0001_memorial_persons
    batch_size: 5000
"""

RETURN = r"""
results:
  description: With O(data_migrations), one entry per data migration, with its name and the keys below.
  returned: when O(data_migrations) is given
  type: list
  elements: dict
checkpoint:
  description: The migration's checkpoint after the run (status, last key, counts, rate, checksum).
  returned: when state is migrated or synced, not in check mode
  type: dict
dry_run:
  description: What a run would do, per outcome and role, with sample legacy ids.
  returned: in check mode, when state is migrated
  type: dict
reversed:
  description: The rows of the new design and the quarantine rows removed.
  returned: when state is reversed and not in check mode
  type: dict
"""

import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.bayview import db  # import-safe: it guards psycopg itself
from ansible.module_utils.bayview.errors import RunbookError
from ansible.module_utils.bayview.module_support import new_module, run_guarded

try:  # the engine needs psycopg (a store, boto3): without them new_module says so, naming the library
    from ansible.module_utils.bayview import data_migrate, data_migrations, data_sync
except ImportError:
    ENGINE_IMPORT_ERROR = traceback.format_exc()
else:
    ENGINE_IMPORT_ERROR = None


def _one(module, p: dict, name: str) -> dict:
    """What O(state) does to one data migration: its result keys, and whether it changed anything."""
    migration = data_migrations.load(p["data_migrations_dir"], name)
    if p["state"] in ("migrated", "synced"):
        if module.check_mode:
            plan = data_migrate.dry_run(p, migration)
            return {"changed": plan["would"].get("migrated", 0) > 0, "dry_run": plan}
        if p["state"] == "synced":
            same_table = [
                m
                for m in data_migrations.load_all(p["data_migrations_dir"])
                if m.LEGACY_TABLE == migration.LEGACY_TABLE and m.NAME != migration.NAME
            ]
            checkpoint = data_sync.sync(
                p,
                migration,
                p["batch_size"],
                p["sync_margin_seconds"],
                p["lock_wait_seconds"],
                p["new_rows"],
                same_table,
            )
            return {"changed": any(checkpoint[k] > 0 for k in data_sync.SYNC_COUNTS[1:]), "checkpoint": checkpoint}
        checkpoint = data_migrate.run(
            p,
            migration,
            p["batch_size"],
            p["max_batches"],
            p["lock_wait_seconds"],
            p["batch_pause_seconds"],
            p["workers"],
        )
        return {"changed": checkpoint["batches_this_run"] > 0, "checkpoint": checkpoint}
    if module.check_mode:
        return {"changed": True, "msg": f"would remove the rows linked to {migration.NAME}"}
    dependents = data_migrations.dependents(p["data_migrations_dir"], migration.NAME)
    result = data_migrate.reverse(p, migration, p["lock_wait_seconds"], dependents)
    return {"changed": bool(result["rows_removed"] or result["quarantine_removed"]), "reversed": result}


def main() -> None:
    module = new_module(
        AnsibleModule,
        import_error=ENGINE_IMPORT_ERROR,
        argument_spec={
            "data_migration": {"type": "str"},
            "data_migrations": {"type": "list", "elements": "str"},
            "data_migrations_dir": {"type": "path", "required": True},
            "state": {"type": "str", "choices": ["migrated", "synced", "reversed"], "default": "migrated"},
            "sync_margin_seconds": {"type": "int", "default": 300},
            "batch_size": {"type": "int", "default": 5000},
            "max_batches": {"type": "int"},
            "lock_wait_seconds": {"type": "float", "default": 10},
            "batch_pause_seconds": {"type": "float", "default": 0},
            "workers": {"type": "int", "default": 1},
            "new_rows": {"type": "bool", "default": True},
        },
        mutually_exclusive=[["data_migration", "data_migrations"]],
        required_one_of=[["data_migration", "data_migrations"]],
    )
    p = module.params

    def action() -> None:
        if p["data_migration"] is not None:
            module.exit_json(**_one(module, p, p["data_migration"]))
        # Several in one call, in the order given (each after those it depends on; reversed: last first).
        # The first that fails stops the call; its error names it and those already done.
        results = []
        for name in p["data_migrations"]:
            try:
                one = _one(module, p, name)
            except RunbookError as err:
                done = [r["data_migration"] for r in results]
                raise RunbookError(f"{name}: {err.message}", err.next_step, **err.details, completed=done) from err
            except Exception as exc:
                raise RuntimeError(f"{name}: {exc}") from exc
            results.append({"data_migration": name, **one})
        module.exit_json(changed=any(r["changed"] for r in results), results=results)

    run_guarded(module, action, database=db.describe(p), data_migration=p["data_migration"] or p["data_migrations"])


if __name__ == "__main__":
    main()
