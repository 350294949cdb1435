"""The contact and the member sponsor of every Crouse Chapel service application."""

NAME = "0002_chapel_persons"
LEGACY_TABLE = "crouse_chapel.service_applications"
KEY = "id"
# Legacy rows changed after they were migrated are found by this column (set by a trigger or the app).
UPDATED_AT = "updated_at"

from cleaning import candidates_query, named  # noqa: E402 - sibling module


def candidates_sql(columns: set[str]) -> str:
    rows = [
        named("contact", "contact", "a.contact_name", "a.contact_email", "a.contact_phone"),
        named("member_sponsor", "member", "a.member_name"),
    ]
    return candidates_query("crouse_chapel.service_applications", "a", rows)
