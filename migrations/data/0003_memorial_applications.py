"""The memorial garden application itself: immediate (a placement) or future (a prepaid space),
its placement, service date, celebrant, message, fee and payment status. Its people are moved by
0001_memorial_persons and joined to it in core.record_persons."""

from .cleaning import clean, not_allowed, notion_winners, record_query, with_notion_winners

NAME = "0003_memorial_applications"
LEGACY_TABLE = "bayview.memorials"
KEY = "id"
TARGET = "property.memorial_applications"
UPDATED_AT = "updated_at"

# The fields a matched Notion page overrides where it was edited after the legacy row (the
# reconciliation records each difference and its winner: docs/notion.md), with their SQL types.
# The contact's email and phone are compared too; they belong to the contact person (0001).
NOTION_WINNERS = {"service_date": "date", "fee": "numeric(10,2)", "celebrant": "text"}

PLACEMENT_TYPES = ("single", "double", "triple", "family", "scatter", "other")
PAYMENT_STATUSES = ("pending", "paid", "waived")

CARRIED = {
    "id": "property.memorial_applications.legacy_id",
    "submission_id": "property.memorial_applications.submission_id",
    "application_type": "property.memorial_applications.application_type",
    "placement_type": "property.memorial_applications.placement_type",
    "service_date": "property.memorial_applications.service_date",
    "celebrant_requested": "property.memorial_applications.celebrant",
    "message": "property.memorial_applications.message",
    "is_member": "property.memorial_applications.is_member",
    "member_relationship": "property.memorial_applications.member_relationship",
    "contact_address": "property.memorial_applications.contact_address",
    "fee_amount": "property.memorial_applications.fee",
    "payment_status": "property.memorial_applications.payment_status",
    "notion_id": "property.memorial_applications.notion_id",
    "created_at": "property.memorial_applications.submitted_at",
}
NOT_CARRIED = {
    "updated_at": "the legacy row's own bookkeeping, set by its trigger; the new row keeps its own updated_at",
}

FIELDS = (
    "submission_id",
    "application_type",
    "placement_type",
    "service_date",
    "celebrant",
    "message",
    "is_member",
    "member_relationship",
    "contact_address",
    "fee",
    "payment_status",
    "notion_id",
    "submitted_at",
)

# Older rows hold a sentence ("Immediate placement of ashes…", "I would like to reserve a space
# for future use"): read by its key word. An empty type stays NULL (the form never said).
APPLICATION_TYPE = f"""CASE WHEN {clean("m.application_type")} IS NULL THEN NULL
     WHEN lower(m.application_type) ~ 'immediate' THEN 'immediate'
     WHEN lower(m.application_type) ~ '(future|reserve)' THEN 'future'
     ELSE btrim(m.application_type) END"""


def candidates_sql(columns: set[str], notion_staged: bool = False) -> str:
    """notion_staged: this database has Notion's staged pages (migration 0010), whose winning
    values the record takes."""
    placement = f"lower({clean('m.placement_type')})" if "placement_type" in columns else "NULL::text"
    fields = {
        "submission_id": clean("m.submission_id"),
        "application_type": APPLICATION_TYPE,
        "placement_type": placement,
        "service_date": "m.service_date",
        "celebrant": clean("m.celebrant_requested"),
        "message": clean("m.message"),
        "is_member": "m.is_member",
        "member_relationship": clean("m.member_relationship"),
        "contact_address": clean("m.contact_address"),
        "fee": "m.fee_amount::numeric(10,2)",
        "payment_status": f"lower({clean('m.payment_status')})",
        "notion_id": clean("m.notion_id"),
        "submitted_at": "m.created_at",
    }
    problem = f"""coalesce(
        {not_allowed("application_type", ("immediate", "future"))},
        {not_allowed("placement_type", PLACEMENT_TYPES)},
        {not_allowed("payment_status", PAYMENT_STATUSES)},
        CASE WHEN r.fee < 0 THEN 'fee ' || r.fee || ' is negative' END)"""
    if not notion_staged:
        return record_query("bayview.memorials", "m", fields, problem)
    fields = with_notion_winners(fields, NOTION_WINNERS)
    return record_query("bayview.memorials", "m", fields, problem, notion_winners("bayview.memorials", "m"))
