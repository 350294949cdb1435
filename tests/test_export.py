"""The portable export and its import, on a real cluster: the round trip is exact, a package is a
valid Frictionless Data Package that SQLite and DuckDB read, and every bad input is refused before
anything is created."""

from __future__ import annotations

import csv
import errno
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import boto3
import psycopg
import pytest
from ansible.module_utils.bayview import data_package, migration_files, package_export, package_import
from ansible.module_utils.bayview.errors import RunbookError
from ansible.module_utils.bayview.stores import FileStore, StoreError, open_store
from conftest import drop_database, new_database, run_playbook, wait_until_unused
from psycopg import sql
from s3_endpoint import CuttingProxy, MotoServer

from bayview_runbook.engine import DATA_MIGRATIONS, SQL_MIGRATIONS, data_migrate, data_migrations, migrate

SCHEMAS = list(data_package.SCHEMAS)
NEWEST = max(m.version for m in migration_files.load_migrations(SQL_MIGRATIONS))
SEEDED = ["0001_memorial_persons", "0002_chapel_persons", "0003_memorial_applications", "0004_chapel_services"]


@pytest.fixture(scope="module")
def source(cluster, full_template):
    """A database with the legacy sample, every migration and the first data migrations (the whole system)."""
    db = new_database(cluster, full_template)
    params = db.params()
    migrate.run(params, SQL_MIGRATIONS, None, None, "test", "test-export", check_mode=False)
    for name in SEEDED:
        data_migrate.run(params, data_migrations.load(DATA_MIGRATIONS, name))
    yield db
    drop_database(db)


@pytest.fixture(scope="module")
def package(source, tmp_path_factory):
    """One export in every format (tests that change it work on a copy)."""
    root = tmp_path_factory.mktemp("export-store")
    store = open_store(f"file://{root}")
    # Every table through psql, as the large ones are (the JSON Lines test takes the other path).
    summary = package_export.export(
        source.params(), store, SCHEMAS, ["csv", "jsonl", "sql"], runbook_version="test", psql_from_bytes=0
    )
    return root, summary


def copy_of(package, tmp_path) -> tuple:
    root, summary = package
    shutil.copytree(root, tmp_path / "store")
    directory = tmp_path / "store" / "exports" / summary["database"] / summary["export_id"]
    return open_store(f"file://{tmp_path}/store"), directory, summary


def admin(db) -> dict:
    return db.params("postgres")


def databases(db) -> set[str]:
    return {r[0] for r in db.query("SELECT datname FROM pg_database")}


def sorted_data(db, schemas=SCHEMAS, *options: str) -> list[bytes]:
    return sorted(db.pg_dump(*schemas, options=("--data-only", *options)).splitlines())


def import_into(source, store, target: str, **kwargs) -> dict:
    return package_import.import_package(
        source.params(), admin(source), store, source.name, "latest", target, SQL_MIGRATIONS, **kwargs
    )


def test_round_trip_gives_every_table_identical(source, package, cluster):
    root, summary = package
    store = open_store(f"file://{root}")
    assert summary["tables"] >= 60 and summary["formats"] == ["csv", "jsonl", "sql"]
    target = f"{source.name}_copy"
    result = import_into(source, store, target)
    copy = type(source)(cluster, target)
    try:
        assert result["imported"] and result["rows"] == summary["rows"] and result["tables"] == summary["tables"]
        assert sorted_data(copy) == sorted_data(source)  # every row of every table, and every sequence
        # NULL and the empty string stay apart through CSV.
        counts = "SELECT count(*) FILTER (WHERE middle_name = ''), count(*) FILTER (WHERE middle_name IS NULL) FROM bayview.memorials"
        assert copy.query(counts) == source.query(counts) and source.query(counts)[0][0] > 0
        assert not [d for d in databases(source) if "_importing_" in d]
    finally:
        drop_database(copy)


