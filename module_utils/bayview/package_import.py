"""Import a portable export (data_package.py) into a new, empty database.

In order, and nothing is created before step 4:
1. find the package (an id or latest) and refuse one newer than this runbook (package format,
   ledger version) naming both versions;
2. refuse a target database that exists and holds anything, naming what it holds;
3. refuse a server that lacks a role schema.sql names;
4. re-read every file of the package: bytes and sha256 against the descriptor (a changed byte, a
   truncated or missing file is refused, naming the file);
5. create the database under a temporary name (<name>_importing_<stamp>) that says it is not one to
   use, then in ONE transaction: schema.sql's pre-data, COPY every table in (streamed, its sha256
   checked again on the way), post-data (indexes, constraints, triggers), the sequences' positions;
6. compare every table's row count, and the legacy fingerprint (content and catalog), with the metadata;
7. rename it to its name. A failure drops the temporary database; if even that fails, the error
   names it as failed and says to drop it.
An existing empty target is loaded in place instead, and compared inside that same transaction
before it commits: a failure or a kill at any moment leaves it as it was (empty).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from datetime import UTC, datetime

import psycopg
from ansible.module_utils.bayview import data_package, db, failpoints, fingerprint, migration_files
from ansible.module_utils.bayview.errors import RunbookError
from psycopg import sql

# What a database holds beyond what CREATE DATABASE gives it: schemas other than public, objects
# in public, extensions other than plpgsql.
CONTENTS_SQL = """
SELECT 'schema ' || nspname FROM pg_catalog.pg_namespace
 WHERE nspname NOT IN ('public', 'information_schema') AND nspname NOT LIKE 'pg\\_%'
