"""Restore points against a real S3 endpoint (moto on 127.0.0.1) and the file store."""

from __future__ import annotations

import json

import boto3
import pytest
from ansible.module_utils.bayview import restore_points
from ansible.module_utils.bayview.errors import RunbookError
from ansible.module_utils.bayview.stores import StoreError, open_store
from conftest import run_playbook
from s3_endpoint import CuttingProxy, MotoServer

LEGACY = ("bayview", "crouse_chapel")


@pytest.fixture(scope="session", autouse=True)
def aws_test_environment():
    # moto accepts any key pair; these are its documented dummy values, not secrets.
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # noqa: S105
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        yield


@pytest.fixture(scope="session")
def moto():
    server = MotoServer()
    yield server
    server.stop()


@pytest.fixture
def bucket(moto, request):
    name = f"rp-{abs(hash(request.node.name)) % 10**8}"
    boto3.client("s3", endpoint_url=moto.url).create_bucket(Bucket=name)
    return name


def s3_store(moto, bucket, endpoint=None, **kwargs):
    return open_store(f"s3://{bucket}/bayview", endpoint_url=endpoint or moto.url, **kwargs)


def databases(db) -> set[str]:
    return {r[0] for r in db.query("SELECT datname FROM pg_database")}


def test_s3_create_verify_restore_round_trip_gives_identical_legacy_dump(legacy_db, moto, bucket):
    store = s3_store(moto, bucket)
    manifest = restore_points.create(legacy_db.params(), store, "phase1")
    head = boto3.client("s3", endpoint_url=moto.url).head_object(Bucket=bucket, Key=f"bayview/{manifest['object_key']}")
    assert head["ServerSideEncryption"] == "AES256"
    assert manifest["size"] == head["ContentLength"] and len(manifest["sha256"]) == 64
    assert (
        manifest["ledger_version"] == 0
        and manifest["legacy_fingerprint"]["tables"]["bayview.memorials"]["rows"] == 2000
    )
    assert [p["id"] for p in restore_points.list_points(store, legacy_db.name)] == [manifest["id"]]
    assert restore_points.verify(store, manifest)["table_data_entries"] > 20

    result = restore_points.restore(legacy_db.params(), legacy_db.params("postgres"), store, "latest", confirm="")
    restored = type(legacy_db)(legacy_db.cluster, result["restored_database"])
    assert restored.pg_dump(*LEGACY, options=("--data-only",)) == legacy_db.pg_dump(*LEGACY, options=("--data-only",))

    # PostgreSQL re-deparses CHECK (x IN (...)) after any dump/restore; every other line is identical.
    def schema(db):
        return [line for line in db.pg_dump(*LEGACY, options=("--schema-only",)).splitlines() if b"CHECK" not in line]

    assert schema(restored) == schema(legacy_db)
    assert not result["swapped"] and "Not made live" in result["steps"][-1]


def test_endpoint_cut_mid_upload_fails_clearly_lists_nothing_and_next_create_works(legacy_db, moto, bucket):
    proxy = CuttingProxy(moto.port, cut_after=100_000)
    store = s3_store(moto, bucket, endpoint=proxy.url, timeout_s=3)
    with pytest.raises(StoreError, match=r"(could not be reached|S3 failed while uploading)"):
        restore_points.create(legacy_db.params(), store, "phase1")
    proxy.heal()
    assert restore_points.list_points(store, legacy_db.name) == []
    direct = boto3.client("s3", endpoint_url=moto.url)
    assert direct.list_multipart_uploads(Bucket=bucket).get("Uploads")  # the abort could not get through
    pruned = restore_points.prune(
        store, legacy_db.name, keep=5, pg_restore="pg_restore", grace_minutes=-1, check_mode=False
    )
    assert pruned["pruned"] == []
    assert not direct.list_multipart_uploads(Bucket=bucket).get("Uploads")  # prune cleared it
    manifest = restore_points.create(legacy_db.params(), store, "phase1")
    assert restore_points.verify(store, manifest)
    proxy.close()


def test_one_changed_byte_is_refused_by_verify_and_restore(legacy_db, tmp_path):
    store = open_store(f"file://{tmp_path}/store")
    manifest = restore_points.create(legacy_db.params(), store, "phase1")
    dump = tmp_path / "store" / manifest["object_key"]
    assert oct(dump.stat().st_mode & 0o777) == "0o600"
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0x01
    dump.write_bytes(bytes(data))
    with pytest.raises(RunbookError, match="sha256 differs"):
        restore_points.verify(store, manifest)
    before = databases(legacy_db)
    with pytest.raises(RunbookError, match="failed verification"):
        restore_points.restore(legacy_db.params(), legacy_db.params("postgres"), store, manifest["id"], confirm="")
    assert databases(legacy_db) == before


def test_a_changed_s3_object_is_refused(legacy_db, moto, bucket):
    store = s3_store(moto, bucket)
    manifest = restore_points.create(legacy_db.params(), store, "phase1")
    client = boto3.client("s3", endpoint_url=moto.url)
    key = f"bayview/{manifest['object_key']}"
    body = bytearray(client.get_object(Bucket=bucket, Key=key)["Body"].read())
    body[-10] ^= 0xFF
    client.put_object(Bucket=bucket, Key=key, Body=bytes(body))
    with pytest.raises(RunbookError, match="sha256 differs"):
        restore_points.verify(store, manifest)


