"""The clean-up rules every data migration applies, as SQL (see README.md).

A data migration lists, per legacy row, one raw VALUES row per role (person() or named()).
candidates_query() then cleans each raw value once, and derives the names and has_data from
the cleaned values. The two steps are LATERAL subqueries fenced with OFFSET 0, so PostgreSQL
computes each cleaned value once per candidate instead of once per place it is used.
"""

PLACEHOLDERS = "('', 'n/a', 'na', 'unknown', '-', '--', '?', 'tbd', 'none', 'null', 'not provided')"

# The fields of a person that a persons migration writes into core.persons, in its order.
PERSON_FIELDS = (
    "person_type",
    "first_name",
    "middle_name",
    "last_name",
    "maiden_name",
    "birth_date",
    "death_date",
    "email",
    "phone",
    "birth_place",
    "home_address",
    "bayview_address",
    "bayview_history",
    "mother_name",
    "father_name",
)
# The particulars a legacy row may give of a person beyond the name, cleaned like the names.
PARTICULARS = PERSON_FIELDS[9:]

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
    *(f"{p}_raw" for p in PARTICULARS),
]

# The columns every candidates query returns after legacy_id: the person's fields as the engine
# writes them, between the role and has_data.
COLUMNS = ["role", *PERSON_FIELDS, "has_data", "problem"]


def clean(expr: str) -> str:
    """Trimmed text, NULL when empty or a placeholder."""
    trimmed = f"btrim({expr}, E' \\t\\r\\n')"
    return f"(CASE WHEN lower({trimmed}) IN {PLACEHOLDERS} THEN NULL ELSE {trimmed} END)"


def person(
    role: str,
    person_type: str,
    first: str,
    middle: str,
    last: str,
    maiden: str,
    birth: str,
    death: str,
    particulars: dict[str, str] | None = None,
) -> str:
    """A raw VALUES row for someone recorded with separate name columns; particulars maps a
    PARTICULARS field to the legacy column that holds it (absent: NULL)."""
    given = particulars or {}
    rest = ", ".join(f"{given.get(p, 'NULL')}::text" for p in PARTICULARS)
    return (
        f"('{role}', {person_type}, {first}::text, {middle}::text, {last}::text, {maiden}::text, "
        f"{birth}::date, {death}::date, NULL::text, NULL::text, NULL::text, {rest})"
    )


