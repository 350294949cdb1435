"""The chapel policies an applicant acknowledged for a service."""

from .cleaning import clean, service_detail_query

NAME = "0016_policy_acknowledgments"
LEGACY_TABLE = "crouse_chapel.policy_acknowledgments"
KEY = "id"
TARGET = "events.policy_acknowledgments"
DEPENDS_ON = ("0004_chapel_services",)
UPDATED_AT = None  # the table has no such column: every row is compared by the sync

FIELDS = ("service_id", "policy_name", "acknowledged", "acknowledged_at")
CARRIED = {
    "id": "events.policy_acknowledgments.legacy_id",
    "application_id": "events.policy_acknowledgments.service_id",
    "policy_name": "events.policy_acknowledgments.policy_name",
    "acknowledged": "events.policy_acknowledgments.acknowledged",
    "acknowledged_at": "events.policy_acknowledgments.acknowledged_at",
}
NOT_CARRIED: dict[str, str] = {}


def candidates_sql(columns: set[str]) -> str:
    fields = {
        "policy_name": clean("d.policy_name"),
        "acknowledged": "coalesce(d.acknowledged, false)",
        "acknowledged_at": "d.acknowledged_at",
    }
    return service_detail_query(LEGACY_TABLE, fields)
