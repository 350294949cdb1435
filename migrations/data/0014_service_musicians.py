"""The musicians who play at a chapel service."""

from .cleaning import clean, service_detail_query

NAME = "0014_service_musicians"
LEGACY_TABLE = "crouse_chapel.service_musicians"
KEY = "id"
TARGET = "events.service_musicians"
DEPENDS_ON = ("0004_chapel_services",)
UPDATED_AT = None  # the table has no such column: every row is compared by the sync

FIELDS = ("service_id", "musician_name", "instrument")
CARRIED = {
    "id": "events.service_musicians.legacy_id",
    "application_id": "events.service_musicians.service_id",
    "musician_name": "events.service_musicians.musician_name",
    "instrument": "events.service_musicians.instrument",
}
NOT_CARRIED: dict[str, str] = {}


def candidates_sql(columns: set[str]) -> str:
    return service_detail_query(
        LEGACY_TABLE, {"musician_name": clean("d.musician_name"), "instrument": clean("d.instrument")}
    )
