"""The general-use details of a chapel service: the event, its description, the guests expected."""

from .cleaning import clean, service_detail_query

NAME = "0008_general_use_details"
LEGACY_TABLE = "crouse_chapel.general_use_details"
KEY = "id"
TARGET = "events.general_use_details"
DEPENDS_ON = ("0004_chapel_services",)
UPDATED_AT = None  # the table has no such column: every row is compared by the sync

FIELDS = ("service_id", "event_name", "description", "expected_guests")
CARRIED = {
    "id": "events.general_use_details.legacy_id",
    "application_id": "events.general_use_details.service_id",
    "event_name": "events.general_use_details.event_name",
    "description": "events.general_use_details.description",
    "expected_guests": "events.general_use_details.expected_guests",
}
NOT_CARRIED = {"created_at": "the detail row's insert time; the service carries when it was submitted"}


def candidates_sql(columns: set[str]) -> str:
    fields = {
        "event_name": clean("d.event_name"),
        "description": clean("d.description"),
        "expected_guests": "d.expected_guests",
    }
    problem = "CASE WHEN r.expected_guests < 0 THEN 'expected_guests ' || r.expected_guests || ' is negative' END"
    return service_detail_query(LEGACY_TABLE, fields, problem)
