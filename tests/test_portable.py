"""The portable data API's contract: the same cases against every adapter (PostgreSQL's new design,
MongoDB through montydb's embedded store and a real server when BAYVIEW_MONGO_URL is set, the local
Notion server read-only and with writes enabled, an export package). An operation an adapter
declares unsupported is skipped with its reason; that it raises NotSupported is itself tested."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
from ansible.module_utils.bayview import (
    data_migrate,
    data_migrations,
    data_package,
    dual_write,
    migrate,
    package_export,
)
from ansible.module_utils.bayview.stores import open_store
from conftest import MIGRATIONS, drop_database, new_database

from bayview_runbook.engine import DATA_MIGRATIONS
from bayview_runbook.notion_local import NotionServer
from bayview_runbook.portable import (
    ENTITIES,
    InvalidValue,
    NotFound,
    NotSupported,
    UnknownEntity,
    UnknownField,
    UnknownRelation,
    open_adapter,
)
from bayview_runbook.portable.contract import DETAIL_FIELDS
from bayview_runbook.portable.copy import copy_all
from bayview_runbook.portable.mongo import MongoAdapter
from bayview_runbook.portable.notion import NotionAdapter
from bayview_runbook.portable.package import PackageAdapter
from bayview_runbook.portable.postgres import PostgresAdapter

TOKEN = "secret_" + "p" * 20  # a made-up integration secret
MEMORIAL_DS, CHAPEL_DS = "aaaaaaaa-2222-3333-4444-555555555555", "bbbbbbbb-7777-8888-9999-000000000000"
MONGO_URL = os.environ.get("BAYVIEW_MONGO_URL")
ADAPTERS = ["postgresql", "montydb", "mongodb", "notion", "notion-writes", "package"]

MEMORIAL = {
    "submission_id": "MG-1767225600000",
    "application_type": "immediate",
    "placement_type": "single",
    "service_date": "2027-05-01",
    "celebrant": "Yes - Request Bay View celebrant",
    "is_member": True,
    "member_relationship": "daughter",
    "contact_address": "1 Fern St, Petoskey",
    "fee": "250.00",
    "message": "Forever in our hearts",
    "payment_status": "pending",
    "submitted_at": "2026-11-02T15:04:05Z",
    "persons": {
        "deceased": {"first_name": "Zoë Ann", "last_name": "O'Brien", "death_date": "2026-10-30"},
        "contact": {"first_name": "Jo", "last_name": "Bloggs", "email": "jo@example.org", "phone": "555-0100"},
    },
}
FUTURE = {"submission_id": "MG-1767225700000", "application_type": "future", "fee": "100.00"}
WEDDING = {
    "service_type": "wedding",
    "service_date": "2027-06-12",
    "service_time": "14:00",
    "status": "pending",
    "approved_by": "Rev. Ames",
    "altar_guild_notified": False,
    "details": {"couple_names": "Sam & Alex", "guest_count": 120, "fee": "500.00"},
    "persons": {"contact": {"first_name": "Sam", "last_name": "Ortiz", "email": "sam@example.org"}},
}


def held(adapter, entity: str, data: dict) -> dict:
    """The part of the data the adapter holds (a field it does not is None when read)."""
    keep = adapter.held.get(entity)
    out = {k: v for k, v in data.items() if keep is None or k in keep}
    if "persons" in out and adapter.held.get("person"):
        out["persons"] = {
            r: {k: v for k, v in p.items() if k in adapter.held["person"]} for r, p in out["persons"].items()
        }
    return out


def seed(adapter) -> dict:
    """The same records written through the adapter itself: the ids it gave, by name."""
    ids = {}
    ids["memorial"] = adapter.create("memorial_application", held(adapter, "memorial_application", MEMORIAL))
    ids["future"] = adapter.create("memorial_application", held(adapter, "memorial_application", FUTURE))
    ids["wedding"] = adapter.create("chapel_service", held(adapter, "chapel_service", WEDDING))
    if not adapter.supports("person", "create"):
        ids["loner"] = adapter.create("person", {"person_type": "other", "first_name": "Lone", "last_name": "Walker"})
    if not adapter.supports("payment", "create"):
        ids["paid"] = adapter.create(
            "payment", {"memorial_application_id": ids["memorial"], "amount": "250.00", "method": "card"}
        )
        ids["chapel_paid"] = adapter.create(
            "payment", {"chapel_service_id": ids["wedding"], "amount": "500.00", "paid_at": "2027-01-02T10:00:00Z"}
        )
        ids["prepaid"] = adapter.create("payment", {"amount": "75.00", "spaces": 2, "notes": "two spaces"})
    return ids


# --- the adapters ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_db(cluster, full_template):
    """The new design, empty, after the cutover (dual-write mode modern-only): the PostgreSQL adapter writes."""
    db = new_database(cluster, full_template)
    migrate.run(db.params(), MIGRATIONS, None, None, "test", "portable", check_mode=False)
    with db.connect() as conn:
        dual_write.set_mode(conn, "modern-only", "test", "portable API tests")
    yield db
    drop_database(db)


@pytest.fixture(scope="module")
def notion_server():
    with NotionServer(TOKEN) as server:
        server.state.pages.update({MEMORIAL_DS: [], CHAPEL_DS: []})
        yield server


def notion(server, writes: bool, rate: float = 1000.0) -> NotionAdapter:
    """The adapter on the local server (which sets no rate limit unless told: the tests go faster than 3/s)."""
    return NotionAdapter(
        TOKEN,
        {"memorial_garden": MEMORIAL_DS, "chapel": CHAPEL_DS},
        server.base_url,
        writes=writes,
        requests_per_second=rate,
    )


@pytest.fixture(scope="module")
def worlds(pg_db, notion_server, tmp_path_factory):
    """Each adapter with the seed written into it (a read-only one: written through its writable side)."""
    made, closers = {}, []

    def world(name: str):
        if name in made:
            return made[name]
        if name == "postgresql":
            adapter = PostgresAdapter(pg_db.connect())
            made[name] = (adapter, seed(adapter))
        elif name == "montydb":
            adapter = MongoAdapter(f"montydb://{tmp_path_factory.mktemp('monty')}#bayview")
            made[name] = (adapter, seed(adapter))
        elif name == "mongodb":
            if not MONGO_URL:
                pytest.skip("no MongoDB server: set BAYVIEW_MONGO_URL (mongodb://host:port) to run against one")
            adapter = MongoAdapter(MONGO_URL, f"bayview_test_{uuid.uuid4().hex[:8]}")
            made[name] = (adapter, seed(adapter))
        elif name == "notion-writes":
            adapter = notion(notion_server, writes=True)
            made[name] = (adapter, seed(adapter))
        elif name == "notion":
            _writer, ids = world("notion-writes")
            made[name] = (notion(notion_server, writes=False), ids)
        elif name == "package":
            source, ids = world("postgresql")
            root = tmp_path_factory.mktemp("portable-store")
            package_export.export(pg_db.params(), open_store(f"file://{root}"), list(data_package.SCHEMAS), ["jsonl"])
            made[name] = (PackageAdapter(f"file://{root}", pg_db.name), ids)
        closers.append(made[name][0].close)
        if name == "mongodb":  # run before the close (closers run last first): the test's database goes
            closers.append(lambda a=made[name][0]: a.client.drop_database(a.db.name))
        return made[name]

    yield world
    for close in reversed(closers):
        close()


@pytest.fixture(params=ADAPTERS)
def api(request, worlds):
    adapter, ids = worlds(request.param)
    adapter.ids = ids
    return adapter


def need(adapter, entity: str, operation: str) -> None:
    """Skip, with the adapter's own reason, an operation it declares it does not do."""
    reason = adapter.supports(entity, operation)
    if reason:
        print(f"{adapter.name}: {operation} {entity} unsupported: {reason}")
        pytest.skip(f"{adapter.name} does not {operation} a {entity}: {reason}")


