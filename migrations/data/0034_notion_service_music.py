"""The music of a chapel service that exists only in Notion (0025): whether it has music, needs the
piano or the organ, and where the musicians perform (migration 0018 adds the columns the legacy
music table never had). The form names no piece, so piece and notes stay NULL."""

from .notion import CHAPEL_TYPES, STAGED, chapel_detail_query, unreadable

NAME = "0034_notion_service_music"
LEGACY_TABLE = STAGED
KEY = "id"
TARGET = "events.service_music"
UPDATED_AT = "reconciled_at"
NOTION_DATABASE = "chapel"
DEPENDS_ON = ("0025_notion_chapel_services",)

FIELDS = ("service_id", "needs_piano", "needs_organ", "performance_location")
CARRIED = {
    "Has Music": "events.service_music.service_id",  # a row of the service: it has music
    "Needs Piano": "events.service_music.needs_piano",
    "Needs Organ": "events.service_music.needs_organ",
    "Performance Location": "events.service_music.performance_location",
}
NOT_CARRIED: dict[str, str] = {}
LOCATIONS = ("sanctuary", "balcony", "both")


def candidates_sql(columns: set[str]) -> str:
    raw = {
        "has_music_raw": "Has Music",
        "piano_raw": "Needs Piano",
        "organ_raw": "Needs Organ",
        "location_raw": "Performance Location",
    }
    fields = {
        "needs_piano": "migration.notion_bool(r.piano_raw)",
        "needs_organ": "migration.notion_bool(r.organ_raw)",
        "performance_location": "migration.notion_option(r.location_raw)",  # Balcony and balcony alike
    }
    has_music = "migration.notion_bool(r.has_music_raw)"
    locations = ", ".join(f"'{location}'" for location in LOCATIONS)
    problem = f"""coalesce(
        {unreadable("Has Music", "r.has_music_raw", has_music, "Yes or No")},
        {unreadable("Needs Piano", "r.piano_raw", "f.needs_piano", "Yes or No")},
        {unreadable("Needs Organ", "r.organ_raw", "f.needs_organ", "Yes or No")},
        CASE WHEN f.performance_location NOT IN ({locations})
             THEN 'Performance Location ' || quote_literal(r.location_raw)
                  || ' is not one of Sanctuary, Balcony, Both' END)"""
    # Unticked checkboxes are 'No', not empty: a page has music when any of them says so or a place is named.
    given = f"""({has_music} OR f.needs_piano OR f.needs_organ) IS TRUE OR r.location_raw IS NOT NULL
                OR ({problem}) IS NOT NULL"""
    return chapel_detail_query(CHAPEL_TYPES, raw, fields, problem, given)