def test_a_json_lines_only_package_imports_identically(source, cluster, tmp_path):
    store = open_store(f"file://{tmp_path}/store")
    package_export.export(source.params(), store, SCHEMAS, ["jsonl"], psql_from_bytes=2**62)  # the connection's COPY
    target = type(source)(cluster, f"{source.name}_jsonl")
    try:
        result = import_into(source, store, target.name)
        assert "from jsonl" in result["steps"][4]
        assert sorted_data(target) == sorted_data(source)
    finally:
        drop_database(target)


def test_database_sql_loads_into_an_empty_database_with_psql(source, package, cluster):
    root, summary = package
    script = root / "exports" / source.name / summary["export_id"] / data_package.DATABASE_SQL
    empty = type(source)(cluster, f"{source.name}_psql")
    with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(empty.name)))
    try:
        subprocess.run(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", cluster.conninfo(dbname=empty.name), "-f", str(script)],
            check=True,
            capture_output=True,
        )
        # The script carries no owners (it loads anywhere): the rows are the same.
        assert sorted_data(empty, SCHEMAS, "--no-owner") == sorted_data(source, SCHEMAS, "--no-owner")
    finally:
        drop_database(empty)


def test_frictionless_validate_passes(package):
    root, summary = package
    descriptor = root / "exports" / summary["database"] / summary["export_id"] / data_package.DESCRIPTOR
    done = subprocess.run(
        [str(Path(sys.executable).parent / "frictionless"), "validate", "--json", str(descriptor)],
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(done.stdout)
    errors = [(t["name"], t["errors"][:2]) for t in report["tasks"] if not t["valid"]]
    assert done.returncode == 0 and report["valid"], errors
    assert len(report["tasks"]) == len(json.loads(descriptor.read_text())["resources"])


def test_the_descriptor_describes_each_table(package):
    root, summary = package
    directory = root / "exports" / summary["database"] / summary["export_id"]
    descriptor = json.loads((directory / data_package.DESCRIPTOR).read_text())
    by_name = {r["name"]: r for r in descriptor["resources"]}
    memorials = by_name["bayview.memorials"]
    assert memorials["schema"]["primaryKey"] == ["id"] and memorials["schema"]["missingValues"] == [""]
    fields = {f["name"]: f for f in memorials["schema"]["fields"]}
    assert fields["birth_date"]["type"] == "date" and fields["fee_amount"]["type"] == "number"
    assert fields["is_member"]["trueValues"] == ["t"] and fields["id"]["constraints"]["required"]
    links = by_name["core.person_legacy_links"]["schema"]["foreignKeys"]
    assert {"fields": ["person_id"], "reference": {"resource": "core.persons", "fields": ["id"]}} in links
    assert by_name["core.persons.jsonl"]["format"] == "jsonl"
    data = (directory / memorials["path"]).read_bytes()
    assert memorials["hash"] == "sha256:" + hashlib.sha256(data).hexdigest() and memorials["bytes"] == len(data)
    metadata = json.loads((directory / data_package.METADATA).read_text())
    assert metadata["ledger_version"] == NEWEST and metadata["server_version"] >= 150000
    assert metadata["legacy_fingerprint"]["tables"]["bayview.memorials"]["rows"] == 2000
    assert metadata["tables"]["core.persons"]["rows"] == descriptor["bayview"]["tables"]["core.persons"]["rows"] > 0
    # The descriptor is the last file written.
    newest = max(directory.rglob("*"), key=lambda p: p.stat().st_mtime_ns)
    assert newest.name == data_package.DESCRIPTOR


@pytest.mark.parametrize("damage", ["changed byte", "truncated", "missing"])
def test_a_damaged_file_is_refused_naming_it_before_anything_is_created(source, package, tmp_path, damage):
    store, directory, _ = copy_of(package, tmp_path)
    victim = directory / "data" / "core.persons.csv"
    data = bytearray(victim.read_bytes())
    if damage == "changed byte":
        data[len(data) // 2] ^= 0x01
        victim.write_bytes(bytes(data))
    elif damage == "truncated":
        victim.write_bytes(bytes(data[: len(data) // 2]))
    else:
        victim.unlink()
    before = databases(source)
    expected = {"changed byte": "sha256 differs", "truncated": "bytes, the descriptor says", "missing": "is missing"}
    with pytest.raises(RunbookError, match=rf"data/core\.persons\.csv(.*){expected[damage]}.*Nothing was created"):
        import_into(source, store, "never_created")
    assert databases(source) == before


@pytest.mark.parametrize("field,value", [("ledger_version", 999), ("format_version", 2)])
def test_a_package_from_a_newer_runbook_is_refused_naming_both_versions(source, package, tmp_path, field, value):
    store, directory, _ = copy_of(package, tmp_path)
    descriptor = json.loads((directory / data_package.DESCRIPTOR).read_text())
    descriptor["bayview"][field] = value
    descriptor["bayview"]["runbook_version"] = "v9.0-future"
    (directory / data_package.DESCRIPTOR).write_text(json.dumps(descriptor))
    before = databases(source)
    pattern = (
        rf"version 999.*v9\.0-future.*up to {NEWEST}\."
        if field == "ledger_version"
        else r"format 2.*v9\.0-future.*format 1"
    )
    with pytest.raises(RunbookError, match=pattern):
        import_into(source, store, "never_created", runbook_version="v1.0")
    assert databases(source) == before


def test_a_target_that_holds_anything_is_refused_and_left_unchanged(source, package, cluster):
    store = open_store(f"file://{package[0]}")
    target = type(source)(cluster, f"{source.name}_busy")
    with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target.name)))
    try:
        with target.connect() as conn:
            conn.execute("CREATE TABLE public.keep_me (id int)")
            conn.execute("INSERT INTO public.keep_me VALUES (1)")
        with pytest.raises(RunbookError, match=r"already exists and is not empty: it holds table public\.keep_me"):
            import_into(source, store, target.name)
        assert target.schemas() == ["public"] and target.scalar("SELECT count(*) FROM public.keep_me") == 1
        # The same database, emptied, is loaded in place.
        with target.connect() as conn:
            conn.execute("DROP TABLE public.keep_me")
        result = import_into(source, store, target.name)
        assert result["imported"] and sorted_data(target) == sorted_data(source)
    finally:
        drop_database(target)


def test_check_mode_verifies_and_creates_nothing(source, package):
    before = databases(source)
    result = import_into(source, open_store(f"file://{package[0]}"), "never_created", check_mode=True)
    assert not result["imported"] and "Would create never_created" in result["steps"][-1]
    assert databases(source) == before


def rewrite(directory: Path, path: str, change) -> None:
    """Change a file and give the descriptor its new bytes and hash, as a faulty exporter would."""
    file = directory / path
    file.write_bytes(change(file.read_bytes()))
    descriptor = json.loads((directory / data_package.DESCRIPTOR).read_text())
    for resource in descriptor["resources"]:
        if resource["path"] == path:
            resource["bytes"] = file.stat().st_size
            resource["hash"] = "sha256:" + hashlib.sha256(file.read_bytes()).hexdigest()
    (directory / data_package.DESCRIPTOR).write_text(json.dumps(descriptor))


def test_a_failed_or_mismatching_load_leaves_no_database(source, package, tmp_path):
    store, directory, _ = copy_of(package, tmp_path)
    before = databases(source)
    # A row COPY cannot load: the load fails after the database was created, and it is dropped.
    rewrite(directory, "data/core.persons.csv", lambda data: data.replace(b"\n1,", b"\nnot-a-number,", 1))
    with pytest.raises(RunbookError, match=r"(?s)The import of export .* failed: .*partial import was removed"):
        import_into(source, store, "never_kept")
    assert databases(source) == before
    # Rows that load but differ from what was exported: the comparison catches them, and it is dropped.
    shutil.rmtree(tmp_path / "store")
    store, directory, _ = copy_of(package, tmp_path)
    rewrite(directory, "data/bayview.memorials.csv", lambda data: data.replace(b"Petoskey", b"Petoskez", 1))
    with pytest.raises(RunbookError, match=r"(?s)does not match export .*bayview\.memorials.*contents"):
        import_into(source, store, "never_kept")
    assert databases(source) == before


def empty_database(source, cluster, suffix: str):
    target = type(source)(cluster, f"{source.name}_{suffix}")
    with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target.name)))
    return target


