"""Restore points: full `pg_dump -Fc` backups in a store, checksummed, verified, restorable.

Layout in the store: <database>/<id>/dump.pgcustom and <database>/<id>/manifest.json.
The manifest is written last: an upload without a manifest is not a restore point (list
ignores it, prune removes it once it is older than the grace period).

Create runs pg_dump on a snapshot exported by our own REPEATABLE READ transaction, in which
we also take the legacy fingerprint: the manifest's fingerprint describes exactly the rows
in the dump, even while the web application writes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import subprocess
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta

import psycopg
from ansible.module_utils.bayview import db, failpoints, fingerprint, ledger
from ansible.module_utils.bayview.data_migration_sql import Target
from ansible.module_utils.bayview.errors import RunbookError
from ansible.module_utils.bayview.preflight import client_major
from ansible.module_utils.bayview.stores import CHUNK_SIZE, PARTIAL_SUFFIX
from psycopg import sql
from psycopg.types.json import Jsonb

DUMP = "dump.pgcustom"
MANIFEST = "manifest.json"


def new_id(label: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in label)[:40] or "manual"
    return f"{stamp}-{safe}-{secrets.token_hex(4)}"


def _created(rp_id: str) -> datetime | None:
    try:
        return datetime.strptime(rp_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def _stderr_tail(handle) -> str:
    handle.seek(0)
    return handle.read().decode(errors="replace").strip()[-1500:]


def create(params: dict, store, label: str, pg_dump: str = "pg_dump", run_id: str = "") -> dict:
    """Stream a pg_dump into the store and write its manifest. Returns the manifest."""
    store.check()
    database = params["connection"]["dbname"]
    rp_id = new_id(label)
    dump_key = f"{database}/{rp_id}/{DUMP}"
    conn = db.connect(params)
    server_version = conn.info.server_version
    sha = hashlib.sha256()
    started = time.monotonic()
    try:
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            snapshot = conn.execute("SELECT pg_catalog.pg_export_snapshot()").fetchone()[0]
            version = ledger.current_version(ledger.read(conn))
            with tempfile.TemporaryFile() as err:
                proc = subprocess.Popen(
                    [pg_dump, "--format=custom", f"--snapshot={snapshot}", "--no-password"],
                    stdout=subprocess.PIPE,
                    stderr=err,
                    env=db.libpq_env(params),
                )

                def chunks():
                    while data := proc.stdout.read(CHUNK_SIZE):
                        sha.update(data)
                        yield data
                        failpoints.reach("restore_point.uploading", database)
                    if proc.wait() != 0:
                        raise RunbookError(
                            f"pg_dump of {db.describe(params)} failed: {_stderr_tail(err)}. No restore point was made.",
                            "fix what pg_dump reports (privileges, version), then run again.",
                        )

                # The upload streams in a thread while this connection fingerprints the same
                # snapshot: the two reads overlap instead of adding up.
                upload: dict = {}

                def stream() -> None:
                    try:
                        upload["size"] = store.upload_stream(dump_key, chunks())
                    except BaseException as exc:  # handed to the main thread below
                        upload["error"] = exc

                uploader = threading.Thread(target=stream, name="restore-point-upload")
                uploader.start()
                try:
                    fp = fingerprint.take_in_snapshot(conn)
                finally:
                    uploader.join()
                    if proc.poll() is None:
                        proc.kill()
                    proc.wait()
                if "error" in upload:
                    raise upload["error"]
                size = upload["size"]
    finally:
        conn.close()
    manifest = {
        "id": rp_id,
        "label": label,
        "created_at": datetime.now(UTC).isoformat(timespec="microseconds"),
        "database": database,
        "host": params["connection"]["host"],
        "server_version": server_version,
        "pg_dump_version": client_major(pg_dump)[1],
        "ledger_version": version,
        "legacy_fingerprint": {
            k: fp[k] for k in ("scope", "fingerprint_sha256", "catalog_sha256", "tables", "catalog")
        },
        "size": size,
        "sha256": sha.hexdigest(),
        "object_key": dump_key,
        "store": store.url,
        "encryption": store.encryption,
        "format": "pg_dump custom",
        "seconds_to_create": round(time.monotonic() - started, 2),
        "run_id": run_id,
    }
    store.put_small(f"{database}/{rp_id}/{MANIFEST}", json.dumps(manifest, indent=2, sort_keys=True).encode())
    return manifest


def list_points(store, database: str) -> list[dict]:
    """Restore points of a database, newest first (only those with a manifest)."""
    manifests = []
    for key in store.list_keys(f"{database}/"):
        if key.endswith(f"/{MANIFEST}"):
            manifests.append(json.loads(store.get_small(key)))
    return sorted(manifests, key=lambda m: m["created_at"] + m["id"], reverse=True)


def find(store, database: str, rp_id: str) -> dict:
    points = list_points(store, database)
    if not points:
        raise RunbookError(
            f"There is no restore point of {database} in {store.url}.",
            "create one with playbooks/restore_point.yml (-e action=create) or check restore_point_store.",
        )
    if rp_id == "latest":
        return points[0]
    for point in points:
        if point["id"] == rp_id:
            return point
    newest = ", ".join(p["id"] for p in points[:5])
    raise RunbookError(
        f"No restore point {rp_id!r} of {database} in {store.url}.",
        f"use one of the newest: {newest} (or 'latest').",
    )


def verify(store, manifest: dict, pg_restore: str = "pg_restore") -> dict:
    """Re-read the object: size, sha256, and pg_restore --list must read it. Raises if not."""
    sha, size = hashlib.sha256(), 0
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([pg_restore, "--list"], stdin=subprocess.PIPE, stdout=out, stderr=err)
        feeding = True
        try:
            for chunk in store.download_stream(manifest["object_key"]):
                sha.update(chunk)
                size += len(chunk)
                if feeding:
                    try:
                        proc.stdin.write(chunk)
                    except BrokenPipeError:
                        feeding = False  # pg_restore has read the table of contents it needs
            with contextlib.suppress(BrokenPipeError):
                proc.stdin.close()
        finally:
            # pg_restore may stop reading before it prints the listing: let it finish.
            code = proc.wait(timeout=600)
        out.seek(0)
        toc = out.read().decode(errors="replace")
        problems = []
        if size != manifest["size"]:
            problems.append(f"size {size} bytes, manifest says {manifest['size']}")
        if sha.hexdigest() != manifest["sha256"]:
            problems.append("sha256 differs from the manifest (the object was changed or is corrupt)")
        entries = sum(1 for line in toc.splitlines() if " TABLE DATA " in line)
        if code != 0 or entries == 0:
            problems.append(f"pg_restore --list cannot read it ({_stderr_tail(err) or 'no table data listed'})")
    if problems:
        raise RunbookError(
            f"Restore point {manifest['id']} failed verification: " + "; ".join(problems) + ". Do not rely on it.",
            "use another restore point (list them with playbooks/restore_point.yml -e action=list), "
            "and create a fresh one.",
        )
    return {"id": manifest["id"], "size": size, "sha256": manifest["sha256"], "table_data_entries": entries}


def _restore_into(admin: dict, store, manifest: dict, target: str, owner: str, pg_restore: str) -> None:
    with db.connect(admin) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {} TEMPLATE template0").format(
                sql.Identifier(target), sql.Identifier(owner)
            )
        )
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [pg_restore, "--exit-on-error", "--single-transaction", "--no-password", f"--dbname={target}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=db.libpq_env(admin, dbname=target),
        )
        try:
            for chunk in store.download_stream(manifest["object_key"]):
                proc.stdin.write(chunk)
            proc.stdin.close()
        except BrokenPipeError:
            pass  # pg_restore stopped early; its exit status and stderr say why
        finally:
            code = proc.wait()
        if code != 0:
            raise RunbookError(
                f"pg_restore into the new database {target} failed: {_stderr_tail(err)}. The live database "
                f"was not touched; {target} is left (empty, the restore ran in one transaction) for inspection.",
                f"fix the cause, drop {target} when done, and run the restore again.",
            )


def _fingerprint_matches(admin: dict, target: str, manifest: dict) -> None:
    expected = manifest["legacy_fingerprint"]
    # Nobody writes to the new database yet: hash its tables on two connections at once.
    actual = fingerprint.take_parallel(lambda: db.connect(db.with_database(admin, target)), expected["scope"])
    diffs = fingerprint.differences(expected, actual, across_restore=True)
    if diffs:
        raise RunbookError(
            f"The restored database {target} does not match restore point {manifest['id']}: "
            + "; ".join(diffs[:10])
            + ". The live database was not touched.",
            f"inspect {target}, then try another restore point.",
        )


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d%H%M%S")


def restore(
    params: dict,
    admin: dict,
    store,
    rp_id: str,
    confirm: str,
    pg_restore: str = "pg_restore",
    check_mode: bool = False,
    run_id: str = "",
) -> dict:
    """Verify, restore into a new database, check it, and only with confirmation make it live.

    Nothing is dropped: the previous live database is kept under a dated name. run_id (the run
    doing the restore) is carried into the copy that goes live, so the run finishes its record there.
    """
    live = params["connection"]["dbname"]
    if confirm and confirm != live:
        raise RunbookError(
            f"confirm_restore is {confirm!r}, but the live database is {live!r}. Nothing was changed.",
            f"to replace the live database, pass -e confirm_restore={live}; leave it out to restore "
            "into a new database only.",
        )
    steps: list[str] = []
    manifest = find(store, live, rp_id)
    steps.append(f"1. Chose restore point {manifest['id']} ({manifest['label']}, {manifest['created_at']})")
    checked = verify(store, manifest, pg_restore)
    steps.append(f"2. Verified it: {checked['size']} bytes, sha256 {checked['sha256'][:16]}…, readable by pg_restore")
    stamp = _stamp()
    target = f"{live[:40]}_restore_{stamp}"
    if check_mode:
        steps.append(
            f"3. Would restore into new database {target}, check its fingerprint"
            + (f", then swap it in as {live}" if confirm else "")
        )
        return {"restore_point": manifest["id"], "restored_database": None, "steps": steps, "swapped": False}
    owner = _database_owner(params)
    started = time.monotonic()
    _restore_into(admin, store, manifest, target, owner, pg_restore)
    _copy_database_privileges(admin, live, target)
    steps.append(f"3. Restored into new database {target} in {time.monotonic() - started:.1f}s")
    failpoints.reach("restore.restored", live)
    _fingerprint_matches(admin, target, manifest)
    steps.append(
        f"4. Its legacy fingerprint matches the manifest ({manifest['legacy_fingerprint']['fingerprint_sha256'][:16]}…)"
    )
    closed = _settle_runs_of_the_copy(params, admin, target, manifest, run_id if confirm else "")
    if closed:
        steps.append(
            f"{len(steps) + 1}. Runs recorded as running in the restore point closed as interrupted in {target}: "
            + ", ".join(closed)
        )
    result = {
        "restore_point": manifest["id"],
        "restored_database": target,
        "steps": steps,
        "swapped": False,
        # What _fingerprint_matches just compared equal (it raises otherwise).
        "legacy_fingerprint_matched": manifest["legacy_fingerprint"]["fingerprint_sha256"],
    }
    if not confirm:
        steps.append(f"{len(steps) + 1}. Not made live (no confirm_restore): the live database {live} is unchanged")
        return result
    kept = f"{live[:40]}_before_restore_{stamp}"
    _swap(admin, live, target, kept)
    steps.append(f"{len(steps) + 1}. Swapped: {live} is now the restored database; the previous one is kept as {kept}")
    return {**result, "swapped": True, "previous_database": kept, "restored_database": live}


# The runs a restore point caught mid-way: in the restored copy they can never finish, so they are
# closed there saying why (their real outcome is in the database that was live, kept, and in their
# JSON records).
CLOSE_RUNS_OF_THE_COPY = """
UPDATE migration.runbook_runs
   SET status = 'interrupted', finished_at = coalesce(last_seen_at, started_at),
       details = details || jsonb_build_object(
           'failed_task', coalesce(current_task, 'unknown'),
           'error', 'interrupted: restore point ' || %(rp)s::text || ' was taken while this run was running, '
                    || 'and this database was restored from it (the run went on in the database that was live)')
 WHERE status = 'running' AND run_id <> %(run_id)s
