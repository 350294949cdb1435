"""Every person named by a memorial row: the deceased, the other_ and second_ persons (where
this environment has those columns), the contact and the member sponsor."""

from .cleaning import (
    KEY_CONTACT_AND_SPONSOR_CARRIED,
    PARTICULARS,
    PERSON_FIELDS,
    candidates_query,
    clean,
    named,
    notion_value_or,
    notion_winners,
    person,
)

NAME = "0001_memorial_persons"
LEGACY_TABLE = "bayview.memorials"
KEY = "id"
TARGET = "core.persons"
FIELDS = PERSON_FIELDS
# Legacy rows changed after they were migrated are found by this column (set by a trigger or the app).
UPDATED_AT = "updated_at"

PERSON_COLUMNS = ("first_name", "middle_name", "last_name", "maiden_name", "birth_date", "death_date")
# What the legacy row says of the deceased beyond the name; the other_ and second_ persons have
# the first four.
DECEASED_PARTICULARS = PARTICULARS
OTHER_PARTICULARS = DECEASED_PARTICULARS[:4]
# Coverage (playbooks/coverage.yml): where each legacy column goes. The memorial itself is carried
# by 0003_memorial_applications.
CARRIED = {
    **KEY_CONTACT_AND_SPONSOR_CARRIED,
    **{f"{prefix}{c}": f"core.persons.{c}" for prefix in ("", "other_", "second_") for c in PERSON_COLUMNS},
    **{c: f"core.persons.{c}" for c in DECEASED_PARTICULARS},
    **{f"{prefix}{c}": f"core.persons.{c}" for prefix in ("other_", "second_") for c in OTHER_PARTICULARS},
}
NOT_CARRIED: dict[str, str] = {}


def memorial_person(role: str, prefix: str, particulars: tuple[str, ...], columns: set[str]) -> str:
    """One of the (up to three) people a memorial names, from its <prefix>first_name, … columns."""
    death = f"m.{prefix}death_date"
    person_type = (
        f"CASE WHEN {death} IS NOT NULL OR position('immediate' in lower(coalesce(m.application_type, ''))) > 0 "
        "THEN 'deceased' ELSE 'applicant' END"
    )
    names = [f"m.{prefix}{c}" for c in ("first_name", "middle_name", "last_name", "maiden_name", "birth_date")]
    given = {p: f"m.{prefix}{p}" for p in particulars if f"{prefix}{p}" in columns}
    return person(role, person_type, *names, death, given)


# The contact's particulars a matched Notion page overrides where it was edited after the legacy
# row (the reconciliation records each difference and its winner: docs/notion.md).
NOTION_WINNERS = {"contact_email": "text", "contact_phone": "text"}


def candidates_sql(columns: set[str], notion_staged: bool = False) -> str:
    """notion_staged: this database has Notion's staged pages (migration 0010), whose winning
    values the contact takes."""
    email, phone, joins = "m.contact_email", "m.contact_phone", ""
    if notion_staged:
        # compared as the reconciliation compares them (cleaned; the email in lower case)
        email = notion_value_or("contact_email", "text", email, f"lower({clean(email)})")
        phone = notion_value_or("contact_phone", "text", phone, clean(phone))
        joins = notion_winners("bayview.memorials", "m")
    rows = [memorial_person("deceased", "", DECEASED_PARTICULARS, columns)]
    if {"other_first_name", "other_last_name"} <= columns:
        rows.append(memorial_person("other_person", "other_", OTHER_PARTICULARS, columns))
    if {"second_first_name", "second_last_name"} <= columns:
        rows.append(memorial_person("second_person", "second_", OTHER_PARTICULARS, columns))
    rows.append(named("contact", "contact", "m.contact_name", email, phone))
    rows.append(named("member_sponsor", "member", "m.member_name"))
    return candidates_query("bayview.memorials", "m", rows, joins)
