"""The portable export's layout: a Frictionless Data Package in the store, and how to find one.

    exports/<database>/<id>/schema.sql          pg_dump --schema-only (owners and grants kept):
                                                 pre-data, then POST_DATA_MARKER, then post-data
    exports/<database>/<id>/data/<table>.csv     one per table (RFC 4180, UTF-8, header row)
    exports/<database>/<id>/data/<table>.jsonl   one per table (JSON Lines), with -e export_formats=jsonl
    exports/<database>/<id>/database.sql         with sql: a plain script psql loads into an empty database
    exports/<database>/<id>/metadata.json        row counts, content hashes, sequences, versions, fingerprint
    exports/<database>/<id>/datapackage.json     the descriptor, written LAST

A package is complete only when its descriptor exists: an export cut off before the end leaves
no descriptor, so it never lists. The descriptor gives each file's bytes and sha256 `hash`; the
import re-reads every one before it creates anything.

NULL and the empty string in CSV are PostgreSQL's own CSV convention: NULL is an empty unquoted
field, the empty string is `""`. PostgreSQL's COPY and DuckDB (allow_quoted_nulls=false) keep
the two apart; readers that cannot (Python's csv module, and so frictionless, or a spreadsheet)
read both as missing: the JSON Lines resources carry null and "" explicitly.
"""

from __future__ import annotations

import json
import re

from ansible.module_utils.bayview.errors import RunbookError

# The package layout this runbook writes and reads; an import refuses a newer one.
FORMAT_VERSION = 1
DESCRIPTOR = "datapackage.json"
METADATA = "metadata.json"
SCHEMA = "schema.sql"
DATABASE_SQL = "database.sql"
POST_DATA_MARKER = "-- bayview-runbook: post-data (indexes, constraints, triggers) follows\n"
FORMATS = ("csv", "jsonl", "sql")
# The whole system: the legacy schemas, the new design and the runbook's own records.
SCHEMAS = ("bayview", "crouse_chapel", "core", "property", "education", "events", "recreation", "finance", "migration")


def prefix(database: str, export_id: str) -> str:
    return f"exports/{database}/{export_id}/"


def safe_name(text: str) -> str:
    """A Data Package name (lowercase letters, digits, - _ .) for a schema-qualified table."""
    return re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-") or "table"


# PostgreSQL type (pg_type.typname) -> Table Schema type and format. Everything else is a string
# (its PostgreSQL text form); each field also carries its exact PostgreSQL type as pgType.
TYPES = {
    "int2": ("integer", None),
    "int4": ("integer", None),
    "int8": ("integer", None),
    "oid": ("integer", None),
    "numeric": ("number", None),
    "float4": ("number", None),
    "float8": ("number", None),
    "bool": ("boolean", None),
    "date": ("date", "default"),
    "time": ("time", "any"),
    "timetz": ("time", "any"),
    "timestamp": ("datetime", "any"),
    "timestamptz": ("datetime", "any"),
    "json": ("any", None),
    "jsonb": ("any", None),
    "uuid": ("string", "uuid"),
}


def field(column: dict, fmt: str) -> dict:
    """The Table Schema field of a column (a dict from the export's catalog read) in csv or jsonl."""
    kind, form = TYPES.get(column["typname"], ("string", None))
    if column["category"] == "A":
        kind, form = ("array", None) if fmt == "jsonl" else ("string", None)
    described = {"name": column["name"], "type": kind, "pgType": column["type"]}
    if form:
        described["format"] = form
    if kind == "boolean" and fmt == "csv":
        described["trueValues"], described["falseValues"] = ["t"], ["f"]
    if column["notnull"]:
        described["constraints"] = {"required": True}
        if fmt == "csv":  # never NULL: an empty field is the empty string, not a missing value
            described["missingValues"] = []
    match = re.fullmatch(r"character varying\((\d+)\)", column["type"])
    if match:
        described.setdefault("constraints", {})["maxLength"] = int(match.group(1))
    return described


def list_packages(store, database: str) -> list[dict]:
    """Complete packages (those with a descriptor) of a database, newest first: their descriptors."""
    found = []
    for key in store.list_keys(f"exports/{database}/"):
        if key.endswith(f"/{DESCRIPTOR}") and key.count("/") == 3:
            descriptor = json.loads(store.get_small(key))
            descriptor["_prefix"] = key[: -len(DESCRIPTOR)]
            found.append(descriptor)
    return sorted(found, key=lambda d: d["created"] + d["bayview"]["export_id"], reverse=True)


def find(store, database: str, export_id: str) -> dict:
    """The descriptor of export `export_id` (or the newest, for 'latest') of a database."""
    packages = list_packages(store, database)
    if not packages:
        raise RunbookError(
            f"There is no complete export of {database} in {store.url} (under exports/{database}/).",
            "write one with playbooks/export.yml (bayview-runbook export), or check restore_point_store "
            "and the source database name.",
        )
    if export_id == "latest":
        return packages[0]
    for package in packages:
        if package["bayview"]["export_id"] == export_id:
            return package
    newest = ", ".join(p["bayview"]["export_id"] for p in packages[:5])
    raise RunbookError(
        f"No complete export {export_id!r} of {database} in {store.url}.",
        f"use one of the newest: {newest} (or latest).",
    )


def summary(descriptor: dict) -> dict:
    """What an operator reads about a package (task output, lists)."""
    info = descriptor["bayview"]
    return {
        "export_id": info["export_id"],
        "created": descriptor["created"],
        "database": info["database"],
        "formats": info["formats"],
        "tables": len(info["tables"]),
        "rows": sum(t["rows"] for t in info["tables"].values()),
        "bytes": sum(r.get("bytes", 0) for r in descriptor["resources"]),
        "ledger_version": info["ledger_version"],
        "runbook_version": info["runbook_version"],
    }
