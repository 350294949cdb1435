"""The Crouse Chapel service application itself: its type, date and time, rehearsal, status and
approval. Its contact and member sponsor are moved by 0002_chapel_persons; its details, by the
detail migrations that depend on this one."""

from .cleaning import clean, not_allowed, notion_winners, record_query, with_notion_winners

NAME = "0004_chapel_services"
LEGACY_TABLE = "crouse_chapel.service_applications"
KEY = "id"
TARGET = "events.chapel_services"
UPDATED_AT = "updated_at"

# The fields a matched Notion page overrides where it was edited after the legacy row (the
# reconciliation records each difference and its winner: docs/notion.md), with their SQL types.
# The contact's email is compared too; it belongs to the contact person (0002).
NOTION_WINNERS = {"status": "text", "service_date": "date", "service_time": "time", "approved_by": "text"}

SERVICE_TYPES = ("wedding", "memorial", "funeral", "baptism", "general_use")
STATUSES = ("pending", "approved", "rejected", "cancelled")

CARRIED = {
    "id": "events.chapel_services.legacy_id",
    "application_type": "events.chapel_services.service_type",
    "service_date": "events.chapel_services.service_date",
    "service_time": "events.chapel_services.service_time",
    "rehearsal_date": "events.chapel_services.rehearsal_date",
    "rehearsal_time": "events.chapel_services.rehearsal_time",
    "member_relationship": "events.chapel_services.member_relationship",
    "contact_address": "events.chapel_services.contact_address",
    "status": "events.chapel_services.status",
    "submission_date": "events.chapel_services.submitted_at",
    "approved_by": "events.chapel_services.approved_by",
    "approval_date": "events.chapel_services.approved_at",
    "altar_guild_notified": "events.chapel_services.altar_guild_notified",
    "notion_id": "events.chapel_services.notion_id",
}
NOT_CARRIED = {
    "created_at": "the legacy row's insert time; submission_date (carried as submitted_at) says when it was submitted",
    "updated_at": "the legacy row's own bookkeeping; the new row keeps its own updated_at",
}

FIELDS = (
    "service_type",
    "service_date",
    "service_time",
    "rehearsal_date",
    "rehearsal_time",
    "member_relationship",
    "contact_address",
    "status",
    "submitted_at",
    "approved_by",
    "approved_at",
    "altar_guild_notified",
    "notion_id",
)


def candidates_sql(columns: set[str], notion_staged: bool = False) -> str:
    """notion_staged: this database has Notion's staged pages (migration 0010), whose winning
    values the record takes."""
    fields = {
        # 'general-use' (the forms' spelling) is general_use
        "service_type": f"replace(lower({clean('a.application_type')}), '-', '_')",
        "service_date": "a.service_date",
        "service_time": "a.service_time",
        "rehearsal_date": "a.rehearsal_date",
        "rehearsal_time": "a.rehearsal_time",
        "member_relationship": clean("a.member_relationship"),
        "contact_address": clean("a.contact_address"),
        "status": f"coalesce(lower({clean('a.status')}), 'pending')",
        "submitted_at": "a.submission_date",
        "approved_by": clean("a.approved_by"),
        "approved_at": "a.approval_date",
        "altar_guild_notified": "coalesce(a.altar_guild_notified, false)",
        "notion_id": clean("a.notion_id"),
    }
    problem = f"""coalesce(
        CASE WHEN r.service_type IS NULL THEN 'no service type' END,
        {not_allowed("service_type", SERVICE_TYPES)},
        {not_allowed("status", STATUSES)})"""
    table = "crouse_chapel.service_applications"
    if not notion_staged:
        return record_query(table, "a", fields, problem)
    return record_query(table, "a", with_notion_winners(fields, NOTION_WINNERS), problem, notion_winners(table, "a"))