def left_as_it_was(target) -> bool:
    """Empty, as created: no schema but public, nothing in public (what the import checks itself)."""
    return target.schemas() == ["public"] and package_import.check_target(admin(target), target.name)


def test_a_failed_load_into_an_existing_empty_database_leaves_it_as_it_was(source, package, cluster, tmp_path):
    target = empty_database(source, cluster, "inplace")
    try:
        # A row COPY cannot load, in a table loaded after the legacy ones: found after verification.
        store, directory, _ = copy_of(package, tmp_path)
        rewrite(directory, "data/core.persons.csv", lambda data: data.replace(b"\n1,", b"\nnot-a-number,", 1))
        with pytest.raises(RunbookError, match=rf"(?s)failed: .*Nothing of it was kept: {target.name} is as it was"):
            import_into(source, store, target.name)
        assert left_as_it_was(target)
        # Rows that load but differ: the comparison, inside the same transaction, rolls it all back.
        shutil.rmtree(tmp_path / "store")
        store, directory, _ = copy_of(package, tmp_path)
        rewrite(directory, "data/bayview.memorials.csv", lambda data: data.replace(b"Petoskey", b"Petoskez", 1))
        with pytest.raises(RunbookError, match=r"(?s)does not match export .*bayview\.memorials.*as it was") as err:
            import_into(source, store, target.name)
        assert err.value.next_step and left_as_it_was(target)
    finally:
        drop_database(target)


