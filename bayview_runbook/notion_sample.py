"""A Notion sample consistent with a sample legacy database (legacy_sample): the pages of the two
Notion databases as the forms wrote them (../shared/NOTION.md), made from the database's own legacy
rows, so that the same database always gives the same pages. For the rehearsal and its test; the
local Notion server (notion_local) serves them to the real SDK.

What it holds (84 pages from a sample with prepayments):
- pages of the PostgreSQL era matching their legacy row by each rule: notion_id (the page's id is
  the row's notion_id), Database ID (a memorial for an immediate application, a prepayment for a
  future one: the two id sequences collide), and title (submission id, chapel serial), ten each;
- three of each edited by staff in Notion after their legacy row, so the differences are recorded
  and Notion wins: a memorial's service date; a chapel service's status, and for one a free slot
  (date and time);
- for memorials, one more of each rule whose fee the office corrected in PostgreSQL after the form
  wrote it: the legacy row wins;
- Notion-only pages (MG-/CHAPEL-<ms>, submitted after the forms moved to Notion), in the forms'
  spellings (select-case drift, times as typed, placeholders), one retried four minutes later;
- a page whose Database ID names one legacy row and its title another (a conflict), and a value
  that cannot be read, in each database (quarantined).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta

import psycopg

from bayview_runbook.notion_local import NotionState

NAMESPACE = uuid.UUID("6f1c2a9e-0d4b-4c43-9a57-3b1e8f0c7d21")  # this sample's own ids
DATA_SOURCES = {
    "memorial_garden": str(uuid.uuid5(NAMESPACE, "Memorial Garden Applications")),
    "chapel": str(uuid.uuid5(NAMESPACE, "Chapel Services")),
}
# Staff edited these pages in Notion well after every legacy row of the sample was last written.
EDITED = datetime(2026, 2, 16, 15, 30, tzinfo=UTC)
# The forms write Notion only from here (memorial garden 2026-01-08, chapel 2025-12-22).
NOTION_ONLY_FROM = datetime(2026, 1, 12, 14, 5, tzinfo=UTC)
RULES = ("notion_id", "database_id", "title")
PER_RULE = 10  # pages matched by each rule in each database
EDITED_PER_RULE = 3  # of which edited in Notion after their legacy row

MEMORIALS = """
SELECT id, submission_id, application_type, notion_id, service_date, fee_amount::float8, btrim(contact_name),
       btrim(contact_email), btrim(contact_phone), btrim(celebrant_requested), btrim(first_name || ' ' || last_name),
       created_at
  FROM bayview.memorials
 WHERE submission_id IS NOT NULL AND application_type IN ('immediate', 'future')
 ORDER BY id LIMIT 200
"""
CHAPEL = """
SELECT id, application_type, service_date, service_time, status, btrim(approved_by), btrim(contact_name),
       btrim(contact_email), btrim(contact_phone), notion_id, submission_date
  FROM crouse_chapel.service_applications ORDER BY id LIMIT 100
"""
PREPAYMENTS = """
SELECT id, payer_name, payer_email, created_at FROM bayview.prepayments ORDER BY id LIMIT 5
"""


def _minute(moment: datetime) -> str:
    """Notion's last_edited_time: rounded down to the minute."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:00.000Z")


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _page_id(notion_id: str | None, key: str) -> str:
    """The legacy row's notion_id where it has one (the page it names), else an id of this sample."""
    return str(uuid.UUID(hex=notion_id)) if notion_id else str(uuid.uuid5(NAMESPACE, key))


def _memorial(row, rule: str, n: int) -> tuple[dict, str]:
    """The page of the n-th memorial row matched by rule."""
    mid, submission, kind, _notion_id, service, fee, contact, email, phone, celebrant, deceased, created = row
    values = {
        "Submission ID": submission,
        "Submission Date": created.isoformat(),
        "Application Type": kind.capitalize() if mid % 2 else kind,  # either case, as the forms sent it
        "Status": "Submitted",
        "Contact Name": contact or None,
        "Contact Email": email or None,
        "Contact Phone": phone or None,
        "Deceased Name": deceased or None,
        "Service Date": service.isoformat() if service else None,
        "Fee Amount": fee,
        "Celebrant Requested": celebrant or None,
    }
    if rule == "database_id":
        values["Database ID"] = str(mid)
    edited = n < EDITED_PER_RULE
    if edited:  # staff placed it and moved the service in Notion; PostgreSQL never heard of it
        values["Status"] = "Approved"
        values["Service Date"] = ((service or date(2026, 6, 1)) + timedelta(days=14)).isoformat()
    elif n == EDITED_PER_RULE:  # the fee as the form first wrote it; the office corrected the row since
        values["Fee Amount"] = (fee or 0) + 25
    return values, _minute(EDITED if edited else created)


