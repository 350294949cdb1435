"""The clergy of a chapel service that exists only in Notion (0025), as the form wrote them: Clergy
Name (free text) and Clergy Approved (migration 0021 adds the columns). The row refers to no
clergy record (clergy_id NULL): tying a free-text name to the chapel's register of clergy is a
guess, which staff make; a sync keeps the clergy_id they set, as it writes only these fields."""

from .notion import CHAPEL_TYPES, STAGED, chapel_detail_query, unreadable

NAME = "0037_notion_service_clergy"
LEGACY_TABLE = STAGED
KEY = "id"
TARGET = "events.service_clergy"
UPDATED_AT = "reconciled_at"
NOTION_DATABASE = "chapel"
DEPENDS_ON = ("0025_notion_chapel_services",)

FIELDS = ("service_id", "clergy_name", "clergy_approved")
CARRIED = {
    "Clergy Name": "events.service_clergy.clergy_name",
    "Clergy Approved": "events.service_clergy.clergy_approved",
}
NOT_CARRIED: dict[str, str] = {}


def candidates_sql(columns: set[str]) -> str:
    raw = {"name_raw": "Clergy Name", "approved_raw": "Clergy Approved"}
    fields = {"clergy_name": "r.name_raw", "clergy_approved": "migration.notion_bool(r.approved_raw)"}
    problem = unreadable("Clergy Approved", "r.approved_raw", "f.clergy_approved", "Yes or No")
    # An unticked Clergy Approved is 'No', not empty: alone it names no clergy.
    given = f"r.name_raw IS NOT NULL OR f.clergy_approved IS TRUE OR ({problem}) IS NOT NULL"
    return chapel_detail_query(CHAPEL_TYPES, raw, fields, problem, given)
