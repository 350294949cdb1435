"""The portable export: the whole system, from one snapshot, as a Frictionless Data Package.

One REPEATABLE READ READ ONLY transaction exports its snapshot. In it, this connection reads the
catalog and streams every table with COPY straight into the store (one table at a time, a chunk
in memory at a time; a large table through psql on the same snapshot, which is faster), while a
second connection on the same snapshot counts and takes the legacy fingerprint (row counts,
content hashes, catalog of the protected tables), and pg_dump --snapshot writes schema.sql (and
database.sql). The descriptor is written last (data_package.py has the layout). An export that
fails removes what it wrote, as far as the store lets it; what is left has no descriptor and
never lists.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from ansible.module_utils.bayview import data_package, db, fingerprint, ledger
from ansible.module_utils.bayview.errors import RunbookError
from ansible.module_utils.bayview.preflight import client_major
from ansible.module_utils.bayview.protected_guard import PROTECTED_SCHEMAS, PROTECTED_TABLES
from ansible.module_utils.bayview.restore_points import _stderr_tail, new_id
from ansible.module_utils.bayview.stores import CHUNK_SIZE
from psycopg import sql

COLUMNS_SQL = """
SELECT n.nspname, c.relname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
       coalesce(bt.typname, t.typname), t.typcategory, a.attnotnull, pg_catalog.pg_relation_size(c.oid)
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                                AND a.attgenerated = ''
  JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_catalog.pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
 WHERE c.relkind = 'r' AND n.nspname = ANY(%(schemas)s)
 ORDER BY n.nspname, c.relname, a.attnum
"""

# Primary keys and foreign keys, by column name.
KEYS_SQL = """
SELECT n.nspname, c.relname, co.contype,
       ARRAY(SELECT a.attname FROM unnest(co.conkey) WITH ORDINALITY k(num, i)
               JOIN pg_catalog.pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = k.num ORDER BY k.i),
       fn.nspname, fc.relname,
       ARRAY(SELECT a.attname FROM unnest(co.confkey) WITH ORDINALITY k(num, i)
               JOIN pg_catalog.pg_attribute a ON a.attrelid = co.confrelid AND a.attnum = k.num ORDER BY k.i)
  FROM pg_catalog.pg_constraint co
  JOIN pg_catalog.pg_class c ON c.oid = co.conrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_catalog.pg_class fc ON fc.oid = co.confrelid
  LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace
 WHERE co.contype IN ('p', 'f') AND n.nspname = ANY(%(schemas)s)
 ORDER BY n.nspname, c.relname, co.conname
