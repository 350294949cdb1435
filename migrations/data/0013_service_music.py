"""The music chosen for a chapel service."""

from .cleaning import clean, service_detail_query

NAME = "0013_service_music"
LEGACY_TABLE = "crouse_chapel.service_music"
KEY = "id"
TARGET = "events.service_music"
DEPENDS_ON = ("0004_chapel_services",)
UPDATED_AT = None  # the table has no such column: every row is compared by the sync

FIELDS = ("service_id", "piece", "notes")
CARRIED = {
    "id": "events.service_music.legacy_id",
    "application_id": "events.service_music.service_id",
    "piece": "events.service_music.piece",
    "notes": "events.service_music.notes",
}
NOT_CARRIED: dict[str, str] = {}


def candidates_sql(columns: set[str]) -> str:
    return service_detail_query(LEGACY_TABLE, {"piece": clean("d.piece"), "notes": clean("d.notes")})
