"""The data-access layer for the association's applications during the parallel run.

LegacyAdapter   reads and writes the legacy tables, as the web application does today;
ModernAdapter   reads (and after the cutover writes) core.persons through its links;
BridgeAdapter   reads the new schema first and falls back to legacy for a row not migrated yet;
DualWriteManager  obeys the dual-write mode stored in the database (migration.dual_write_mode):
    legacy-only  the legacy write only;
    dual         the legacy write, then the modern write in a SAVEPOINT of the same
                 transaction. The legacy write is the source of truth and commits whatever
                 happens to the modern one: a failure there rolls back to the savepoint, is
                 logged in migration.dual_write_discrepancies, and the incremental sync repairs
                 it. (The seed's code lost the legacy row when the modern write failed in the
                 same transaction.)
    modern-only  after the cutover the legacy tables are frozen: legacy writes are refused.

The modern write of a legacy row is the data migration's own transform for that one row
(data_migrate.resync_rows): the same clean-up rules, the same links, the same quarantine, so
batches, syncs and live writes can never disagree about what a row becomes.

Every write takes a psycopg connection of the application's own role (not the runbook's).
That role needs the grants in application_grants().
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from bayview_runbook.engine import DATA_MIGRATIONS, RunbookError, data_migrate, dual_write

PERSON_COLUMNS = ("id", *data_migrate.PERSON_FIELDS)


def _migrations_by_table(directory: Path) -> dict:
    """Each legacy table the layer serves, with the data migration that maps it."""
    migrations = [data_migrate.load(directory, p.stem) for p in sorted(Path(directory).glob("[0-9]*.py"))]
    return {m.LEGACY_TABLE: m for m in migrations}


def application_grants(role: str) -> sql.Composed:
    """What the application's role needs on the new schema (one home: the engine's dual_write)."""
    return dual_write.application_grants(role)


class LegacyAdapter:
    """The legacy tables that have a data migration, by primary key."""

    def __init__(self, conn: psycopg.Connection, data_migrations: Path = DATA_MIGRATIONS):
        self.conn = conn
        self.migrations = _migrations_by_table(data_migrations)
        self._candidates: dict[str, object] = {}

    def candidates(self, table: str):
        """The migration's candidates SQL for this table, built once (it reads the table's columns)."""
        if table not in self._candidates:
            self._candidates[table] = data_migrate.candidates_sql_for(self.conn, self.migration(table))
        return self._candidates[table]

    def migration(self, table: str):
        if table not in self.migrations:
            raise RunbookError(
                f"{table} is not served by the data-access layer.", f"use one of: {', '.join(sorted(self.migrations))}."
            )
        return self.migrations[table]

    def _names(self, table: str, values: dict) -> tuple[sql.Composable, sql.Identifier, list[sql.Identifier]]:
        migration = self.migration(table)
        schema, name = table.split(".")
        known = {
            r[0]
            for r in self.conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
                [schema, name],
            )
        }
        unknown = sorted(set(values) - known)
        if unknown:
            raise RunbookError(
                f"{table} has no column {', '.join(unknown)}.", "check the column names against this environment."
            )
        return sql.Identifier(schema, name), sql.Identifier(migration.KEY), [sql.Identifier(c) for c in values]

    def get(self, table: str, key: int) -> dict | None:
        ident, key_col, _ = self._names(table, {})
        with self.conn.cursor(row_factory=dict_row) as cur:
            return cur.execute(sql.SQL("SELECT * FROM {} WHERE {} = %s").format(ident, key_col), [key]).fetchone()

    def insert(self, table: str, values: dict) -> int:
        ident, key_col, columns = self._names(table, values)
        query = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING {}").format(
            ident, sql.SQL(", ").join(columns), sql.SQL(", ").join(sql.Placeholder() * len(columns)), key_col
        )
        return self.conn.execute(query, list(values.values())).fetchone()[0]

    def update(self, table: str, key: int, values: dict) -> int:
        migration = self.migration(table)
        values = dict(values)
        updated_at = getattr(migration, "UPDATED_AT", None)
        if updated_at:
            values.setdefault(updated_at, sql.SQL("now()"))
        ident, key_col, columns = self._names(table, values)
        assignments = sql.SQL(", ").join(
            sql.SQL("{} = {}").format(c, v if isinstance(v, sql.Composable) else sql.Placeholder())
            for c, v in zip(columns, values.values(), strict=True)
        )
        params = [v for v in values.values() if not isinstance(v, sql.Composable)]
        cur = self.conn.execute(
            sql.SQL("UPDATE {} SET {} WHERE {} = %s").format(ident, assignments, key_col), [*params, key]
        )
        return cur.rowcount

    def delete(self, table: str, key: int) -> int:
        ident, key_col, _ = self._names(table, {})
        return self.conn.execute(sql.SQL("DELETE FROM {} WHERE {} = %s").format(ident, key_col), [key]).rowcount

    def people(self, table: str, key: int) -> list[dict]:
        """The persons this legacy row names, as the data migration would make them (writes nothing)."""
        query = sql.SQL("WITH " + data_migrate.CLASSIFIED + " SELECT * FROM cls WHERE outcome = 'migrated'").format(
            candidates=self.candidates(table)
        )
        with self.conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(query, {"lo": key - 1, "hi": key, "ids": [key]}).fetchall()
        return [{"role": r["role"], **{c: r[c] for c in PERSON_COLUMNS if c != "id"}} for r in rows]


class ModernAdapter:
    """core.persons, found through core.person_legacy_links."""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def people(self, table: str, key: int) -> list[dict]:
        query = sql.SQL(
            "SELECT l.role, {} FROM core.person_legacy_links l JOIN core.persons p ON p.id = l.person_id "
            "WHERE l.legacy_table = %s AND l.legacy_id = %s ORDER BY l.role"
        ).format(sql.SQL(", ").join(sql.Identifier("p", c) for c in PERSON_COLUMNS))
        with self.conn.cursor(row_factory=dict_row) as cur:
            return cur.execute(query, [table, key]).fetchall()

    def update_person(self, person_id: int, values: dict) -> int:
        unknown = sorted(set(values) - set(PERSON_COLUMNS[1:]))
        if unknown:
            raise RunbookError(f"core.persons has no column {', '.join(unknown)}.", "check the column names.")
        assignments = sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in values)
        return self.conn.execute(
            sql.SQL("UPDATE core.persons SET {}, updated_at = now() WHERE id = %s").format(assignments),
            [*values.values(), person_id],
        ).rowcount


class BridgeAdapter:
    """Reads the new schema first; a legacy row not migrated yet is read from legacy."""

    def __init__(self, conn: psycopg.Connection, data_migrations: Path = DATA_MIGRATIONS):
        self.modern = ModernAdapter(conn)
        self.legacy = LegacyAdapter(conn, data_migrations)

    def people(self, table: str, key: int) -> tuple[str, list[dict]]:
        """('modern', persons) or ('legacy', persons derived from the legacy row)."""
        found = self.modern.people(table, key)
        return ("modern", found) if found else ("legacy", self.legacy.people(table, key))


class DualWriteManager:
    """Application writes of the legacy tables, mirrored to the new schema as the stored mode says."""

    def __init__(self, conn: psycopg.Connection, data_migrations: Path = DATA_MIGRATIONS):
        self.conn = conn
        self.legacy = LegacyAdapter(conn, data_migrations)

    def insert(self, table: str, values: dict) -> int:
        return self._write(table, "insert", lambda: self.legacy.insert(table, values))

    def update(self, table: str, key: int, values: dict) -> int:
        return self._write(table, "update", lambda: self.legacy.update(table, key, values) and key)

    def delete(self, table: str, key: int) -> int:
        return self._write(table, "delete", lambda: self.legacy.delete(table, key) and key)

    def _write(self, table: str, operation: str, legacy_write) -> int:
        migration = self.legacy.migration(table)
        with self.conn.transaction():
            mode = dual_write.mode_for_writes(self.conn)
            if mode == "modern-only":
                raise RunbookError(
                    f"The dual-write mode is modern-only: {table} is frozen after the cutover.",
                    "write through ModernAdapter, or switch the mode back with bayview_dual_write.",
                )
            legacy_id = legacy_write()  # the source of truth
            if mode == "dual" and legacy_id:
                self._modern_write(migration, table, operation, legacy_id)
        return legacy_id

    def _modern_write(self, migration, table: str, operation: str, legacy_id: int) -> None:
        try:
            with self.conn.transaction():  # a SAVEPOINT: its failure cannot undo the legacy write
                data_migrate.resync_rows(self.conn, migration, self.legacy.candidates(table), [legacy_id])
        except psycopg.Error as exc:
            if self.conn.info.transaction_status == psycopg.pq.TransactionStatus.UNKNOWN:
                raise  # the connection itself is gone: nothing was committed, the caller must retry
            error = (getattr(exc.diag, "message_primary", None) or str(exc)).strip()[:500]
            self.conn.execute(
                "INSERT INTO migration.dual_write_discrepancies (legacy_table, legacy_id, operation, error) "
                "VALUES (%s, %s, %s, %s)",
                [table, legacy_id, operation, error],
            )
