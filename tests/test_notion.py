"""Notion: staged raw, reconciled with the legacy rows, and its Notion-only pages created in the
new design. The real notion-client SDK talks to a local server that answers Notion's documented
shapes (bayview_runbook/notion_local.py); exports are real zips and CSV files with hostile cells."""

from __future__ import annotations

import csv
import io
import re
import time
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from ansible.module_utils.bayview import data_migrate, data_migrations, data_sync, migrate, notion_sync, validate
from ansible.module_utils.bayview.errors import RunbookError
from conftest import MIGRATIONS, ROOT, run_playbook

from bayview_runbook import notion_local
from bayview_runbook.notion_local import NotionServer

DATA = ROOT / "migrations" / "data"
# The Notion-only records, their persons and their details, as bayview_notion_record_migrations picks them.
RECORDS = [data_migrations.load(DATA, n) for n in data_migrations.names(DATA) if "_notion_" in n]
BY_NAME = {m.NAME: m for m in RECORDS}
TOKEN = "secret_" + "x" * 20  # a made-up integration secret: never shown anywhere
MEMORIAL_DS, CHAPEL_DS = "11111111-2222-3333-4444-555555555555", "66666666-7777-8888-9999-000000000000"
BOM = "\ufeff"


@pytest.fixture
def phase2_db(legacy_db):
    migrate.run(legacy_db.params(), MIGRATIONS, None, 2, "test", "r", check_mode=False)
    return legacy_db


def legacy(db, sql: str, params=None):
    """A legacy row as the web application wrote it (the test plays the application)."""
    return db.scalar(sql, params)


def memorial(db, submission_id: str, notion_id: str = "", service_date: str | None = None) -> int:
    return legacy(
        db,
        "INSERT INTO bayview.memorials (submission_id, first_name, last_name, application_type, contact_name, "
        "contact_email, notion_id, service_date) VALUES (%s, 'Ada', 'Lovelace', 'immediate', 'Byron', "
        "'byron@example.org', %s, %s) RETURNING id",
        [submission_id, notion_id, service_date],
    )


def chapel(db, service_date: str, status: str = "pending", notion_id: str = "") -> int:
    return legacy(
        db,
        "INSERT INTO crouse_chapel.service_applications (application_type, service_date, service_time, "
        "contact_name, contact_phone, contact_email, status, notion_id) VALUES ('wedding', %s, '11:00', 'Kit', "
        "'555-0100', 'kit@example.org', %s, %s) RETURNING id",
        [service_date, status, notion_id],
    )


def csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return (BOM + out.getvalue()).encode("utf-8")


MEMORIAL_HEADER = [
    "Submission ID",
    "Application Type",
    "Contact Email",
    "Contact Name",
    "Database ID",
    "Deceased Name",
    "Fee Amount",
    "Service Date",
    "Status",
    "Submission Date",
]
CHAPEL_HEADER = ["Application ID", "Database ID", "Service Date", "Service Time", "Status", "Type", "Notes"]


def sync_export(db, path) -> dict:
    return notion_sync.sync(db.params(), "export", export_path=str(path), record_migrations=RECORDS)


def pages(db) -> dict[str, tuple]:
    return {
        r[0]: r[1:]
        for r in db.query(
            "SELECT page_key, outcome, match_rule, legacy_table, legacy_id, duplicate_of, reason "
            "FROM migration.notion_pages ORDER BY id"
        )
    }


# What the forms and the API wrote, as the views read it (migration 0016's readers, 0019's of a moment);
# None: unreadable.
READ = [
    ("notion_date", "2026-01-05", "2026-01-05"),
    ("notion_date", "2026-01-05T10:40:00.000Z", "2026-01-05"),
    ("notion_date", "January 5, 2026", "2026-01-05"),
    ("notion_date", "FEBRUARY 29, 2024 10:40 AM", "2024-02-29"),
    ("notion_date", "February 29, 2026", None),
    ("notion_date", "2026-13-01", None),
    ("notion_date", "0000-01-01", None),
    ("notion_date", "Febuary 3, 2026", None),
    ("notion_date", "January 5 2026", None),
    ("notion_date", "Sometime in June", None),
    ("notion_time", "2pm", "14:00:00"),
    ("notion_time", " 2:05 P.M. ", "14:05:00"),
    ("notion_time", "12:00 am", "00:00:00"),
    ("notion_time", "12 PM", "12:00:00"),
    ("notion_time", "9:30\tam", "09:30:00"),
    ("notion_time", "14:00", "14:00:00"),
    ("notion_time", "7:05:09", "07:05:09"),
    ("notion_time", "13:00 PM", None),
    ("notion_time", "0 am", None),
    ("notion_time", "10:60 am", None),
    ("notion_time", "24:00", None),
    ("notion_time", "14:00:60", None),
    ("notion_time", "noon", None),
    ("notion_timestamp", "2026-01-05T10:40:00.000Z", "2026-01-05 10:40:00+00"),
    ("notion_timestamp", "2026-01-05T10:40+02:00", "2026-01-05 08:40:00+00"),
    ("notion_timestamp", "2026-07-05T10:40:30", "2026-07-05 14:40:30+00"),  # Bay View's zone, in summer
    ("notion_timestamp", "January 5, 2026 10:40 AM", "2026-01-05 15:40:00+00"),
    ("notion_timestamp", "January 5, 2026", "2026-01-05 05:00:00+00"),
    ("notion_timestamp", "2026-01-05", "2026-01-05 05:00:00+00"),  # the API's date without a time
    ("notion_timestamp", "January 5, 2026 14:00", "2026-01-05 19:00:00+00"),
    ("notion_timestamp", "January 5, 2026 10:61 PM", None),  # not midnight: the time is unreadable
    ("notion_timestamp", "January 5, 2026 at noon", None),
    ("notion_timestamp", "2026-01-05 10:40", None),
    ("notion_timestamp", "2026-01-05T24:00", None),
    ("notion_timestamp", "2026-01-05T10:40:61Z", None),
    ("notion_timestamp", "2026-01-05T10:40+15", None),
    ("notion_timestamp", "Sometime in June", None),
]


def test_dates_times_and_moments_are_read_as_the_forms_and_the_api_wrote_them_and_nothing_else(phase2_db):
    shown = {  # a moment in UTC, whatever the session's zone
        "notion_timestamp": "to_char(migration.notion_timestamp(%s) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS+00')"
    }
    got = [phase2_db.scalar("SELECT " + shown.get(f, f"migration.{f}(%s)::text"), [value]) for f, value, _ in READ]
    assert got == [expected for _, _, expected in READ]


