"""The people of a memorial garden application that exists only in Notion: the deceased, the
contact and the member sponsor, linked to its staged page (as its record, 0024, is), so that
core.record_persons names them by role. A page that matched a legacy row has its people from
that row (0001)."""

from .cleaning import PERSON_FIELDS, candidates_query, clean, named
from .notion import STAGED, created_pages

NAME = "0026_notion_memorial_persons"
LEGACY_TABLE = STAGED
KEY = "id"
TARGET = "core.persons"
FIELDS = PERSON_FIELDS
UPDATED_AT = "reconciled_at"
NOTION_DATABASE = "memorial_garden"
DEPENDS_ON = ("0024_notion_memorial_applications",)

CARRIED = {
    "Deceased Name": "core.persons.last_name",  # split: the last word to last_name, the rest to first_name
    "Contact Name": "core.persons.last_name",
    "Contact Email": "core.persons.email",
    "Contact Phone": "core.persons.phone",
    "Member Name": "core.persons.last_name",
    # the deceased's birthDate, deathDate, motherName, fatherName and bayviewHistory, to those columns
    "Personal History JSON": "core.persons.birth_date",
    "Bay View History": "core.persons.bayview_history",  # the deceased's; before the JSON's bayviewHistory
}
NOT_CARRIED: dict[str, str] = {}

COLUMNS = ("deceased_name", "contact_name", "contact_email", "contact_phone", "member_name", "bayview_history")
HISTORY = "Personal History JSON"


def _history_date(key: str) -> str:
    return f"migration.notion_date({clean(f'a.history ->> {key!r}')})"


def _unreadable_date(key: str) -> str:
    value = clean(f"a.history ->> {key!r}")
    return (
        f"CASE WHEN {value} IS NOT NULL AND {_history_date(key)} IS NULL "
        f"THEN '{HISTORY} {key} ' || quote_literal(a.history ->> {key!r}) || ' is not a date' END"
    )


def candidates_sql(columns: set[str]) -> str:
    # The JSON is read once per page; a text that is not a JSON object quarantines the deceased.
    pages = created_pages(
        NOTION_DATABASE,
        "migration.notion_memorial_values",
        COLUMNS,
        {
            "history": f"migration.notion_json_object(p.texts ->> '{HISTORY}')",
            "history_raw": f"p.texts ->> '{HISTORY}'",
        },
    )
    # A simplified prepayment writes its names into Bay View History: not a history.
    own_history = "CASE WHEN a.bayview_history !~* '^SIMPLIFIED PREPAYMENT' THEN a.bayview_history END"
    deceased = named(
        "deceased",
        "deceased",
        "a.deceased_name",
        birth=_history_date("birthDate"),
        death=_history_date("deathDate"),
        particulars={
            "mother_name": "a.history ->> 'motherName'",
            "father_name": "a.history ->> 'fatherName'",
            "bayview_history": f"coalesce({own_history}, a.history ->> 'bayviewHistory')",
        },
    )
    rows = [
        deceased,
        named("contact", "contact", "a.contact_name", "a.contact_email", "a.contact_phone"),
        named("member_sponsor", "member", "a.member_name"),
    ]
    problem = f"""CASE WHEN r.role = 'deceased' THEN coalesce(
        CASE WHEN a.history_raw IS NOT NULL AND a.history IS NULL
             THEN '{HISTORY} ' || quote_literal(left(a.history_raw, 200)) || ' is not a JSON object' END,
        {_unreadable_date("birthDate")},
        {_unreadable_date("deathDate")}) END"""
    return candidates_query(pages, "a", rows, problem=problem)
