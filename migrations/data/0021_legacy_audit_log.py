"""The legacy audit log, copied unchanged as read-only history (migration.legacy_audit_log)."""

from .cleaning import record_query

NAME = "0021_legacy_audit_log"
LEGACY_TABLE = "bayview.audit_log"
KEY = "id"
TARGET = "migration.legacy_audit_log"
UPDATED_AT = None  # the table has no such column: every row is compared by the sync

FIELDS = ("table_name", "record_id", "action", "changed_by", "changes", "logged_at")
CARRIED = {
    "id": "migration.legacy_audit_log.legacy_id",
    "table_name": "migration.legacy_audit_log.table_name",
    "record_id": "migration.legacy_audit_log.record_id",
    "action": "migration.legacy_audit_log.action",
    "changed_by": "migration.legacy_audit_log.changed_by",
    "changes": "migration.legacy_audit_log.changes",
    "created_at": "migration.legacy_audit_log.logged_at",
}
NOT_CARRIED: dict[str, str] = {}


def candidates_sql(columns: set[str]) -> str:
    # History is kept as it was written: nothing is cleaned.
    fields = {
        "table_name": "l.table_name::text",
        "record_id": "l.record_id",
        "action": "l.action::text",
        "changed_by": "l.changed_by::text",
        "changes": "l.changes",
        "logged_at": "l.created_at",
    }
    return record_query(LEGACY_TABLE, "l", fields)