def test_wrong_credentials_and_a_missing_bucket_give_clear_errors(legacy_db, moto):
    with pytest.raises(StoreError, match="The bucket no-such-bucket does not exist"):
        restore_points.create(legacy_db.params(), s3_store(moto, "no-such-bucket"), "phase1")
    strict = MotoServer(require_auth=True)
    try:
        with pytest.raises(StoreError, match=r"credentials were rejected .*Next step: check the access key"):
            restore_points.create(
                legacy_db.params(), open_store("s3://any-bucket/x", endpoint_url=strict.url), "phase1"
            )
    finally:
        strict.stop()
    with pytest.raises(StoreError, match="not a store this runbook knows"):
        open_store("ftp://example/x")


def test_an_upload_without_a_manifest_is_not_a_restore_point(legacy_db, tmp_path):
    store = open_store(f"file://{tmp_path}/store")
    kept = restore_points.create(legacy_db.params(), store, "phase1")
    store.put_small(f"{legacy_db.name}/20000101T000000Z-phase1-deadbeef/dump.pgcustom", b"half a dump")
    assert [p["id"] for p in restore_points.list_points(store, legacy_db.name)] == [kept["id"]]
    result = restore_points.prune(store, legacy_db.name, 5, "pg_restore", 60, check_mode=False)
    assert result["orphans_removed"] == [f"{legacy_db.name}/20000101T000000Z-phase1-deadbeef/dump.pgcustom"]
    assert store.list_keys(f"{legacy_db.name}/20000101T000000Z") == []


def test_prune_keeps_the_newest_per_label_and_never_the_newest_verified(legacy_db, tmp_path):
    store = open_store(f"file://{tmp_path}/store")
    older = restore_points.create(legacy_db.params(), store, "phase1")
    middle = restore_points.create(legacy_db.params(), store, "phase1")
    manual = restore_points.create(legacy_db.params(), store, "manual")
    newest = restore_points.create(legacy_db.params(), store, "phase1")
    (tmp_path / "store" / newest["object_key"]).write_bytes(b"corrupt")  # the newest no longer verifies

    planned = restore_points.prune(store, legacy_db.name, 1, "pg_restore", 60, check_mode=True)
    assert planned["newest_verified"] == manual["id"]
    assert set(planned["pruned"]) == {older["id"], middle["id"]}
    assert len(restore_points.list_points(store, legacy_db.name)) == 4  # check mode removed nothing

    restore_points.prune(store, legacy_db.name, 1, "pg_restore", 60, check_mode=False)
    assert {p["id"] for p in restore_points.list_points(store, legacy_db.name)} == {newest["id"], manual["id"]}


def test_phase1_takes_a_restore_point_and_restore_yml_brings_the_baseline_back(legacy_db, tmp_path):
    env_store = tmp_path / "store"
    args = ("-e", f"restore_point_store=file://{env_store}")
    phase = run_playbook(legacy_db, "phase1.yml", *args, records_dir=tmp_path)
    assert phase.returncode == 0, phase.output[-3000:]
    [record] = [json.loads(p.read_text()) for p in tmp_path.glob("*-phase1.json")]
    rp_id = record["details"]["restore_point"]
    assert rp_id and rp_id.endswith(tuple("0123456789abcdef"))
    again = run_playbook(legacy_db, "phase1.yml", *args, records_dir=tmp_path)
    assert again.returncode == 0 and again.changed == 0
    # Every phase run starts from a fresh verified restore point, even when nothing is pending.
    assert len(restore_points.list_points(open_store(f"file://{env_store}"), legacy_db.name)) == 2

    wrong = run_playbook(legacy_db, "restore.yml", *args, "-e", f"restore_point={rp_id}", "-e", "confirm_restore=other")
    assert wrong.returncode != 0 and "confirm_restore is 'other'" in wrong.stdout
    before = databases(legacy_db)

    restored = run_playbook(
        legacy_db, "restore.yml", *args, "-e", f"restore_point={rp_id}", "-e", f"confirm_restore={legacy_db.name}"
    )
    assert restored.returncode == 0, restored.output[-3000:]
    for step in (
        "1. Chose restore point",
        "2. Verified it",
        "3. Restored into new database",
        "4. Its legacy fingerprint matches",
        # The restore point was taken while Phase 1 ran: in the copy, that run is closed saying so.
        "5. Runs recorded as running in the restore point closed as interrupted",
        "6. Swapped",
    ):
        assert step in restored.stdout
    after = databases(legacy_db)
    assert before <= after  # nothing dropped
    [kept] = [d for d in after - before if "_before_restore_" in d]
    assert legacy_db.scalar("SELECT to_regnamespace('core')") is None  # the live database is the baseline again
    previous = type(legacy_db)(legacy_db.cluster, kept)
    assert previous.scalar("SELECT to_regnamespace('core') IS NOT NULL")  # the one that had Phase 1, kept


def test_restore_point_playbook_lists_and_refuses_an_unknown_action(legacy_db, tmp_path):
    args = ("-e", f"restore_point_store=file://{tmp_path}/store")
    assert run_playbook(legacy_db, "restore_point.yml", *args, "-e", "action=create").returncode == 0
    listed = run_playbook(legacy_db, "restore_point.yml", *args, "-e", "action=list")
    assert listed.returncode == 0 and "label: manual" in listed.stdout
    bad = run_playbook(legacy_db, "restore_point.yml", *args, "-e", "action=destroy")
    assert (
        bad.returncode != 0
        and "value of action must be one of: create, list, verify, prune, got: destroy" in bad.stdout
    )
    assert len(list((tmp_path / "store").rglob("manifest.json"))) == 1  # refused before anything
