"""The portable data API over the new design in PostgreSQL, through the data-access layer.

Memorial applications and chapel services are created, read, updated and cancelled by the
data-access layer's ModernAdapter (its field lists, its transactions, its refusal to write the new
design alone before the cutover). What it does not cover is SQL here: persons, payments, linking an
existing person to a record, a record's details after its creation, deleting, and queries.

Every write needs the dual-write mode modern-only (after the cutover), as ModernAdapter does: before
it, the legacy tables are the source of truth and a write here alone is refused.
"""

from __future__ import annotations

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from bayview_runbook.data_access import PERSON_COLUMNS, RECORDS, ModernAdapter
from bayview_runbook.engine import RunbookError
from bayview_runbook.portable.contract import ENTITIES, NotSupported, PortableDataAPI

TABLES = {
    "person": "core.persons",
    "memorial_application": RECORDS["memorial_application"]["table"],
    "chapel_service": RECORDS["chapel_service"]["table"],
    "payment": "finance.payments",
}
PLAIN = {entity: tuple(f for f in fields if f not in ("persons", "details")) for entity, fields in ENTITIES.items()}


def _table(entity: str) -> sql.Composable:
    return sql.Identifier(*TABLES[entity].split("."))


class PostgresAdapter(PortableDataAPI):
    name = "postgresql"

    def __init__(self, conn: psycopg.Connection | str, application_name: str = "bayview-portable"):
        self._own = isinstance(conn, str)
        self.conn = psycopg.connect(conn, autocommit=True, application_name=application_name) if self._own else conn
        self.modern = ModernAdapter(self.conn)

    def close(self) -> None:
        if self._own:
            self.conn.close()

    def _writable(self, action: str) -> None:
        try:
            self.modern._require_modern_only(action)
        except RunbookError as exc:
            raise NotSupported(str(exc)) from None

    # --- reads ---
    def _rows(self, entity: str, conditions: dict) -> list[dict]:
        ids = ("id", "memorial_application_id", "chapel_service_id")
        if any(k in ids and v is not None and not v.isdigit() for k, v in conditions.items()):
            return []  # an id this database cannot have (another adapter's) names nothing here
        columns = ("id", *PLAIN[entity])
        where = sql.SQL(" AND ").join(
            sql.SQL("{} IS NOT DISTINCT FROM %s").format(sql.Identifier(k)) for k in conditions
        )
        query = sql.SQL("SELECT {} FROM {}{} ORDER BY id").format(
            sql.SQL(", ").join(map(sql.Identifier, columns)),
            _table(entity),
            sql.SQL(" WHERE ") + where if conditions else sql.SQL(""),
        )
        params = [int(v) if k in ids and v is not None else v for k, v in conditions.items()]
        with self.conn.cursor(row_factory=dict_row) as cur:
            return cur.execute(query, params).fetchall()

    def _read(self, entity: str, id: str) -> dict | None:
        if not id.isdigit():
            return None
        if entity in RECORDS:
            record = self.modern.read(entity, int(id))  # the record with its persons and details
            if record is None:
                return None
            record["persons"] = {role: p["id"] for role, p in record["persons"].items()}
            if record.get("details"):
                record["details"] = {k: v for k, v in record["details"].items() if k in self._detail_fields(record)}
            return record
        rows = self._rows(entity, {"id": id})
        return rows[0] if rows else None

    @staticmethod
    def _detail_fields(record: dict) -> tuple[str, ...]:
        from bayview_runbook.portable.contract import DETAIL_FIELDS

        return DETAIL_FIELDS.get(record.get("service_type"), ())

    def _query(self, entity: str, conditions: dict) -> list[dict]:
        rows = self._rows(entity, conditions)
        if entity not in RECORDS:
            return rows
        return [self._read(entity, str(r["id"])) for r in rows]

    def _records_of_person(self, person_id: str) -> list[tuple[str, str, str]]:
        by_table = {spec["table"]: entity for entity, spec in RECORDS.items()}
        rows = self.conn.execute(
            "SELECT record_table, role, record_id FROM core.record_persons WHERE person_id = %s "
            "AND record_table = ANY(%s) ORDER BY record_table, record_id, role",
            [int(person_id), list(by_table)],
        ).fetchall()
        return [(by_table[t], role, str(rid)) for t, role, rid in rows]

    # --- writes ---
    def _insert(self, entity: str, values: dict) -> int:
        return self.modern._insert(TABLES[entity], values)

    def _create(self, entity: str, values: dict):
        self._writable(f"creating a {entity}")
        if entity == "person":
            return self._insert("person", values)
        if entity == "payment":
            values = dict(values)
            for ref in ("memorial_application_id", "chapel_service_id"):
                if values.get(ref) is not None:
                    values[ref] = int(values[ref])
            return self._insert("payment", values)
        # ModernAdapter writes the data migration's FIELDS (a chapel service's status among them; a
        # memorial application's status is set after, as ModernAdapter.cancel sets it)
        separate = ("persons", "details", "status") if entity == "memorial_application" else ("persons", "details")
        record = {k: v for k, v in values.items() if k not in separate}
        persons = values.get("persons") or {}
        with self.conn.transaction():
            record_id = self.modern.create(
                entity,
                record,
                persons={role: p for role, p in persons.items() if isinstance(p, dict)},
                details=values.get("details"),
            )
            self._link(entity, record_id, {role: p for role, p in persons.items() if not isinstance(p, dict)})
            if entity == "memorial_application" and values.get("status") is not None:
                self._set_status(entity, record_id, values["status"])
        return record_id

    def _link(self, entity: str, record_id: int, persons: dict) -> None:
        for role, person_id in persons.items():
            self.conn.execute(
                "INSERT INTO core.record_person_links (record_table, record_id, role, person_id) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (record_table, record_id, role) "
                "DO UPDATE SET person_id = EXCLUDED.person_id",
                [TABLES[entity], record_id, role, int(person_id)],
            )

    def _set_status(self, entity: str, record_id: int, status: str) -> None:
        if entity == "memorial_application" and status == "cancelled":
            self.modern.cancel(entity, record_id)
        elif entity == "memorial_application":  # ModernAdapter only cancels: back to active is SQL
            self.conn.execute(
                "UPDATE property.memorial_applications SET status = %s, updated_at = now() WHERE id = %s",
                [status, record_id],
            )
        else:
            self.modern.update(entity, record_id, {"status": status})

    def _update(self, entity: str, id: str, values: dict) -> bool:
        self._writable(f"updating a {entity}")
        if not id.isdigit() or self._read(entity, id) is None:
            return False
        key = int(id)
        if entity == "person":
            self.modern.update_person(key, values)
            return True
        if entity == "payment":
            values = {k: int(v) if k.endswith("_id") and v is not None else v for k, v in values.items()}
            assignments = sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in values)
            self.conn.execute(
                sql.SQL("UPDATE finance.payments SET {}, updated_at = now() WHERE id = %s").format(assignments),
                [*values.values(), key],
            )
            return True
        plain = {k: v for k, v in values.items() if k not in ("persons", "details", "status")}
        with self.conn.transaction():
            if entity == "chapel_service" and "status" in values:
                plain["status"] = values["status"]
            elif "status" in values:
                self._set_status(entity, key, values["status"])
            if plain:
                self.modern.update(entity, key, plain)
            if "persons" in values:
                self._replace_persons(entity, key, values["persons"])
            if "details" in values:
                self._replace_details(key, values["details"])
        return True

    def _replace_persons(self, entity: str, key: int, persons: dict) -> None:
        self.conn.execute(
            "DELETE FROM core.record_person_links WHERE record_table = %s AND record_id = %s", [TABLES[entity], key]
        )
        ids = {role: p if not isinstance(p, dict) else self._insert("person", p) for role, p in (persons or {}).items()}
        self._link(entity, key, ids)

    def _replace_details(self, key: int, details: dict | None) -> None:
        service_type = self.conn.execute("SELECT service_type FROM events.chapel_services WHERE id = %s", [key])
        table, _migration = self.modern._detail_table(RECORDS["chapel_service"], service_type.fetchone()[0])
        target = sql.Identifier(*table.split("."))
        self.conn.execute(sql.SQL("DELETE FROM {} WHERE service_id = %s").format(target), [key])
        if details:
            self.modern._insert(table, {"service_id": key, **details})

    def _delete(self, entity: str, id: str) -> bool:
        self._writable(f"deleting a {entity}")
        if not id.isdigit():
            return False
        with self.conn.transaction():
            if entity in RECORDS:  # its payments and details go by their foreign keys' ON DELETE CASCADE
                self.conn.execute(
                    "DELETE FROM core.record_person_links WHERE record_table = %s AND record_id = %s",
                    [TABLES[entity], int(id)],
                )
            return bool(
                self.conn.execute(sql.SQL("DELETE FROM {} WHERE id = %s").format(_table(entity)), [int(id)]).rowcount
            )


assert PERSON_COLUMNS[1:] == ENTITIES["person"]  # one vocabulary: the data-access layer's
