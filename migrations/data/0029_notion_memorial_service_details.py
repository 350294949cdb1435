"""The memorial or funeral details of a chapel service that exists only in Notion (0025): the
deceased and whether the service includes a memorial garden placement."""

from .notion import STAGED, chapel_detail_query, unreadable

NAME = "0029_notion_memorial_service_details"
LEGACY_TABLE = STAGED
KEY = "id"
TARGET = "events.memorial_service_details"
UPDATED_AT = "reconciled_at"
NOTION_DATABASE = "chapel"
DEPENDS_ON = ("0025_notion_chapel_services",)

FIELDS = ("service_id", "deceased_name", "garden_placement")
CARRIED = {
    "Deceased Name": "events.memorial_service_details.deceased_name",
    "Memorial Garden Placement": "events.memorial_service_details.garden_placement",
}
NOT_CARRIED: dict[str, str] = {}


def candidates_sql(columns: set[str]) -> str:
    raw = {"deceased_name_raw": "Deceased Name", "placement_raw": "Memorial Garden Placement"}
    placement = "migration.notion_bool(r.placement_raw)"
    fields = {"deceased_name": "r.deceased_name_raw", "garden_placement": f"coalesce({placement}, false)"}
    problem = unreadable("Memorial Garden Placement", "r.placement_raw", placement, "Yes or No")
    return chapel_detail_query(("memorial", "funeral"), raw, fields, problem)