def _chapel(row, rule: str, n: int) -> tuple[dict, str]:
    """The page of the n-th chapel row matched by rule."""
    cid, kind, service, at, status, approved_by, contact, email, phone, _notion_id, submitted = row
    values = {
        "Application ID": str(cid),
        "Type": kind,  # the 2025 form sent the raw PostgreSQL value: lowercase options
        "Status": "Pending" if status == "pending" else status.capitalize(),
        "Service Date": service.isoformat(),
        "Service Time": at.strftime("%-I:%M %p"),
        "Submitted": submitted.isoformat(),
        "Approved By": approved_by or None,
        "Contact Name": contact or None,
        "Contact Email": email or None,
        "Contact Phone": phone or None,
    }
    if rule == "database_id":
        values["Database ID"] = str(cid)
    edited = n < EDITED_PER_RULE
    if edited:  # staff decided it in Notion
        values["Status"] = "Cancelled" if status == "approved" else "Approved"
    if n == 0:
        # ... and moved it to a free slot: an evening (the sample's services are held 10:00-16:00),
        # a week later per rule, so that two moved services never meet (a slot holds one service).
        values["Service Date"] = (service + timedelta(weeks=1 + RULES.index(rule))).isoformat()
        values["Service Time"] = "6:00 PM"
    return values, _minute(EDITED if edited else submitted)


def _matched(database: str, rows: list, make, key: int, by_id_ok) -> list[tuple[dict, str, str]]:
    """(values, last edited, page id) of the pages matching rows (the legacy notion_id at index key)
    by each rule, PER_RULE each; then the conflict: a Database ID naming one row (by_id_ok: one its
    Database ID can name), the title of another."""
    with_notion_id = [r for r in rows if r[key]][:PER_RULE]
    plain = [r for r in rows if not r[key]]
    by_id = [r for r in plain if by_id_ok(r)][: PER_RULE + 1]
    by_title = [r for r in plain if r not in by_id][: PER_RULE + 1]
    pages = []
    for rule, group in zip(RULES, (with_notion_id, by_id[:-1], by_title[:-1]), strict=True):
        for n, row in enumerate(group):
            values, edited = make(row, rule, n)
            notion_id = row[key] if rule == "notion_id" else None
            pages.append((values, edited, _page_id(notion_id, f"{database}:{rule}:{row[0]}")))
    values, edited = make(by_id[-1], "database_id", PER_RULE)  # as the form wrote it, not edited since
    title = next(iter(values))
    values[title] = make(by_title[-1], "title", PER_RULE)[0][title]
    pages.append((values, edited, _page_id(None, f"{database}:conflict:{by_id[-1][0]}")))
    return pages


def _notion_only_memorials() -> list[tuple[dict, str]]:
    pages = []
    for n in range(8):
        at = NOTION_ONLY_FROM + timedelta(days=3 * n, minutes=17 * n)
        future = n % 3 == 2
        values = {
            "Submission ID": f"MG-{_ms(at)}",
            "Submission Date": at.isoformat(),
            "Application Type": ("future" if n % 2 else "Future")
            if future
            else ("Immediate" if n % 2 else "immediate"),
            "Status": "Submitted",
            "Contact Name": f"Notion Contact {n}",
            "Contact Email": f"notion.contact{n}@example.org",
            "Contact Phone": "Not provided" if n % 4 == 1 else f"(231) 555-7{n:03d}",
            "Deceased Name": None if future else f"Ruth Notion {n}",
            "Service Date": None if future else (at.date() + timedelta(days=120)).isoformat(),
            "Fee Amount": 450 if not future else 900,
            "Policy Agreement": True,
            "Personal History JSON": None
            if future
            else json.dumps({"birthDate": f"1941-03-0{n + 1}", "deathDate": f"2025-12-2{n}", "motherName": ""}),
            "Bay View History": f"SIMPLIFIED PREPAYMENT - Names only: Notion Contact {n}" if future else None,
        }
        pages.append((values, _minute(at)))
    # A retried submission: the form showed a Notion error after PostgreSQL had succeeded; the user sent it again.
    retry, at = dict(pages[0][0]), NOTION_ONLY_FROM + timedelta(minutes=4)
    retry["Submission ID"], retry["Submission Date"] = f"MG-{_ms(at)}", at.isoformat()
    pages.append((retry, _minute(at)))
    # A Database ID nobody can read as an id: quarantined with the value.
    at = NOTION_ONLY_FROM + timedelta(days=30)
    pages.append(
        (
            {"Submission ID": f"MG-{_ms(at)}", "Application Type": "Immediate", "Database ID": "see office"},
            _minute(at),
        )
    )
    return pages