"""

SEQUENCES_SQL = """
SELECT n.nspname, c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'S' AND n.nspname = ANY(%(schemas)s) ORDER BY 1, 2
"""

# Every role schema.sql names (owners, grantees, grantors): the import needs them on its server.
ROLES_SQL = """
WITH ns AS (SELECT oid, nspowner, nspacl FROM pg_catalog.pg_namespace WHERE nspname = ANY(%(schemas)s)),
objects(owner, acl) AS (
    SELECT nspowner, nspacl FROM ns
    UNION ALL SELECT relowner, relacl FROM pg_catalog.pg_class WHERE relnamespace IN (SELECT oid FROM ns)
    UNION ALL SELECT proowner, proacl FROM pg_catalog.pg_proc WHERE pronamespace IN (SELECT oid FROM ns)
    UNION ALL SELECT typowner, typacl FROM pg_catalog.pg_type WHERE typnamespace IN (SELECT oid FROM ns)
    UNION ALL SELECT defaclrole, defaclacl FROM pg_catalog.pg_default_acl WHERE defaclnamespace IN (SELECT oid FROM ns)
    UNION ALL SELECT NULL, a.attacl FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
               WHERE c.relnamespace IN (SELECT oid FROM ns) AND a.attacl IS NOT NULL
), ids AS (
    SELECT owner AS id FROM objects
    UNION SELECT (pg_catalog.aclexplode(acl)).grantee FROM objects WHERE acl IS NOT NULL
    UNION SELECT (pg_catalog.aclexplode(acl)).grantor FROM objects WHERE acl IS NOT NULL
)
SELECT r.rolname FROM ids JOIN pg_catalog.pg_roles r ON r.oid = ids.id ORDER BY 1
"""


def _catalog(conn, schemas: list[str]) -> dict:
    """{'schema.table': {schema, table, columns, primary_key, foreign_keys}} in the snapshot."""
    tables: dict[str, dict] = {}
    for schema, table, column, type_, typname, category, notnull, size in conn.execute(
        COLUMNS_SQL, {"schemas": schemas}
    ):
        entry = tables.setdefault(
            f"{schema}.{table}",
            {"schema": schema, "table": table, "columns": [], "primary_key": [], "foreign_keys": [], "bytes": size},
        )
        entry["columns"].append(
            {"name": column, "type": type_, "typname": typname, "category": category, "notnull": notnull}
        )
    for schema, table, kind, columns, ref_schema, ref_table, ref_columns in conn.execute(
        KEYS_SQL, {"schemas": schemas}
    ):
        entry = tables.get(f"{schema}.{table}")
        if entry is None:
            continue
        if kind == "p":
            entry["primary_key"] = list(columns)
        elif f"{ref_schema}.{ref_table}" in tables or ref_schema in schemas:
            entry["foreign_keys"].append(
                {"columns": list(columns), "table": f"{ref_schema}.{ref_table}", "ref": list(ref_columns)}
            )
    return tables


def _paths(tables: dict) -> dict[str, str]:
    """A file name per table, unique even where two names differ only in characters a path drops."""
    used: set[str] = set()
    names = {}
    for name in tables:
        base = candidate = data_package.safe_name(name)
        n = 1
        while candidate in used:
            n += 1
            candidate = f"{base}-{n}"
        used.add(candidate)
        names[name] = candidate
    return names


def _copy_parts(entry: dict, fmt: str) -> tuple[sql.Composable, sql.Composable]:
    """What a table's COPY reads (the table's columns, or a query) and its options, in this format."""
    table = sql.Identifier(entry["schema"], entry["table"])
    columns = sql.SQL(", ").join(sql.Identifier(c["name"]) for c in entry["columns"])
    if fmt == "csv":
        return sql.SQL("{} ({})").format(table, columns), sql.SQL("(FORMAT csv, HEADER true, ENCODING 'UTF8')")
    # JSON Lines: one to_json object per row. CSV with a quote and a delimiter that JSON text never
    # holds raw (control characters are escaped in JSON) writes each line exactly as to_json made it.
    return (
        sql.SQL("(SELECT pg_catalog.to_json(r)::text FROM (SELECT {} FROM {}) r)").format(columns, table),
        sql.SQL("(FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02', ENCODING 'UTF8')"),
    )


class _Digest:
    """Bytes and sha256 of what streams through it."""

    def __init__(self) -> None:
        self.sha, self.size = hashlib.sha256(), 0

    def feed(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self.sha.update(chunk)
            self.size += len(chunk)
            yield chunk


def _copy_chunks(conn, statement: sql.Composable, counted: dict) -> Iterator[bytes]:
    """COPY's rows gathered into chunks of about CHUNK_SIZE (COPY hands over a row at a time)."""
    with conn.cursor() as cur:
        with cur.copy(statement) as copy:
            buffer = bytearray()
            for data in copy:
                buffer += data
                if len(buffer) >= CHUNK_SIZE:
                    yield bytes(buffer)
                    buffer.clear()
            if buffer:
                yield bytes(buffer)
        counted["rows"] = cur.rowcount  # from COPY's command tag


# From this size on a table streams through psql (_psql_copy_chunks), below it through the
# export's own connection: starting psql costs more than it saves on a small table.
PSQL_FROM_BYTES = 8 * 1024 * 1024


