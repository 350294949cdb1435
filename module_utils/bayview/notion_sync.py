"""A Notion sync: read (API or export), stage raw, reconcile, then bring the records of the
Notion-only pages up to date through their data migrations (0024, 0025). Read-only towards Notion.

Each response (or export file) is staged in its own transaction, then reconciled in one more: a
sync cut short has staged a prefix and reconciled all or nothing of each response; the next sync
reads from there and reconciles what waits.
"""

from __future__ import annotations

import time
from types import ModuleType

from ansible.module_utils.bayview import data_migrate, data_sync, db, halts
from ansible.module_utils.bayview.errors import RunbookError
from ansible.module_utils.bayview.notion_read import DATABASES, read_api, read_export
from ansible.module_utils.bayview.notion_reconcile import reconcile, report
from ansible.module_utils.bayview.notion_stage import mark_gone, preview, since, stage, would_be_gone


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


def _read(conn, source, token, token_source, data_sources, export_path, requests_per_second, base_url, full_read):
    if source == "api":
        start = dict.fromkeys(data_sources) if full_read else since(conn, data_sources)
        return read_api(token, token_source, data_sources, start, requests_per_second, base_url)
    return read_export(export_path)


def _seen(data_sources: dict[str, str] | None) -> dict[str, set[str]] | None:
    """Where an API read notes the page ids it finds, per data source (None: an export)."""
    return {source: set() for source in data_sources.values()} if data_sources else None


def plan(
    params: dict,
    source: str,
    token: str | None = None,
    token_source: str = "NOTION_TOKEN",  # noqa: S107 - the name of where the token comes from
    data_sources: dict | None = None,
    export_path: str | None = None,
    requests_per_second: float = 3.0,
    base_url: str | None = None,
    full_read: bool = False,
) -> dict:
    """Check mode: read what a sync would read (the same incremental window, or everything for a
    full read) and say how many pages would be new, changed or unchanged, and, after a full read,
    how many staged pages would be marked gone; nothing is written."""
    data_sources = _check_source(source, token, token_source, data_sources, export_path)
    seen = _seen(data_sources)
    with db.connect(params) as conn:
        _require_staging(conn)
        would = {"new": 0, "changed": 0, "unchanged": 0}
        reading = (token, token_source, data_sources, export_path, requests_per_second, base_url, full_read)
        for chunk in _read(conn, source, *reading):
            _note(seen, chunk)
            for key, count in preview(conn, chunk).items():
                would[key] += count
        waiting = conn.execute("SELECT count(*) FROM migration.notion_pages WHERE reconciled_at IS NULL").fetchone()[0]
        gone = would_be_gone(conn, seen) if seen and full_read else None
    planned = {"source": source, "would_stage": would, "waiting_for_reconciliation": waiting, "changed": 0}
    return planned | ({"would_mark_gone": gone} if gone is not None else {})


def _note(seen: dict[str, set[str]] | None, chunk) -> None:
    if seen is not None:
        for page in chunk:
            seen[page.source].add(page.page_id)


