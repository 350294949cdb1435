"""The notifications sent about a chapel service (the altar guild, the applicant)."""

from .cleaning import clean, service_detail_query

NAME = "0017_service_notifications"
LEGACY_TABLE = "crouse_chapel.notifications"
KEY = "id"
TARGET = "events.service_notifications"
DEPENDS_ON = ("0004_chapel_services",)
UPDATED_AT = None  # the table has no such column: every row is compared by the sync

FIELDS = ("service_id", "notification_type", "recipient", "sent_at")
CARRIED = {
    "id": "events.service_notifications.legacy_id",
    "application_id": "events.service_notifications.service_id",
    "notification_type": "events.service_notifications.notification_type",
    "recipient": "events.service_notifications.recipient",
    "sent_at": "events.service_notifications.sent_at",
}
NOT_CARRIED: dict[str, str] = {}


def candidates_sql(columns: set[str]) -> str:
    fields = {
        "notification_type": f"lower({clean('d.notification_type')})",
        "recipient": clean("d.recipient"),
        "sent_at": "d.sent_at",
    }
    return service_detail_query(LEGACY_TABLE, fields)