def _psql_copy_chunks(psql: str, snapshot: str, source: str, options: str, env: dict, counted: dict) -> Iterator[bytes]:
    """A large table's COPY through psql's \\copy, in the export's snapshot. psql moves the rows in C
    and hands over large chunks, where psycopg hands over a row at a time: at a million memorials
    that was half of the export's time. The rows come through a pipe of their own (psql's
    /dev/fd/N), so that its stdout can say how many it copied."""
    rows_out, rows_in = os.pipe()
    steps = [
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        f"SET TRANSACTION SNAPSHOT '{snapshot}'",
        f"\\copy {source} TO '/dev/fd/{rows_in}' {options}",
        "COMMIT",
    ]
    args = [psql, "-X", "--no-password", "-v", "ON_ERROR_STOP=1", *(a for step in steps for a in ("-c", step))]
    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as said:
        try:
            proc = subprocess.Popen(args, stdout=said, stderr=err, env=env, pass_fds=[rows_in])
        except OSError as exc:
            os.close(rows_out)
            raise RunbookError(
                f"psql ({psql}) could not be started for the export: {exc}. No package was listed.",
                "install the PostgreSQL client beside pg_dump (pg_dump_path), then run the export again.",
            ) from None
        finally:
            os.close(rows_in)  # psql holds the only writing end: its exit ends the stream, however it exits
        done = False
        with os.fdopen(rows_out, "rb") as rows:
            try:
                while data := rows.read(CHUNK_SIZE):
                    yield data
                done = True
            finally:
                if not done:  # the store failed: stop psql too
                    proc.kill()
                code = proc.wait()
        said.seek(0)
        found = re.search(rb"^COPY (\d+)$", said.read(), re.MULTILINE)
        if code != 0 or not found:
            raise RunbookError(
                f"psql, streaming {source[:100]} for the export, failed: {_stderr_tail(err)}. No package was listed.",
                "fix what psql reports (privileges, no psql beside pg_dump), then run the export again.",
            )
        counted["rows"] = int(found.group(1))


def _pg_dump_chunks(args: list[str], env: dict, what: str) -> Iterator[bytes]:
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err, env=env)
        done = False
        try:
            while data := proc.stdout.read(CHUNK_SIZE):
                yield data
            done = True
        finally:
            if not done:  # the store failed: stop pg_dump too
                proc.kill()
            proc.stdout.close()
            code = proc.wait()
        if code != 0:
            raise RunbookError(
                f"pg_dump for the export's {what} failed: {_stderr_tail(err)}. No package was listed.",
                "fix what pg_dump reports (privileges, a pg_dump older than the server), then run the export again.",
            )


def _schema_chunks(pg_dump: str, snapshot: str, schemas: list[str], env: dict) -> Iterator[bytes]:
    """pre-data, the marker, post-data: one script for psql, which the import loads in two steps."""
    base = [pg_dump, "--schema-only", f"--snapshot={snapshot}", "--no-password"] + [f"--schema={s}" for s in schemas]
    yield from _pg_dump_chunks([*base, "--section=pre-data"], env, "schema (pre-data)")
    yield b"\n" + data_package.POST_DATA_MARKER.encode() + b"\n"
    yield from _pg_dump_chunks([*base, "--section=post-data"], env, "schema (post-data)")


def _fingerprint_in_snapshot(params: dict, snapshot: str, out: dict) -> None:
    """On a second connection, in the same snapshot: the legacy fingerprint (the restore points'
    one: row counts, content hashes and catalog of the protected tables)."""
    try:
        with db.connect(params) as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
            legacy = fingerprint.take_in_snapshot(conn)
            out["legacy_fingerprint"] = {
                k: legacy[k] for k in ("scope", "fingerprint_sha256", "catalog_sha256", "tables", "catalog")
            }
    except BaseException as exc:  # handed to the main thread
        out["error"] = exc


def _sequences(conn, schemas: list[str]) -> dict[str, dict]:
    found = {}
    for schema, name in conn.execute(SEQUENCES_SQL, {"schemas": schemas}).fetchall():
        last, called = conn.execute(
            sql.SQL("SELECT last_value, is_called FROM {}").format(sql.Identifier(schema, name))
        ).fetchone()
        found[f"{schema}.{name}"] = {"schema": schema, "name": name, "last_value": last, "is_called": called}
    return found