def writable(adapter) -> None:
    need(adapter, "memorial_application", "create")


# --- the contract ------------------------------------------------------------------------------


def test_a_memorial_application_reads_back_as_written(api):
    record = api.read("memorial_application", api.ids["memorial"])
    assert set(record) == {"id", *ENTITIES["memorial_application"]}
    expected = {
        "submission_id": "MG-1767225600000",
        "application_type": "immediate",
        "placement_type": "single",
        "service_date": date(2027, 5, 1),
        "celebrant": "Yes - Request Bay View celebrant",
        "is_member": True,
        "contact_address": "1 Fern St, Petoskey",
        "fee": Decimal("250.00"),
        "message": "Forever in our hearts",
        "payment_status": "pending",
        "submitted_at": datetime(2026, 11, 2, 15, 4, 5, tzinfo=UTC),
    }
    assert {k: record[k] for k in held(api, "memorial_application", expected)} == held(
        api, "memorial_application", expected
    )
    assert sorted(record["persons"]) == ["contact", "deceased"]
    deceased = api.read("person", record["persons"]["deceased"])
    assert (deceased["first_name"], deceased["last_name"], deceased["person_type"]) == (
        "Zoë Ann",
        "O'Brien",
        "deceased",
    )


def test_a_chapel_service_reads_back_with_its_details_and_contact(api):
    service = api.read("chapel_service", api.ids["wedding"])
    assert (service["service_type"], service["service_date"], service["service_time"], service["status"]) == (
        "wedding",
        date(2027, 6, 12),
        time(14, 0),
        "pending",
    )
    if api.held.get("chapel_service") is None:
        assert service["details"] == {"couple_names": "Sam & Alex", "guest_count": 120, "fee": Decimal("500.00")}
    contact = api.get_related("chapel_service", api.ids["wedding"], "persons")
    assert [(p["role"], p["first_name"], p["last_name"], p["email"]) for p in contact] == [
        ("contact", "Sam", "Ortiz", "sam@example.org")
    ]


