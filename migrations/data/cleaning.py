"""The clean-up rules every data migration applies, as SQL (see README.md).

A data migration lists, per legacy row, one raw VALUES row per role (person() or named()).
candidates_query() then cleans each raw value once, and derives the names and has_data from
the cleaned values. The two steps are LATERAL subqueries fenced with OFFSET 0, so PostgreSQL
computes each cleaned value once per candidate instead of once per place it is used.
"""

from ansible.module_utils.bayview.data_migrate import PERSON_FIELDS

PLACEHOLDERS = "('', 'n/a', 'na', 'unknown', '-', '--', '?', 'tbd', 'none', 'null')"

# What each raw VALUES row holds, in order.
RAW_COLUMNS = [
    "role",
    "person_type",
    "first_raw",
    "middle_raw",
    "last_raw",
    "maiden_raw",
    "birth_date",
    "death_date",
    "full_raw",
    "email_raw",
    "phone_raw",
]

# The columns every candidates query returns after legacy_id: the person's fields as the engine
# writes them, between the role and has_data.
COLUMNS = ["role", *PERSON_FIELDS, "has_data"]


def clean(expr: str) -> str:
    """Trimmed text, NULL when empty or a placeholder."""
    trimmed = f"btrim({expr}, E' \\t\\r\\n')"
    return f"(CASE WHEN lower({trimmed}) IN {PLACEHOLDERS} THEN NULL ELSE {trimmed} END)"


def person(role: str, person_type: str, first: str, middle: str, last: str, maiden: str, birth: str, death: str) -> str:
    """A raw VALUES row for someone recorded with separate name columns."""
    return (
        f"('{role}', {person_type}, {first}::text, {middle}::text, {last}::text, {maiden}::text, "
        f"{birth}::date, {death}::date, NULL::text, NULL::text, NULL::text)"
    )


def named(role: str, person_type: str, name: str, email: str = "NULL", phone: str = "NULL") -> str:
    """A raw VALUES row for someone recorded by full name only (a contact, a member sponsor)."""
    return (
        f"('{role}', '{person_type}', NULL::text, NULL::text, NULL::text, NULL::text, NULL::date, NULL::date, "
        f"{name}::text, {email}::text, {phone}::text)"
    )


# Coverage of what named() and candidates_query() read from a legacy row: its key (the link) and
# the contact and the member sponsor, each a full name split at its last space.
KEY_CONTACT_AND_SPONSOR_CARRIED = {
    "id": "core.person_legacy_links.legacy_id",
    "contact_name": "core.persons.last_name",  # split: the last word to last_name, the rest to first_name
    "contact_email": "core.persons.email",
    "contact_phone": "core.persons.phone",
    "member_name": "core.persons.last_name",  # split as contact_name
}


def candidates_query(table: str, alias: str, rows: list[str]) -> str:
    """One cleaned candidate row per (legacy row, role) for the keys in (%(lo)s, %(hi)s]."""
    values = ",\n               ".join(rows)
    return f"""
        SELECT {alias}.id AS legacy_id, {", ".join(f"d.{c}" for c in COLUMNS)}
          FROM {table} AS {alias}
         CROSS JOIN LATERAL (VALUES
               {values}
         ) AS r({", ".join(RAW_COLUMNS)})
         CROSS JOIN LATERAL (
            SELECT {clean("r.first_raw")} AS first_c, {clean("r.middle_raw")} AS middle_c,
                   {clean("r.last_raw")} AS last_c, {clean("r.maiden_raw")} AS maiden_c,
                   {clean("r.full_raw")} AS full_c, lower({clean("r.email_raw")}) AS email_c,
                   {clean("r.phone_raw")} AS phone_c
            OFFSET 0
         ) AS c
         CROSS JOIN LATERAL (
            SELECT r.role, r.person_type,
                   -- a full name splits at its last space; first = last is a one-word name
                   CASE WHEN c.full_c IS NOT NULL THEN nullif(btrim(regexp_replace(c.full_c, '\\s*\\S+$', '')), '')
                        WHEN c.first_c = c.last_c THEN NULL
                        ELSE c.first_c END AS first_name,
                   c.middle_c AS middle_name,
                   CASE WHEN c.full_c IS NOT NULL THEN substring(c.full_c from '(\\S+)$')
                        ELSE c.last_c END AS last_name,
                   c.maiden_c AS maiden_name, r.birth_date, r.death_date, c.email_c AS email, c.phone_c AS phone,
                   coalesce(c.first_c, c.last_c, c.middle_c, c.maiden_c, c.full_c, c.email_c, c.phone_c,
                            r.birth_date::text, r.death_date::text) IS NOT NULL AS has_data
            OFFSET 0
         ) AS d
         WHERE {alias}.id > %(lo)s AND {alias}.id <= %(hi)s
    """
