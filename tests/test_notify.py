"""Runbook events: stored, delivered to a real HTTP webhook receiver and a real SMTP server,
retried with backoff, recorded when they fail, and never carrying a secret."""

from __future__ import annotations

import pytest
from ansible.module_utils.bayview import events, ledger
from ansible.module_utils.bayview.db import connect

from bayview_runbook.localpg import free_port
from bayview_runbook.receivers import HttpReceiver, SmtpReceiver


@pytest.fixture
def receivers():
    http, smtp = HttpReceiver(), SmtpReceiver()
    yield http, smtp
    http.stop()
    smtp.stop()


@pytest.fixture
def ledger_db(legacy_db):
    with connect(legacy_db.params()) as conn:
        ledger.bootstrap(conn, "test", "r")
    return legacy_db


def real_password(db) -> str:
    """The runbook role's password, from the cluster's password file (host:port:db:user:password)."""
    for line in db.cluster.passfile.read_text().splitlines():
        if line.split(":")[3] == "bayview_runbook":
            return line.split(":", 4)[4]
    raise AssertionError("no password for bayview_runbook")


def fast(hook: dict) -> dict:
    return {**hook, "max_retries": 3, "backoff_base_seconds": 0.05, "backoff_max_seconds": 0.2}


def test_an_event_is_stored_and_delivered_by_webhook_and_email(ledger_db, receivers):
    http, smtp = receivers
    params = ledger_db.params()
    password = real_password(ledger_db)
    params["connection"]["password"] = password
    http.fail_next = 2  # the webhook service has a bad moment: two 503s, then fine
    email = fast({"host": "127.0.0.1", "port": smtp.port, "sender": "runbook@bayview.test", "to": ["ops@bayview.test"]})
    result = events.emit(
        params,
        "phase.completed",
        f"Phase 2 completed on bayview (connection password={password})",
        {"restore_point": "rp-1", "note": f"leaked {password}"},
        "run-1",
        [fast({"name": "slack", "url": http.url()})],
        email,
    )
    assert result["stored"]
    assert [(d["channel"], d["status"], d["attempts"]) for d in result["deliveries"]] == [
        ("webhook", "delivered", 3),
        ("email", "delivered", 1),
    ]
    assert http.texts() == ["[Bay View runbook] Phase 2 completed on bayview (connection password=[redacted])"]
    assert smtp.subjects() == [http.texts()[0]]
    body = smtp.messages[0].get_content()
    assert "restore_point: rp-1" in body and password not in body
    stored = ledger_db.query("SELECT target, status, attempts FROM migration.runbook_notifications ORDER BY id")
    assert stored == [
        (f"http://127.0.0.1:{http.server.server_port}/…", "delivered", 3),
        ("ops@bayview.test", "delivered", 1),
    ]
    everything = str(ledger_db.query("SELECT * FROM migration.runbook_events")) + str(
        ledger_db.query("SELECT * FROM migration.runbook_notifications")
    )
    assert password not in everything and "secret-token" not in everything


def test_an_unreachable_target_is_recorded_never_raised_and_retried_with_the_next_event(ledger_db, receivers):
    http, _ = receivers
    http.down_paths.add("/hooks/flaky")
    hooks = [fast({"name": "flaky", "url": http.url("/hooks/flaky")}), fast({"name": "live", "url": http.url()})]
    hooks[0]["max_retries"] = 20  # more attempts than the budget allows: it stays pending
    first = events.emit(ledger_db.params(), "phase.failed", "Phase 3 failed", {}, "r", hooks, None, budget_seconds=0.5)
    assert [d["status"] for d in first["deliveries"]] == ["pending", "delivered"]
    assert "503" in ledger_db.scalar("SELECT last_error FROM migration.runbook_notifications WHERE status = 'pending'")
    http.down_paths.clear()  # the service is back: the next event also retries the pending delivery
    second = events.emit(ledger_db.params(), "phase.started", "Phase 3 started", {}, "r", hooks, None)
    assert [d["status"] for d in second["deliveries"]] == ["delivered", "delivered", "delivered"]
    assert sorted((r["path"], r["json"]["text"]) for r in http.received) == [
        ("/hooks/T000/B000/secret-token", "[Bay View runbook] Phase 3 failed"),
        ("/hooks/T000/B000/secret-token", "[Bay View runbook] Phase 3 started"),
        ("/hooks/flaky", "[Bay View runbook] Phase 3 failed"),
        ("/hooks/flaky", "[Bay View runbook] Phase 3 started"),
    ]
    assert ledger_db.scalar("SELECT count(*) FROM migration.runbook_notifications WHERE status <> 'delivered'") == 0


def test_registered_webhooks_get_only_their_event_types_and_a_dead_database_still_notifies(legacy_db, receivers):
    http, _ = receivers
    from ansible.module_utils.bayview import migrate
    from conftest import MIGRATIONS

    migrate.run(legacy_db.params(), MIGRATIONS, None, 1, "test", "r", check_mode=False)
    with legacy_db.connect() as conn:
        conn.execute(
            "INSERT INTO core.webhook_registry (name, url, event_types) VALUES ('ops', %s, ARRAY['rollback.started'])",
            [http.url("/registry")],
        )
    events.emit(legacy_db.params(), "phase.started", "Phase 2 started", {}, "r", [], None)
    events.emit(legacy_db.params(), "rollback.started", "Rollback started", {}, "r", [], None)
    assert [(r["path"], r["json"]["text"]) for r in http.received] == [
        ("/registry", "[Bay View runbook] Rollback started")
    ]
    assert legacy_db.scalar("SELECT count(*) FROM core.event_log WHERE source = 'bayview-runbook'") == 2

    params = legacy_db.params()
    params["connection"]["port"] = free_port()  # nothing listens: the database is "down"
    result = events.emit(
        params, "phase.failed", "Phase 2 failed", {}, "r", [fast({"name": "h", "url": http.url()})], None
    )
    assert not result["stored"] and result["deliveries"][0]["status"] == "delivered"
