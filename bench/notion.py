"""Notion, against baselines measured in the same run:
1. API: 10,000 pages through the local Notion server, which holds clients to 3 requests per second
   as Notion does (a 429 for a request over it): the sync takes at most 1.15x the rate bound
   (pages / 100 per request / 3 per second), and no request goes over the budget;
2. export: 100,000 exported rows staged, reconciled and created in the new design (records and
   persons) at least 0.5x the throughput of the PostgreSQL record migration (0003) of as many
   legacy rows; also printed against 0003 with its persons (0001), the same kinds of rows.
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
import time
from pathlib import Path

from bayview_runbook.engine import (
    DATA_MIGRATIONS,
    SQL_MIGRATIONS,
    data_migrate,
    data_migrations,
    migrate,
    notion_sync,
)
from bayview_runbook.notion_local import NotionServer
from bench.common import engine_params, legacy_cluster, report, report_at_least

API_PAGES = 10_000
RATE = 3.0
EXPORT_ROWS = 100_000
TOKEN = "bench-" + "t" * 24  # the local server's made-up token
MEMORIAL_DS, CHAPEL_DS = "bench-memorial-garden", "bench-chapel"


def _export(path: Path, rows: int) -> None:
    """A memorial garden export of Notion-only applications, as the forms wrote them."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(
        [
            "Submission ID",
            "Application Type",
            "Contact Email",
            "Contact Name",
            "Deceased Name",
            "Fee Amount",
            "Service Date",
            "Status",
            "Submission Date",
            "Placement Type",
        ]
    )
    for n in range(rows):
        writer.writerow(
            [
                f"MG-{1768000000000 + n * 1000}",
                "Immediate" if n % 3 else "immediate",
                f"c{n}@example.org",
                f"Contact, {n}",
                f'Person "{n}"',
                "$450.00",
                "June 2, 2026",
                "Submitted",
                "January 8, 2026 10:40 AM",
                "Single",
            ]
        )
    path.write_text("\ufeff" + out.getvalue(), encoding="utf-8")


def run() -> bool:
    ok = True
    with legacy_cluster(EXPORT_ROWS) as (cluster, dbname):
        params = engine_params(cluster, dbname)
        migrate.run(params, SQL_MIGRATIONS, None, 2, "bench", "bench", check_mode=False)
        # What a Notion sync brings up to date (bayview_notion_record_migrations): the migrations that
        # take Notion's winning values, and those that create the Notion-only records and their persons.
        notion_only = [
            data_migrations.load(DATA_MIGRATIONS, n) for n in data_migrations.names(DATA_MIGRATIONS) if "_notion_" in n
        ]
        for migration in notion_only:  # Phase 3 ran them before anything was staged
            data_migrate.run(params, migration)

        # The baseline: the PostgreSQL record migration of as many legacy rows; and, for comparison,
        # with its persons (0001), which the Notion path creates too (0026).
        record, persons = (
            data_migrations.load(DATA_MIGRATIONS, n) for n in ("0003_memorial_applications", "0001_memorial_persons")
        )
        started = time.perf_counter()
        legacy = data_migrate.run(params, record)
        record_seconds = time.perf_counter() - started
        legacy_rate = legacy["rows_read"] / record_seconds
        started = time.perf_counter()
        data_migrate.run(params, persons)
        whole_rate = legacy["rows_read"] / (record_seconds + time.perf_counter() - started)
        records = [record, persons, *notion_only]  # in their dependency order, as the play passes them

        work = Path(tempfile.mkdtemp(prefix="bayview-bench-notion-"))
        try:
            export = work / "Memorial Garden Applications 1a2b.csv"
            _export(export, EXPORT_ROWS)
            started = time.perf_counter()
            result = notion_sync.sync(params, "export", export_path=str(export), record_migrations=records)
            seconds = time.perf_counter() - started
        finally:
            shutil.rmtree(work, ignore_errors=True)
        made = {r["data_migration"]: r for r in result["records"]}
        created = made["0024_notion_memorial_applications"]["migrated"] == EXPORT_ROWS
        created &= made["0026_notion_memorial_persons"]["migrated"] >= EXPORT_ROWS  # a contact and a deceased each
        print(
            f"export: {result['pages_read']:,} rows staged, reconciled and created in {seconds:.1f}s "
            f"({result['pages_read'] / seconds:,.0f} rows/s; record migration 0003 {legacy_rate:,.0f} rows/s, "
            f"0003 and its persons 0001 {whole_rate:,.0f} rows/s: ratio {(EXPORT_ROWS / seconds) / whole_rate:.2f})"
        )
        ok &= created and result["pages_read"] == EXPORT_ROWS
        ok &= report_at_least(
            "export throughput",
            (EXPORT_ROWS / seconds) / legacy_rate,
            0.5,
            "Notion export / PostgreSQL record migration",
        )

        with NotionServer(TOKEN) as server:
            state = server.state
            for n in range(API_PAGES):
                state.add(
                    MEMORIAL_DS,
                    {
                        "Submission ID": f"MG-{1790000000000 + n}",
                        "Application Type": "Immediate",
                        "Fee Amount": 450,
                        "Service Date": "2026-06-02",
                    },
                    last_edited_time=f"2026-02-{1 + n % 28:02d}T10:00:00.000Z",
                )
            state.add(
                CHAPEL_DS,
                {
                    "Application ID": "CHAPEL-1790000000000",
                    "Type": "Wedding",
                    "Service Date": "2026-07-11",
                    "Service Time": "2pm",
                    "Status": "Pending",
                },
            )
            state.rate_limit = RATE
            started = time.perf_counter()
            result = notion_sync.sync(
                params,
                "api",
                token=TOKEN,
                token_source="the bench's token",  # noqa: S106 - a name
                data_sources={"memorial_garden": MEMORIAL_DS, "chapel": CHAPEL_DS},
                requests_per_second=RATE,
                base_url=server.base_url,
                record_migrations=records,
            )
            seconds = time.perf_counter() - started
        pages = result["pages_read"]
        bound = pages / 100 / RATE
        print(
            f"API: {pages:,} pages in {result['requests']} requests, {seconds:.1f}s; "
            f"{state.over_budget} requests over the budget"
        )
        ok &= pages == API_PAGES + 1
        ok &= report("API sync", seconds, bound, "the rate bound (pages / 100 / 3 per second)", 1.15)
        within = state.over_budget == 0
        print(f"requests over the budget: {state.over_budget} (target 0) {'PASS' if within else 'FAIL'}")
        ok &= within
    return bool(ok)


if __name__ == "__main__":
    raise SystemExit(0 if run() else 1)