RETURNING run_id
"""


def _settle_runs_of_the_copy(params: dict, admin: dict, target: str, manifest: dict, run_id: str) -> list[str]:
    """Close in the restored copy the runs its restore point caught running, and copy there the row of
    the run doing the restore (run_id, when it swaps the copy in), so the live database's records
    stay true: no run stays 'running' forever, and this run's finish lands where it is read."""
    with db.connect(db.with_database(admin, target)) as conn:
        if not conn.execute("SELECT to_regclass('migration.runbook_runs') IS NOT NULL").fetchone()[0]:
            return []
        with conn.transaction():
            ledger.upgrade_runbook_runs(conn)
            closed = [r[0] for r in conn.execute(CLOSE_RUNS_OF_THE_COPY, {"rp": manifest["id"], "run_id": run_id})]
        if not run_id:
            return closed
        columns = (
            "run_id",
            "playbook",
            "phase",
            "operator",
            "control_host",
            "check_mode",
            "started_at",
            "status",
            "version_before",
            "details",
            "kept_alive",
            "current_task",
            "last_seen_at",
        )
        with db.connect(params) as live:
            row = live.execute(
                sql.SQL("SELECT {} FROM migration.runbook_runs WHERE run_id = %s").format(
                    sql.SQL(", ").join(map(sql.Identifier, columns))
                ),
                [run_id],
            ).fetchone()
        if row is not None:
            with conn.transaction():
                conn.execute(
                    sql.SQL(
                        "INSERT INTO migration.runbook_runs ({}) VALUES ({}) ON CONFLICT (run_id) DO NOTHING"
                    ).format(
                        sql.SQL(", ").join(map(sql.Identifier, columns)),
                        sql.SQL(", ").join(sql.Placeholder() * len(columns)),
                    ),
                    [Jsonb(v) if c == "details" else v for c, v in zip(columns, row, strict=True)],
                )
    return closed


