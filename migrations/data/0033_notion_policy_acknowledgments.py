"""The policy acknowledgment of a chapel service that exists only in Notion (0025): the form's one
Policy Acknowledged checkbox, acknowledged when the page was submitted. The form names no policy,
so policy_name stays NULL."""

from .notion import CHAPEL_TYPES, STAGED, chapel_detail_query, unreadable

NAME = "0033_notion_policy_acknowledgments"
LEGACY_TABLE = STAGED
KEY = "id"
TARGET = "events.policy_acknowledgments"
UPDATED_AT = "reconciled_at"
NOTION_DATABASE = "chapel"
DEPENDS_ON = ("0025_notion_chapel_services",)

FIELDS = ("service_id", "acknowledged", "acknowledged_at")
CARRIED = {"Policy Acknowledged": "events.policy_acknowledgments.acknowledged"}
NOT_CARRIED: dict[str, str] = {}


def candidates_sql(columns: set[str]) -> str:
    raw = {"acknowledged_raw": "Policy Acknowledged"}
    acknowledged = "migration.notion_bool(r.acknowledged_raw)"
    fields = {
        "acknowledged": f"coalesce({acknowledged}, false)",
        # Submitted was read when the page was reconciled: a created page's is readable
        "acknowledged_at": f"CASE WHEN {acknowledged} THEN migration.notion_timestamp(p.texts ->> 'Submitted') END",
    }
    problem = unreadable("Policy Acknowledged", "r.acknowledged_raw", acknowledged, "Yes or No")
    return chapel_detail_query(CHAPEL_TYPES, raw, fields, problem)