IMPORT_WORKER = """
import json, sys
import bayview_runbook.engine  # noqa: F401 - makes ansible.module_utils.bayview importable
from ansible.module_utils.bayview import package_import, stores
a = json.loads(sys.argv[1])
package_import.import_package(a["params"], a["admin"], stores.open_store(a["store"]), a["source"], "latest",
                              a["target"], a["migrations"])
"""


def test_an_import_killed_mid_load_leaves_an_existing_empty_database_as_it_was(source, package, cluster):
    """SIGKILL of the importing process once its transaction holds the first table: the server rolls it back."""
    target = empty_database(source, cluster, "killed")
    store_url = f"file://{package[0]}"
    arguments = {
        "params": source.params(),
        "admin": admin(source),
        "store": store_url,
        "source": source.name,
        "target": target.name,
        "migrations": str(SQL_MIGRATIONS),
    }
    env = {
        **os.environ,
        "BAYVIEW_FAILPOINT": "import.loading",
        "BAYVIEW_FAILPOINT_DATABASE": target.name,
        "BAYVIEW_FAILPOINT_COMMAND": "kill -9 $PPID",
    }
    try:
        killed = subprocess.run(
            [sys.executable, "-c", IMPORT_WORKER, json.dumps(arguments)], env=env, capture_output=True, check=False
        )
        assert killed.returncode == -9, killed.stderr.decode()[-2000:]  # only the failpoint kills it
        with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
            wait_until_unused(conn, target.name)  # the server has seen its client go and rolled back
        assert left_as_it_was(target)
        # And the import, run again, goes through.
        result = import_into(source, open_store(store_url), target.name)
        assert result["imported"] and sorted_data(target) == sorted_data(source)
    finally:
        drop_database(target)