def _copy_database_privileges(admin: dict, live: str, target: str) -> None:
    """The live database's own grants (CONNECT, CREATE, TEMPORARY to its roles) on the restored copy:
    a dump does not carry them, and without them the runbook and the application could not work in
    the database once it is swapped in."""
    with db.connect(_maintenance(admin)) as conn, conn.transaction():
        acl = conn.execute("SELECT datacl IS NULL FROM pg_catalog.pg_database WHERE datname = %s", [live]).fetchone()
        if acl is None or acl[0]:
            return  # the defaults, which the new database has too
        conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(target)))
        grants = conn.execute(
            """SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE a.grantee::regrole::text END, a.privilege_type,
                      a.is_grantable
                 FROM pg_catalog.pg_database d, LATERAL pg_catalog.aclexplode(d.datacl) a
                WHERE d.datname = %s AND a.grantee <> d.datdba""",
            [live],
        ).fetchall()
        for grantee, privilege, grantable in grants:
            conn.execute(
                sql.SQL("GRANT {} ON DATABASE {} TO {}{}").format(
                    sql.SQL(privilege),  # one of PostgreSQL's own privilege names, read from the catalog
                    sql.Identifier(target),
                    sql.SQL("PUBLIC") if grantee is None else sql.SQL(grantee),  # regrole text is quoted already
                    sql.SQL(" WITH GRANT OPTION" if grantable else ""),
                )
            )


