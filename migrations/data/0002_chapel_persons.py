"""The contact and the member sponsor of every Crouse Chapel service application."""

from .cleaning import KEY_CONTACT_AND_SPONSOR_CARRIED, PERSON_FIELDS, candidates_query, named

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


def candidates_sql(columns: set[str]) -> str:
    rows = [
        named("contact", "contact", "a.contact_name", "a.contact_email", "a.contact_phone"),
        named("member_sponsor", "member", "a.member_name"),
    ]
    return candidates_query("crouse_chapel.service_applications", "a", rows)
