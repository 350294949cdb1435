"""What the data migrations of Notion pages share: their candidates come from the values views of
migration 0010 (what each staged page says, read into the new design's terms), one per staged
page of either database, so that every staged page is counted: a page of this database whose
reconciliation created it is a candidate; every other page (matched, quarantined, waiting, or of
the other database) is excluded. Quarantined pages stay in migration.notion_pages with their
reason; docs/notion.md has the rules."""

from .cleaning import SERVICES, parent

STAGED = "migration.notion_pages"


def notion_record_query(database: str, values_view: str, fields: dict[str, str], types: dict[str, str]) -> str:
    """One candidate per staged page for the keys in (%(lo)s, %(hi)s] (role 'record')."""
    chosen = ",\n                   ".join(f"{expr} AS {name}" for name, expr in fields.items())
    empty = ", ".join(f"NULL::{types[name]} AS {name}" for name in fields)
    return f"""
        SELECT v.id AS legacy_id, 'record'::text AS role,
               {chosen},
               v.outcome = 'created' AS has_data, NULL::text AS problem
          FROM {values_view} v
         WHERE v.id > %(lo)s AND v.id <= %(hi)s
        UNION ALL
        SELECT p.id, 'record'::text, {empty}, false, NULL::text
          FROM {STAGED} p
         WHERE p.id > %(lo)s AND p.id <= %(hi)s
           AND p.notion_database <> '{database}'
    """


def created_pages(database: str, values_view: str, columns: tuple[str, ...], more: dict[str, str] | None = None) -> str:
    """Every staged page (as a table for cleaning.candidates_query, alias a), with the view's
    columns where the page of this database was created from Notion and NULL otherwise: a persons
    migration then has one candidate per role for every staged page, excluded where empty. `more`
    adds columns computed over the view's row v and the staged page p, likewise."""
    chosen = ", ".join(
        [f"CASE WHEN v.outcome = 'created' THEN v.{c} END AS {c}" for c in columns]
        + [f"CASE WHEN v.outcome = 'created' THEN {expr} END AS {name}" for name, expr in (more or {}).items()]
    )
    # LATERAL: the view is read for each page of the batch by its id, never as a whole
    return f"""(SELECT p.id, {chosen}
          FROM {STAGED} p
          LEFT JOIN LATERAL (SELECT * FROM {values_view} w WHERE w.id = p.id AND p.notion_database = '{database}') v
            ON true)"""


CHAPEL_TYPES = ("wedding", "memorial", "funeral", "baptism", "general_use")
# A detail waits in quarantine while its service is not in the new design.
WAITING = "its chapel service (this page, by 0025_notion_chapel_services) is not in the new design"


def created_chapel_pages(service_types: tuple[str, ...]) -> str:
    """Whether the staged page p is a chapel page that 0025 created a service from, of one of these Types."""
    types = ", ".join(f"'{t}'" for t in service_types)
    return (
        f"p.notion_database = 'chapel' AND p.outcome = 'created' "
        f"AND migration.notion_option(p.texts ->> 'Type') IN ({types})"
    )


def chapel_detail_query(
    service_types: tuple[str, ...],
    raw: dict[str, str],
    fields: dict[str, str],
    problem: str = "NULL::text",
    given: str | None = None,
) -> str:
    """One candidate per staged page for the keys in (%(lo)s, %(hi)s] (role 'record'): the detail
    of the chapel service that 0025 created from the page, where the page's Type is one of
    service_types and the page gives any of `raw` (name: Notion property, read as its cleaned text,
    placeholders NULL); every other page is excluded. `fields` computes each target field over the
    raw values (r.<name>); `problem`, over the fields (f.<field>) and raw values, says why one cannot
    be read; `given` (over the same) whether the page holds the detail, by default any raw value."""
    read = ", ".join(f"p.texts ->> '{prop}' AS {name}" for name, prop in raw.items())
    computed = ", ".join(f"{expr} AS {name}" for name, expr in fields.items())
    of_type = created_chapel_pages(service_types)
    # the pages of this Type, read; every other page (most of them, often) a row of NULLs, unread
    return f"""
        SELECT p.id AS legacy_id, 'record'::text AS role, d.service_id, {", ".join(f"d.{f}" for f in fields)},
               d.given AS has_data,
               coalesce(CASE WHEN d.service_id IS NULL THEN '{WAITING}' END, d.problem) AS problem
          FROM {STAGED} p
         CROSS JOIN LATERAL (
              SELECT {parent(SERVICES, STAGED, "p.id")} AS service_id,
                     f.*, {given or f"coalesce({', '.join(f'r.{name}' for name in raw)}) IS NOT NULL"} AS given,
                     {problem} AS problem
                FROM (SELECT {read} OFFSET 0) r
               CROSS JOIN LATERAL (SELECT {computed} OFFSET 0) f
         ) d
         WHERE p.id > %(lo)s AND p.id <= %(hi)s AND {of_type}
        UNION ALL
        SELECT p.id, 'record'::text, NULL::bigint, {", ".join("NULL" for _ in fields)}, false, NULL::text
          FROM {STAGED} p
         WHERE p.id > %(lo)s AND p.id <= %(hi)s AND ({of_type}) IS NOT TRUE
    """


def count(raw: str) -> str:
    """A whole number as the forms wrote it (120, 1,200), NULL when it is none."""
    return f"CASE WHEN replace({raw}, ',', '') ~ '^[0-9]{{1,9}}$' THEN replace({raw}, ',', '')::integer END"


def unreadable(prop: str, raw: str, value: str, what: str) -> str:
    """A problem text when the property gives a value that cannot be read as `what`."""
    return (
        f"CASE WHEN {raw} IS NOT NULL AND {value} IS NULL "
        f"THEN '{prop} ' || quote_literal({raw}) || ' is not {what}' END"
    )
