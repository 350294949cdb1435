"""Chapel service applications that exist only in Notion (the forms have written Notion alone
since 2025-12-22): each staged page the reconciliation found no legacy row for becomes an
events.chapel_services record, linked to its staged page (legacy_table migration.notion_pages).
A page whose slot a pending or approved service already holds is quarantined by the engine with
the database's reason."""

from .notion import STAGED, notion_record_query

NAME = "0025_notion_chapel_services"
LEGACY_TABLE = STAGED
KEY = "id"
TARGET = "events.chapel_services"
UPDATED_AT = "reconciled_at"
NOTION_DATABASE = "chapel"

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
TYPES = {
    "service_type": "text",
    "service_date": "date",
    "service_time": "time",
    "rehearsal_date": "date",
    "rehearsal_time": "time",
    "member_relationship": "text",
    "contact_address": "text",
    "status": "text",
    "submitted_at": "timestamptz",
    "approved_by": "text",
    "approved_at": "timestamptz",
    "altar_guild_notified": "boolean",
    "notion_id": "text",
}

CARRIED = {
    "Type": "events.chapel_services.service_type",
    "Service Date": "events.chapel_services.service_date",
    "Service Time": "events.chapel_services.service_time",
    "Rehearsal Date": "events.chapel_services.rehearsal_date",
    "Rehearsal Time": "events.chapel_services.rehearsal_time",
    "Member Relationship": "events.chapel_services.member_relationship",
    "Contact Address": "events.chapel_services.contact_address",
    "Status": "events.chapel_services.status",
    "Submitted": "events.chapel_services.submitted_at",
    "Approved By": "events.chapel_services.approved_by",
    "Approval Date": "events.chapel_services.approved_at",
    "Altar Guild Notified": "events.chapel_services.altar_guild_notified",
}
# Carried by the Notion detail migrations (0028-0031, by the page's Type): the wedding's couple,
# guests and fee; the memorial's deceased and garden placement; the baptism's candidate, parents,
# date, type and witnesses; a general use's event, organisation, attendance, times and fee; and by
# 0032-0033 (any Type): the payment (Amount Paid, Payment Status) and the policy acknowledgment;
# by 0034-0035: the music (Has Music, Needs Piano, Needs Organ, Performance Location) and the
# Musicians List; by 0036: the equipment (Additional Chairs, the six item checkboxes, Equipment Needs);
# by 0037: the clergy (Clergy Name, Clergy Approved); by 0038: the Notes.
NOT_CARRIED = {
    "Application ID": "the serial or CHAPEL-<ms> the form gave: the staged page keeps it, the record links to the page",
    "Database ID": "used to match the page to its legacy row; a created record has no legacy row",
    "Created At": "Notion's own bookkeeping; Submitted (carried as submitted_at) says when it was submitted",
    "Updated At": "Notion's own bookkeeping; the new row keeps its own updated_at",
    # The contact is carried by 0027_notion_chapel_persons.
    "Bay View Member": "whether the applicant is a member: the new design keeps no such flag on a service",
}


def candidates_sql(columns: set[str]) -> str:
    fields = {field: f"v.{field}" for field in FIELDS} | {"notion_id": "v.page_id"}
    return notion_record_query(NOTION_DATABASE, "migration.notion_chapel_values", fields, TYPES)
