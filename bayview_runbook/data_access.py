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
(data_sync.resync_rows), for every data migration of the table (its persons, its record): the same
clean-up rules, the same links, the same quarantine, so
batches, syncs and live writes can never disagree about what a row becomes.

Every write takes a psycopg connection of the application's own role (not the runbook's).
That role needs the grants in application_grants().
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from bayview_runbook.engine import (
    DATA_MIGRATIONS,
    RunbookError,
    data_migrate,
    data_migration_sql,
    data_migrations,
    data_sync,
    dual_write,
)


def _migrations_by_table(directory: Path) -> dict[str, list]:
    """Each legacy table the layer serves, with the data migrations that map it (in file order:
    a record before the details that depend on it)."""
    by_table: dict[str, list] = {}
    for migration in data_migrations.load_all(directory):
        by_table.setdefault(migration.LEGACY_TABLE, []).append(migration)
    return by_table


def _persons_migration(migrations: list):
    return next((m for m in migrations if m.TARGET == "core.persons"), None)


PERSON_FIELDS = _persons_migration(data_migrations.load_all(DATA_MIGRATIONS)).FIELDS
PERSON_COLUMNS = ("id", *PERSON_FIELDS)


def application_grants(role: str) -> sql.Composed:
    """What the application's role needs on the new schema (one home: the engine's dual_write)."""
    return dual_write.application_grants(role)


class LegacyAdapter:
    """The legacy tables that have a data migration, by primary key."""

    def __init__(self, conn: psycopg.Connection, data_migrations: Path = DATA_MIGRATIONS):
        self.conn = conn
        self.migrations = _migrations_by_table(data_migrations)
        self._candidates: dict[str, object] = {}

    def candidates(self, migration):
        """The migration's candidates SQL, built once (it reads the legacy table's columns)."""
        if migration.NAME not in self._candidates:
            self._candidates[migration.NAME] = data_migrate.candidates_sql_for(self.conn, migration)
        return self._candidates[migration.NAME]

    def table_migrations(self, table: str) -> list:
        if table not in self.migrations:
            raise RunbookError(
                f"{table} is not served by the data-access layer.", f"use one of: {', '.join(sorted(self.migrations))}."
            )
        return self.migrations[table]

    def migration(self, table: str):
        """The data migration whose KEY and UPDATED_AT describe the table (they all agree)."""
        return self.table_migrations(table)[0]

    def _names(self, table: str, values: dict) -> tuple[sql.Composable, sql.Identifier, list[sql.Identifier]]:
        migration = self.migration(table)
        schema, name = table.split(".")
        known = data_migrate.legacy_columns(self.conn, table)  # looked up once per connection
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
        persons = _persons_migration(self.table_migrations(table))
        if persons is None:
            return []
        query = sql.SQL(
            "WITH " + data_migration_sql.CLASSIFIED + " SELECT * FROM cls WHERE outcome = 'migrated'"
        ).format(candidates=self.candidates(persons))
        with self.conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(query, {"lo": key - 1, "hi": key, "ids": [key]}).fetchall()
        return [{"role": r["role"], **{c: r[c] for c in PERSON_COLUMNS if c != "id"}} for r in rows]


# The records the application keeps in the new design: their table, the fields it may write (the
# data migration's own FIELDS: one definition of each record), their details by type, and the
# column by which a payment refers to them.
RECORDS = {
    "memorial_application": {
        "table": "property.memorial_applications",
        "migration": "0003_memorial_applications",
        "details": {},
        "payment_column": "memorial_application_id",
    },
    "chapel_service": {
        "table": "events.chapel_services",
        "migration": "0004_chapel_services",
        "details": {
            "wedding": ("events.wedding_details", "0005_wedding_details"),
            "memorial": ("events.memorial_service_details", "0006_memorial_service_details"),
            "funeral": ("events.memorial_service_details", "0006_memorial_service_details"),
            "baptism": ("events.baptism_details", "0007_baptism_details"),
            "general_use": ("events.general_use_details", "0008_general_use_details"),
        },
        "payment_column": "chapel_service_id",
    },
}
PAYMENT_FIELDS = ("amount", "method", "paid_at", "reference", "recorded_at", "spaces", "notes")
PERSON_TYPE_BY_ROLE = {"deceased": "deceased", "contact": "contact", "member_sponsor": "member", "payer": "applicant"}
CANCELLED = {"memorial_application": "cancelled", "chapel_service": "cancelled"}