def _resource(entry: dict, name: str, path: str, fmt: str, digest: _Digest, names: dict, rows: int) -> dict:
    suffix = "" if fmt == "csv" else f".{fmt}"
    fields = [data_package.field(c, fmt) for c in entry["columns"]]
    schema: dict = {"fields": fields}
    if entry["primary_key"]:
        schema["primaryKey"] = entry["primary_key"]
    keys = []
    for fk in entry["foreign_keys"]:
        if fk["table"] in names:
            target = "" if fk["table"] == name else names[fk["table"]] + suffix
            keys.append({"fields": fk["columns"], "reference": {"resource": target, "fields": fk["ref"]}})
    if keys:
        schema["foreignKeys"] = keys
    resource = {
        "name": names[name] + suffix,
        "title": name,
        "path": path,
        "profile": "tabular-data-resource",
        "format": fmt,
        "mediatype": "text/csv" if fmt == "csv" else "application/x-ndjson",
        "encoding": "utf-8",
        "bytes": digest.size,
        "hash": f"sha256:{digest.sha.hexdigest()}",
        "bayview": {"schema": entry["schema"], "table": entry["table"], "rows": rows},
    }
    if fmt == "csv":
        schema["missingValues"] = [""]
        resource["dialect"] = {"header": True, "delimiter": ",", "quoteChar": '"', "doubleQuote": True}
    else:
        schema["missingValues"] = []  # JSON has its own null: "" is the empty string
    if fmt == "jsonl" and rows == 0:
        # An empty JSON Lines file has no first object for a table reader to take the fields from
        # (frictionless cannot open it as a table): it is listed as a file, with its schema all the same.
        resource.update(profile="data-resource", type="file")
    resource["schema"] = schema
    return resource


def _row_counts(conn, tables: dict, resources: list[dict]) -> dict[str, dict]:
    """Every table's row count: COPY's own count where a table was written, else count(*) in the snapshot."""
    copied = {r["title"]: r["bayview"]["rows"] for r in resources if "bayview" in r}
    counts = {}
    for name, entry in tables.items():
        if name not in copied:
            query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(entry["schema"], entry["table"]))
            copied[name] = conn.execute(query).fetchone()[0]
        counts[name] = {"rows": copied[name]}
    return counts


def _drop_keys_to_files(resources: list[dict]) -> None:
    """A foreign key to an empty table's JSON Lines file (listed as a plain file) cannot be checked
    by a table reader: it goes from the jsonl resources (the CSV ones keep theirs)."""
    files = {r["name"] for r in resources if r.get("type") == "file"}
    for resource in resources:
        keys = resource.get("schema", {}).get("foreignKeys")
        if keys:
            kept = [k for k in keys if k["reference"]["resource"] not in files]
            if kept:
                resource["schema"]["foreignKeys"] = kept
            else:
                del resource["schema"]["foreignKeys"]


def _file_resource(name: str, path: str, mediatype: str, digest: _Digest, description: str) -> dict:
    return {
        "name": name,
        "path": path,
        "profile": "data-resource",
        "format": path.rsplit(".", 1)[-1],
        "mediatype": mediatype,
        "encoding": "utf-8",
        "bytes": digest.size,
        "hash": f"sha256:{digest.sha.hexdigest()}",
        "description": description,
    }


def plan(params: dict, schemas: list[str], formats: list[str]) -> dict:
    """What an export would write (check mode): the tables and files, without reading the rows."""
    with db.connect(params) as conn:
        tables = _catalog(conn, list(schemas))
    return {"would_export": sorted(tables), "formats": formats, "schemas": schemas}


