"""The chapel's availability slots (a slot closed for maintenance, with the reason)."""

from .cleaning import clean, record_query

NAME = "0018_chapel_availability"
LEGACY_TABLE = "crouse_chapel.chapel_availability"
KEY = "id"
TARGET = "events.chapel_availability"
UPDATED_AT = None  # the table has no such column: every row is compared by the sync

FIELDS = ("date", "time_slot", "is_available", "closure_reason")
CARRIED = {
    "id": "events.chapel_availability.legacy_id",
    "date": "events.chapel_availability.date",
    "time_slot": "events.chapel_availability.time_slot",
    "is_available": "events.chapel_availability.is_available",
    "reason": "events.chapel_availability.closure_reason",
}
NOT_CARRIED: dict[str, str] = {}


def candidates_sql(columns: set[str]) -> str:
    fields = {
        "date": "a.date",
        "time_slot": "a.time_slot",
        "is_available": "coalesce(a.is_available, true)",
        "closure_reason": clean("a.reason"),
    }
    return record_query(LEGACY_TABLE, "a", fields)