@pytest.fixture
def moto(monkeypatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",  # moto's documented dummy values, not secrets
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(key, value)
    server = MotoServer()
    boto3.client("s3", endpoint_url=server.url).create_bucket(Bucket="exports")
    yield server
    server.stop()


class DiskFullAfter(FileStore):
    """The file store, with its disk full from the n-th file on (as a real ENOSPC would end a write)."""

    def __init__(self, root: str, n: int) -> None:
        super().__init__(root)
        self.left = n

    def upload_stream(self, key, chunks):
        self.left -= 1
        if self.left <= 0:

            def failing():
                yield from chunks
                raise OSError(errno.ENOSPC, "No space left on device")

            return super().upload_stream(key, failing())
        return super().upload_stream(key, chunks)


def test_a_full_disk_mid_way_leaves_no_package_and_removes_what_it_wrote(source, tmp_path):
    with pytest.raises(OSError, match="No space left"):
        package_export.export(
            source.params(), DiskFullAfter(str(tmp_path / "store"), 20), SCHEMAS, ["csv"], psql_from_bytes=0
        )
    store = open_store(f"file://{tmp_path}/store")
    assert data_package.list_packages(store, source.name) == []
    assert store.list_keys("exports/") == []  # what it had written is gone, no partial file stays


@pytest.mark.e2e
def test_a_store_failing_mid_way_leaves_no_package_listed_as_complete(source, moto):
    proxy = CuttingProxy(moto.port, cut_after=400_000)
    store = open_store("s3://exports/bayview", endpoint_url=proxy.url, timeout_s=3)
    with pytest.raises(StoreError, match=r"(could not be reached|S3 failed while)"):
        package_export.export(source.params(), store, SCHEMAS, ["csv"])
    proxy.heal()
    assert data_package.list_packages(store, source.name) == []
    keys = open_store("s3://exports/bayview", endpoint_url=moto.url).list_keys("exports/")
    assert not [k for k in keys if k.endswith(data_package.DESCRIPTOR)]
    summary = package_export.export(source.params(), store, SCHEMAS, ["csv"])
    assert [p["bayview"]["export_id"] for p in data_package.list_packages(store, source.name)] == [summary["export_id"]]
    proxy.close()


def test_sqlite_and_duckdb_read_the_same_counts_and_rows(source, package):
    duckdb = pytest.importorskip("duckdb")
    root, summary = package
    directory = root / "exports" / summary["database"] / summary["export_id"]
    descriptor = json.loads((directory / data_package.DESCRIPTOR).read_text())
    expected = {name: t["rows"] for name, t in descriptor["bayview"]["tables"].items()}
    sample = (
        "SELECT id::text, first_name, middle_name, birth_date::text, fee_amount::text "
        "FROM bayview.memorials m WHERE m.id <= 25 ORDER BY m.id"
    )
    wanted = [tuple(r) for r in source.query(sample)]

    lite = sqlite3.connect(":memory:")  # from the JSON Lines resources: null and "" as they are
    for resource in descriptor["resources"]:
        if resource.get("format") != "jsonl":
            continue
        table = resource["title"]
        columns = [f["name"] for f in resource["schema"]["fields"]]
        lite.execute(f'CREATE TABLE "{table}" ({", ".join(f"{chr(34)}{c}{chr(34)}" for c in columns)})')
        with open(directory / resource["path"], encoding="utf-8") as fh:
            rows = (json.loads(line) for line in fh)
            lite.executemany(
                f'INSERT INTO "{table}" VALUES ({", ".join("?" * len(columns))})',
                ([json.dumps(v) if isinstance(v, dict | list) else v for v in (r[c] for c in columns)] for r in rows),
            )
        assert lite.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] == expected[table], table
    got = lite.execute(
        'SELECT CAST(id AS TEXT), first_name, middle_name, birth_date, fee_amount FROM "bayview.memorials" '
        "WHERE id <= 25 ORDER BY id"
    ).fetchall()
    assert [r[:4] for r in got] == [r[:4] for r in wanted]
    assert [None if r[4] is None else f"{float(r[4]):.2f}" for r in got] == [r[4] for r in wanted]

    duck = duckdb.connect()  # from the CSV resources: "" stays the empty string, an empty field is NULL
    for resource in descriptor["resources"]:
        if resource.get("format") != "csv":
            continue
        path = str(directory / resource["path"])
        count = duck.execute("SELECT count(*) FROM read_csv(?, header = true, all_varchar = true)", [path]).fetchone()
        assert count[0] == expected[resource["title"]], resource["title"]
    memorials = str(directory / "data" / "bayview.memorials.csv")
    got = duck.execute(
        "SELECT id, first_name, middle_name, birth_date, fee_amount FROM read_csv(?, header = true, "
        "all_varchar = true, allow_quoted_nulls = false) WHERE id::int <= 25 ORDER BY id::int",
        [memorials],
    ).fetchall()
    assert [tuple(r) for r in got] == wanted
    with open(memorials, newline="", encoding="utf-8") as fh:  # an ordinary CSV reader reads it too
        assert sum(1 for _ in csv.reader(fh)) == expected["bayview.memorials"] + 1