def export(
    params: dict,
    store,
    schemas: list[str],
    formats: list[str],
    pg_dump: str = "pg_dump",
    runbook_version: str = "",
    run_id: str = "",
    psql_from_bytes: int = PSQL_FROM_BYTES,
) -> dict:
    """Write a package of the whole system into the store. Returns its summary and location.
    Tables of psql_from_bytes or more stream through psql (the tests choose which path)."""
    formats = [f for f in data_package.FORMATS if f in formats]  # a fixed order, no repeats
    if not formats:
        raise RunbookError("export_formats names no format.", "pass -e export_formats=csv (or csv,jsonl,sql).")
    store.check()
    database = params["connection"]["dbname"]
    export_id = new_id("export")
    prefix = data_package.prefix(database, export_id)
    written: list[str] = []
    started = time.monotonic()
    conn = db.connect(params)
    try:
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            snapshot = conn.execute("SELECT pg_catalog.pg_export_snapshot()").fetchone()[0]
            present = [
                r[0]
                for r in conn.execute(
                    "SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname = ANY(%s) ORDER BY 1", [list(schemas)]
                )
            ]
            if not present:
                raise RunbookError(
                    f"None of the schemas [{', '.join(schemas)}] exists in {db.describe(params)}. Nothing was written.",
                    "check bayview_db_name and bayview_export_schemas.",
                )
            present = [s for s in schemas if s in present]
            tables = _catalog(conn, present)
            version = ledger.current_version(ledger.read(conn)) if ledger.exists(conn) else 0
            sequences = _sequences(conn, present)
            roles = [r[0] for r in conn.execute(ROLES_SQL, {"schemas": present})]
            hashed: dict = {}
            hasher = threading.Thread(
                target=_fingerprint_in_snapshot, args=(params, snapshot, hashed), name="export-fingerprint"
            )
            hasher.start()
            try:
                resources = _write_files(
                    conn, params, store, prefix, snapshot, present, tables, formats, pg_dump, written, psql_from_bytes
                )
            finally:
                hasher.join()
            if "error" in hashed:
                raise hashed["error"]
            counts = _row_counts(conn, tables, resources)
        _drop_keys_to_files(resources)
        metadata = {
            "format_version": data_package.FORMAT_VERSION,
            "export_id": export_id,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "database": database,
            "host": params["connection"]["host"],
            "server_version": conn.info.server_version,
            "pg_dump_version": client_major(pg_dump)[1],
            "runbook_version": runbook_version,
            "ledger_version": version,
            "run_id": run_id,
            "schemas": present,
            "formats": formats,
            "roles": roles,
            "tables": counts,
            "sequences": sequences,
            "legacy_fingerprint": hashed["legacy_fingerprint"],
            "protected": {"schemas": list(PROTECTED_SCHEMAS), "tables": list(PROTECTED_TABLES)},
        }
        for name, fp in metadata["legacy_fingerprint"]["tables"].items():
            if name in counts and fp["rows"] is not None and fp["rows"] != counts[name]["rows"]:
                raise RunbookError(
                    f"COPY wrote {counts[name]['rows']} rows of {name}, but the fingerprint of the same snapshot "
                    f"counts {fp['rows']}. No package was listed.",
                    "run the export again; if it repeats, keep this output and report it.",
                )
        data = json.dumps(metadata, indent=2, sort_keys=True, default=str).encode()
        digest = _Digest()
        store.upload_stream(prefix + data_package.METADATA, digest.feed(iter([data])))
        written.append(prefix + data_package.METADATA)
        resources.append(
            _file_resource(
                "metadata",
                data_package.METADATA,
                "application/json",
                digest,
                "Row counts, sequences, roles, versions and the legacy fingerprint (the legacy tables' content).",
            )
        )
        metadata["seconds"] = round(time.monotonic() - started, 2)
        descriptor = _descriptor(metadata, resources)
        store.put_small(prefix + data_package.DESCRIPTOR, json.dumps(descriptor, indent=2).encode())
    except BaseException:
        for key in reversed(written):  # best effort: what stays has no descriptor and never lists
            try:
                store.delete(key)
            except Exception:  # noqa: BLE001 - the store is failing: leave the rest to it
                break
        raise
    finally:
        conn.close()
    return {
        **data_package.summary(descriptor),
        "location": f"{store.url.rstrip('/')}/{prefix}",
        "seconds": metadata["seconds"],
        "files": [r["path"] for r in descriptor["resources"]],
    }


