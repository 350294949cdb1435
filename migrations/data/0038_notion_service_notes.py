"""The Notes of a chapel service that exists only in Notion (0025), kept whole as one note of the
service (migration 0022 adds events.service_notes): free text the legacy tables never had. 2026
baptism pages pack the date and place of birth into it; reading them out of free text would be a
guess, so they stay in the note as written."""

from .notion import CHAPEL_TYPES, STAGED, chapel_detail_query

NAME = "0038_notion_service_notes"
LEGACY_TABLE = STAGED
KEY = "id"
TARGET = "events.service_notes"
UPDATED_AT = "reconciled_at"
NOTION_DATABASE = "chapel"
DEPENDS_ON = ("0025_notion_chapel_services",)

FIELDS = ("service_id", "note")
CARRIED = {"Notes": "events.service_notes.note"}
NOT_CARRIED: dict[str, str] = {}


def candidates_sql(columns: set[str]) -> str:
    return chapel_detail_query(CHAPEL_TYPES, {"note_raw": "Notes"}, {"note": "r.note_raw"})