@pytest.mark.e2e
def test_playbooks_export_then_import_and_refuse_bad_inputs(source, tmp_path):
    store = f"restore_point_store=file://{tmp_path}/store"
    refused = run_playbook(source, "export.yml", "-e", store, "-e", "export_formats=csv,xml")
    assert refused.returncode != 0 and "xml" in refused.output and not (tmp_path / "store" / "exports").exists()
    # A misspelt schema is refused (it would have been left out), naming it, before anything is written.
    misspelt = run_playbook(source, "export.yml", "-e", store, "-e", '{"bayview_export_schemas": ["core", "finace"]}')
    assert misspelt.returncode != 0 and "finace" in misspelt.output and "schemas" in misspelt.output
    assert not (tmp_path / "store" / "exports").exists()
    exported = run_playbook(source, "export.yml", "-e", store, "-e", "export_formats=csv,jsonl")
    assert exported.returncode == 0, exported.output[-3000:]
    [descriptor] = (tmp_path / "store" / "exports" / source.name).glob("*/datapackage.json")
    # Unset, bayview_export_schemas is the whole system: data_package.SCHEMAS.
    assert json.loads(descriptor.read_text())["bayview"]["formats"] == ["csv", "jsonl"]
    assert json.loads(descriptor.read_text())["bayview"]["schemas"] == SCHEMAS
    missing = run_playbook(source, "import.yml", "-e", store)
    assert missing.returncode != 0 and "missing required arguments: import_database" in missing.output
    target = f"{source.name}_pb"
    imported = run_playbook(source, "import.yml", "-e", store, "-e", f"import_database={target}")
    copy = type(source)(source.cluster, target)
    try:
        assert imported.returncode == 0, imported.output[-3000:]
        assert f"Renamed {target}_importing_" in imported.stdout
        # The runs' own records go on in the source after the export: compare everything else.
        assert sorted_data(copy, SCHEMAS[:-1]) == sorted_data(source, SCHEMAS[:-1])
        again = run_playbook(source, "import.yml", "-e", store, "-e", f"import_database={target}")
        assert again.returncode != 0 and f"The database {target} already exists and is not empty" in again.output
    finally:
        drop_database(copy)


def test_the_cli_runs_the_export_and_import_playbooks():
    from bayview_runbook import cli

    assert cli.plan(cli.parser().parse_args(["export", "--formats", "csv,jsonl"])) == (
        "playbooks/export.yml",
        {"export_formats": "csv,jsonl"},
    )
    assert cli.plan(cli.parser().parse_args(["export", "--list"]))[1] == {"export_action": "list"}
    assert cli.plan(cli.parser().parse_args(["import", "--database", "copy", "--export-id", "X"])) == (
        "playbooks/import.yml",
        {"export_id": "X", "import_database": "copy"},
    )
