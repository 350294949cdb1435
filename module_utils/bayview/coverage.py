"""Coverage: the proof that the data migrations leave nothing of the legacy tables behind.

Each data migration declares, for the columns of its legacy table, where each one goes
(`CARRIED`: legacy column -> "schema.table.column" of the new design) or why it deliberately
does not (`NOT_CARRIED`: legacy column -> reason). Coverage compares those declarations with the
live catalog of *this* environment (environments differ: extra columns, missing tables): every
column of every legacy table is mapped, not carried, or unmapped. A legacy table no data
migration reads counts as unmapped entirely. The cutover needs no column unmapped.
"""

from __future__ import annotations

from types import ModuleType

from ansible.module_utils.bayview.errors import RunbookError
from ansible.module_utils.bayview.protected_guard import PROTECTED_SCHEMAS

NEW_DESIGN_SCHEMAS = ("core", "property", "education", "events", "recreation", "finance", "migration")

LEGACY_COLUMNS = """
SELECT n.nspname || '.' || c.relname, a.attname
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
 WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p') AND NOT c.relispartition
 ORDER BY 1, a.attnum
"""


def legacy_catalog(conn) -> dict[str, list[str]]:
    """Every legacy table of this environment with its columns, in their order."""
    tables: dict[str, list[str]] = {}
    for table, column in conn.execute(LEGACY_COLUMNS, [list(PROTECTED_SCHEMAS)]):
        tables.setdefault(table, []).append(column)
    return tables


def declarations(migration: ModuleType) -> tuple[dict[str, str], dict[str, str]]:
    """(carried, not carried) of a data migration, checked for form: a target names a column of the
    new design, a reason is a sentence, and no column is declared both ways."""
    carried = dict(getattr(migration, "CARRIED", {}))
    not_carried = dict(getattr(migration, "NOT_CARRIED", {}))
    where = f"data migration {migration.NAME}"
    both = sorted(set(carried) & set(not_carried))
    if both:
        raise RunbookError(
            f"The {where} declares {', '.join(both)} both carried and not carried.",
            "keep each column in one of CARRIED and NOT_CARRIED (migrations/data/README.md).",
        )
    for column, target in carried.items():
        parts = str(target).split(".")
        if len(parts) != 3 or parts[0] not in NEW_DESIGN_SCHEMAS or not all(parts):
            raise RunbookError(
                f"The {where} says {column} goes to {target!r}, which is not schema.table.column of the new design "
                f"({', '.join(NEW_DESIGN_SCHEMAS)}).",
                "name the target column as schema.table.column.",
            )
    for column, reason in not_carried.items():
        if len(str(reason).split()) < 3:
            raise RunbookError(
                f"The {where} does not carry {column} but gives no reason ({reason!r}).",
                "say in NOT_CARRIED why the column is deliberately left behind.",
            )
    return carried, not_carried


# The properties of the staged Notion pages of one database (the Notion sync stages them raw).
NOTION_PROPERTIES = """
SELECT DISTINCT jsonb_object_keys(properties) FROM migration.notion_pages WHERE notion_database = %s ORDER BY 1
"""
NOTION_DATABASES = ("memorial_garden", "chapel")


def notion_catalog(conn) -> dict[str, list[str]]:
    """Per Notion database ('notion:<database>'), the properties its staged pages have; none before
    migration 0010 or before the first Notion sync."""
    if not conn.execute("SELECT to_regclass('migration.notion_pages') IS NOT NULL").fetchone()[0]:
        return {}
    found = {}
    for database in NOTION_DATABASES:
        properties = [r[0] for r in conn.execute(NOTION_PROPERTIES, [database])]
        if properties:
            found[f"notion:{database}"] = properties
    return found


