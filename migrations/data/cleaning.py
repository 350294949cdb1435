"""The clean-up rules every data migration applies, as SQL expressions (see README.md)."""

PLACEHOLDERS = "('', 'n/a', 'na', 'unknown', '-', '--', '?', 'tbd', 'none', 'null')"


def clean(expr: str) -> str:
    """Trimmed text, NULL when empty or a placeholder."""
    trimmed = f"btrim({expr}, E' \\t\\r\\n')"
    return f"(CASE WHEN lower({trimmed}) IN {PLACEHOLDERS} THEN NULL ELSE {trimmed} END)"


def first_of(full: str) -> str:
    """First name(s) of a full name: everything before the last word."""
    return f"nullif(btrim(regexp_replace({clean(full)}, '\\s*\\S+$', '')), '')"


def last_of(full: str) -> str:
    """Last name of a full name: its last word (a one-word name is a last name)."""
    return f"substring({clean(full)} from '(\\S+)$')"


def named(role: str, person_type: str, name: str, email: str = "NULL", phone: str = "NULL") -> str:
    """A VALUES row for someone recorded by full name only (a contact, a member sponsor)."""
    email_clean = f"lower({clean(email)})" if email != "NULL" else "NULL::text"
    phone_clean = clean(phone) if phone != "NULL" else "NULL::text"
    has_data = f"coalesce({clean(name)}, {email_clean}, {phone_clean}) IS NOT NULL"
    return (
        f"('{role}', '{person_type}', {first_of(name)}, NULL::text, {last_of(name)}, NULL::text, NULL::date, "
        f"NULL::date, {email_clean}, {phone_clean}, {has_data})"
    )


# The columns every candidates_sql returns after legacy_id (and before legacy_row).
COLUMNS = [
    "role",
    "person_type",
    "first_name",
    "middle_name",
    "last_name",
    "maiden_name",
    "birth_date",
    "death_date",
    "email",
    "phone",
    "has_data",
]
VALUES_COLUMNS = f"r({', '.join(COLUMNS)})"
SELECT_COLUMNS = ", ".join(f"r.{c}" for c in COLUMNS)


def candidates_query(table: str, alias: str, rows: list[str]) -> str:
    """One candidate row per (legacy row, role) for the keys in (%(lo)s, %(hi)s]."""
    values = ",\n               ".join(rows)
    return f"""
        SELECT {alias}.id AS legacy_id, {SELECT_COLUMNS}, to_jsonb({alias}) AS legacy_row
          FROM {table} AS {alias}
         CROSS JOIN LATERAL (VALUES
               {values}
         ) AS {VALUES_COLUMNS}
         WHERE {alias}.id > %(lo)s AND {alias}.id <= %(hi)s
    """