def test_query_is_equality_on_every_condition(api):
    found = api.query("memorial_application", {"application_type": "future"})
    assert api.ids["future"] in {r["id"] for r in found} and api.ids["memorial"] not in {r["id"] for r in found}
    both = api.query("memorial_application", {"application_type": "immediate", "fee": "250.00"})
    assert api.ids["memorial"] in {r["id"] for r in both}
    assert api.query("memorial_application", {"submission_id": "MG-nothing-like-it"}) == []
    assert api.ids["wedding"] in {r["id"] for r in api.query("chapel_service", {"service_date": date(2027, 6, 12)})}
    assert {api.ids["memorial"], api.ids["future"]} <= {r["id"] for r in api.query("memorial_application", {})}
    assert [r["id"] for r in api.query("memorial_application", {"id": api.ids["future"]})] == [api.ids["future"]]


def test_persons_are_related_by_role_and_lead_back_to_their_records(api):
    persons = api.get_related("memorial_application", api.ids["memorial"], "persons")
    assert [(p["role"], p["last_name"]) for p in persons] == [("contact", "Bloggs"), ("deceased", "O'Brien")]
    contact = next(p for p in persons if p["role"] == "contact")
    assert contact["email"] == "jo@example.org" and contact["phone"] == "555-0100"
    records = api.get_related("person", contact["id"], "records")
    assert [(r["entity"], r["id"], r["role"]) for r in records] == [
        ("memorial_application", api.ids["memorial"], "contact")
    ]
    need(api, "person", "query")
    assert contact["id"] in {p["id"] for p in api.query("person", {"last_name": "Bloggs"})}


