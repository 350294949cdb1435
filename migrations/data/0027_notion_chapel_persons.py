"""The contact of a chapel service that exists only in Notion, linked to its staged page (as its
record, 0025, is). A page that matched a legacy row has its people from that row (0002)."""

from .cleaning import PERSON_FIELDS, candidates_query, named
from .notion import STAGED, created_pages

NAME = "0027_notion_chapel_persons"
LEGACY_TABLE = STAGED
KEY = "id"
TARGET = "core.persons"
FIELDS = PERSON_FIELDS
UPDATED_AT = "reconciled_at"
NOTION_DATABASE = "chapel"
DEPENDS_ON = ("0025_notion_chapel_services",)

CARRIED = {
    "Contact Name": "core.persons.last_name",  # split: the last word to last_name, the rest to first_name
    "Contact Email": "core.persons.email",
    "Contact Phone": "core.persons.phone",
}
NOT_CARRIED: dict[str, str] = {}

COLUMNS = ("contact_name", "contact_email", "contact_phone")


def candidates_sql(columns: set[str]) -> str:
    rows = [named("contact", "contact", "a.contact_name", "a.contact_email", "a.contact_phone")]
    return candidates_query(created_pages(NOTION_DATABASE, "migration.notion_chapel_values", COLUMNS), "a", rows)
