#!/usr/bin/python
"""Ansible module: read Notion (API or export), stage it raw, reconcile it with the legacy rows."""

from __future__ import annotations

DOCUMENTATION = r"""
module: bayview_notion_sync
short_description: Stage Notion's pages raw, reconcile them with the legacy rows, bring their records up to date
description:
  - Reads the association's two Notion databases, memorial garden applications and chapel services, through the
    official SDK (notion-client, API version 2025-09-03, data_sources.query, 100 pages per request), or reads a
    Notion "Markdown & CSV" export (its zip, its folder or a CSV file). Never writes to Notion.
  - Every page or exported row lands unchanged in C(migration.notion_pages); a page read again unchanged changes
    nothing, a page edited since is re-staged. The API read is incremental, from the newest staged edit of each
    data source less ten minutes.
  - Then each new or re-staged page is reconciled, in this order, by the legacy row whose notion_id is the
    page id, by the page's Database ID (a memorial id for an immediate application, a prepayment id for a future
    one, a chapel application id), or by its title. A match by id whose title names another record, and a value
    that cannot be read, are quarantined with the reason; retried submissions are flagged with duplicate_of;
    the differences of matched pages are recorded with the side that wins (docs/notion.md).
  - Pages no legacy row matched are created in the new design by the data migrations O(record_migrations), once
    Phase 3 has run them.
  - A 429 waits its Retry-After; a 5xx backs off and tries again; requests keep to O(requests_per_second) on
    average. A 401 or 403 names where the token came from, never the token.
  - Check mode reads what the sync would read and says how many pages would be new, changed or unchanged; it
    stages nothing.
version_added: "0.3.0"
author: ["Bay View runbook team (!UNKNOWN)"]
extends_documentation_fragment: [bayview_connection]
options:
  source:
    description: C(api) reads the live API; C(export) reads O(export_path).
    type: str
    choices: [api, export]
    required: true
  notion_token:
    description: The integration's secret (from NOTION_TOKEN or the vault). Required for O(source=api).
    type: str
  token_source:
    description: Where the token came from, named in messages instead of the token (for example C(NOTION_TOKEN)).
    type: str
    default: NOTION_TOKEN
  data_sources:
    description: The data source id of each database, C(memorial_garden) and C(chapel). Required for O(source=api).
    type: dict
  export_path:
    description: The export's zip, its unpacked folder, or one of its CSV files. Required for O(source=export).
    type: path
  requests_per_second:
    description: The average request rate kept to (Notion allows about three per second per integration).
    type: float
    default: 3.0
  api_base_url:
    description: The API's address, for a test server; empty for Notion's own.
    type: str
    default: ""
  record_migrations:
    description:
      - The data migrations the sync brings up to date once Phase 3 has run them, in this order.
      - Those that take Notion's winning values (0001-0004), then those that create the records of Notion-only
        pages (0024-0027).
    type: list
    elements: str
    default: []
  data_migrations_dir:
    description: Directory of the data migrations.
    type: path
    required: true
  batch_size:
    description: Staged pages per batch when their records are brought up to date.
    type: int
    default: 5000
  lock_wait_seconds:
    description: How long to wait for another run's lock.
    type: float
    default: 10
  full_read:
    description:
      - Read every page of each data source, not only those edited since the last sync (O(source=api)).
      - The staged pages the read did not find (trashed or deleted in Notion) are marked C(gone_at) and listed in the
        report; they and their records stay. A page found again is no longer gone.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Read Notion's two databases and reconcile them
  ansible.legacy.bayview_notion_sync:
    connection: "{{ bayview_db_connection }}"
    source: api
    notion_token: "{{ lookup('ansible.builtin.env', 'NOTION_TOKEN') }}"
    data_sources: {memorial_garden: 2a1b0c9d-..., chapel: 7e6f5a4b-...}
    record_migrations: [0024_notion_memorial_applications, 0025_notion_chapel_services]
    data_migrations_dir: "{{ bayview_project_dir }}/migrations/data"
  no_log: false  # the token option is no_log itself
"""

RETURN = r"""
notion:
  description:
    - source, requests (API) or files (export), pages_read, staged (new, changed, unchanged), full_read,
      pages_gone (gone and back, as a full read marked them), changed, reconciliation (reconciled per database, outcome
      and rule; duplicates_flagged), records (per record migration, its changes), report (pages, differences,
      quarantined, probable_duplicates, gone, by_rule, and the first quarantined pages, duplicates, differences
      and gone pages), seconds.
  returned: always
  type: dict
"""

import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.bayview import db  # import-safe: it guards psycopg itself
from ansible.module_utils.bayview.errors import RunbookError
from ansible.module_utils.bayview.module_support import new_module, run_guarded

try:
    from ansible.module_utils.bayview import data_migrations, notion_sync
except ImportError:
    ENGINE_IMPORT_ERROR = traceback.format_exc()
else:
    ENGINE_IMPORT_ERROR = None


def main() -> None:
    module = new_module(
        AnsibleModule,
        import_error=ENGINE_IMPORT_ERROR,
        argument_spec={
            "source": {"type": "str", "choices": ["api", "export"], "required": True},
            "notion_token": {"type": "str", "no_log": True},
            "token_source": {"type": "str", "default": "NOTION_TOKEN", "no_log": False},  # a name, not a token
            "data_sources": {"type": "dict"},
            "export_path": {"type": "path"},
            "requests_per_second": {"type": "float", "default": 3.0},
            "api_base_url": {"type": "str", "default": ""},
            "record_migrations": {"type": "list", "elements": "str", "default": []},
            "data_migrations_dir": {"type": "path", "required": True},
            "batch_size": {"type": "int", "default": 5000},
            "lock_wait_seconds": {"type": "float", "default": 10},
            "full_read": {"type": "bool", "default": False},
        },
        required_if=[("source", "api", ["data_sources"]), ("source", "export", ["export_path"])],
    )
    p = module.params

    def action() -> None:
        if not 0 < p["requests_per_second"] <= 10:
            raise RunbookError(
                f"requests_per_second is {p['requests_per_second']}: it must be above 0 and at most 10 (Notion "
                "allows an average of about 3 per second per integration); nothing was read.",
                "set notion_requests_per_second: 3.",
            )
        migrations = [data_migrations.load(p["data_migrations_dir"], name) for name in p["record_migrations"]]
        # What to read, the same for the plan (check mode) and the sync.
        reading = {
            "token": p["notion_token"],
            "token_source": p["token_source"],
            "data_sources": p["data_sources"],
            "export_path": p["export_path"],
            "requests_per_second": p["requests_per_second"],
            "base_url": p["api_base_url"] or None,
            "full_read": p["full_read"],
        }
        if module.check_mode:
            module.exit_json(changed=False, notion=notion_sync.plan(p, p["source"], **reading))
        result = notion_sync.sync(
            p,
            p["source"],
            **reading,
            record_migrations=migrations,
            batch_size=p["batch_size"],
            lock_wait_seconds=p["lock_wait_seconds"],
        )
        module.exit_json(changed=result["changed"] > 0, notion=result)

    run_guarded(module, action, database=db.describe(p))


if __name__ == "__main__":
    main()