def test_an_export_is_staged_raw_reconciled_by_every_rule_and_its_notion_only_pages_become_records(phase2_db, tmp_path):
    db = phase2_db
    by_title = memorial(db, "MG-1767000000000", service_date="2026-06-01")
    by_id = memorial(db, "MG-1767000000111")
    conflicted = memorial(db, "MG-1767000000222")
    prepayment = legacy(
        db,
        "INSERT INTO bayview.prepayments (id, payer_name, amount) VALUES (%s, 'Pre Payer', 100) RETURNING id",
        [by_id],  # the same number as an immediate application's id: only Application Type tells them apart
    )
    service = chapel(db, "2026-07-04")
    other_service = chapel(db, "2026-07-05")
    memorial_rows = [
        # matched by title; its service date differs (Notion edited it): a difference, legacy wins (an export has
        # no edit time)
        [
            "MG-1767000000000",
            "Immediate",
            "byron@example.org",
            "Byron",
            "",
            "Ada Lovelace",
            "$450.00",
            "June 2, 2026",
            "Submitted",
            "January 5, 2026 10:40 AM",
        ],
        # matched by Database ID as a memorial (immediate)
        ["MG-1767000000111", "immediate", "", "Byron", str(by_id), "Ada", "", "", "Submitted", ""],
        # the same Database ID, future: a prepayment, not the memorial
        ["MG-1767000000333", "Future", "", "Pre Payer", str(prepayment), "", "", "", "Submitted", ""],
        # matched by id, but the title names another record: a conflict
        ["MG-1767000000999", "Immediate", "", "", str(conflicted), "", "", "", "Submitted", ""],
        # Notion-only, with hostile cells, and its retry four minutes later
        [
            "MG-1768000000000",
            "Immediate",
            "zoë@example.org",
            'Zoë "Z" O\'Brien, Jr.',
            "",
            "Ben 🌷\nBen",
            "1,200.50",
            "",
            "Submitted",
            "January 8, 2026",
        ],
        [
            "MG-1768000240000",
            "immediate",
            "zoë@example.org",
            'Zoë "Z" O\'Brien, Jr.',
            "",
            "Ben 🌷\nBen",
            "1,200.50",
            "",
            "Submitted",
            "January 8, 2026",
        ],
        # an unreadable date: quarantined with the value
        ["MG-1769000000000", "Immediate", "", "Someone", "", "", "", "Sometime in June", "Submitted", ""],
    ]
    chapel_rows = [
        [str(service), "", "July 4, 2026", "11:00 AM", "Approved", "wedding", ""],  # by title; status differs
        ["CHAPEL-1770000000000", str(other_service), "July 5, 2026", "11:00", "Pending Review", "Wedding", ""],
        [str(service), str(other_service), "July 4, 2026", "2pm", "Pending", "Wedding", ""],  # a conflict (#2)
        ["CHAPEL-1771000000000", "", "August 1, 2026", "2:00 PM", "Pending Review", "General Use", 'a, "b"'],
        ["CHAPEL-1772000000000", "", "", "", "Pending", "baptism", ""],  # no date: quarantined
    ]
    export = tmp_path / "Export-abc.zip"
    with zipfile.ZipFile(export, "w") as archive:
        archive.writestr("Memorial Garden Applications 1a2b.csv", csv_bytes(MEMORIAL_HEADER, memorial_rows))
        archive.writestr("Chapel Services 3c4d.csv", csv_bytes(CHAPEL_HEADER, chapel_rows))

    # Phase 3 ran the Notion record migrations before any page was staged: they completed with nothing.
    for migration in RECORDS:
        assert data_migrate.run(db.params(), migration)["status"] == "completed"
    result = sync_export(db, export)
    assert result["pages_read"] == 12 and result["staged"]["new"] == 12

    got = pages(db)
    assert got["MG-1767000000000"][:4] == ("matched", "title", "bayview.memorials", by_title)
    assert got["MG-1767000000111"][:4] == ("matched", "database_id", "bayview.memorials", by_id)
    assert got["MG-1767000000333"][:4] == ("matched", "database_id", "bayview.prepayments", prepayment)
    assert got["MG-1767000000999"][0] == "quarantined" and "conflict" in got["MG-1767000000999"][5]
    assert "MG-1767000000222" in got["MG-1767000000999"][5]
    assert got["MG-1768000000000"][:2] == ("created", None) and got["MG-1768000000000"][4] is None
    assert got["MG-1768000240000"][0] == "created" and got["MG-1768000240000"][4] == "MG-1768000000000"
    assert got["MG-1769000000000"][0] == "quarantined"
    assert "Service Date 'Sometime in June' is not a date" in got["MG-1769000000000"][5]
    assert got[str(service)][:4] == ("matched", "title", "crouse_chapel.service_applications", service)
    assert got["CHAPEL-1770000000000"][:2] == ("matched", "database_id")
    assert got[f"{service} #2"][0] == "quarantined" and "conflict" in got[f"{service} #2"][5]
    assert got["CHAPEL-1771000000000"][0] == "created"
    assert got["CHAPEL-1772000000000"][0] == "quarantined"
    assert "no Service Date" in got["CHAPEL-1772000000000"][5]

    # Staged exactly as exported: the byte-order mark gone, commas, quotes, newlines and emoji kept.
    raw = db.scalar("SELECT properties FROM migration.notion_pages WHERE page_key = 'MG-1768000000000'")
    assert raw["Contact Name"] == 'Zoë "Z" O\'Brien, Jr.' and raw["Deceased Name"] == "Ben 🌷\nBen"
    assert "Submission ID" in raw and not any(k.startswith(BOM) for k in raw)

    differences = db.query(
        "SELECT p.page_key, d.field, d.notion_value, d.legacy_value, d.winner FROM migration.notion_differences d "
        "JOIN migration.notion_pages p ON p.id = d.notion_page_id ORDER BY 1, 2"
    )
    assert ("MG-1767000000000", "service_date", "2026-06-02", "2026-06-01", "legacy") in differences
    assert (str(service), "status", "approved", "pending", "legacy") in differences

    # The Notion-only pages are records of the new design now, linked to their staged page.
    created = db.query(
        "SELECT submission_id, fee, submitted_at::date::text FROM property.memorial_applications "
        "WHERE legacy_table = 'migration.notion_pages' ORDER BY 1"
    )
    assert created == [("MG-1768000000000", 1200.50, "2026-01-08"), ("MG-1768000240000", 1200.50, "2026-01-08")]
    services = db.query(
        "SELECT service_type, service_date::text, service_time::text, status FROM events.chapel_services "
        "WHERE legacy_table = 'migration.notion_pages'"
    )
    assert services == [("general_use", "2026-08-01", "14:00:00", "pending")]
    # ... with their persons, by role.
    people = db.query(
        "SELECT rp.role, p.first_name, p.last_name, p.email FROM core.record_persons rp "
        "JOIN core.persons p ON p.id = rp.person_id JOIN property.memorial_applications a ON a.id = rp.record_id "
        "WHERE rp.record_table = 'property.memorial_applications' AND a.submission_id = 'MG-1768000000000' ORDER BY 1"
    )
    assert people == [("contact", 'Zoë "Z" O\'Brien,', "Jr.", "zoë@example.org"), ("deceased", "Ben 🌷", "Ben", None)]
    assert result["report"]["quarantined"] == 4 and result["report"]["probable_duplicates"] == 1

    # Check mode reads and compares, and writes nothing; then reading again changes nothing.
    planned = notion_sync.plan(db.params(), "export", export_path=str(export))
    assert planned["would_stage"] == {"new": 0, "changed": 0, "unchanged": 12}
    again = sync_export(db, export)
    assert again["staged"] == {"new": 0, "changed": 0, "unchanged": 12} and again["changed"] == 0

    # Every created record validates against its staged raw value.
    checked = validate.validate(db.params(), RECORDS, None, "test")
    assert checked["passed"], checked

    # The legacy tables were only read.
    assert db.scalar("SELECT count(*) FROM bayview.memorials WHERE submission_id LIKE 'MG-1768%'") == 0

    # The values views read the same in a parallel plan (a large staging table's): nothing they call
    # may start a subtransaction there (0010's date readers did).
    with db.connect() as conn:
        conn.execute("SET force_parallel_mode = on")
        for view in ("migration.notion_memorial_values", "migration.notion_chapel_values"):
            assert conn.execute(f"SELECT count(problem) FROM {view}").fetchone()[0] > 0


def api_sync(db, server, **kwargs) -> dict:
    return notion_sync.sync(
        db.params(),
        "api",
        token=kwargs.pop("token", TOKEN),
        token_source="the NOTION_TOKEN environment variable",  # noqa: S106 - where it came from, not a token
        data_sources={"memorial_garden": MEMORIAL_DS, "chapel": CHAPEL_DS},
        base_url=server.base_url,
        requests_per_second=kwargs.pop("rate", 50),
        **({"record_migrations": RECORDS} | kwargs),
    )