UNION ALL
SELECT CASE c.relkind WHEN 'r' THEN 'table ' WHEN 'v' THEN 'view ' WHEN 'S' THEN 'sequence ' ELSE 'relation ' END
       || 'public.' || c.relname
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
UNION ALL
SELECT 'function public.' || p.proname
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'public'
UNION ALL
SELECT 'extension ' || extname FROM pg_catalog.pg_extension WHERE extname <> 'plpgsql'
ORDER BY 1
"""


def _maintenance(admin: dict) -> dict:
    return db.with_database(admin, "postgres")


def _newest_known_version(migrations_dir) -> int:
    migrations = migration_files.load_migrations(migrations_dir)
    return max((m.version for m in migrations), default=0)


def check_versions(descriptor: dict, migrations_dir, runbook_version: str) -> None:
    info = descriptor["bayview"]
    theirs = info.get("runbook_version") or "unknown"
    if info["format_version"] > data_package.FORMAT_VERSION:
        raise RunbookError(
            f"Export {info['export_id']} is in package format {info['format_version']} (written by runbook "
            f"{theirs}); this runbook ({runbook_version or 'unknown'}) reads format {data_package.FORMAT_VERSION} "
            "and older. Nothing was created.",
            "import it with the runbook version that wrote it (or a newer one).",
        )
    known = _newest_known_version(migrations_dir)
    if info["ledger_version"] > known:
        raise RunbookError(
            f"Export {info['export_id']} holds schema (ledger) version {info['ledger_version']}, written by runbook "
            f"{theirs}; this runbook ({runbook_version or 'unknown'}) knows versions up to {known}. "
            "Nothing was created.",
            "import it with the runbook version that wrote it (or a newer one).",
        )


def _exists(admin: dict, name: str) -> bool:
    with db.connect(_maintenance(admin)) as conn:
        return conn.execute("SELECT 1 FROM pg_catalog.pg_database WHERE datname = %s", [name]).fetchone() is not None


def check_target(admin: dict, name: str) -> bool:
    """Refuse a target that holds anything. Returns whether it exists (empty)."""
    if not name or len(name.encode()) > 63:
        raise RunbookError(
            f"import_database {name!r} is not a database name PostgreSQL accepts (1 to 63 bytes). Nothing was created.",
            "pass -e import_database=<a new database name>.",
        )
    if name in ("postgres", "template0", "template1"):
        raise RunbookError(
            f"import_database {name} is one of the server's own databases (a template's content goes into every "
            "database created after it). Nothing was created.",
            "pass -e import_database=<a new database name>.",
        )
    if not _exists(admin, name):
        return False
    with db.connect(db.with_database(admin, name)) as conn:
        if conn.execute("SELECT datistemplate FROM pg_catalog.pg_database WHERE datname = %s", [name]).fetchone()[0]:
            raise RunbookError(
                f"The database {name} is a template. Nothing was changed.",
                "pass -e import_database=<a new database name>.",
            )
        found = [r[0] for r in conn.execute(CONTENTS_SQL)]
    if found:
        shown = ", ".join(found[:10]) + (f" and {len(found) - 10} more" if len(found) > 10 else "")
        raise RunbookError(
            f"The database {name} already exists and is not empty: it holds {shown}. Nothing was changed.",
            "import into a new database name (-e import_database=<new name>), or drop that database first "
            "if it is really not needed.",
        )
    return True


def check_roles(admin: dict, metadata: dict) -> None:
    with db.connect(_maintenance(admin)) as conn:
        present = {
            r[0]
            for r in conn.execute(
                "SELECT rolname FROM pg_catalog.pg_roles WHERE rolname = ANY(%s)", [metadata["roles"]]
            )
        }
    missing = [r for r in metadata["roles"] if r not in present]
    if missing:
        raise RunbookError(
            f"This server has no role {', '.join(missing)}, which the package's schema.sql names (owners and "
            "grants). Nothing was created.",
            "create the role(s) on this server (CREATE ROLE …), then run the import again.",
        )


def _digest_of(store, key: str) -> tuple[int, str]:
    sha, size = hashlib.sha256(), 0
    for chunk in store.download_stream(key):
        sha.update(chunk)
        size += len(chunk)
    return size, sha.hexdigest()


def verify(store, descriptor: dict) -> list[str]:
    """Re-read every file of the package; refuse naming each one that differs. Returns the paths."""
    problems, checked = [], []
    present = set(store.list_keys(descriptor["_prefix"]))
    for resource in descriptor["resources"]:
        path, key = resource["path"], descriptor["_prefix"] + resource["path"]
        if key not in present:
            problems.append(f"{path} is missing")
            continue
        size, sha = _digest_of(store, key)
        if size != resource["bytes"]:
            problems.append(f"{path} has {size} bytes, the descriptor says {resource['bytes']}")
        elif f"sha256:{sha}" != resource["hash"]:
            problems.append(f"{path}'s sha256 differs from the descriptor (the file was changed)")
        checked.append(path)
    if problems:
        raise RunbookError(
            f"Export {descriptor['bayview']['export_id']} failed verification: "
            + "; ".join(problems[:10])
            + ". Nothing was created.",
            "use another export (list them with playbooks/export.yml -e export_action=list), or write a fresh one.",
        )
    return checked


def checked_small(store, descriptor: dict, path: str) -> bytes:
    """A small file of the package (schema.sql, metadata.json) as it is used, checked against the
    descriptor again: verify() read it earlier, and the store may have changed since."""
    data = store.get_small(descriptor["_prefix"] + path)
    resource = next((r for r in descriptor["resources"] if r["path"] == path), None)
    if resource is None or f"sha256:{hashlib.sha256(data).hexdigest()}" != resource["hash"]:
        raise RunbookError(
            f"{path} of export {descriptor['bayview']['export_id']} differs from its descriptor now (it changed "
            "after it was verified). Nothing of it was used.",
            "find out who writes to the store; use another export, or write a fresh one.",
        )
    return data


# pg_dump (15.14 and later) brackets its script with these psql meta-commands; the server would
# refuse them, and the script runs in the import's own transaction, not through psql.
PSQL_RESTRICT = re.compile(rb"^\\(?:un)?restrict [A-Za-z0-9]+\n?", re.M)


def _run_script(conn, script: bytes, export_id: str, what: str) -> None:
    """A part of schema.sql, in the caller's transaction (psycopg sends a script without
    parameters as it is, several statements at once)."""
    try:
        conn.execute(PSQL_RESTRICT.sub(b"", script))
    except psycopg.Error as exc:
        raise RunbookError(
            f"Loading schema.sql ({what}) of export {export_id} failed: {str(exc).strip()}.",
            "fix the cause (a server older than the export's, a missing extension), then import again.",
        ) from None


def _copy_in(conn, store, descriptor: dict, resource: dict) -> None:
    """One table's file into its table, streamed, its sha256 checked again on the way. CSV goes
    straight in with COPY; JSON Lines goes through a temporary table of lines and json_populate_record."""
    info = resource["bayview"]
    table = sql.Identifier(info["schema"], info["table"])
    columns = sql.SQL(", ").join(sql.Identifier(f["name"]) for f in resource["schema"]["fields"])
    if resource["format"] == "csv":
        statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv, HEADER true, ENCODING 'UTF8')").format(table, columns)
    else:  # each line whole, exactly as the export's COPY wrote it
        statement = sql.SQL(
            "COPY pg_temp.bayview_import_lines (line) FROM STDIN "
            "(FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02', ENCODING 'UTF8')"
        )
    sha = hashlib.sha256()
    with conn.transaction(), conn.cursor() as cur:
        if resource["format"] != "csv":
            cur.execute("CREATE TEMPORARY TABLE bayview_import_lines (line text)")
        with cur.copy(statement) as copy:
            for chunk in store.download_stream(descriptor["_prefix"] + resource["path"]):
                sha.update(chunk)
                copy.write(chunk)
        if f"sha256:{sha.hexdigest()}" != resource["hash"]:  # changed since it was verified: roll it back
            raise RunbookError(
                f"{resource['path']} changed in the store while it was imported (its sha256 no longer matches).",
                "make sure nothing writes to the export, then import again.",
            )
        if resource["format"] != "csv":
            cur.execute(
                sql.SQL(
                    "INSERT INTO {table} ({columns}) OVERRIDING SYSTEM VALUE SELECT {selected} "
                    "FROM pg_temp.bayview_import_lines l, "
                    "LATERAL pg_catalog.json_populate_record(NULL::{table}, l.line::json) r"
                ).format(
                    table=table,
                    columns=columns,
                    selected=sql.SQL(", ").join(sql.Identifier("r", f["name"]) for f in resource["schema"]["fields"]),
                )
            )
            cur.execute("DROP TABLE pg_temp.bayview_import_lines")  # the next JSON Lines table makes its own


def _check(conn, metadata: dict, actual_fp: dict, export_id: str) -> None:
    """Refuse differences between the imported database (conn, actual_fp its legacy fingerprint)
    and the metadata: every table's row count, and the legacy fingerprint (content and catalog of
    the protected tables). The files' sha256 (checked as they load) proves the rows loaded are the
    rows exported."""
    problems = fingerprint.differences(metadata["legacy_fingerprint"], actual_fp, across_restore=True)
    for name, expected in sorted(metadata["tables"].items()):
        rows = (actual_fp["tables"].get(name) or {}).get("rows")
        if rows is None:
            schema, table = name.split(".", 1)
            query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, table))
            rows = conn.execute(query).fetchone()[0]
        if rows != expected["rows"]:
            problems.append(f"{name}: {rows} rows imported, the export has {expected['rows']}")
    if problems:
        raise RunbookError(
            f"The imported database does not match export {export_id}: " + "; ".join(problems[:10]) + ".",
            "keep this output and report it; try another export.",
        )


def _drop(admin: dict, database: str) -> None:
    with db.connect(_maintenance(admin)) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))


def _load(conn, store, descriptor: dict, metadata: dict, steps: list[str], in_place: bool) -> None:
    """Everything into conn's database in one transaction: schema, rows, indexes and constraints,
    sequences. In place, it is also compared before it commits, so an existing database is either
    imported and checked, or left as it was, whatever stops the import."""
    export_id = descriptor["bayview"]["export_id"]
    schema_text = checked_small(store, descriptor, data_package.SCHEMA)
    pre, marker, post = schema_text.partition(data_package.POST_DATA_MARKER.encode())
    if not marker:
        raise RunbookError(
            f"schema.sql of export {export_id} has no post-data marker.",
            "use an export written by playbooks/export.yml.",
        )
    started = time.monotonic()
    conn.execute("SET synchronous_commit = off")  # the import is redone from the package after a crash anyway
    with conn.transaction():
        _run_script(conn, pre, export_id, "tables, types, functions")
        loaded_from = "csv" if "csv" in descriptor["bayview"]["formats"] else "jsonl"
        tables = [r for r in descriptor["resources"] if r.get("format") == loaded_from and "bayview" in r]
        for resource in tables:
            _copy_in(conn, store, descriptor, resource)
            failpoints.reach("import.loading", conn.info.dbname)
        steps.append(f"Loaded {len(tables)} tables from {loaded_from} with COPY in {time.monotonic() - started:.1f}s")
        _run_script(conn, post, export_id, "indexes, constraints, triggers")
        for seq in metadata["sequences"].values():
            conn.execute(
                "SELECT pg_catalog.setval(pg_catalog.format('%%I.%%I', %s::text, %s::text)::regclass, %s, %s)",
                [seq["schema"], seq["name"], seq["last_value"], seq["is_called"]],
            )
        steps.append(f"Indexes, constraints and triggers created; {len(metadata['sequences'])} sequences set")
        if in_place:
            scope = metadata["legacy_fingerprint"]["scope"]
            _check(conn, metadata, fingerprint.take_in_snapshot(conn, scope), export_id)
            # in place, the commit is the import's success: it must be on disk before it is reported
            conn.execute("SET LOCAL synchronous_commit = on")


def import_package(
    params: dict,
    admin: dict,
    store,
    source_database: str,
    export_id: str,
    target: str,
    migrations_dir,
    runbook_version: str = "",
    check_mode: bool = False,
) -> dict:
    """Import export `export_id` (or latest) of source_database into the new database `target`."""
    steps: list[str] = []
    descriptor = data_package.find(store, source_database, export_id)
    info = descriptor["bayview"]
    steps.append(f"Chose export {info['export_id']} of {info['database']} ({descriptor['created']})")
    check_versions(descriptor, migrations_dir, runbook_version)
    if "csv" not in info["formats"] and "jsonl" not in info["formats"]:
        raise RunbookError(
            f"Export {info['export_id']} has no CSV or JSON Lines resources (formats: {', '.join(info['formats'])}); "
            "the import loads those. Nothing was created.",
            "export with -e export_formats=csv (or load its database.sql with psql into an empty database).",
        )
    exists = check_target(admin, target)
    steps.append(f"The target {target} {'exists and is empty' if exists else 'does not exist yet'}")
    checked = verify(store, descriptor)
    metadata = json.loads(checked_small(store, descriptor, data_package.METADATA))
    if metadata["export_id"] != info["export_id"] or metadata["ledger_version"] != info["ledger_version"]:
        raise RunbookError(
            f"metadata.json of export {info['export_id']} does not match its descriptor. Nothing was created.",
            "use another export, or write a fresh one.",
        )
    check_roles(admin, metadata)
    rows = sum(t["rows"] for t in metadata["tables"].values())
    steps.append(f"Verified {len(checked)} files (bytes and sha256); every role schema.sql names exists")
    if check_mode:
        steps.append(f"Would create {target} and load {len(metadata['tables'])} tables ({rows} rows)")
        return {"export_id": info["export_id"], "database": target, "steps": steps, "imported": False}
    owner = params["connection"]["user"]
    # at most 63 bytes: the target's first 38 bytes (whole characters) and the suffix
    stem = target.encode()[:38].decode(errors="ignore")
    loading = target if exists else f"{stem}_importing_{datetime.now(UTC).strftime('%Y%m%d%H%M%S')}"
    started = time.monotonic()
    try:
        if not exists:
            with db.connect(_maintenance(admin)) as conn:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {} TEMPLATE template0 ENCODING 'UTF8'").format(
                        sql.Identifier(loading), sql.Identifier(owner)
                    )
                )
            steps.append(f"Created {loading} (renamed to {target} once it is checked)")
        with db.connect(db.with_database(admin, loading)) as conn:
            _load(conn, store, descriptor, metadata, steps, in_place=exists)
        if not exists:  # committed in a database of its own, not yet named: compared in parallel, then named
            target_params = db.with_database(admin, loading)
            actual_fp = fingerprint.take_parallel(
                lambda: db.connect(target_params), metadata["legacy_fingerprint"]["scope"]
            )
            with db.connect(target_params) as conn:
                _check(conn, metadata, actual_fp, info["export_id"])
        steps.append(
            f"Every table's row count matches the export ({rows} rows); the legacy fingerprint matches "
            f"({metadata['legacy_fingerprint']['fingerprint_sha256'][:16]}…)"
        )
        if not exists:
            with db.connect(_maintenance(admin)) as conn:
                conn.execute(
                    sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(loading), sql.Identifier(target))
                )
            steps.append(f"Renamed {loading} to {target}")
    except BaseException as exc:
        if exists:  # nothing was committed: the load's one transaction rolled back
            removed = f"Nothing of it was kept: {target} is as it was (empty)."
        else:
            try:
                _drop(admin, loading)
            except Exception as cleanup:  # noqa: BLE001 - the operator is told what is left and what to do
                raise RunbookError(
                    f"The import failed ({exc}) and its partial database could not be cleaned up ({cleanup}): "
                    f"{loading} is a FAILED import.",
                    f"drop it (DROP DATABASE {loading}) before anything uses it, then import again.",
                ) from None
            removed = f"The partial import was removed ({loading})."
        if isinstance(exc, RunbookError):
            exc.message += " " + removed
            raise
        if isinstance(exc, psycopg.Error):
            raise RunbookError(
                f"The import of export {info['export_id']} into {target} failed: {str(exc).strip()}. {removed}",
                "fix the cause, then import again.",
            ) from None
        raise
    return {
        "export_id": info["export_id"],
        "database": target,
        "tables": len(metadata["tables"]),
        "rows": rows,
        "sequences": len(metadata["sequences"]),
        "seconds": round(time.monotonic() - started, 2),
        "legacy_fingerprint_matched": metadata["legacy_fingerprint"]["fingerprint_sha256"],
        "steps": steps,
        "imported": True,
    }