def named(
    role: str,
    person_type: str,
    name: str,
    email: str = "NULL",
    phone: str = "NULL",
    birth: str = "NULL",
    death: str = "NULL",
    particulars: dict[str, str] | None = None,
) -> str:
    """A raw VALUES row for someone recorded by full name (a contact, a member sponsor, a deceased
    named on a Notion page); particulars as for person()."""
    given = particulars or {}
    rest = ", ".join(f"{given.get(p, 'NULL')}::text" for p in PARTICULARS)
    return (
        f"('{role}', '{person_type}', NULL::text, NULL::text, NULL::text, NULL::text, {birth}::date, {death}::date, "
        f"{name}::text, {email}::text, {phone}::text, {rest})"
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


def candidates_query(table: str, alias: str, rows: list[str], joins: str = "", problem: str = "NULL::text") -> str:
    """One cleaned candidate row per (legacy row, role) for the keys in (%(lo)s, %(hi)s]; `joins`
    may add LATERAL joins over the legacy row that the rows read (notion_winners()); `problem`, over
    the legacy row and r.role, says why that person cannot enter the new design (or is NULL)."""
    values = ",\n               ".join(rows)
    return f"""
        SELECT {alias}.id AS legacy_id, {", ".join(f"d.{c}" for c in COLUMNS[:-1])},
               coalesce({problem}, q.problem) AS problem
          FROM {table} AS {alias} {joins}
         CROSS JOIN LATERAL (VALUES
               {values}
         ) AS r({", ".join(RAW_COLUMNS)})
         CROSS JOIN LATERAL (
            SELECT {", ".join(f"{clean(f'r.{p}_raw')} AS {p}" for p in PARTICULARS)},
                   {clean("r.first_raw")} AS first_c, {clean("r.middle_raw")} AS middle_c,
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
                   {", ".join(f"c.{p}" for p in PARTICULARS)},
                   coalesce(c.first_c, c.last_c, c.middle_c, c.maiden_c, c.full_c, c.email_c, c.phone_c,
                            r.birth_date::text, r.death_date::text, {", ".join(f"c.{p}" for p in PARTICULARS)})
                       IS NOT NULL AS has_data
            OFFSET 0
         ) AS d
         CROSS JOIN LATERAL (
            SELECT CASE WHEN d.first_name IS NULL AND d.last_name IS NULL THEN 'no usable name'
                        WHEN d.death_date < d.birth_date THEN 'death date before birth date' END AS problem
         ) AS q
         WHERE {alias}.id > %(lo)s AND {alias}.id <= %(hi)s
    """


def record_query(table: str, alias: str, fields: dict[str, str], problem: str = "NULL::text", joins: str = "") -> str:
    """One candidate per legacy row (role 'record') for the keys in (%(lo)s, %(hi)s]: each field of
    the target as an SQL expression over the legacy row, computed once; `problem` (over the computed
    fields, as r.<field>) says why the row cannot enter the new design, or is NULL. `joins` may add
    LATERAL joins over the legacy row that the fields read (notion_winners())."""
    columns = ",\n                   ".join(f"{expr} AS {name}" for name, expr in fields.items())
    return f"""
        SELECT r.*, true AS has_data, {problem} AS problem
          FROM (SELECT {alias}.id AS legacy_id, 'record'::text AS role,
                   {columns}
                  FROM {table} AS {alias} {joins}
                 WHERE {alias}.id > %(lo)s AND {alias}.id <= %(hi)s
                OFFSET 0) AS r
    """


def notion_winners(table: str, alias: str) -> str:
    """A LATERAL join over the legacy row: w.won, each field where the Notion page matched to it
    differed and won at the reconciliation (migration.notion_differences, docs/notion.md) with
    Notion's value, and w.was, the legacy value it was compared with then. Of two pages matched to
    one row, the one edited last counts."""
    return f"""LEFT JOIN LATERAL (
                   SELECT jsonb_object_agg(d.field, d.notion_value ORDER BY p.last_edited_time, p.id) AS won,
                          jsonb_object_agg(d.field, d.legacy_value ORDER BY p.last_edited_time, p.id) AS was
                     FROM migration.notion_pages p
                     JOIN migration.notion_differences d ON d.notion_page_id = p.id AND d.winner = 'notion'
                    WHERE p.legacy_table = '{table}' AND p.legacy_id = {alias}.id AND p.outcome = 'matched'
                   OFFSET 0) AS w ON true"""


def notion_value_or(field: str, sql_type: str, legacy: str, compared: str | None = None) -> str:
    """Notion's value of the field where it won (w of notion_winners()), else `legacy`. "Edited
    last" per field: once the legacy value differs from the one Notion won against (`compared`, the
    legacy value as the reconciliation compares it; `legacy` by default), the legacy row was edited
    since, and its value counts again, whatever else of the row changed or did not."""
    now = f"({compared or legacy})::text"
    return (
        f"CASE WHEN w.won ? '{field}' AND {now} IS NOT DISTINCT FROM (w.was ->> '{field}') "
        f"THEN (w.won ->> '{field}')::{sql_type} ELSE {legacy} END"
    )


def with_notion_winners(fields: dict[str, str], winners: dict[str, str]) -> dict[str, str]:
    """The fields, each of `winners` (field: SQL type) taking Notion's value where it wins."""
    return fields | {f: notion_value_or(f, t, fields[f]) for f, t in winners.items()}


def parent(table: str, legacy_table: str, legacy_key: str) -> str:
    """The id of the record of the new design that the legacy row legacy_key of legacy_table became
    (NULL when it is not there: quarantined, or not migrated)."""
    return f"(SELECT x.id FROM {table} x WHERE x.legacy_table = '{legacy_table}' AND x.legacy_id = {legacy_key})"


def not_allowed(field: str, allowed: tuple[str, ...]) -> str:
    """A problem text when r.<field> is set but not one of allowed."""
    values = ", ".join(f"'{a}'" for a in allowed)
    return (
        f"CASE WHEN r.{field} IS NOT NULL AND r.{field} NOT IN ({values}) "
        f"THEN '{field} ' || quote_literal(r.{field}) || ' is not one of {', '.join(allowed)}' END"
    )


SERVICES = "events.chapel_services"
SERVICE_APPLICATIONS = "crouse_chapel.service_applications"


def service_detail_query(table: str, fields: dict[str, str], problem: str = "NULL::text") -> str:
    """A detail row of a chapel service application (legacy application_id) as a row of the new
    design referring to its service; quarantined while the service is not there."""
    with_service = {"service_id": parent(SERVICES, SERVICE_APPLICATIONS, "d.application_id"), **fields}
    missing = (
        "CASE WHEN r.service_id IS NULL THEN 'its service application ' || coalesce(r.legacy_application_id::text, "
        "'(none)') || ' is not in the new design' END"
    )
    with_service["legacy_application_id"] = "d.application_id"
    return record_query(table, "d", with_service, f"coalesce({missing}, {problem})")
