"""Every person named by a memorial row: the deceased, the other_ and second_ persons (where
this environment has those columns), the contact and the member sponsor."""

NAME = "0001_memorial_persons"
LEGACY_TABLE = "bayview.memorials"
KEY = "id"

PLACEHOLDERS = "('', 'n/a', 'na', 'unknown', '-', '--', '?', 'tbd', 'none', 'null')"


def clean(expr: str) -> str:
    """Trimmed text, NULL when empty or a placeholder."""
    trimmed = f"btrim({expr}, E' \\t\\r\\n')"
    return f"(CASE WHEN lower({trimmed}) IN {PLACEHOLDERS} THEN NULL ELSE {trimmed} END)"


def first_of(full: str) -> str:
    return f"nullif(btrim(regexp_replace({clean(full)}, '\\s*\\S+$', '')), '')"


def last_of(full: str) -> str:
    return f"substring({clean(full)} from '(\\S+)$')"


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


def named(role: str, person_type: str, name: str, email: str = "NULL", phone: str = "NULL") -> str:
    """A VALUES row for someone recorded by full name only (contact, member sponsor)."""
    email_clean = f"lower({clean(email)})" if email != "NULL" else "NULL::text"
    phone_clean = clean(phone) if phone != "NULL" else "NULL::text"
    has_data = f"coalesce({clean(name)}, {email_clean}, {phone_clean}) IS NOT NULL"
    return (
        f"('{role}', '{person_type}', {first_of(name)}, NULL::text, {last_of(name)}, NULL::text, NULL::date, "
        f"NULL::date, {email_clean}, {phone_clean}, {has_data})"
    )


def candidates_sql(columns: set[str]) -> str:
    rows = [person("deceased", "")]
    if {"other_first_name", "other_last_name"} <= columns:
        rows.append(person("other_person", "other_"))
    if {"second_first_name", "second_last_name"} <= columns:
        rows.append(person("second_person", "second_"))
    rows.append(named("contact", "contact", "m.contact_name", "m.contact_email", "m.contact_phone"))
    rows.append(named("member_sponsor", "member", "m.member_name"))
    values = ",\n               ".join(rows)
    return f"""
        SELECT m.id AS legacy_id, r.role, r.person_type, r.first_name, r.middle_name, r.last_name, r.maiden_name,
               r.birth_date, r.death_date, r.email, r.phone, r.has_data, to_jsonb(m) AS legacy_row
          FROM bayview.memorials AS m
         CROSS JOIN LATERAL (VALUES
               {values}
         ) AS r(role, person_type, first_name, middle_name, last_name, maiden_name, birth_date, death_date,
                email, phone, has_data)
         WHERE m.id > %(lo)s AND m.id <= %(hi)s
    """