def _add(total: dict, reconciled: dict) -> None:
    for key, count in reconciled["reconciled"].items():
        total["reconciled"][key] = total["reconciled"].get(key, 0) + count
    total["pages_reconciled"] += reconciled["pages_reconciled"]
    total["duplicates_flagged"] += reconciled["duplicates_flagged"]


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
    full_read: bool = False,
) -> dict:
    """source 'api' (token, data_sources) or 'export' (export_path). Returns what was read and
    staged, the reconciliation (counts per database, outcome and rule), the records brought up to
    date, and the report."""
    data_sources = _check_source(source, token, token_source, data_sources, export_path)
    started = time.monotonic()
    conn = db.connect(params)
    staged = {"new": 0, "changed": 0, "unchanged": 0}
    responses = 0
    seen = _seen(data_sources)
    gone = {"gone": 0, "back": 0}
    try:
        db.acquire_run_lock(conn, db.describe(params), lock_wait_seconds)
        halts.require_not_halted(conn, "The Notion sync")
        _require_staging(conn)
        reading = (token, token_source, data_sources, export_path, requests_per_second, base_url, full_read)
        reconciling_from = conn.execute("SELECT now()").fetchone()[0]
        reconciled = {"reconciled": {}, "pages_reconciled": 0, "duplicates_flagged": 0}
        for chunk in _read(conn, source, *reading):
            responses += 1
            _note(seen, chunk)
            for key, count in stage(conn, chunk).items():
                staged[key] += count
            # each response (or file) reconciled as it is staged: the rate limit holds the next request
            # back meanwhile, and a read cut short leaves nothing staged waiting
            _add(reconciled, reconcile(conn))
        if seen:  # every data source was read to its end (a read cut short raised before this)
            gone = mark_gone(conn, seen, full_read)
        # the legacy tables whose rows a page reconciled now is matched to: their records' winners may change
        matched_to = {
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT legacy_table FROM migration.notion_pages WHERE reconciled_at >= %s "
                "AND outcome = 'matched'",
                [reconciling_from],
            )
        }
        found = report(conn)
    finally:
        if not conn.closed:
            db.release_run_lock(conn)
            conn.close()
    records = [
        _records(params, m, batch_size, lock_wait_seconds, record_migrations, matched_to) for m in record_migrations
    ]
    read = sum(staged.values())
    return {
        "source": source,
        "requests" if source == "api" else "files": responses,
        "pages_read": read,
        "staged": staged,
        "full_read": bool(seen) and full_read,
        "pages_gone": gone,
        "changed": staged["new"]
        + staged["changed"]
        + gone["gone"]
        + gone["back"]
        + reconciled["pages_reconciled"]
        + reconciled["duplicates_flagged"]
        + sum(r["changes"] + r.get("batches", 0) for r in records),
        "reconciliation": reconciled,
        "records": records,
        "report": found,
        "seconds": round(time.monotonic() - started, 2),
    }


STAGED = "migration.notion_pages"


def _records(
    params: dict, migration: ModuleType, batch_size: int, lock_wait_seconds: float, every: list, matched_to: set
) -> dict:
    """The records of the Notion-only pages, and those taking Notion's winning values, brought up to
    date by their data migration once Phase 3 has run it (a sync before that leaves them to Phase 3).
    A migration of a legacy table is synced only when a page reconciled now is matched to that table
    (the phases' syncs follow the legacy edits). The other migrations of its legacy table (among
    `every`) repair its discrepancies with it."""
    with db.connect(params) as conn:
        state = data_migrate.status(conn, migration.NAME)["status"]
    if state != "completed":
        return {"data_migration": migration.NAME, "status": state, "changes": 0, "note": "Phase 3 runs it"}
    if migration.LEGACY_TABLE != STAGED and migration.LEGACY_TABLE not in matched_to:
        return {"data_migration": migration.NAME, "status": state, "changes": 0, "note": "no page matched to it now"}
    same_table = [m for m in every if m.LEGACY_TABLE == migration.LEGACY_TABLE and m.NAME != migration.NAME]
    # A staged page's reconciled_at is this sync's own, committed before: no margin. A legacy table
    # is written by the application, whose transaction may commit after the sync's `until`: the
    # engine's default margin, as every other sync of it reads.
    margin = {"margin_seconds": 0} if migration.LEGACY_TABLE == STAGED else {}
    result = data_sync.sync(
        params, migration, batch_size, lock_wait_seconds=lock_wait_seconds, same_table=same_table, **margin
    )
    # changes: what the sync changed in records migrated before; batches: the new pages it migrated
    return {
        "data_migration": migration.NAME,
        "status": result["status"],
        "changes": result["changes_this_run"],
        "batches": result["batches_this_run"],
        "migrated": result["migrated"],
        "quarantined": result["quarantined"],
        "rows_refused": result["rows_refused"],  # their new version refused: logged, tried again next sync
        "refused": result["refused"],
    }