def _prepayments(prepayments: list) -> list[tuple[dict, str]]:
    """Future applications of the PostgreSQL era: their Database ID is a bayview.prepayments.id."""
    pages = []
    for pid, payer, payer_email, created in prepayments:
        values = {
            "Submission ID": f"MG-{_ms(created)}",
            "Application Type": "Future",
            "Database ID": str(pid),
            "Contact Name": payer,
            "Contact Email": payer_email,
            "Prepayment Names": payer,
        }
        pages.append((values, _minute(created)))
    return pages


def _notion_only_chapel() -> list[tuple[dict, str]]:
    kinds = ["Wedding", "General Use", "Baptism", "Memorial", "Wedding", "general_use"]
    times = ["2:00 PM", "2pm", "14:00", "11:00 a.m.", "10:30 AM", "4 pm"]
    pages = []
    for n, (kind, at_time) in enumerate(zip(kinds, times, strict=True)):
        at = NOTION_ONLY_FROM + timedelta(days=2 * n, hours=n)
        values = {
            "Application ID": f"CHAPEL-{_ms(at)}",
            "Type": kind,
            "Status": "Pending Review",
            "Service Date": (at.date() + timedelta(days=150)).isoformat(),
            "Service Time": at_time,
            "Submitted": at.isoformat(),
            "Contact Name": f"Chapel Contact {n}",
            "Contact Email": f"chapel.contact{n}@example.org",
            "Notes": "Born March 3, 2025 in Petoskey" if kind == "Baptism" else "Not provided",
        }
        if kind == "Baptism":
            values["Baptism Type"] = "Infant"
        pages.append((values, _minute(at)))
    # A time of day as a person typed it: quarantined with the value.
    at = NOTION_ONLY_FROM + timedelta(days=20)
    values = dict(
        pages[0][0], **{"Application ID": f"CHAPEL-{_ms(at)}", "Service Time": "after the 11 o'clock service"}
    )
    pages.append((values, _minute(at)))
    return pages


def load(state: NotionState, conninfo: str) -> dict[str, str]:
    """Put the sample's pages, made from the legacy rows of the database at conninfo (only read),
    into the local server's state. Returns the data source id of each database, as
    bayview_notion_data_sources wants them."""
    with psycopg.connect(conninfo) as conn:
        memorials = conn.execute(MEMORIALS).fetchall()
        chapel = conn.execute(CHAPEL).fetchall()
        has_prepayments = conn.execute("SELECT to_regclass('bayview.prepayments') IS NOT NULL").fetchone()[0]
        prepayments = conn.execute(PREPAYMENTS).fetchall() if has_prepayments else []
    memorial_ds, chapel_ds = DATA_SOURCES["memorial_garden"], DATA_SOURCES["chapel"]
    # A memorial's Database ID names it only for an immediate application (a future one names a prepayment).
    for values, edited, page_id in _matched("memorial_garden", memorials, _memorial, 3, lambda r: r[2] == "immediate"):
        state.add(memorial_ds, values, last_edited_time=edited, page_id=page_id)
    for values, edited, page_id in _matched("chapel", chapel, _chapel, 9, lambda r: True):
        state.add(chapel_ds, values, last_edited_time=edited, page_id=page_id)
    memorial_pages = _prepayments(prepayments) + _notion_only_memorials()
    for source, pages in ((memorial_ds, memorial_pages), (chapel_ds, _notion_only_chapel())):
        for values, edited in pages:
            title = next(iter(values.values()))
            state.add(source, values, last_edited_time=edited, page_id=_page_id(None, f"{source}:{title}"))
    return dict(DATA_SOURCES)