def test_payments_relate_to_their_records(api):
    need(api, "payment", "query")
    paid = api.get_related("memorial_application", api.ids["memorial"], "payments")
    assert [(p["id"], p["amount"], p["method"], p["paid_for"]) for p in paid] == [
        (api.ids["paid"], Decimal("250.00"), "card", "memorial_application")
    ]
    [record] = api.get_related("payment", api.ids["chapel_paid"], "record")
    assert (record["entity"], record["id"]) == ("chapel_service", api.ids["wedding"])
    prepaid = api.read("payment", api.ids["prepaid"])
    assert (prepaid["paid_for"], prepaid["spaces"]) == ("prepayment", 2)
    assert api.get_related("payment", api.ids["prepaid"], "record") == []
    assert api.get_related("memorial_application", api.ids["future"], "payments") == []


def test_unsupported_operations_raise_not_supported_with_the_reason(api):
    declared = [(e, op) for e in ENTITIES for op in ("create", "update", "delete") if api.supports(e, op)]
    if not declared:
        pytest.skip(f"{api.name} declares every write supported")
    for entity, operation in declared:
        call = {
            "create": lambda e=entity: api.create(e, {}),
            "update": lambda e=entity: api.update(e, "1", {}),
            "delete": lambda e=entity: api.delete(e, "1"),
        }[operation]
        with pytest.raises(NotSupported, match=api.supports(entity, operation).split(":")[0][:30]):
            call()
        print(f"{api.name}: {operation} {entity}: NotSupported: {api.supports(entity, operation)}")


def test_errors_are_clear(api):
    with pytest.raises(UnknownEntity, match="no entity 'memorial'"):
        api.read("memorial", "1")
    with pytest.raises(UnknownField, match="has no field nickname"):
        api.query("person", {"nickname": "x"})
    with pytest.raises(UnknownField, match="has no field colour"):
        api.create("chapel_service", {"colour": "red"})
    with pytest.raises(UnknownRelation, match="relations are persons, payments"):
        api.get_related("memorial_application", api.ids["memorial"], "friends")
    with pytest.raises(InvalidValue, match="service_date 'next June' is not a date"):
        api.query("chapel_service", {"service_date": "next June"})
    missing = "999999999" if api.name in ("postgresql", "package") else "00000000-0000-0000-0000-000000000000"
    with pytest.raises(NotFound, match="There is no memorial_application"):
        api.read("memorial_application", missing)
    with pytest.raises(NotFound):
        api.get_related("chapel_service", missing, "persons")
    if not api.supports("memorial_application", "update"):
        with pytest.raises(NotFound, match="to update"):
            api.update("memorial_application", missing, {"celebrant": "No"})
        with pytest.raises(NotFound, match="to delete"):
            api.delete("memorial_application", missing)


def test_create_update_delete(api):
    writable(api)
    new = api.create(
        "chapel_service",
        held(
            api,
            "chapel_service",
            {
                "service_type": "General Use".lower().replace(" ", "_"),
                "service_date": date(2027, 8, 1),
                "service_time": time(10, 30),
                "status": "pending",
                "details": {"event_name": "Choir", "expected_guests": 40},
                "persons": {"contact": {"first_name": "Ada", "last_name": "Byron"}},
            },
        ),
    )
    assert api.read("chapel_service", new)["service_time"] == time(10, 30)
    api.update("chapel_service", new, {"status": "approved", "approved_by": "Rev. Ames"})
    updated = api.read("chapel_service", new)
    assert (updated["status"], updated["approved_by"], updated["service_type"]) == (
        "approved",
        "Rev. Ames",
        "general_use",
    )
    assert new in {r["id"] for r in api.query("chapel_service", {"status": "approved", "approved_by": "Rev. Ames"})}
    api.update("chapel_service", new, {"persons": {"contact": {"first_name": "Kit", "last_name": "Marlowe"}}})
    assert [p["last_name"] for p in api.get_related("chapel_service", new, "persons")] == ["Marlowe"]
    if not api.supports("payment", "create"):
        paid = api.create("payment", {"chapel_service_id": new, "amount": 40})
        assert api.read("payment", paid)["paid_for"] == "chapel_service"
    api.delete("chapel_service", new)
    with pytest.raises(NotFound):
        api.read("chapel_service", new)
    assert new not in {r["id"] for r in api.query("chapel_service", {})}
    if not api.supports("payment", "create"):
        with pytest.raises(NotFound):  # a record's payments go with it
            api.read("payment", paid)
    with pytest.raises(NotFound, match="to delete"):
        api.delete("chapel_service", new)


