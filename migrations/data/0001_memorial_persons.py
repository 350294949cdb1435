"""Every person named by a memorial row: the deceased, the other_ and second_ persons (where
this environment has those columns), the contact and the member sponsor."""

NAME = "0001_memorial_persons"
LEGACY_TABLE = "bayview.memorials"
KEY = "id"
# Legacy rows changed after they were migrated are found by this column (set by a trigger or the app).
UPDATED_AT = "updated_at"

from cleaning import candidates_query, clean, named  # noqa: E402 - sibling module


def person(role: str, prefix: str) -> str:
    """A VALUES row for one of the (up to three) people a memorial names."""
    first, last = clean(f"m.{prefix}first_name"), clean(f"m.{prefix}last_name")
    death, birth = f"m.{prefix}death_date", f"m.{prefix}birth_date"
    middle, maiden = clean(f"m.{prefix}middle_name"), clean(f"m.{prefix}maiden_name")
    person_type = (
        f"CASE WHEN {death} IS NOT NULL OR position('immediate' in lower(coalesce(m.application_type, ''))) > 0 "
        "THEN 'deceased' ELSE 'applicant' END"
    )
    has_data = f"coalesce({first}, {last}, {middle}, {maiden}, {birth}::text, {death}::text) IS NOT NULL"
    one_word = f"CASE WHEN {first} = {last} THEN NULL ELSE {first} END"
    return (
        f"('{role}', {person_type}, {one_word}, {middle}, {last}, {maiden}, {birth}, {death}, "
        f"NULL::text, NULL::text, {has_data})"
    )


def candidates_sql(columns: set[str]) -> str:
    rows = [person("deceased", "")]
    if {"other_first_name", "other_last_name"} <= columns:
        rows.append(person("other_person", "other_"))
    if {"second_first_name", "second_last_name"} <= columns:
        rows.append(person("second_person", "second_"))
    rows.append(named("contact", "contact", "m.contact_name", "m.contact_email", "m.contact_phone"))
    rows.append(named("member_sponsor", "member", "m.member_name"))
    return candidates_query("bayview.memorials", "m", rows)
