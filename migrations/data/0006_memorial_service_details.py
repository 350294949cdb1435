"""The memorial or funeral details of a chapel service: the deceased and the garden placement."""

from .cleaning import clean, service_detail_query

NAME = "0006_memorial_service_details"
LEGACY_TABLE = "crouse_chapel.memorial_details"
KEY = "id"
TARGET = "events.memorial_service_details"
DEPENDS_ON = ("0004_chapel_services",)
UPDATED_AT = None  # the table has no such column: every row is compared by the sync

FIELDS = ("service_id", "deceased_name", "garden_placement", "placement_date", "placement_time")
CARRIED = {
    "id": "events.memorial_service_details.legacy_id",
    "application_id": "events.memorial_service_details.service_id",
    "deceased_name": "events.memorial_service_details.deceased_name",
    "memorial_garden_placement": "events.memorial_service_details.garden_placement",
    "placement_date": "events.memorial_service_details.placement_date",
    "placement_time": "events.memorial_service_details.placement_time",
}
NOT_CARRIED = {"created_at": "the detail row's insert time; the service carries when it was submitted"}


def candidates_sql(columns: set[str]) -> str:
    fields = {
        "deceased_name": clean("d.deceased_name"),
        "garden_placement": "coalesce(d.memorial_garden_placement, false)",
        "placement_date": "d.placement_date",
        "placement_time": "d.placement_time",
    }
    return service_detail_query(LEGACY_TABLE, fields)
