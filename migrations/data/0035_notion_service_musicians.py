"""The musicians of a chapel service that exists only in Notion (0025): the form's one Musicians
List text, kept whole as one row (splitting a free-text list into people would be a guess)."""

from .notion import CHAPEL_TYPES, STAGED, chapel_detail_query

NAME = "0035_notion_service_musicians"
LEGACY_TABLE = STAGED
KEY = "id"
TARGET = "events.service_musicians"
UPDATED_AT = "reconciled_at"
NOTION_DATABASE = "chapel"
DEPENDS_ON = ("0025_notion_chapel_services",)

FIELDS = ("service_id", "musician_name")
CARRIED = {"Musicians List": "events.service_musicians.musician_name"}
NOT_CARRIED: dict[str, str] = {}


def candidates_sql(columns: set[str]) -> str:
    return chapel_detail_query(CHAPEL_TYPES, {"musicians_raw": "Musicians List"}, {"musician_name": "r.musicians_raw"})
