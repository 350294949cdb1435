"""The contact and the member sponsor of every Crouse Chapel service application."""

from .cleaning import (
    KEY_CONTACT_AND_SPONSOR_CARRIED,
    PERSON_FIELDS,
    candidates_query,
    clean,
    named,
    notion_value_or,
    notion_winners,
)

NAME = "0002_chapel_persons"
LEGACY_TABLE = "crouse_chapel.service_applications"
KEY = "id"
TARGET = "core.persons"
FIELDS = PERSON_FIELDS
# Legacy rows changed after they were migrated are found by this column (set by a trigger or the app).
UPDATED_AT = "updated_at"

# Coverage (playbooks/coverage.yml): the people move here; the service itself in 0004_chapel_services.
CARRIED = dict(KEY_CONTACT_AND_SPONSOR_CARRIED)
NOT_CARRIED: dict[str, str] = {}


# The contact's particulars a matched Notion page overrides where it was edited after the legacy
# row (the reconciliation records each difference and its winner: docs/notion.md).
NOTION_WINNERS = {"contact_email": "text"}


def candidates_sql(columns: set[str], notion_staged: bool = False) -> str:
    """notion_staged: this database has Notion's staged pages (migration 0010), whose winning
    values the contact takes."""
    table, email, joins = "crouse_chapel.service_applications", "a.contact_email", ""
    if notion_staged:
        compared = f"lower({clean(email)})"  # as the reconciliation compares it
        email, joins = notion_value_or("contact_email", "text", email, compared), notion_winners(table, "a")
    rows = [
        named("contact", "contact", "a.contact_name", email, "a.contact_phone"),
        named("member_sponsor", "member", "a.member_name"),
    ]
    return candidates_query(table, "a", rows, joins)