def test_the_api_is_read_page_by_page_through_a_429_and_a_502_and_an_edited_page_is_reconciled_again(phase2_db):
    db = phase2_db
    matched = memorial(db, "MG-1767000000000", notion_id="")
    with NotionServer(TOKEN) as server:
        state = server.state
        first = state.add(
            MEMORIAL_DS,
            {"Submission ID": "MG-1767000000000", "Application Type": "Immediate", "Database ID": str(matched)},
            last_edited_time="2026-01-05T15:40:00.000Z",
        )
        for n in range(249):  # three responses of at most 100 pages
            state.add(
                MEMORIAL_DS,
                {
                    "Submission ID": f"MG-17690000{n:05d}",
                    "Application Type": "immediate",
                    "Fee Amount": 450,
                    "Service Date": "2026-06-01",
                    "Contact Email": f"c{n}@example.org",
                    "Deceased Name": f"Person {n}",
                },
                last_edited_time=f"2026-02-01T10:{n % 60:02d}:00.000Z",
            )
        state.add(
            CHAPEL_DS,
            {
                "Application ID": "CHAPEL-1770000000000",
                "Type": "Wedding",
                "Service Date": "2026-07-11",
                "Service Time": "2:00 PM",
                "Status": "Pending Review",
            },
            last_edited_time="2026-02-02T09:00:00.000Z",
        )
        for migration in RECORDS:
            data_migrate.run(db.params(), migration)
        state.faults = [(429, {"Retry-After": "1"}), (502, {})]
        result = api_sync(db, server)
        assert result["pages_read"] == 251 and result["staged"]["new"] == 251
        # 3 + 1 responses, and the two refused requests tried again
        assert result["requests"] == 4 and len(state.requests) == 6
        waited = state.requests[1][0] - state.requests[0][0]
        assert waited >= 1.0, "the 429's Retry-After was not honoured"
        assert all(r[2]["page_size"] == 100 for r in state.requests)
        assert (
            db.scalar(
                "SELECT count(*) FROM property.memorial_applications WHERE legacy_table = 'migration.notion_pages'"
            )
            == 249
        )
        assert pages(db)["MG-1767000000000"][:2] == ("matched", "database_id")
        # The staged page is the API's page object as read.
        staged = db.scalar("SELECT properties FROM migration.notion_pages WHERE page_id = %s", [first["id"]])
        assert staged == first["properties"]

        # Nothing changed in Notion: the incremental read asks only for what was edited since, and stages nothing.
        state.requests.clear()
        again = api_sync(db, server)
        assert again["changed"] == 0 and again["staged"]["new"] == again["staged"]["changed"] == 0
        assert state.requests[0][2]["filter"]["timestamp"] == "last_edited_time"

        # Staff edit a page in Notion: it is re-staged, re-reconciled and its record brought up to date.
        edited = state.pages[MEMORIAL_DS][5]
        edited["properties"]["Fee Amount"]["number"] = 500
        edited["last_edited_time"] = "2026-03-01T12:00:00.000Z"
        third = api_sync(db, server)
        assert third["staged"]["changed"] == 1 and third["reconciliation"]["reconciled"] == {
            "memorial_garden created": 1
        }
        title = edited["properties"]["Submission ID"]["title"][0]["plain_text"]
        assert db.scalar("SELECT fee FROM property.memorial_applications WHERE submission_id = %s", [title]) == 500


def test_a_refused_token_is_named_by_its_source_never_shown_and_nothing_is_staged(phase2_db):
    db = phase2_db
    with NotionServer(TOKEN) as server:
        server.state.add(MEMORIAL_DS, {"Submission ID": "MG-1"})
        server.state.add(CHAPEL_DS, {"Application ID": "1"})
        with pytest.raises(RunbookError) as refused:
            api_sync(db, server, token="secret_wrong_" + "y" * 10)
    message = str(refused.value) + " " + refused.value.next_step
    assert "NOTION_TOKEN environment variable" in message and "401" in message
    assert "secret_wrong" not in message and TOKEN not in message
    assert db.scalar("SELECT count(*) FROM migration.notion_pages") == 0


def test_an_export_with_an_unknown_first_column_is_refused_before_anything_is_staged(phase2_db, tmp_path):
    export = tmp_path / "view.csv"
    export.write_bytes(csv_bytes(["Name", "Status"], [["x", "y"]]))
    with pytest.raises(RunbookError, match="neither the memorial garden database"):
        sync_export(phase2_db, export)
    assert phase2_db.scalar("SELECT count(*) FROM migration.notion_pages") == 0