def report(conn, migrations: list[ModuleType]) -> dict:
    """Per legacy table: mapped, not carried, unmapped (and declared columns this environment lacks).
    The Notion databases count as tables too ('notion:<database>'): every property their staged
    pages have is mapped, declared not carried, or unmapped."""
    catalog = legacy_catalog(conn) | notion_catalog(conn)
    by_table: dict[str, list[ModuleType]] = {}
    for migration in migrations:
        source = f"notion:{migration.NOTION_DATABASE}" if hasattr(migration, "NOTION_DATABASE") else None
        by_table.setdefault(source or migration.LEGACY_TABLE, []).append(migration)
    tables, unmapped_all = [], []
    for table in sorted(set(catalog) | set(by_table)):
        columns = catalog.get(table)
        readers = by_table.get(table, [])
        mapped, not_carried, declared = {}, {}, set()
        for migration in readers:
            carried, left = declarations(migration)
            for column, target in carried.items():
                mapped.setdefault(column, []).append(f"{target} ({migration.NAME})")
            for column, reason in left.items():
                not_carried.setdefault(column, []).append(f"{reason} ({migration.NAME})")
            declared |= set(carried) | set(left)
        if columns is None and table.startswith("notion:"):  # nothing staged from it yet
            continue
        if columns is None:  # a data migration reads a table this environment does not have
            tables.append({"table": table, "present": False, "data_migrations": [m.NAME for m in readers]})
            continue
        # A column carried by one migration is mapped even when another leaves it behind.
        unmapped = [c for c in columns if c not in mapped and c not in not_carried]
        unmapped_all += [f"{table}.{c}" for c in unmapped]
        tables.append(
            {
                "table": table,
                "present": True,
                "data_migrations": [m.NAME for m in readers],
                "columns": len(columns),
                "mapped": {c: mapped[c] for c in columns if c in mapped},
                "not_carried": {c: not_carried[c] for c in columns if c in not_carried and c not in mapped},
                "unmapped": unmapped,
                "declared_not_in_this_environment": sorted(declared - set(columns)),
            }
        )
    present = [t for t in tables if t["present"]]
    found = {
        "tables": tables,
        "legacy_tables": len(present),
        "legacy_columns": sum(t["columns"] for t in present),
        "mapped": sum(len(t["mapped"]) for t in present),
        "not_carried": sum(len(t["not_carried"]) for t in present),
        "unmapped": unmapped_all,
        "tables_without_a_data_migration": [t["table"] for t in present if not t["data_migrations"]],
        "complete": not unmapped_all,
    }
    found["summary"] = summary_lines(found)
    return found


def summary_lines(coverage: dict) -> list[str]:
    """One line per legacy table, for the playbook output and the CLI."""
    lines = []
    for t in coverage["tables"]:
        if not t["present"]:
            lines.append(f"{t['table']}: not in this environment (read by {', '.join(t['data_migrations'])})")
            continue
        line = (
            f"{t['table']}: {len(t['mapped'])} mapped, {len(t['not_carried'])} not carried, "
            f"{len(t['unmapped'])} unmapped of {t['columns']}"
        )
        if not t["data_migrations"]:
            line += " (no data migration reads it)"
        lines.append(line)
    lines.append(
        f"Total: {coverage['legacy_columns']} legacy columns in {coverage['legacy_tables']} tables: "
        f"{coverage['mapped']} mapped, {coverage['not_carried']} not carried, {len(coverage['unmapped'])} unmapped"
    )
    return lines


def require_complete(coverage: dict, database: str, before: str) -> None:
    """Refuse (before anything changes) when a legacy column would be left behind."""
    missing = coverage["unmapped"]
    if missing:
        shown = ", ".join(missing[:40]) + (f" and {len(missing) - 40} more" if len(missing) > 40 else "")
        raise RunbookError(
            f"Coverage of {database} is incomplete: {len(missing)} legacy column(s) are unmapped, carried by no data "
            f"migration and not declared as deliberately left behind: {shown}. {before} is refused; nothing was "
            "changed.",
            "run playbooks/coverage.yml for the table-by-table report; add or extend the data migrations that carry "
            "these columns (or declare each in NOT_CARRIED with its reason), run Phases 3-4 again, then retry.",
            unmapped=missing,
            summary=coverage["summary"],
        )