def _fields(migration_name: str, data_migrations_dir: Path = DATA_MIGRATIONS) -> tuple[str, ...]:
    return data_migrations.load(data_migrations_dir, migration_name).FIELDS


def _checked(values: dict, allowed, what: str) -> dict:
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise RunbookError(f"{what} has no field {', '.join(unknown)}.", f"use only: {', '.join(sorted(allowed))}.")
    return values


class ModernAdapter:
    """The new design: core.persons (found through their links), and after the cutover the
    records themselves (memorial applications, chapel services with their details, their
    persons and payments), created, read, updated and cancelled here."""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    # --- records -------------------------------------------------------------------------
    def _require_modern_only(self, action: str) -> None:
        mode = dual_write.mode_for_writes(self.conn)
        if mode != "modern-only":
            raise RunbookError(
                f"The dual-write mode is {mode}: the legacy tables are still the source of truth, so {action} "
                "in the new design alone is refused.",
                "write through DualWriteManager until Phase 5 has confirmed the cutover.",
            )

    def _insert(self, table: str, values: dict) -> int:
        columns = sql.SQL(", ").join(map(sql.Identifier, values))
        return self.conn.execute(
            sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING id").format(
                sql.SQL(table), columns, sql.SQL(", ").join(sql.Placeholder() * len(values))
            ),
            list(values.values()),
        ).fetchone()[0]

    def create(
        self,
        entity: str,
        values: dict,
        persons: dict | None = None,
        details: dict | None = None,
        payments: list[dict] | None = None,
    ) -> int:
        """A new record with its persons ({role: person fields}), details (a chapel service's, by its
        type) and payments, in one transaction; returns its id."""
        spec = self._spec(entity)
        record_fields = _fields(spec["migration"])
        with self.conn.transaction():
            self._require_modern_only(f"creating a {entity}")
            record_id = self._insert(spec["table"], _checked(values, record_fields, spec["table"]))
            for role, person in (persons or {}).items():
                person = {"person_type": PERSON_TYPE_BY_ROLE.get(role, "other"), **person}
                person_id = self._insert("core.persons", _checked(person, PERSON_COLUMNS[1:], "core.persons"))
                self.conn.execute(
                    "INSERT INTO core.record_person_links (record_table, record_id, role, person_id) "
                    "VALUES (%s, %s, %s, %s)",
                    [spec["table"], record_id, role, person_id],
                )
            if details:
                table, migration = self._detail_table(spec, values.get("service_type"))
                allowed = [f for f in _fields(migration) if f != "service_id"]
                self._insert(table, {"service_id": record_id, **_checked(details, allowed, table)})
            for payment in payments or []:
                self._insert(
                    "finance.payments",
                    {
                        "paid_for": entity,
                        spec["payment_column"]: record_id,
                        **_checked(payment, PAYMENT_FIELDS, "finance.payments"),
                    },
                )
        return record_id

    def read(self, entity: str, record_id: int) -> dict | None:
        """The record with its persons by role, its details and its payments (None if there is none)."""
        spec = self._spec(entity)
        with self.conn.cursor(row_factory=dict_row) as cur:
            record = cur.execute(
                sql.SQL("SELECT * FROM {} WHERE id = %s").format(sql.SQL(spec["table"])), [record_id]
            ).fetchone()
            if record is None:
                return None
            persons = cur.execute(
                sql.SQL(
                    "SELECT r.role, {} FROM core.record_persons r JOIN core.persons p ON p.id = r.person_id "
                    "WHERE r.record_table = %s AND r.record_id = %s ORDER BY r.role"
                ).format(sql.SQL(", ").join(sql.Identifier("p", c) for c in PERSON_COLUMNS)),
                [spec["table"], record_id],
            ).fetchall()
            record["persons"] = {p.pop("role"): p for p in persons}
            record["details"] = None
            if spec["details"]:
                table, _migration = self._detail_table(spec, record["service_type"])
                record["details"] = cur.execute(
                    sql.SQL("SELECT * FROM {} WHERE service_id = %s ORDER BY id LIMIT 1").format(sql.SQL(table)),
                    [record_id],
                ).fetchone()
            record["payments"] = cur.execute(
                sql.SQL("SELECT * FROM finance.payments WHERE {} = %s ORDER BY id").format(
                    sql.Identifier(spec["payment_column"])
                ),
                [record_id],
            ).fetchall()
        return record

    def find(self, entity: str, legacy_id: int) -> int | None:
        """The id of the record a legacy row became, if it has been migrated."""
        spec = self._spec(entity)
        row = self.conn.execute(
            sql.SQL("SELECT id FROM {} WHERE legacy_table = %s AND legacy_id = %s").format(sql.SQL(spec["table"])),
            [data_migrations.load(DATA_MIGRATIONS, spec["migration"]).LEGACY_TABLE, legacy_id],
        ).fetchone()
        return row[0] if row else None

    def update(self, entity: str, record_id: int, values: dict) -> int:
        spec = self._spec(entity)
        _checked(values, _fields(spec["migration"]), spec["table"])
        assignments = sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in values)
        with self.conn.transaction():
            self._require_modern_only(f"updating a {entity}")
            return self.conn.execute(
                sql.SQL("UPDATE {} SET {}, updated_at = now() WHERE id = %s").format(
                    sql.SQL(spec["table"]), assignments
                ),
                [*values.values(), record_id],
            ).rowcount

    def cancel(self, entity: str, record_id: int) -> int:
        """Cancelled, never deleted: the record stays, as the legacy application kept its rows."""
        spec = self._spec(entity)
        with self.conn.transaction():
            self._require_modern_only(f"cancelling a {entity}")
            return self.conn.execute(
                sql.SQL("UPDATE {} SET status = %s, updated_at = now() WHERE id = %s").format(sql.SQL(spec["table"])),
                [CANCELLED[entity], record_id],
            ).rowcount

    @staticmethod
    def _spec(entity: str) -> dict:
        if entity not in RECORDS:
            raise RunbookError(f"There is no record type {entity!r}.", f"use one of: {', '.join(RECORDS)}.")
        return RECORDS[entity]

    @staticmethod
    def _detail_table(spec: dict, service_type: str | None) -> tuple[str, str]:
        if service_type not in spec["details"]:
            raise RunbookError(
                f"A chapel service of type {service_type!r} has no details.",
                f"set service_type to one of: {', '.join(spec['details'])}.",
            )
        return spec["details"][service_type]

    # --- persons -------------------------------------------------------------------------

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

    def record(
        self, entity: str, record_id: int | None = None, legacy_id: int | None = None
    ) -> tuple[str, dict | None]:
        """('modern', the record) by its id or by the legacy row it came from; ('legacy', the legacy
        row) when that row is not in the new design yet."""
        if record_id is None and legacy_id is not None:
            record_id = self.modern.find(entity, legacy_id)
        if record_id is not None:
            return "modern", self.modern.read(entity, record_id)
        legacy_table = data_migrations.load(DATA_MIGRATIONS, RECORDS[entity]["migration"]).LEGACY_TABLE
        return "legacy", self.legacy.get(legacy_table, legacy_id)


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
        migrations = self.legacy.table_migrations(table)
        with self.conn.transaction():
            mode = dual_write.mode_for_writes(self.conn)
            if mode == "modern-only":
                raise RunbookError(
                    f"The dual-write mode is modern-only: {table} is frozen after the cutover.",
                    "write through ModernAdapter, or switch the mode back with bayview_dual_write.",
                )
            legacy_id = legacy_write()  # the source of truth
            if mode == "dual" and legacy_id:
                self._modern_write(migrations, table, operation, legacy_id)
        return legacy_id

    def _modern_write(self, migrations: list, table: str, operation: str, legacy_id: int) -> None:
        try:
            with self.conn.transaction():  # a SAVEPOINT: its failure cannot undo the legacy write
                for migration in migrations:  # all or none: one discrepancy, repaired for all by the sync
                    data_sync.resync_rows(self.conn, migration, self.legacy.candidates(migration), [legacy_id])
        except psycopg.Error as exc:
            if self.conn.info.transaction_status == psycopg.pq.TransactionStatus.UNKNOWN:
                raise  # the connection itself is gone: nothing was committed, the caller must retry
            error = (getattr(exc.diag, "message_primary", None) or str(exc)).strip()[:500]
            self.conn.execute(
                "INSERT INTO migration.dual_write_discrepancies (legacy_table, legacy_id, operation, error) "
                "VALUES (%s, %s, %s, %s)",
                [table, legacy_id, operation, error],
            )