def test_persons_as_entities_and_references_must_exist(api):
    need(api, "person", "create")
    person = api.create("person", {"person_type": "contact", "first_name": "Ida", "last_name": "Wells"})
    api.update("person", person, {"email": "ida@example.org", "birth_date": "1862-07-16"})
    read = api.read("person", person)
    assert (read["email"], read["birth_date"], read["middle_name"]) == ("ida@example.org", date(1862, 7, 16), None)
    record = api.create(
        "memorial_application", {"submission_id": f"MG-{uuid.uuid4().int % 10**12}", "persons": {"contact": person}}
    )
    assert api.read("memorial_application", record)["persons"] == {"contact": person}
    api.delete("person", person)  # unlinked from its record, which stays
    assert api.read("memorial_application", record)["persons"] == {}
    with pytest.raises(NotFound, match="names no person"):
        api.create("memorial_application", {"persons": {"contact": person}})
    with pytest.raises(NotFound, match="names no memorial_application"):
        api.create("payment", {"memorial_application_id": person, "amount": 1})
    with pytest.raises(InvalidValue, match="amount 'lots' is not a numeric value"):
        api.create("payment", {"amount": "lots"})


def test_the_vocabulary_is_the_new_designs_columns(pg_db):
    """Every field of every entity is a column of its table in the new design (and a detail's of its table)."""
    tables = {
        "person": "core.persons",
        "memorial_application": "property.memorial_applications",
        "chapel_service": "events.chapel_services",
        "payment": "finance.payments",
    }
    for entity, table in tables.items():
        schema, name = table.split(".")
        columns = {
            r[0]
            for r in pg_db.query(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
                [schema, name],
            )
        }
        assert set(ENTITIES[entity]) - {"persons", "details"} <= columns, entity
    detail_columns = {
        r[0]
        for r in pg_db.query(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'events' AND table_name LIKE '%%_details'"
        )
    }
    assert {f for fields in DETAIL_FIELDS.values() for f in fields} <= detail_columns


def test_postgresql_writes_only_after_the_cutover(pg_db):
    with pg_db.connect() as conn:
        dual_write.set_mode(conn, "modern-only", "test", "x")
        conn.execute("UPDATE migration.dual_write_mode SET mode = 'dual'")  # as before the cutover
        try:
            with pytest.raises(NotSupported, match="dual-write mode is dual"):
                PostgresAdapter(conn).create("person", {"person_type": "other", "last_name": "Early"})
        finally:
            conn.execute("UPDATE migration.dual_write_mode SET mode = 'modern-only'")


def test_copy_moves_the_new_design_into_mongodb_with_counts_reconciled(worlds, tmp_path):
    source, _ids = worlds("postgresql")
    target = MongoAdapter(f"montydb://{tmp_path / 'copy'}#copy")
    result = copy_all(source, target)
    assert result["reconciled"]
    for entity in ENTITIES:
        assert result["entities"][entity]["copied"] == source.count(entity) == target.count(entity) > 0
    # The same records, by their own fields (ids are the target's).
    [memorial] = target.query("memorial_application", {"submission_id": "MG-1767225600000"})
    original = source.query("memorial_application", {"submission_id": "MG-1767225600000"})[0]
    assert {k: v for k, v in memorial.items() if k not in ("id", "persons")} == {
        k: v for k, v in original.items() if k not in ("id", "persons")
    }
    assert [p["last_name"] for p in target.get_related("memorial_application", memorial["id"], "persons")] == [
        "Bloggs",
        "O'Brien",
    ]
    assert [p["amount"] for p in target.get_related("memorial_application", memorial["id"], "payments")] == [
        Decimal("250.00")
    ]
    target.close()


