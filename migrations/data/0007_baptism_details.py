"""The baptism details of a chapel service: the child and the parents."""

from .cleaning import clean, service_detail_query

NAME = "0007_baptism_details"
LEGACY_TABLE = "crouse_chapel.baptism_details"
KEY = "id"
TARGET = "events.baptism_details"
DEPENDS_ON = ("0004_chapel_services",)
UPDATED_AT = None  # the table has no such column: every row is compared by the sync

FIELDS = ("service_id", "child_name", "parents_names")
CARRIED = {
    "id": "events.baptism_details.legacy_id",
    "application_id": "events.baptism_details.service_id",
    "child_name": "events.baptism_details.child_name",
    "parents_names": "events.baptism_details.parents_names",
}
NOT_CARRIED = {"created_at": "the detail row's insert time; the service carries when it was submitted"}


def candidates_sql(columns: set[str]) -> str:
    return service_detail_query(
        LEGACY_TABLE, {"child_name": clean("d.child_name"), "parents_names": clean("d.parents_names")}
    )
