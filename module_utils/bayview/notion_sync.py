"""A Notion sync: read (API or export), stage raw, reconcile, then bring the records of the
Notion-only pages up to date through their data migrations (0024, 0025). Read-only towards Notion.

Each response (or export file) is staged in its own transaction and the reconciliation is one
more: a sync cut short has staged a prefix and reconciled all or nothing of what was staged; the
next sync reads from there and reconciles what waits.
"""

from __future__ import annotations

import time
from types import ModuleType

from ansible.module_utils.bayview import data_migrate, data_sync, db, halts
from ansible.module_utils.bayview.errors import RunbookError
from ansible.module_utils.bayview.notion_read import DATABASES, read_api, read_export
from ansible.module_utils.bayview.notion_reconcile import reconcile, report
from ansible.module_utils.bayview.notion_stage import preview, since, stage


def _require_staging(conn) -> None:
    if not conn.execute("SELECT to_regclass('migration.notion_pages') IS NOT NULL").fetchone()[0]:
        raise RunbookError(
            "This database has no migration.notion_pages: the Notion sync needs migration 0010_notion (Phase 2).",
            "run Phase 2 (playbooks/phase2.yml) first; nothing was read or changed.",
        )


def check_data_sources(data_sources: dict) -> dict[str, str]:
    """The configured data sources, refused before anything is read when a database is unknown."""
    unknown = sorted(set(data_sources) - set(DATABASES))
    if unknown or not data_sources:
        raise RunbookError(
            f"bayview_notion_data_sources names {', '.join(unknown) or 'no database'}: it maps "
            f"{' and '.join(DATABASES)} to their Notion data source ids.",
            "set bayview_notion_data_sources: {memorial_garden: <data source id>, chapel: <data source id>} "
            "(Notion: the database's ... menu > Manage data sources > Copy data source ID).",
        )
    empty = sorted(name for name, source in data_sources.items() if not str(source or "").strip())
    if empty:
        raise RunbookError(
            f"bayview_notion_data_sources gives no data source id for {', '.join(empty)}.",
            "copy each database's data source id from Notion into the inventory.",
        )
    return {name: str(source).strip() for name, source in data_sources.items()}


def _check_source(source: str, token: str | None, token_source: str, data_sources, export_path) -> dict | None:
    """The data sources of an API read, or None for an export; refused before anything is read."""
    if source == "api":
        if not token:
            raise RunbookError(
                f"No Notion token: {token_source} is empty.",
                "export NOTION_TOKEN=<the integration's secret> or set notion_token in the vault; nothing was read.",
            )
        return check_data_sources(data_sources or {})
    if not export_path:
        raise RunbookError("No Notion export given.", "pass -e notion_export=<zip, folder or csv>.")
    return None


def _read(conn, source, token, token_source, data_sources, export_path, requests_per_second, base_url):
    if source == "api":
        return read_api(token, token_source, data_sources, since(conn, data_sources), requests_per_second, base_url)
    return read_export(export_path)


def plan(
    params: dict,
    source: str,
    token: str | None = None,
    token_source: str = "NOTION_TOKEN",  # noqa: S107 - the name of where the token comes from
    data_sources: dict | None = None,
    export_path: str | None = None,
    requests_per_second: float = 3.0,
    base_url: str | None = None,
) -> dict:
    """Check mode: read what a sync would read (the same incremental window) and say how many pages
    would be new, changed or unchanged; nothing is written."""
    data_sources = _check_source(source, token, token_source, data_sources, export_path)
    with db.connect(params) as conn:
        _require_staging(conn)
        would = {"new": 0, "changed": 0, "unchanged": 0}
        for chunk in _read(conn, source, token, token_source, data_sources, export_path, requests_per_second, base_url):
            for key, count in preview(conn, chunk).items():
                would[key] += count
        waiting = conn.execute("SELECT count(*) FROM migration.notion_pages WHERE reconciled_at IS NULL").fetchone()[0]
    return {"source": source, "would_stage": would, "waiting_for_reconciliation": waiting, "changed": 0}


def sync(
    params: dict,
    source: str,
    token: str | None = None,
    token_source: str = "NOTION_TOKEN",  # noqa: S107 - the name of where the token comes from
    data_sources: dict | None = None,
    export_path: str | None = None,
    requests_per_second: float = 3.0,
    base_url: str | None = None,
    record_migrations: list[ModuleType] = (),
    batch_size: int = 5000,
    lock_wait_seconds: float = 10.0,
) -> dict:
    """source 'api' (token, data_sources) or 'export' (export_path). Returns what was read and
    staged, the reconciliation (counts per database, outcome and rule), the records brought up to
    date, and the report."""
    data_sources = _check_source(source, token, token_source, data_sources, export_path)
    started = time.monotonic()
    conn = db.connect(params)
    staged = {"new": 0, "changed": 0, "unchanged": 0}
    responses = 0
    try:
        db.acquire_run_lock(conn, db.describe(params), lock_wait_seconds)
        halts.require_not_halted(conn, "The Notion sync")
        _require_staging(conn)
        if source == "api":
            pages = read_api(
                token, token_source, data_sources, since(conn, data_sources), requests_per_second, base_url
            )
        else:
            pages = read_export(export_path)
        for chunk in pages:
            responses += 1
            for key, count in stage(conn, chunk).items():
                staged[key] += count
        reconciled = reconcile(conn)
        found = report(conn)
    finally:
        if not conn.closed:
            db.release_run_lock(conn)
            conn.close()
    records = [_records(params, m, batch_size, lock_wait_seconds) for m in record_migrations]
    read = sum(staged.values())
    return {
        "source": source,
        "requests" if source == "api" else "files": responses,
        "pages_read": read,
        "staged": staged,
        "changed": staged["new"]
        + staged["changed"]
        + reconciled["pages_reconciled"]
        + reconciled["duplicates_flagged"]
        + sum(r["changes"] + r.get("batches", 0) for r in records),
        "reconciliation": reconciled,
        "records": records,
        "report": found,
        "seconds": round(time.monotonic() - started, 2),
    }


def _records(params: dict, migration: ModuleType, batch_size: int, lock_wait_seconds: float) -> dict:
    """The records of the Notion-only pages, brought up to date by their data migration once Phase 3
    has run it (a sync before that leaves them to Phase 3)."""
    with db.connect(params) as conn:
        state = data_migrate.status(conn, migration.NAME)["status"]
    if state != "completed":
        return {"data_migration": migration.NAME, "status": state, "changes": 0, "note": "Phase 3 runs it"}
    result = data_sync.sync(params, migration, batch_size, 0, lock_wait_seconds)
    # changes: what the sync changed in records migrated before; batches: the new pages it migrated
    return {
        "data_migration": migration.NAME,
        "status": result["status"],
        "changes": result["changes_this_run"],
        "batches": result["batches_this_run"],
        "migrated": result["migrated"],
        "quarantined": result["quarantined"],
    }
