"""The equipment a chapel service asks for."""

from .cleaning import clean, service_detail_query

NAME = "0015_service_equipment"
LEGACY_TABLE = "crouse_chapel.service_equipment"
KEY = "id"
TARGET = "events.service_equipment"
DEPENDS_ON = ("0004_chapel_services",)
UPDATED_AT = None  # the table has no such column: every row is compared by the sync

FIELDS = ("service_id", "equipment", "quantity")
CARRIED = {
    "id": "events.service_equipment.legacy_id",
    "application_id": "events.service_equipment.service_id",
    "equipment": "events.service_equipment.equipment",
    "quantity": "events.service_equipment.quantity",
}
NOT_CARRIED: dict[str, str] = {}


def candidates_sql(columns: set[str]) -> str:
    fields = {"equipment": clean("d.equipment"), "quantity": "coalesce(d.quantity, 1)"}
    problem = "CASE WHEN r.quantity < 0 THEN 'quantity ' || r.quantity || ' is negative' END"
    return service_detail_query(LEGACY_TABLE, fields, problem)
