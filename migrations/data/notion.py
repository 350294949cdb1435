"""What the data migrations of Notion pages share: their candidates come from the values views of
migration 0010 (what each staged page says, read into the new design's terms), one per staged
page of either database, so that every staged page is counted: a page of this database whose
reconciliation created it is a candidate; every other page (matched, quarantined, waiting, or of
the other database) is excluded. Quarantined pages stay in migration.notion_pages with their
reason; docs/notion.md has the rules."""

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