def test_copy_from_notion_skips_payments_and_says_so(worlds, tmp_path):
    source, _ids = worlds("notion")
    target = MongoAdapter(f"montydb://{tmp_path / 'from-notion'}#copy")
    result = copy_all(source, target)
    assert "payment" in result["skipped"] and "no payments" in result["skipped"]["payment"]
    assert result["entities"]["memorial_application"]["copied"] == source.count("memorial_application") >= 2
    assert target.count("person") == source.count("person")
    target.close()


def test_copy_refuses_a_target_that_cannot_hold_the_source(worlds):
    source, _ids = worlds("postgresql")
    target, _ = worlds("package")
    from bayview_runbook.portable import PortableError

    with pytest.raises(PortableError, match="cannot hold the source's .* person"):
        copy_all(source, target)


def test_the_cli_copies_between_urls(pg_db, tmp_path, worlds, capsys):
    worlds("postgresql")
    from bayview_runbook import cli

    url = f"postgresql://postgres@127.0.0.1:{pg_db.cluster.port}/{pg_db.name}?passfile={pg_db.cluster.passfile}"
    assert cli.main(["portable-copy", "--from", url, "--to", f"montydb://{tmp_path}/cli#x"]) == 0
    out = capsys.readouterr().out
    with open_adapter(f"montydb://{tmp_path}/cli#x") as copied, open_adapter(url) as source:
        for entity in ENTITIES:
            assert f"{entity}: {source.count(entity)} in postgresql, {source.count(entity)} copied to mongodb" in out
            assert copied.count(entity) == source.count(entity)
    assert out.endswith("counts reconciled\n")
    assert cli.main(["portable-copy", "--from", url, "--to", "ftp://nowhere"]) == 1
    assert "is not an adapter of the portable data API" in capsys.readouterr().err


@pytest.mark.e2e
def test_e2e_the_migrated_sample_copies_into_mongodb(cluster, full_template, tmp_path):
    """Every data migration of the 2,000-row sample, then the whole new design into MongoDB."""
    db = new_database(cluster, full_template)
    try:
        migrate.run(db.params(), MIGRATIONS, None, None, "test", "portable-e2e", check_mode=False)
        for name in data_migrations.names(DATA_MIGRATIONS):
            data_migrate.run(db.params(), data_migrations.load(DATA_MIGRATIONS, name))
        source = PostgresAdapter(db.connect())
        target = MongoAdapter(MONGO_URL or f"montydb://{tmp_path / 'e2e'}#e2e", f"bayview_e2e_{uuid.uuid4().hex[:8]}")
        result = copy_all(source, target)
        print({entity: count["copied"] for entity, count in result["entities"].items()})
        assert result["reconciled"] and result["entities"]["memorial_application"]["copied"] > 100
        # a migrated record keeps its persons (from its legacy row's links) and payments in the copy
        [original] = [r for r in source.query("memorial_application", {}) if r["persons"] and r["submission_id"]][:1]
        [copied] = target.query("memorial_application", {"submission_id": original["submission_id"]})
        assert sorted(copied["persons"]) == sorted(original["persons"])
        if MONGO_URL:
            target.client.drop_database(target.db.name)
        target.close()
    finally:
        drop_database(db)


def test_the_notion_adapter_reads_values_as_the_sync_s_views_do(pg_db):
    """The adapter's readers give what the sync's SQL readers (migration.notion_*) give, value for value."""
    from bayview_runbook.portable import notion as n

    samples = {
        "notion_time": (n._time, ["2:00 PM", "2 pm", "2pm", "2:00p.m.", "14:00", "14:00:00", "25:00", "13 pm", "noon"]),
        "notion_date": (n._date, ["2026-01-05", "2026-02-30", "2026-01-05T10:40:00.000-05:00", "soon"]),
        "notion_timestamp": (
            n._timestamp,
            ["2026-01-05", "2026-07-05T10:40:00.000-05:00", "2026-01-05T10:40:00", "2026-01-05T15:40:00Z", "x"],
        ),
        "notion_money": (n._money, ["$450.00", "1,200.50", "450", "450.545", "$ 12", "abc", "-5"]),
        "notion_option": (n._option, ["General Use", "general-use", "Wedding", "  pending review "]),
        "notion_bool": (n._bool, ["Yes", "no", "true", "FALSE", "maybe"]),
    }
    with pg_db.connect() as conn:
        for function, (reader, values) in samples.items():
            for value in values:
                expected = conn.execute(f"SELECT migration.{function}(%s)", [value]).fetchone()[0]
                assert reader(value) == expected, (function, value)


