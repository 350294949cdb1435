"""The wedding details of a chapel service: the couple, the guests, the wedding fee."""

from .cleaning import clean, service_detail_query

NAME = "0005_wedding_details"
LEGACY_TABLE = "crouse_chapel.wedding_details"
KEY = "id"
TARGET = "events.wedding_details"
DEPENDS_ON = ("0004_chapel_services",)
UPDATED_AT = None  # the table has no such column: every row is compared by the sync

FIELDS = ("service_id", "couple_names", "guest_count", "fee")
CARRIED = {
    "id": "events.wedding_details.legacy_id",
    "application_id": "events.wedding_details.service_id",
    "couple_names": "events.wedding_details.couple_names",
    "guest_count": "events.wedding_details.guest_count",
    "wedding_fee": "events.wedding_details.fee",
}
NOT_CARRIED = {"created_at": "the detail row's insert time; the service carries when it was submitted"}


def candidates_sql(columns: set[str]) -> str:
    fields = {
        "couple_names": clean("d.couple_names"),
        "guest_count": "d.guest_count",
        "fee": "d.wedding_fee::numeric(10,2)",
    }
    problem = """coalesce(CASE WHEN r.guest_count < 0 THEN 'guest_count ' || r.guest_count || ' is negative' END,
                          CASE WHEN r.fee < 0 THEN 'wedding_fee ' || r.fee || ' is negative' END)"""
    return service_detail_query(LEGACY_TABLE, fields, problem)
