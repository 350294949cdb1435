"""The payer of every prepayment, as a person (role 'payer'), where the environment has prepayments."""

from .cleaning import PERSON_FIELDS, candidates_query, named

NAME = "0023_prepayment_persons"
LEGACY_TABLE = "bayview.prepayments"
KEY = "id"
TARGET = "core.persons"
FIELDS = PERSON_FIELDS
UPDATED_AT = None  # the table has no such column: every row is compared by the sync

CARRIED = {
    "id": "core.person_legacy_links.legacy_id",
    "payer_name": "core.persons.last_name",  # split at its last space, as a contact's name
    "payer_email": "core.persons.email",
}
NOT_CARRIED: dict[str, str] = {}


def candidates_sql(columns: set[str]) -> str:
    return candidates_query(LEGACY_TABLE, "p", [named("payer", "applicant", "p.payer_name", "p.payer_email")])