def _database_owner(params: dict) -> str:
    """Owner of the live database: a restored copy gets the same owner."""
    with db.connect(params) as conn:
        return conn.execute(
            "SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_catalog.pg_database WHERE datname = current_database()"
        ).fetchone()[0]


def _maintenance(admin: dict) -> dict:
    """The admin connection, pointed at the `postgres` database (to create, rename or drop others)."""
    return db.with_database(admin, "postgres")


def _swap(admin: dict, live: str, restored: str, kept: str) -> None:
    maintenance = _maintenance(admin)
    with db.connect(maintenance) as conn:
        ident = sql.Identifier
        try:
            conn.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(ident(live)))
            conn.execute(
                "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_catalog.pg_backend_pid()",
                [live],
            )
            time.sleep(0.5)
            conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(ident(live), ident(kept)))
            conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(ident(restored), ident(live)))
        except psycopg.Error as exc:
            raise RunbookError(
                f"Swapping in the restored database failed: {str(exc).strip()}. Check which of {live}, "
                f"{kept} and {restored} exist now; nothing was dropped.",
                "rename by hand as needed (ALTER DATABASE … RENAME TO …), and make sure the live one "
                "allows connections (ALTER DATABASE … WITH ALLOW_CONNECTIONS true).",
            ) from None
        finally:
            with contextlib.suppress(psycopg.Error):
                exists = conn.execute("SELECT 1 FROM pg_catalog.pg_database WHERE datname = %s", [kept]).fetchone()
                if exists:
                    conn.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS true").format(ident(kept)))
                else:
                    conn.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS true").format(ident(live)))


