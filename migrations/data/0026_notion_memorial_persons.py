"""The people of a memorial garden application that exists only in Notion: the deceased, the
contact and the member sponsor, linked to its staged page (as its record, 0024, is), so that
core.record_persons names them by role. A page that matched a legacy row has its people from
that row (0001)."""

from .cleaning import PERSON_FIELDS, candidates_query, named
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
}
NOT_CARRIED: dict[str, str] = {}

COLUMNS = ("deceased_name", "contact_name", "contact_email", "contact_phone", "member_name")


def candidates_sql(columns: set[str]) -> str:
    rows = [
        named("deceased", "deceased", "a.deceased_name"),
        named("contact", "contact", "a.contact_name", "a.contact_email", "a.contact_phone"),
        named("member_sponsor", "member", "a.member_name"),
    ]
    return candidates_query(created_pages(NOTION_DATABASE, "migration.notion_memorial_values", COLUMNS), "a", rows)