@pytest.mark.e2e  # two playbook runs (a minute): make e2e (and CI after make test) runs it
def test_the_playbook_syncs_an_export_and_the_emergency_rollback_removes_what_the_sync_made(dual_db, tmp_path):
    db = dual_db  # Phases 1 and 2 done by their playbooks: migration 0010_notion is applied
    store_arg = f"restore_point_store=file://{tmp_path / 'store'}"
    legacy_before = db.pg_dump("bayview", "crouse_chapel")
    refused = run_playbook(db, "notion_sync.yml")
    assert refused.returncode != 0 and "Nothing to read" in refused.stdout, refused.output[-3000:]

    export = tmp_path / "export"
    export.mkdir()
    (export / "Memorial Garden Applications 1a2b_all.csv").write_bytes(
        csv_bytes(MEMORIAL_HEADER, [["MG-1768000000000", "Immediate", "", "Jo", "", "Ben", "$450.00", "", "", ""]])
    )
    (export / "Memorial Garden Applications 1a2b.csv").write_bytes(csv_bytes(MEMORIAL_HEADER, []))  # a view
    (export / "Chapel Services 3c4d.csv").write_bytes(
        csv_bytes(
            DETAIL_HEADER, [detail_row("CHAPEL-1770000000000", "wedding", "July 5, 2026", Couple_Names="Jo & Al")]
        )
    )
    synced = run_playbook(db, "notion_sync.yml", "-e", f"notion_export={export}")
    assert synced.returncode == 0, synced.output[-4000:]
    assert "memorial_garden created: 1" in synced.stdout and "chapel created: 1" in synced.stdout
    assert db.scalar("SELECT count(*) FROM migration.notion_pages WHERE outcome = 'created'") == 2

    # Phase 3 creates their records (here its data migrations alone, as it runs them).
    migrated = {m.NAME: data_migrate.run(db.params(), m)["migrated"] for m in RECORDS}
    # the application; the service; the deceased and contact; no chapel contact; the wedding's details;
    # no other detail, payment, acknowledgment, music, musician, equipment, clergy or note
    assert list(migrated.values()) == [1, 1, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    assert db.scalar("SELECT count(*) FROM events.chapel_services WHERE legacy_table = 'migration.notion_pages'") == 1

    # Rolling back Notion's migration takes the records the sync made with it, then the staged pages.
    rollback = run_playbook(db, "emergency_rollback.yml", "-e", "target_version=9", "-e", store_arg)
    assert rollback.returncode == 0, rollback.output[-4000:]
    # Every data migration reversed in one call, last first, and the report names them.
    reported = rollback.stdout.partition("Data migrations reversed:")[2].partition("Rolled back:")[0]
    named = re.findall(r"\d{4}_\w+", reported)
    assert named == list(reversed(data_migrations.names(ROOT / "migrations" / "data"))), reported
    assert db.scalar("SELECT to_regclass('migration.notion_pages')") is None
    assert db.scalar("SELECT count(*) FROM property.memorial_applications") == 0
    assert db.scalar("SELECT count(*) FROM events.chapel_services") == 0
    assert db.pg_dump("bayview", "crouse_chapel") == legacy_before


def test_two_pages_of_one_title_keep_their_own_staged_rows_whatever_order_they_come_in(phase2_db):
    db = phase2_db
    with NotionServer(TOKEN) as server:
        state = server.state
        first = state.add(
            MEMORIAL_DS, {"Submission ID": "MG-1", "Fee Amount": 1}, last_edited_time="2026-02-01T10:00:00Z"
        )
        second = state.add(
            MEMORIAL_DS, {"Submission ID": "MG-1 ", "Fee Amount": 2}, last_edited_time="2026-02-01T11:00Z"
        )
        state.pages[CHAPEL_DS] = []
        api_sync(db, server)
        keys = dict(db.query("SELECT page_id, page_key FROM migration.notion_pages"))
        assert keys == {first["id"]: "MG-1", second["id"]: f"MG-1 #{second['id']}"}
        first["properties"]["Fee Amount"]["number"] = 3  # edited: now it comes after the other
        first["last_edited_time"] = "2026-02-02T10:00:00.000Z"
        result = api_sync(db, server)
        assert result["staged"] == {"new": 0, "changed": 1, "unchanged": 1}
        assert dict(db.query("SELECT page_id, page_key FROM migration.notion_pages")) == keys


RECORD_MIGRATIONS = [
    data_migrations.load(DATA, n)
    for n in ("0003_memorial_applications", "0004_chapel_services", "0001_memorial_persons", "0002_chapel_persons")
]


def notion_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def test_a_page_edited_in_notion_after_its_legacy_row_gives_the_record_notion_s_winning_values(phase2_db):
    db = phase2_db
    kept = memorial(db, "MG-1767000000001", service_date="2026-05-01")
    legacy(db, "UPDATE bayview.memorials SET celebrant_requested = 'Rev. Ames' WHERE id = %s RETURNING id", [kept])
    service = chapel(db, "2026-06-06", status="pending")
    approved = chapel(db, "2026-06-07", status="approved")
    for migration in RECORD_MIGRATIONS:
        data_migrate.run(db.params(), migration)
    # Staff edited the pages in Notion after the legacy rows were last written.
    edited = datetime.now(UTC) + timedelta(seconds=2)
    with NotionServer(TOKEN) as server:
        server.state.add(
            MEMORIAL_DS,
            # no Celebrant Requested: an empty Notion value, which must not blank the legacy one
            {
                "Submission ID": "MG-1767000000001",
                "Application Type": "Immediate",
                "Service Date": "2026-05-15",
                "Contact Email": "Byron.New@example.org",
            },
            last_edited_time=notion_time(edited),
        )
        server.state.add(
            CHAPEL_DS,
            {
                "Application ID": str(service),
                "Database ID": str(service),
                "Type": "Wedding",
                "Service Date": "2026-06-06",
                "Service Time": "11:00 AM",
                "Status": "Approved",
            },
            last_edited_time=notion_time(edited),
        )
        # its Status cleared in Notion: an empty value, which must not set an approved service back to pending
        server.state.add(
            CHAPEL_DS,
            {
                "Application ID": str(approved),
                "Database ID": str(approved),
                "Type": "Wedding",
                "Service Date": "2026-06-07",
                "Service Time": "11:00 AM",
            },
            last_edited_time=notion_time(edited),
        )
        result = api_sync(db, server, record_migrations=[*RECORD_MIGRATIONS, *RECORDS])
    assert result["reconciliation"]["reconciled"] == {
        "memorial_garden matched by title": 1,
        "chapel matched by database_id": 2,
    }, result
    assert db.scalar("SELECT status FROM events.chapel_services WHERE legacy_id = %s", [approved]) == "approved"
    assert db.query(
        "SELECT field, notion_value, legacy_value, winner, rule FROM migration.notion_differences "
        "ORDER BY field, legacy_value"
    ) == [
        (
            "celebrant",
            None,
            "Rev. Ames",
            "legacy",
            "edited last; an empty Notion value never blanks a legacy one: legacy",
        ),
        ("contact_email", "byron.new@example.org", "byron@example.org", "notion", "edited last"),
        (
            "contact_email",
            None,
            "kit@example.org",
            "legacy",
            "edited last; an empty Notion value never blanks a legacy one: legacy",
        ),
        (
            "contact_email",
            None,
            "kit@example.org",
            "legacy",
            "edited last; an empty Notion value never blanks a legacy one: legacy",
        ),
        ("service_date", "2026-05-15", "2026-05-01", "notion", "edited last"),
        (
            "status",
            None,
            "approved",
            "legacy",
            "edited last; an empty Notion value never blanks a legacy one: legacy",
        ),
        ("status", "approved", "pending", "notion", "edited last"),
    ]

    # The records take Notion's winning values, the rest stays as the legacy rows say; the legacy rows
    # are unchanged, and validation (which reads the same transform) agrees with the records.
    assert db.query(
        "SELECT service_date::text, celebrant FROM property.memorial_applications WHERE legacy_id = %s", [kept]
    ) == [("2026-05-15", "Rev. Ames")]
    assert db.scalar("SELECT status FROM events.chapel_services WHERE legacy_id = %s", [service]) == "approved"
    contacts = (
        "SELECT p.email FROM core.persons p JOIN core.person_legacy_links l ON l.person_id = p.id "
        "WHERE l.legacy_table = %s AND l.legacy_id = %s AND l.role = 'contact'"
    )
    assert db.query(contacts, ["bayview.memorials", kept]) == [("byron.new@example.org",)]
    assert db.query(contacts, ["crouse_chapel.service_applications", service]) == [("kit@example.org",)]
    assert db.scalar("SELECT service_date::text FROM bayview.memorials WHERE id = %s", [kept]) == "2026-05-01"
    assert db.scalar("SELECT status FROM crouse_chapel.service_applications WHERE id = %s", [service]) == "pending"
    checked = validate.validate(db.params(), RECORD_MIGRATIONS, None, "test")
    assert checked["passed"], checked

    # The application then edits the legacy memorial: it is now the side edited last, and the next sync
    # gives its record the legacy value again.
    time.sleep(max(0.0, (edited - datetime.now(UTC)).total_seconds()) + 0.5)
    legacy(db, "UPDATE bayview.memorials SET service_date = '2026-05-20' WHERE id = %s RETURNING id", [kept])
    synced = {m.NAME: data_sync.sync(db.params(), m, 100, 0)["changes_this_run"] for m in RECORD_MIGRATIONS}
    # "Edited last" per field: the service date the application changed is the legacy row's again; the
    # contact's email, which it did not change, stays Notion's.
    assert synced["0003_memorial_applications"] == 1 and synced["0001_memorial_persons"] == 0, synced
    assert db.query(contacts, ["bayview.memorials", kept]) == [("byron.new@example.org",)]
    assert (
        db.scalar("SELECT service_date::text FROM property.memorial_applications WHERE legacy_id = %s", [kept])
        == "2026-05-20"
    )
    assert validate.validate(db.params(), RECORD_MIGRATIONS, None, "test")["passed"]


def test_the_deceased_of_a_notion_only_page_gets_the_particulars_of_its_personal_history_json(phase2_db, tmp_path):
    db = phase2_db
    for migration in RECORDS:
        data_migrate.run(db.params(), migration)
    header = ["Submission ID", "Application Type", "Contact Name", "Deceased Name", "Bay View History"]
    header.append("Personal History JSON")
    history = '{"birthDate": "1931-04-02", "deathDate": "January 5, 2026", "motherName": "Ida", "fatherName": "Not provided", "bayviewHistory": "Summers at the Inn"}'
    rows = [
        ["MG-1768100000001", "Immediate", "Kin One", "Ruth Ames", "", history],
        # its own Bay View History property comes first; a simplified prepayment's names are no history
        ["MG-1768100000002", "Immediate", "Kin Two", "Carl Ames", "Sang in the choir", history],
        ["MG-1768100000003", "Immediate", "Kin Three", "Ann Ames", "SIMPLIFIED PREPAYMENT - Names only: A", history],
        # not JSON, and a birth date that is no date: the deceased is quarantined, naming it; the contact is not
        ["MG-1768100000004", "Immediate", "Kin Four", "Bo Ames", "", "{birthDate: 1931"],
        ["MG-1768100000005", "Immediate", "Kin Five", "Di Ames", "", '{"birthDate": "the spring of 1931"}'],
    ]
    export = tmp_path / "Memorial Garden Applications 5e6f.csv"
    export.write_bytes(csv_bytes(header, rows))
    sync_export(db, export)

    deceased = (
        "SELECT p.last_name, p.birth_date::text, p.death_date::text, p.mother_name, p.father_name, p.bayview_history "
        "FROM core.persons p JOIN core.person_legacy_links l ON l.person_id = p.id "
        "WHERE l.legacy_table = 'migration.notion_pages' AND l.role = 'deceased' ORDER BY l.legacy_id"
    )
    assert db.query(deceased) == [
        ("Ames", "1931-04-02", "2026-01-05", "Ida", None, "Summers at the Inn"),
        ("Ames", "1931-04-02", "2026-01-05", "Ida", None, "Sang in the choir"),
        ("Ames", "1931-04-02", "2026-01-05", "Ida", None, "Summers at the Inn"),
    ]
    quarantined = db.query(
        "SELECT q.reason FROM migration.quarantine q WHERE q.data_migration = '0026_notion_memorial_persons' "
        "ORDER BY q.legacy_id"
    )
    assert quarantined == [
        ("Personal History JSON '{birthDate: 1931' is not a JSON object",),
        ("Personal History JSON birthDate 'the spring of 1931' is not a date",),
    ]
    contacts = db.scalar(
        "SELECT count(*) FROM core.person_legacy_links WHERE legacy_table = 'migration.notion_pages' AND role = 'contact'"
    )
    assert contacts == 5
    assert validate.validate(db.params(), RECORDS, None, "test")["passed"]


DETAIL_HEADER = [
    "Application ID",
    "Type",
    "Service Date",
    "Service Time",
    "Database ID",
    "Couple Names",
    "Guest Count",
    "Wedding Fee",
    "Deceased Name",
    "Memorial Garden Placement",
    "Baptism Candidate Name",
    "Parents Names",
    "Baptism Date",
    "Baptism Type",
    "Witnesses",
    "Event Type",
    "Organization Name",
    "Event Description",
    "Expected Attendance",
    "Setup Time",
    "Cleanup Time",
    "Event Fee",
    "Submitted",
    "Amount Paid",
    "Payment Status",
    "Policy Acknowledged",
    "Has Music",
    "Needs Piano",
    "Needs Organ",
    "Performance Location",
    "Musicians List",
    "Additional Chairs",
    "Stand Microphone",
    "Wireless Microphone",
    "CD Player",
    "Communion Service",
    "Guest Book Stand",
    "Roped Seating",
    "Equipment Needs",
    "Clergy Name",
    "Clergy Approved",
    "Notes",
]


def detail_row(title: str, kind: str, day: str, **values: str) -> list[str]:
    """A chapel export row: the title, Type, a date at 10 AM, and the named detail columns."""
    row = dict.fromkeys(DETAIL_HEADER, "") | {"Application ID": title, "Type": kind, "Service Date": day}
    row["Service Time"] = "10:00 AM"
    row |= {name.replace("_", " "): value for name, value in values.items()}
    assert set(row) == set(DETAIL_HEADER), set(row) - set(DETAIL_HEADER)
    return list(row.values())


def test_a_notion_only_chapel_page_brings_the_details_of_its_type_and_an_unreadable_one_waits_in_quarantine(
    phase2_db, tmp_path
):
    db = phase2_db
    matched = chapel(db, "2026-09-01")
    for migration in RECORDS:  # Phase 3 ran them before anything was staged
        data_migrate.run(db.params(), migration)
    rows = [
        detail_row("CHAPEL-1780000000001", "Wedding", "June 6, 2026", Couple_Names='Ann & Bo "the couple", Jr.',
                   Guest_Count="1,200", Wedding_Fee="$450.00", Submitted="January 5, 2026 10:40 AM",
                   Amount_Paid="$450.00", Payment_Status="Paid", Policy_Acknowledged="Yes"),
        detail_row("CHAPEL-1780000000002", "memorial", "June 7, 2026", Deceased_Name="Ruth 🌷 Ames",
                   Memorial_Garden_Placement="Yes", Payment_Status="Pending", Policy_Acknowledged="No"),
        detail_row("CHAPEL-1780000000003", "Funeral", "June 8, 2026", Deceased_Name="Carl Ames",
                   Memorial_Garden_Placement="No"),
        detail_row("CHAPEL-1780000000004", "baptism", "June 9, 2026", Baptism_Candidate_Name="Eli",
                   Parents_Names="Sam and Jo Lee", Baptism_Date="June 9, 2026", Baptism_Type="infant",
                   Witnesses="Al, Bea", Amount_Paid="fifty"),
        detail_row("CHAPEL-1780000000005", "General Use", "June 10, 2026", Event_Type="Concert",
                   Organization_Name="Bay View Music", Event_Description="Evening\nrecital", Expected_Attendance="80",
                   Setup_Time="1pm", Cleanup_Time="17:30", Event_Fee="$150"),
        # unreadable details: the service is created, its detail waits in quarantine naming the value
        detail_row("CHAPEL-1780000000006", "Wedding", "June 11, 2026", Couple_Names="Cy & Di", Guest_Count="about 100"),
        detail_row("CHAPEL-1780000000007", "Baptism", "June 12, 2026", Baptism_Candidate_Name="Fay",
                   Baptism_Type="Sprinkling"),
        # a wedding page with no detail, and a detail of another type than the page's: no detail row
        detail_row("CHAPEL-1780000000008", "Wedding", "June 13, 2026"),
        detail_row("CHAPEL-1780000000009", "Wedding", "June 14, 2026", Baptism_Candidate_Name="Gus"),
        # a page matched to its legacy row: its details are the legacy row's (0005), none from Notion
        detail_row("CHAPEL-1780000000010", "Wedding", "September 1, 2026", Database_ID=str(matched),
                   Couple_Names="Hal & Ivy"),
    ]  # fmt: skip
    export = tmp_path / "Chapel Services 7a8b.csv"
    export.write_bytes(csv_bytes(DETAIL_HEADER, rows))
    result = sync_export(db, export)
    assert result["reconciliation"]["reconciled"], result

    from_notion = "legacy_table = 'migration.notion_pages'"
    service_of = (
        "(SELECT p.page_key FROM events.chapel_services s JOIN migration.notion_pages p ON p.id = s.legacy_id "
        "WHERE s.id = d.service_id AND s.legacy_table = 'migration.notion_pages')"
    )
    assert db.query(
        f"SELECT {service_of}, couple_names, guest_count, fee FROM events.wedding_details d WHERE {from_notion}"
    ) == [("CHAPEL-1780000000001", 'Ann & Bo "the couple", Jr.', 1200, 450)]
    assert db.query(
        f"SELECT {service_of}, deceased_name, garden_placement FROM events.memorial_service_details d "
        f"WHERE {from_notion} ORDER BY 1"
    ) == [("CHAPEL-1780000000002", "Ruth 🌷 Ames", True), ("CHAPEL-1780000000003", "Carl Ames", False)]
    assert db.query(
        f"SELECT {service_of}, child_name, parents_names, baptism_date::text, baptism_type, witnesses "
        f"FROM events.baptism_details d WHERE {from_notion}"
    ) == [("CHAPEL-1780000000004", "Eli", "Sam and Jo Lee", "2026-06-09", "infant", "Al, Bea")]
    assert db.query(
        f"SELECT {service_of}, event_type, organization_name, description, expected_guests, setup_time::text, "
        f"cleanup_time::text, fee FROM events.general_use_details d WHERE {from_notion}"
    ) == [("CHAPEL-1780000000005", "Concert", "Bay View Music", "Evening\nrecital", 80, "13:00:00", "17:30:00", 150)]
    waiting = (
        "SELECT data_migration, reason FROM migration.quarantine WHERE data_migration LIKE '00%%_notion_%%' ORDER BY 1"
    )
    assert db.query(waiting) == [
        ("0028_notion_wedding_details", "Guest Count 'about 100' is not a whole number"),
        ("0030_notion_baptism_details", "Baptism Type 'Sprinkling' is not one of Infant, Adult, Dedication"),
        ("0032_notion_chapel_payments", "Amount Paid 'fifty' is not an amount of money"),
    ]
    # the money received, and the policy acknowledged when the page was submitted (a payment status
    # without an amount is no payment)
    paid = f"SELECT {service_of.replace('d.service_id', 'd.chapel_service_id')}, amount, notes FROM finance.payments d"
    assert db.query(f"{paid} WHERE {from_notion}") == [("CHAPEL-1780000000001", 450, "Payment Status in Notion: Paid")]
    assert db.query(
        f"SELECT {service_of}, acknowledged, acknowledged_at FROM events.policy_acknowledgments d "
        f"WHERE {from_notion} ORDER BY 1"
    ) == [
        ("CHAPEL-1780000000001", True, datetime(2026, 1, 5, 15, 40, tzinfo=UTC)),
        ("CHAPEL-1780000000002", False, None),
    ]
    # every staged page counted by each detail migration: migrated + quarantined + excluded = staged
    for name, migrated in (("0028", 1), ("0029", 2), ("0030", 1), ("0031", 1), ("0032", 1), ("0033", 2)):
        migration = next(m for m in RECORDS if m.NAME.startswith(name))
        with db.connect() as conn:
            state = data_migrate.status(conn, migration.NAME)
        counted = state["migrated"] + state["quarantined"] + state["excluded"]
        assert (state["migrated"], counted, state["legacy_total"]) == (migrated, 10, 10), state
    assert validate.validate(db.params(), RECORDS, None, "test")["passed"]
    assert sync_export(db, export)["changed"] == 0

    # A page mended in Notion brings its detail and its quarantine is closed; a page whose Type changed
    # loses the detail of its old Type and gets that of its new one.
    rows[5] = detail_row("CHAPEL-1780000000006", "Wedding", "June 11, 2026", Couple_Names="Cy & Di", Guest_Count="100")
    rows[8][DETAIL_HEADER.index("Type")] = "Baptism"
    export.write_bytes(csv_bytes(DETAIL_HEADER, rows))
    sync_export(db, export)
    weddings = f"SELECT couple_names, guest_count FROM events.wedding_details WHERE {from_notion} ORDER BY 1"
    assert db.query(weddings) == [('Ann & Bo "the couple", Jr.', 1200), ("Cy & Di", 100)]
    baptisms = f"SELECT child_name FROM events.baptism_details WHERE {from_notion} ORDER BY 1"
    assert db.query(baptisms) == [("Eli",), ("Gus",)]
    assert [r[0] for r in db.query(waiting)] == ["0030_notion_baptism_details", "0032_notion_chapel_payments"]
    rows[0][DETAIL_HEADER.index("Type")] = "Funeral"
    export.write_bytes(csv_bytes(DETAIL_HEADER, rows))
    sync_export(db, export)
    assert db.query(weddings) == [("Cy & Di", 100)]
    assert validate.validate(db.params(), RECORDS, None, "test")["passed"]

    # Reverse of one detail migration removes its rows alone; the services and the legacy tables stay.
    wedding = next(m for m in RECORDS if m.NAME == "0028_notion_wedding_details")
    data_migrate.reverse(db.params(), wedding)
    assert db.scalar(f"SELECT count(*) FROM events.wedding_details WHERE {from_notion}") == 0
    assert db.scalar(f"SELECT count(*) FROM events.memorial_service_details WHERE {from_notion}") == 2
    assert db.scalar(f"SELECT count(*) FROM events.chapel_services WHERE {from_notion}") == 9
    assert db.scalar("SELECT count(*) FROM crouse_chapel.service_applications WHERE id = %s", [matched]) == 1


def test_a_notion_only_chapel_page_brings_its_music_and_musicians_and_an_unreadable_place_waits_in_quarantine(
    phase2_db, tmp_path
):
    db = phase2_db
    for migration in RECORDS:  # Phase 3 ran them before anything was staged
        data_migrate.run(db.params(), migration)
    rows = [
        detail_row("CHAPEL-1790000000001", "Wedding", "July 1, 2026", Has_Music="Yes", Needs_Piano="No",
                   Needs_Organ="Yes", Performance_Location="balcony",
                   Musicians_List='Ann Lee (organ), Bo "Sax" Diaz,\n🎻 Cy'),
        # the piano alone is music; three unticked boxes are none
        detail_row("CHAPEL-1790000000002", "Memorial", "July 2, 2026", Has_Music="No", Needs_Piano="Yes",
                   Needs_Organ="No"),
        detail_row("CHAPEL-1790000000003", "Baptism", "July 3, 2026", Has_Music="No", Needs_Piano="No",
                   Needs_Organ="No"),
        detail_row("CHAPEL-1790000000004", "General Use", "July 4, 2026", Has_Music="Yes",
                   Performance_Location="Front lawn"),
    ]  # fmt: skip
    export = tmp_path / "Chapel Services 9e0f.csv"
    export.write_bytes(csv_bytes(DETAIL_HEADER, rows))
    assert sync_export(db, export)["reconciliation"]["reconciled"]

    service_of = (
        "(SELECT p.page_key FROM events.chapel_services s JOIN migration.notion_pages p ON p.id = s.legacy_id "
        "WHERE s.id = d.service_id AND s.legacy_table = 'migration.notion_pages')"
    )
    music = (
        f"SELECT {service_of}, needs_piano, needs_organ, performance_location, piece FROM events.service_music d "
        "WHERE legacy_table = 'migration.notion_pages' ORDER BY 1"
    )
    assert db.query(music) == [
        ("CHAPEL-1790000000001", False, True, "balcony", None),
        ("CHAPEL-1790000000002", True, False, None, None),
    ]
    assert db.query(f"SELECT {service_of}, musician_name, instrument FROM events.service_musicians d") == [
        ("CHAPEL-1790000000001", 'Ann Lee (organ), Bo "Sax" Diaz,\n🎻 Cy', None)
    ]
    waiting = "SELECT data_migration, reason FROM migration.quarantine"
    assert db.query(waiting) == [
        ("0034_notion_service_music", "Performance Location 'Front lawn' is not one of Sanctuary, Balcony, Both")
    ]
    music_migrations = [BY_NAME["0034_notion_service_music"], BY_NAME["0035_notion_service_musicians"]]
    for migration in music_migrations:  # every staged page counted: migrated + quarantined + excluded = staged
        with db.connect() as conn:
            state = data_migrate.status(conn, migration.NAME)
        assert state["migrated"] + state["quarantined"] + state["excluded"] == state["legacy_total"] == 4, state
    assert validate.validate(db.params(), RECORDS, None, "test")["passed"]
    assert sync_export(db, export)["changed"] == 0

    # The place mended in Notion: its music arrives and its quarantine is closed.
    rows[3][DETAIL_HEADER.index("Performance Location")] = "Sanctuary"
    export.write_bytes(csv_bytes(DETAIL_HEADER, rows))
    sync_export(db, export)
    assert db.query(music)[-1] == ("CHAPEL-1790000000004", None, None, "sanctuary", None)  # boxes not given: unknown
    assert db.query(waiting) == []
    assert validate.validate(db.params(), RECORDS, None, "test")["passed"]

    # Reverse of the music removes its rows alone; the musicians and the services stay.
    data_migrate.reverse(db.params(), BY_NAME["0034_notion_service_music"], dependents=[])
    assert db.scalar("SELECT count(*) FROM events.service_music") == 0
    assert db.scalar("SELECT count(*) FROM events.service_musicians") == 1
    assert db.scalar("SELECT count(*) FROM events.chapel_services WHERE legacy_table = 'migration.notion_pages'") == 4


def test_a_notion_only_chapel_page_brings_a_row_for_each_item_of_equipment_it_asks_for_and_an_unreadable_one_waits(
    phase2_db, tmp_path
):
    db = phase2_db
    legacy_equipment = (
        "SELECT count(*) FROM events.service_equipment WHERE legacy_table = 'crouse_chapel.service_equipment'"
    )
    for migration in RECORDS:  # Phase 3 ran them before anything was staged
        data_migrate.run(db.params(), migration)
    from_legacy = db.scalar(legacy_equipment)
    needs = 'Easel, "large", for the 🎨 photo\nand a table'
    rows = [
        detail_row("CHAPEL-1800000000001", "Wedding", "August 1, 2026", Additional_Chairs="20", Stand_Microphone="Yes",
                   Wireless_Microphone="No", CD_Player="Yes", Guest_Book_Stand="Yes", Roped_Seating="No",
                   Equipment_Needs=needs),
        # no chairs and unticked boxes ask for nothing
        detail_row("CHAPEL-1800000000002", "Memorial", "August 2, 2026", Additional_Chairs="0", Stand_Microphone="No",
                   CD_Player="No"),
        detail_row("CHAPEL-1800000000003", "Baptism", "August 3, 2026", Additional_Chairs="a dozen",
                   Communion_Service="Yes", Roped_Seating="Maybe"),
        detail_row("CHAPEL-1800000000004", "General Use", "August 4, 2026"),
    ]  # fmt: skip
    export = tmp_path / "Chapel Services 5a6b.csv"
    export.write_bytes(csv_bytes(DETAIL_HEADER, rows))
    assert sync_export(db, export)["reconciliation"]["reconciled"]

    equipment = (
        "SELECT p.page_key, d.legacy_role, d.equipment, d.quantity FROM events.service_equipment d "
        "JOIN events.chapel_services s ON s.id = d.service_id JOIN migration.notion_pages p ON p.id = s.legacy_id "
        "WHERE d.legacy_table = 'migration.notion_pages' AND s.legacy_table = 'migration.notion_pages' ORDER BY 1, 2"
    )
    assert db.query(equipment) == [
        ("CHAPEL-1800000000001", "additional_chairs", "Additional Chairs", 20),
        ("CHAPEL-1800000000001", "cd_player", "CD Player", 1),
        ("CHAPEL-1800000000001", "equipment_needs", needs, 1),
        ("CHAPEL-1800000000001", "guest_book_stand", "Guest Book Stand", 1),
        ("CHAPEL-1800000000001", "stand_microphone", "Stand Microphone", 1),
        ("CHAPEL-1800000000003", "communion_service", "Communion Service", 1),
    ]
    waiting = "SELECT data_migration, role, reason FROM migration.quarantine ORDER BY role"
    assert db.query(waiting) == [
        ("0036_notion_service_equipment", "additional_chairs", "Additional Chairs 'a dozen' is not a whole number"),
        ("0036_notion_service_equipment", "roped_seating", "Roped Seating 'Maybe' is not Yes or No"),
    ]
    with db.connect() as conn:
        state = data_migrate.status(conn, "0036_notion_service_equipment")
    # every staged page is the source of one candidate per item: 4 pages, 8 items
    assert (state["legacy_total"], state["candidates"], state["migrated"], state["quarantined"]) == (4, 32, 6, 2), state
    assert state["migrated"] + state["quarantined"] + state["excluded"] == state["candidates"], state
    assert validate.validate(db.params(), RECORDS, None, "test")["passed"]
    assert sync_export(db, export)["changed"] == 0

    # Mended in Notion: the chairs counted, the microphone unticked, the rope set. The microphone's row
    # goes, the chairs' and the rope's come, the quarantine is closed, the other rows keep their ids.
    cd_player = "SELECT id FROM events.service_equipment WHERE legacy_role = 'cd_player'"
    ids_before = db.query(cd_player)
    rows[0][DETAIL_HEADER.index("Stand Microphone")] = "No"
    rows[2][DETAIL_HEADER.index("Additional Chairs")] = "12"
    rows[2][DETAIL_HEADER.index("Roped Seating")] = "Yes"
    export.write_bytes(csv_bytes(DETAIL_HEADER, rows))
    sync_export(db, export)
    assert [r[:2] for r in db.query(equipment)] == [
        ("CHAPEL-1800000000001", "additional_chairs"),
        ("CHAPEL-1800000000001", "cd_player"),
        ("CHAPEL-1800000000001", "equipment_needs"),
        ("CHAPEL-1800000000001", "guest_book_stand"),
        ("CHAPEL-1800000000003", "additional_chairs"),
        ("CHAPEL-1800000000003", "communion_service"),
        ("CHAPEL-1800000000003", "roped_seating"),
    ]
    assert db.query(waiting) == []
    assert db.query(cd_player) == ids_before
    assert validate.validate(db.params(), RECORDS, None, "test")["passed"]

    # Reverse of the equipment removes its rows alone: the legacy equipment and the services stay.
    data_migrate.reverse(db.params(), BY_NAME["0036_notion_service_equipment"], dependents=[])
    assert db.scalar("SELECT count(*) FROM events.service_equipment WHERE legacy_table = 'migration.notion_pages'") == 0
    assert db.scalar(legacy_equipment) == from_legacy
    assert db.scalar("SELECT count(*) FROM events.chapel_services WHERE legacy_table = 'migration.notion_pages'") == 4


def test_a_notion_only_chapel_page_brings_its_clergy_as_named_and_its_notes_whole(phase2_db, tmp_path):
    db = phase2_db
    for migration in RECORDS:  # Phase 3 ran them before anything was staged
        data_migrate.run(db.params(), migration)
    notes = 'Born March 3, 2025, Petoskey; "Grandma\'s" gown, please 🙏\nSecond line'
    rows = [
        detail_row("CHAPEL-1810000000001", "Baptism", "September 1, 2026", Clergy_Name="Rev. Ann O'Neil, D.Min.",
                   Clergy_Approved="Yes", Notes=notes),
        detail_row("CHAPEL-1810000000002", "Wedding", "September 2, 2026", Clergy_Name="Pastor Bo",
                   Clergy_Approved="No"),
        # an unticked box names no clergy; an unreadable one waits in quarantine, naming it
        detail_row("CHAPEL-1810000000003", "Memorial", "September 3, 2026", Clergy_Approved="No", Notes="Not provided"),
        detail_row("CHAPEL-1810000000004", "General Use", "September 4, 2026", Clergy_Name="Fr. Cy",
                   Clergy_Approved="Pending"),
    ]  # fmt: skip
    export = tmp_path / "Chapel Services 7c8d.csv"
    export.write_bytes(csv_bytes(DETAIL_HEADER, rows))
    assert sync_export(db, export)["reconciliation"]["reconciled"]

    page_of = (
        "(SELECT p.page_key FROM events.chapel_services s JOIN migration.notion_pages p ON p.id = s.legacy_id "
        "WHERE s.id = d.service_id AND s.legacy_table = 'migration.notion_pages')"
    )
    clergy = (
        f"SELECT {page_of}, clergy_id, clergy_name, clergy_approved FROM events.service_clergy d "
        "WHERE legacy_table = 'migration.notion_pages' ORDER BY 1"
    )
    assert db.query(clergy) == [
        ("CHAPEL-1810000000001", None, "Rev. Ann O'Neil, D.Min.", True),
        ("CHAPEL-1810000000002", None, "Pastor Bo", False),
    ]
    assert db.query(f"SELECT {page_of}, note FROM events.service_notes d ORDER BY 1") == [
        ("CHAPEL-1810000000001", notes)
    ]
    assert db.query("SELECT data_migration, reason FROM migration.quarantine") == [
        ("0037_notion_service_clergy", "Clergy Approved 'Pending' is not Yes or No")
    ]
    for name in ("0037_notion_service_clergy", "0038_notion_service_notes"):
        with db.connect() as conn:
            state = data_migrate.status(conn, name)
        assert state["migrated"] + state["quarantined"] + state["excluded"] == state["legacy_total"] == 4, state
    assert validate.validate(db.params(), RECORDS, None, "test")["passed"]
    assert sync_export(db, export)["changed"] == 0

    # Staff tie a name to the chapel's register; the page edited in Notion afterwards keeps the tie.
    register = db.scalar("INSERT INTO events.clergy (name) VALUES ('Ann O''Neil') RETURNING id")
    with db.connect() as conn:
        conn.execute("UPDATE events.service_clergy SET clergy_id = %s WHERE clergy_name LIKE 'Rev. Ann%%'", [register])
    rows[0][DETAIL_HEADER.index("Clergy Approved")] = "No"
    rows[3][DETAIL_HEADER.index("Clergy Approved")] = "Yes"
    export.write_bytes(csv_bytes(DETAIL_HEADER, rows))
    sync_export(db, export)
    assert db.query(clergy) == [
        ("CHAPEL-1810000000001", register, "Rev. Ann O'Neil, D.Min.", False),
        ("CHAPEL-1810000000002", None, "Pastor Bo", False),
        ("CHAPEL-1810000000004", None, "Fr. Cy", True),
    ]
    assert db.query("SELECT reason FROM migration.quarantine") == []
    assert validate.validate(db.params(), RECORDS, None, "test")["passed"]

    # Reverse of the notes removes them alone; the clergy and the services stay.
    data_migrate.reverse(db.params(), BY_NAME["0038_notion_service_notes"], dependents=[])
    assert db.scalar("SELECT count(*) FROM events.service_notes") == 0
    assert db.scalar("SELECT count(*) FROM events.service_clergy WHERE legacy_table = 'migration.notion_pages'") == 3


def test_a_full_read_marks_the_pages_notion_no_longer_has_and_keeps_them_and_their_records(phase2_db):
    db = phase2_db
    for migration in RECORDS:
        data_migrate.run(db.params(), migration)
    with NotionServer(TOKEN) as server:
        state = server.state
        for n in range(3):
            state.add(
                MEMORIAL_DS,
                {"Submission ID": f"MG-17682000000{n:02d}", "Application Type": "Immediate", "Deceased Name": f"P {n}"},
                last_edited_time=f"2026-02-0{n + 1}T10:00:00.000Z",
            )
        state.add(CHAPEL_DS, {"Application ID": "CHAPEL-1770000000001", "Type": "Wedding"})
        api_sync(db, server)
        trashed, deleted, kept = state.pages[MEMORIAL_DS]
        # Staff trash one page and delete another in Notion: an incremental read cannot tell.
        trashed["in_trash"] = trashed["archived"] = True
        state.pages[MEMORIAL_DS].remove(deleted)
        assert api_sync(db, server)["pages_gone"] == {"gone": 0, "back": 0}

        # Check mode says what a full read would mark, and marks nothing.
        planned = notion_sync.plan(
            db.params(),
            "api",
            token=TOKEN,
            token_source="NOTION_TOKEN",  # noqa: S106 - a name
            data_sources={"memorial_garden": MEMORIAL_DS, "chapel": CHAPEL_DS},
            base_url=server.base_url,
            requests_per_second=50,
            full_read=True,
        )
        assert planned["would_mark_gone"] == 2
        assert db.scalar("SELECT count(gone_at) FROM migration.notion_pages") == 0

        result = api_sync(db, server, full_read=True)
        assert result["pages_gone"] == {"gone": 2, "back": 0} and result["changed"] >= 2
        gone = {p["page_id"] for p in result["report"]["gone_pages"]}
        assert gone == {trashed["id"], deleted["id"]} and result["report"]["gone"] == 2
        assert any("no longer in Notion" in line for line in result["report"]["summary"])
        # Kept: the staged pages and the records they made.
        assert db.scalar("SELECT count(*) FROM migration.notion_pages WHERE notion_database = 'memorial_garden'") == 3
        created = "SELECT count(*) FROM property.memorial_applications WHERE legacy_table = 'migration.notion_pages'"
        assert db.scalar(created) == 3
        # Read again in full: nothing new is gone; a page restored from the trash is back.
        assert api_sync(db, server, full_read=True)["pages_gone"] == {"gone": 0, "back": 0}
        trashed["in_trash"] = trashed["archived"] = False
        assert api_sync(db, server, full_read=True)["pages_gone"] == {"gone": 0, "back": 1}
        assert db.query("SELECT page_id FROM migration.notion_pages WHERE gone_at IS NOT NULL") == [(deleted["id"],)]
        assert kept["id"] not in gone


def test_a_winning_slot_the_new_design_refuses_is_logged_and_tried_again_and_the_sync_goes_on(phase2_db):
    db = phase2_db
    first, second = chapel(db, "2026-08-01"), chapel(db, "2026-08-02")
    for migration in RECORD_MIGRATIONS:
        data_migrate.run(db.params(), migration)
    slot = "SELECT (service_date, service_time)::text FROM events.chapel_services WHERE legacy_id = %s"
    first_slot, second_slot = db.query(slot, [first]), db.query(slot, [second])
    later = notion_time(datetime.now(UTC) + timedelta(seconds=2))

    def page(service: int, date: str, status: str = "Pending") -> dict:
        return {
            "Application ID": str(service),
            "Database ID": str(service),
            "Type": "Wedding",
            "Service Date": date,
            "Service Time": "11:00 AM",
            "Status": status,
        }

    with NotionServer(TOKEN) as server:
        # Staff moved the first service onto the second's slot in Notion (Notion checks no slot), and
        # approved the second: the first's new slot is refused, the second's approval goes through.
        edited = server.state.add(CHAPEL_DS, page(first, "2026-08-02"), last_edited_time=later)
        server.state.add(CHAPEL_DS, page(second, "2026-08-02", "Approved"), last_edited_time=later)
        server.state.add(MEMORIAL_DS, {"Submission ID": "MG-1768300000000", "Application Type": "Immediate"})
        result = api_sync(db, server, record_migrations=RECORD_MIGRATIONS)
        services = next(r for r in result["records"] if r["data_migration"] == "0004_chapel_services")
        assert services["rows_refused"] == 1, services
        assert services["refused"][0]["legacy_id"] == first
        assert "chapel_services_one_per_slot" in services["refused"][0]["reason"]
        assert db.query(slot, [first]) == first_slot and db.query(slot, [second]) == second_slot
        assert db.scalar("SELECT status FROM events.chapel_services WHERE legacy_id = %s", [second]) == "approved"
        open_ = (
            "SELECT legacy_id, operation FROM migration.dual_write_discrepancies "
            "WHERE legacy_table = 'crouse_chapel.service_applications' AND resolved_at IS NULL"
        )
        assert db.query(open_) == [(first, "sync")]
        # Validation names it: the new design does not say what the winning value says.
        checked = validate.validate(db.params(), RECORD_MIGRATIONS[1:2], None, "test")
        assert not checked["passed"] and str(first) in validate.failures(checked)

        # Tried again at the next sync and refused again: still one open discrepancy, not two.
        again = data_sync.sync(db.params(), RECORD_MIGRATIONS[1], 100, 0)
        assert again["rows_refused"] == 1 and db.query(open_) == [(first, "sync")]

        # Staff move it again, to a free slot: the next Notion sync takes it and closes the discrepancy.
        edited["properties"]["Service Date"]["date"]["start"] = "2026-08-09"
        edited["last_edited_time"] = notion_time(datetime.now(UTC) + timedelta(seconds=3))
        fixed = api_sync(db, server, record_migrations=RECORD_MIGRATIONS)
    services = next(r for r in fixed["records"] if r["data_migration"] == "0004_chapel_services")
    assert services["rows_refused"] == 0, services
    assert db.query(slot, [first]) == [("(2026-08-09,11:00:00)",)] and db.query(open_) == []
    assert validate.validate(db.params(), RECORD_MIGRATIONS[1:2], None, "test")["passed"]


def test_a_retry_is_flagged_whichever_sync_brings_its_original_and_unflagged_when_the_original_moves_away(
    phase2_db, tmp_path
):
    db = phase2_db

    def sync_rows(*rows):
        export = tmp_path / "Memorial Garden Applications 1a2b.csv"
        export.write_bytes(csv_bytes(MEMORIAL_HEADER, list(rows)))
        return sync_export(db, export)

    def row(title, contact):
        return [title, "Immediate", contact, "Kit", "", "Ada Lovelace", "$450.00", "", "Submitted", "January 8, 2026"]

    original, retry = row("MG-1768000000000", "kit@example.org"), row("MG-1768000240000", "kit@example.org")
    # The retry is staged first; its original comes with a later sync, among thousands of other pages.
    sync_rows(retry)
    assert pages(db)["MG-1768000240000"][4] is None
    others = [row(f"MG-1769{n:09d}", f"c{n}@example.org") for n in range(2000)]
    assert sync_rows(retry, original, *others)["report"]["probable_duplicates"] == 1
    assert pages(db)["MG-1768000240000"][4] == "MG-1768000000000"
    # The original is edited in Notion: another contact. Its retry no longer follows it.
    sync_rows(retry, row("MG-1768000000000", "someone.else@example.org"), *others)
    assert pages(db)["MG-1768000240000"][4] is None
    assert db.scalar("SELECT count(*) FROM migration.notion_pages WHERE duplicate_of IS NOT NULL") == 0


def test_a_retry_is_unflagged_when_its_original_is_edited_in_notion_to_another_title_and_contact(phase2_db):
    db = phase2_db

    def values(title: str, contact: str) -> dict:
        return {"Submission ID": title, "Application Type": "Immediate", "Contact Email": contact,
                "Deceased Name": "Ada Lovelace", "Submission Date": "2026-01-08"}  # fmt: skip

    with NotionServer(TOKEN) as server:
        server.state.pages[CHAPEL_DS] = []  # shared with the integration, no page
        original = server.state.add(
            MEMORIAL_DS, values("MG-1768000000000", "kit@example.org"), last_edited_time="2026-01-08T10:00:00.000Z"
        )
        server.state.add(
            MEMORIAL_DS, values("MG-1768000240000", "kit@example.org"), last_edited_time="2026-01-08T10:04:00.000Z"
        )
        assert api_sync(db, server)["report"]["probable_duplicates"] == 1
        assert pages(db)["MG-1768000240000"][4] == "MG-1768000000000"

        # Staff correct the original in Notion: its submission id and its contact both change. No page has
        # the title its retry named any more, and the two pages no longer share a contact.
        original["properties"] = notion_local.page(MEMORIAL_DS, values("MG-1768000000001", "kim@example.org"))[
            "properties"
        ]
        original["last_edited_time"] = "2026-03-01T12:00:00.000Z"
        assert api_sync(db, server)["staged"]["changed"] == 1
    assert pages(db)["MG-1768000240000"][4] is None
    assert db.scalar("SELECT count(*) FROM migration.notion_pages WHERE duplicate_of IS NOT NULL") == 0