def test_a_csv_only_package_reads_the_same_records(worlds, pg_db, tmp_path):
    """The export's default format is CSV: the package adapter reads it as it reads JSON Lines (the
    values of the seed have no empty strings, the one thing CSV cannot tell from NULL for it)."""
    _source, ids = worlds("postgresql")
    for fmt in ("csv", "jsonl"):
        package_export.export(pg_db.params(), open_store(f"file://{tmp_path}/{fmt}"), list(data_package.SCHEMAS), [fmt])
    csv_only = PackageAdapter(f"file://{tmp_path}/csv", pg_db.name)
    jsonl = PackageAdapter(f"file://{tmp_path}/jsonl", pg_db.name)
    for entity in ENTITIES:
        assert sorted(csv_only.query(entity, {}), key=lambda r: r["id"]) == sorted(
            jsonl.query(entity, {}), key=lambda r: r["id"]
        ), entity
    assert csv_only.read("memorial_application", ids["memorial"])["is_member"] is True


def test_notion_waits_out_a_429_repeats_a_failed_read_but_never_a_failed_write(notion_server):
    adapter = notion(notion_server, writes=True)
    state = notion_server.state
    before = len(state.requests)
    state.faults.append((429, {"Retry-After": "0"}))
    page = adapter.create(
        "chapel_service", {"service_type": "baptism", "service_date": "2027-09-05", "service_time": "11:00"}
    )
    creates = [body for _at, path, body in state.requests[before:] if path == "/v1/pages"]
    assert len(creates) == 2  # the refused one and its retry: one page
    state.faults.append((502, {}))  # a read is asked again
    assert adapter.read("chapel_service", page)["service_type"] == "baptism"
    from bayview_runbook.portable import PortableError

    state.faults.append((502, {}))  # a write may have happened: it is not repeated
    with pytest.raises(PortableError, match="Notion refused updating page .*: 502"):
        adapter._call(lambda: adapter.client.pages.update(page, properties={}), f"updating page {page}", write=True)
    adapter.delete("chapel_service", page)
    adapter.close()


def test_notion_queries_page_through_every_page_and_read_the_forms_spellings():
    """Pages as the forms wrote them (2025's lowercase options, 'Pending Review', '2 pm'), 250 of them:
    three requests of at most 100, every page read, trashed ones left out."""
    with NotionServer(TOKEN) as server:
        state = server.state
        state.pages.update({MEMORIAL_DS: [], CHAPEL_DS: []})
        for i in range(250):
            state.add(
                CHAPEL_DS,
                {
                    "Application ID": f"CHAPEL-{i}",
                    "Type": "general_use" if i % 2 else "General Use",
                    "Status": "Pending Review",
                    "Service Date": "2027-03-01",
                    "Service Time": "2 pm",
                    "Contact Name": "Not provided" if i == 7 else f"Pat Q. Lee{i}",
                },
            )
        state.pages[CHAPEL_DS][0]["in_trash"] = True
        adapter = notion(server, writes=False)
        before = len(state.requests)
        services = adapter.query("chapel_service", {"service_type": "general_use", "status": "pending"})
        assert len(services) == 249 and {s["service_time"] for s in services} == {time(14, 0)}
        assert len(state.requests) - before == 3
        persons = adapter.query("person", {"first_name": "Pat Q."})
        assert len(persons) == 248  # no name on page 7 ('Not provided'): no person
        adapter.close()
