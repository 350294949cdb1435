"""The dual-write mode, stored in the database so every application reads the same switch.

legacy-only  applications write the legacy schemas only (today);
dual         the legacy write is the source of truth and always commits; the modern write
             follows in a savepoint and a failure there is logged as a discrepancy;
modern-only  after the cutover.
Changing it records who, when and why (migration.dual_write_mode_history).
"""

from __future__ import annotations

from ansible.module_utils.bayview.errors import RunbookError

try:  # MODES stays readable without psycopg (the module's argument spec); the module reports it missing
    import psycopg
    from psycopg import errors as pg_errors
    from psycopg import sql
except ImportError:
    pass

MODES = ("legacy-only", "dual", "modern-only")


def application_grants(role: str) -> sql.Composed:
    """What the application's role needs on the new design to dual-write (run by the schema owner;
    the grants go with the tables when the emergency rollback drops them)."""
    return sql.SQL(
        "GRANT USAGE ON SCHEMA core, property, events, finance, migration TO {r}; "
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA core, property, events, finance TO {r}; "
        "GRANT SELECT, INSERT, UPDATE, DELETE ON migration.quarantine TO {r}; "
        "GRANT SELECT ON migration.dual_write_mode TO {r}; "
        "GRANT INSERT ON migration.dual_write_discrepancies TO {r}; "
        "GRANT USAGE ON ALL SEQUENCES IN SCHEMA core, property, events, finance TO {r}; "
        # the records' transforms read Notion's winning values (migrations/data/cleaning.py), where staged
        "DO $$ BEGIN IF to_regclass('migration.notion_differences') IS NOT NULL THEN "
        "GRANT SELECT ON migration.notion_pages, migration.notion_differences TO {r}; END IF; END $$;"
    ).format(r=sql.Identifier(role))


def grant_application(conn: psycopg.Connection, role: str) -> bool:
    """Grant the application's role the new design's writes; True when it did not have them yet."""
    if not conn.execute("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = %s)", [role]).fetchone()[0]:
        raise RunbookError(
            f"The application's role {role!r} does not exist in this cluster. Nothing was changed.",
            "set bayview_app_db_role to the role the web application connects as (or leave it empty and "
            "grant by hand).",
        )
    had = conn.execute(
        "SELECT pg_catalog.has_table_privilege(%s, 'migration.dual_write_discrepancies', 'INSERT') "
        "AND pg_catalog.has_table_privilege(%s, 'core.person_legacy_links', 'INSERT') "
        "AND pg_catalog.has_table_privilege(%s, 'finance.payments', 'INSERT') "
        "AND (to_regclass('migration.notion_differences') IS NULL "
        "     OR pg_catalog.has_table_privilege(%s, 'migration.notion_differences', 'SELECT'))",
        [role, role, role, role],
    ).fetchone()[0]
    with conn.transaction():
        conn.execute(application_grants(role))  # grants held already change nothing
    return not had


def mode_for_writes(conn: psycopg.Connection) -> str:
    """The mode an application write follows: legacy-only before Phase 2 has created the setting and
    granted the application's role (bayview_dual_write grant_to) what it needs, and after the
    emergency rollback has dropped it (even while it is being dropped). Legacy-only is what the
    setting says when it is created, and it never loses a write: legacy is the source of truth."""
    if conn.execute("SELECT to_regclass('migration.dual_write_mode') IS NULL").fetchone()[0]:
        return "legacy-only"
    try:
        with conn.transaction():  # a savepoint: a table dropped meanwhile must not end the caller's transaction
            return get_mode(conn)["mode"]
    except (pg_errors.UndefinedTable, pg_errors.InsufficientPrivilege):
        return "legacy-only"


def get_mode(conn: psycopg.Connection) -> dict:
    row = conn.execute("SELECT mode, changed_at::text, changed_by, reason FROM migration.dual_write_mode").fetchone()
    if row is None:
        raise RunbookError("The dual-write mode is not set up.", "apply the Phase 2 migrations first.")
    return dict(zip(("mode", "changed_at", "changed_by", "reason"), row, strict=True))


def refuse_leaving_modern_only(before: dict, mode: str, database: str, confirmation: str) -> None:
    """After the cutover the new design holds records the legacy schemas lack: leaving modern-only
    takes them out of the application's sight, so it needs the database's name as confirmation."""
    if before["mode"] == "modern-only" and mode != "modern-only" and confirmation != database:
        raise RunbookError(
            f"{database} is modern-only since {before['changed_at']} (set by {before['changed_by']}): the application "
            f"has written records to the new design only. Switching to {mode} would hide them from it. "
            "Nothing was changed.",
            f"if this is really intended (an emergency rollback after the cutover), confirm with the database's name: "
            f"confirm_leave_modern_only={database}.",
        )


def set_mode(
    conn: psycopg.Connection, mode: str, by: str, reason: str, confirm_leave_modern_only: str = ""
) -> tuple[dict, dict]:
    """Set the mode (recorded); returns (before, after). Setting the current mode changes nothing."""
    if mode not in MODES:
        raise RunbookError(f"Unknown dual-write mode {mode!r}.", f"use one of: {', '.join(MODES)}.")
    with conn.transaction():
        before = get_mode(conn)
        if before["mode"] == mode:
            return before, before
        refuse_leaving_modern_only(before, mode, conn.info.dbname, confirm_leave_modern_only)
        conn.execute(
            "UPDATE migration.dual_write_mode SET mode = %s, changed_at = now(), changed_by = %s, reason = %s",
            [mode, by, reason],
        )
        conn.execute(
            "INSERT INTO migration.dual_write_mode_history (old_mode, new_mode, changed_by, reason) "
            "VALUES (%s, %s, %s, %s)",
            [before["mode"], mode, by, reason],
        )
        return before, get_mode(conn)
