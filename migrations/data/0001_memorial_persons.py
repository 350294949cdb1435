"""Every person named by a memorial row: the deceased, the other_ and second_ persons (where
this environment has those columns), the contact and the member sponsor."""

NAME = "0001_memorial_persons"
LEGACY_TABLE = "bayview.memorials"
KEY = "id"
# Legacy rows changed after they were migrated are found by this column (set by a trigger or the app).
UPDATED_AT = "updated_at"

from cleaning import KEY_CONTACT_AND_SPONSOR_CARRIED, candidates_query, named, person  # noqa: E402 - sibling module

PERSON_COLUMNS = ("first_name", "middle_name", "last_name", "maiden_name", "birth_date", "death_date")
# Coverage (playbooks/coverage.yml): where each legacy column goes. Only the people move here; the
# memorial itself (its dates, placement, message, fee, payment) is not carried yet, so those columns
# stay unmapped and the cutover is refused until a data migration carries them.
CARRIED = {
    **KEY_CONTACT_AND_SPONSOR_CARRIED,
    **{f"{prefix}{c}": f"core.persons.{c}" for prefix in ("", "other_", "second_") for c in PERSON_COLUMNS},
}
NOT_CARRIED: dict[str, str] = {}


def memorial_person(role: str, prefix: str) -> str:
    """One of the (up to three) people a memorial names, from its <prefix>first_name, … columns."""
    death = f"m.{prefix}death_date"
    person_type = (
        f"CASE WHEN {death} IS NOT NULL OR position('immediate' in lower(coalesce(m.application_type, ''))) > 0 "
        "THEN 'deceased' ELSE 'applicant' END"
    )
    columns = [f"m.{prefix}{c}" for c in ("first_name", "middle_name", "last_name", "maiden_name", "birth_date")]
    return person(role, person_type, *columns, death)


def candidates_sql(columns: set[str]) -> str:
    rows = [memorial_person("deceased", "")]
    if {"other_first_name", "other_last_name"} <= columns:
        rows.append(memorial_person("other_person", "other_"))
    if {"second_first_name", "second_last_name"} <= columns:
        rows.append(memorial_person("second_person", "second_"))
    rows.append(named("contact", "contact", "m.contact_name", "m.contact_email", "m.contact_phone"))
    rows.append(named("member_sponsor", "member", "m.member_name"))
    return candidates_query("bayview.memorials", "m", rows)
