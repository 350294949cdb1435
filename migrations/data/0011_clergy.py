"""The clergy who serve at the chapel."""

from .cleaning import clean, record_query

NAME = "0011_clergy"
LEGACY_TABLE = "crouse_chapel.clergy"
KEY = "id"
TARGET = "events.clergy"
UPDATED_AT = None  # the table has no such column: every row is compared by the sync

FIELDS = ("name", "title", "email", "phone", "is_active")
CARRIED = {
    "id": "events.clergy.legacy_id",
    "name": "events.clergy.name",
    "title": "events.clergy.title",
    "email": "events.clergy.email",
    "phone": "events.clergy.phone",
    "is_active": "events.clergy.is_active",
}
NOT_CARRIED: dict[str, str] = {}


def candidates_sql(columns: set[str]) -> str:
    fields = {
        "name": clean("c.name"),
        "title": clean("c.title"),
        "email": f"lower({clean('c.email')})",
        "phone": clean("c.phone"),
        "is_active": "coalesce(c.is_active, true)",
    }
    return record_query(LEGACY_TABLE, "c", fields, "CASE WHEN r.name IS NULL THEN 'no usable name' END")