def drill(params: dict, admin: dict, store, pg_restore: str = "pg_restore") -> dict:
    """Restore the newest restore point into a scratch database, check it, time it, drop it."""
    live = params["connection"]["dbname"]
    manifest = find(store, live, "latest")
    verify(store, manifest, pg_restore)
    scratch = f"{live[:40]}_drill_{_stamp()}"
    owner = _database_owner(params)
    started = time.monotonic()
    try:
        _restore_into(admin, store, manifest, scratch, owner, pg_restore)
        seconds = time.monotonic() - started
        _fingerprint_matches(admin, scratch, manifest)
    finally:
        maintenance = _maintenance(admin)
        with db.connect(maintenance) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch)))
    return {"restore_point": manifest["id"], "seconds_to_restore": round(seconds, 2), "scratch_database": scratch}


def _linked_rows(params: dict, migration) -> int:
    """The rows of the new design linked to this data migration."""
    with db.connect(params) as conn:
        query = sql.SQL("SELECT count(*) FROM {} l WHERE l.data_migration = %s").format(Target(migration).links)
        return conn.execute(query, [migration.NAME]).fetchone()[0]


def rehearse_rollback(
    params: dict,
    admin: dict,
    store,
    rp_id: str,
    migrations_dir,
    phase: int,
    data_migrations: list,
    by: str,
    run_id: str,
    pg_restore: str = "pg_restore",
    accept_changed: list[int] | None = None,
    accept_reason: str = "",
) -> dict:
    """Proof that the way back works before production is touched: restore the restore point into
    a scratch database, apply this phase's migrations there (and run, then reverse, its data
    migrations), roll the migrations back, and compare the legacy fingerprint and the ledger
    version with what the restore point held. The scratch database is always dropped."""
    from ansible.module_utils.bayview import data_migrate, migrate  # here: they import this module's peers

    live = params["connection"]["dbname"]
    manifest = find(store, live, rp_id)
    scratch = f"{live[:40]}_rehearsal_{_stamp()}"
    started = time.monotonic()
    try:
        _restore_into(admin, store, manifest, scratch, _database_owner(params), pg_restore)
        with db.connect(_maintenance(admin)) as conn:  # database-level grants are not in a dump
            conn.execute(
                sql.SQL("GRANT CONNECT, CREATE ON DATABASE {} TO {}").format(
                    sql.Identifier(scratch), sql.Identifier(params["connection"]["user"])
                )
            )
        on_scratch = db.with_database(params, scratch)
        with db.connect(on_scratch) as conn:
            before = fingerprint.take(conn)
            version_before = ledger.current_version(ledger.read(conn)) if ledger.exists(conn) else 0
        forward = migrate.run(
            on_scratch, migrations_dir, None, phase, by, run_id, False, accept_changed or [], accept_reason
        )
        ran, linked = {}, {}
        for migration in data_migrations:  # in order: each after those it depends on
            ran[migration.NAME] = data_migrate.run(on_scratch, migration)["migrated"]
            # The rows it has, counted: the checkpoint's own count dates from its last sync, and a
            # restore point taken while the application dual-writes holds the rows of later writes too.
            linked[migration.NAME] = _linked_rows(on_scratch, migration)
        exercised = []
        for migration in reversed(data_migrations):  # last first: none before those that depend on it
            reversed_ = data_migrate.reverse(on_scratch, migration)
            exercised.append(
                {
                    "data_migration": migration.NAME,
                    "migrated": ran[migration.NAME],
                    "linked": linked[migration.NAME],
                    "left": _linked_rows(on_scratch, migration),
                    **reversed_,
                }
            )
        back = migrate.run(on_scratch, migrations_dir, version_before, None, by, run_id, check_mode=False)
        with db.connect(on_scratch) as conn:
            differences = fingerprint.differences(before, fingerprint.take(conn))
            version_after = ledger.current_version(ledger.read(conn))
    finally:
        with db.connect(_maintenance(admin)) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch)))
    problems = list(differences)
    if version_after != version_before:
        problems.append(f"the ledger is at version {version_after} after the rollback, not {version_before}")
    undone = [x for x in exercised if x["rows_removed"] != x["linked"] or x["left"]]
    problems += [
        f"reverse of {x['data_migration']} removed {x['rows_removed']} of its {x['linked']} rows ({x['left']} left)"
        for x in undone
    ]
    if problems:
        raise RunbookError(
            f"The rollback rehearsal on a scratch copy of {rp_id} failed: {'; '.join(problems)}.",
            "do not run this phase on production; keep this output and fix the down migrations first.",
        )
    return {
        "restore_point": manifest["id"],
        "scratch_database": scratch,
        "applied": [a["version"] for a in forward.applied],
        "rolled_back": [r["version"] for r in back.rolled_back],
        "data_migrations_reversed": exercised,
        "version": version_before,
        "legacy_unchanged": True,
        "seconds": round(time.monotonic() - started, 2),
    }