def _write_files(
    conn, params, store, prefix, snapshot, schemas, tables, formats, pg_dump, written, psql_from_bytes
) -> list[dict]:
    env = db.libpq_env(params)
    resources = []
    digest = _Digest()
    store.upload_stream(prefix + data_package.SCHEMA, digest.feed(_schema_chunks(pg_dump, snapshot, schemas, env)))
    written.append(prefix + data_package.SCHEMA)
    resources.append(
        _file_resource(
            "schema",
            data_package.SCHEMA,
            "application/sql",
            digest,
            "pg_dump --schema-only of the exported schemas (owners and grants kept): pre-data, then post-data.",
        )
    )
    names = _paths(tables)
    psql = str(Path(pg_dump).with_name("psql")) if "/" in pg_dump else "psql"  # the client beside pg_dump
    # psql's session waits no longer than the runbook's own (behind a migration's ACCESS EXCLUSIVE)
    psql_env = env | {"PGOPTIONS": " ".join(f"-c {name}={value}" for name, value in db.waits(params).items())}
    for fmt in (f for f in formats if f != "sql"):
        for name, entry in tables.items():
            path = f"data/{names[name]}.{fmt}"
            digest, counted = _Digest(), {}
            source, options = _copy_parts(entry, fmt)
            if entry["bytes"] >= psql_from_bytes:
                source_text, options_text = source.as_string(conn), options.as_string(conn)
                chunks = _psql_copy_chunks(psql, snapshot, source_text, options_text, psql_env, counted)
            else:
                statement = sql.SQL("COPY {} TO STDOUT {}").format(source, options)
                chunks = _copy_chunks(conn, statement, counted)
            store.upload_stream(prefix + path, digest.feed(chunks))
            written.append(prefix + path)
            resources.append(_resource(entry, name, path, fmt, digest, names, counted["rows"]))
    if "sql" in formats:
        args = [pg_dump, "--format=plain", "--no-owner", "--no-privileges", f"--snapshot={snapshot}", "--no-password"]
        digest = _Digest()
        chunks = _pg_dump_chunks(args + [f"--schema={s}" for s in schemas], env, "database.sql")
        store.upload_stream(prefix + data_package.DATABASE_SQL, digest.feed(chunks))
        written.append(prefix + data_package.DATABASE_SQL)
        resources.append(
            _file_resource(
                "database",
                data_package.DATABASE_SQL,
                "application/sql",
                digest,
                "A plain SQL script (schema and data, no owners or grants): psql -f database.sql loads it "
                "into an empty database.",
            )
        )
    return resources


def _descriptor(metadata: dict, resources: list[dict]) -> dict:
    return {
        "profile": "data-package",
        "name": data_package.safe_name(f"bayview-{metadata['database']}-{metadata['export_id']}"),
        "title": f"Bay View database {metadata['database']}, export {metadata['export_id']}",
        "description": (
            "Every table of the exported schemas from one snapshot. CSV: RFC 4180, UTF-8, a header row; "
            'NULL is an empty unquoted field, the empty string is "" (PostgreSQL\'s CSV convention). JSON '
            'Lines: one object per row, null and "" as they are. schema.sql has the exact DDL; '
            "metadata.json the row counts, content hashes and versions. Import: playbooks/import.yml."
        ),
        "created": metadata["created"],
        "bayview": {
            "format_version": metadata["format_version"],
            "export_id": metadata["export_id"],
            "database": metadata["database"],
            "ledger_version": metadata["ledger_version"],
            "runbook_version": metadata["runbook_version"],
            "server_version": metadata["server_version"],
            "formats": metadata["formats"],
            "schemas": metadata["schemas"],
            "tables": {name: {"rows": t["rows"]} for name, t in metadata["tables"].items()},
        },
        "resources": resources,
    }
