"""The clergy assigned to a chapel service (legacy service_clergy.service_id is the service)."""

from .cleaning import SERVICE_APPLICATIONS, SERVICES, clean, parent, record_query

NAME = "0012_service_clergy"
LEGACY_TABLE = "crouse_chapel.service_clergy"
KEY = "id"
TARGET = "events.service_clergy"
DEPENDS_ON = ("0004_chapel_services", "0011_clergy")
UPDATED_AT = None  # the table has no such column: every row is compared by the sync

FIELDS = ("service_id", "clergy_id", "clergy_role")
CARRIED = {
    "id": "events.service_clergy.legacy_id",
    "service_id": "events.service_clergy.service_id",
    "clergy_id": "events.service_clergy.clergy_id",
    "role": "events.service_clergy.clergy_role",
}
NOT_CARRIED: dict[str, str] = {}


def candidates_sql(columns: set[str]) -> str:
    fields = {
        "service_id": parent(SERVICES, SERVICE_APPLICATIONS, "d.service_id"),
        "clergy_id": parent("events.clergy", "crouse_chapel.clergy", "d.clergy_id"),
        "clergy_role": f"lower({clean('d.role')})",
        "legacy_service_id": "d.service_id",
        "legacy_clergy_id": "d.clergy_id",
    }
    problem = """coalesce(
        CASE WHEN r.service_id IS NULL
             THEN 'its service application ' || coalesce(r.legacy_service_id::text, '(none)')
                  || ' is not in the new design' END,
        CASE WHEN r.legacy_clergy_id IS NOT NULL AND r.clergy_id IS NULL
             THEN 'its clergy ' || r.legacy_clergy_id || ' is not in the new design' END)"""
    return record_query(LEGACY_TABLE, "d", fields, problem)
