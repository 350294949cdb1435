"""The contact and the member sponsor of every Crouse Chapel service application."""

NAME = "0002_chapel_persons"
LEGACY_TABLE = "crouse_chapel.service_applications"
KEY = "id"
# Legacy rows changed after they were migrated are found by this column (set by a trigger or the app).
UPDATED_AT = "updated_at"

from cleaning import KEY_CONTACT_AND_SPONSOR_CARRIED, candidates_query, named  # noqa: E402 - sibling module

# Coverage (playbooks/coverage.yml): only the people move here; the service itself is not carried yet.
CARRIED = dict(KEY_CONTACT_AND_SPONSOR_CARRIED)
NOT_CARRIED: dict[str, str] = {}


def candidates_sql(columns: set[str]) -> str:
    rows = [
        named("contact", "contact", "a.contact_name", "a.contact_email", "a.contact_phone"),
        named("member_sponsor", "member", "a.member_name"),
    ]
    return candidates_query("crouse_chapel.service_applications", "a", rows)
