"""Memorial garden applications that exist only in Notion (the forms have written Notion alone
since 2026-01-08): each staged page the reconciliation found no legacy row for becomes a
property.memorial_applications record, linked to its staged page (legacy_table
migration.notion_pages). A page that matched a legacy row is that row's record (0003)."""

from .notion import STAGED, notion_record_query

NAME = "0024_notion_memorial_applications"
LEGACY_TABLE = STAGED
KEY = "id"
TARGET = "property.memorial_applications"
UPDATED_AT = "reconciled_at"  # a page reconciled again (edited in Notion) is brought up to date by the sync
NOTION_DATABASE = "memorial_garden"

# Notion's properties (as staged): where each goes, or why it is not carried.
CARRIED = {
    "Submission ID": "property.memorial_applications.submission_id",
    "Application Type": "property.memorial_applications.application_type",
    "Placement Type": "property.memorial_applications.placement_type",
    "Service Date": "property.memorial_applications.service_date",
    "Celebrant Requested": "property.memorial_applications.celebrant",
    "Bay View Member": "property.memorial_applications.is_member",
    "Member Relationship": "property.memorial_applications.member_relationship",
    "Contact Address": "property.memorial_applications.contact_address",
    "Fee Amount": "property.memorial_applications.fee",
    "Submission Date": "property.memorial_applications.submitted_at",
}
NOT_CARRIED = {
    # Contact, deceased (with the Personal History JSON and Bay View History) and member sponsor: persons
    # of the record, carried by 0026_notion_memorial_persons.
    "Status": "the form's workflow state (Submitted, ...); the new design's status says only active or cancelled",
    "Database ID": "used to match the page to its legacy row; a created record has no legacy row",
    "Other Person JSON": "the second person of the application, not yet created: NOTION.md documents no keys for it",
    "Second Person JSON": "the third person of the application, not yet created: NOTION.md documents no keys for it",
    "Policy Agreement": "the form required it; the application records no acknowledgment",
    "Prepayment Names": "the names of a simplified prepayment, kept in the staged page only",
}

FIELDS = (
    "submission_id",
    "application_type",
    "placement_type",
    "service_date",
    "celebrant",
    "is_member",
    "member_relationship",
    "contact_address",
    "fee",
    "notion_id",
    "submitted_at",
)
TYPES = {
    "submission_id": "text",
    "application_type": "text",
    "placement_type": "text",
    "service_date": "date",
    "celebrant": "text",
    "is_member": "boolean",
    "member_relationship": "text",
    "contact_address": "text",
    "fee": "numeric",
    "notion_id": "text",
    "submitted_at": "timestamptz",
}


def candidates_sql(columns: set[str]) -> str:
    fields = {field: f"v.{field}" for field in FIELDS} | {"submission_id": "v.title", "notion_id": "v.page_id"}
    return notion_record_query(NOTION_DATABASE, "migration.notion_memorial_values", fields, TYPES)