def prune(store, database: str, keep: int, pg_restore: str, grace_minutes: int, check_mode: bool) -> dict:
    """Keep the newest `keep` per label; never the newest verified one; clear leftovers."""
    if keep < 1:
        raise RunbookError("keep must be at least 1.", "pass -e keep=N with N >= 1.")
    points = list_points(store, database)
    newest_verified = None
    for point in points:
        try:
            verify(store, point, pg_restore)
            newest_verified = point["id"]
            break
        except RunbookError:
            continue
    by_label: dict[str, list[dict]] = {}
    for point in points:
        by_label.setdefault(point["label"], []).append(point)
    doomed = [p for group in by_label.values() for p in group[keep:] if p["id"] != newest_verified]
    cutoff = datetime.now(UTC) - timedelta(minutes=grace_minutes)
    known = {p["id"] for p in points}
    orphans = []
    for key in store.list_keys(f"{database}/"):
        rp_id = key.split("/")[1] if key.count("/") >= 2 else ""
        created = _created(rp_id)
        # A dump without a manifest may be a create still running: only old ones are leftovers.
        if rp_id not in known and not key.endswith(PARTIAL_SUFFIX) and (created is None or created < cutoff):
            orphans.append(key)
    if not check_mode:
        for point in doomed:
            store.delete(f"{database}/{point['id']}/{MANIFEST}")  # manifest first: never a manifest without its dump
            store.delete(point["object_key"])
        for key in orphans:
            store.delete(key)
        store.cleanup_incomplete(f"{database}/", older_than=cutoff)
    return {
        "pruned": [p["id"] for p in doomed],
        "orphans_removed": orphans,
        "kept": [p["id"] for p in points if p not in doomed],
        "newest_verified": newest_verified,
    }
