"""The rehearsal's Notion sample (bayview_runbook/notion_sample.py), served by the local Notion API
server to the real SDK and reconciled with the legacy rows it was made from: every rule and outcome
appears. Phases 1-5 reading it through the inventory, with ansible-playbook: tests/test_phases.py."""

from __future__ import annotations

import json

from ansible.module_utils.bayview import migrate, notion_sync
from conftest import MIGRATIONS

from bayview_runbook.rehearsal import NOTION_TOKEN, notion_for

# What the sample holds, per database (bayview_runbook/notion_sample.py): ten pages matched by each
# rule (and five future applications matched to prepayments), a conflict, an unreadable value, and
# the Notion-only pages (the memorial garden's with a retried submission).
RECONCILED = {
    "memorial_garden matched by notion_id": 10,
    "memorial_garden matched by database_id": 15,
    "memorial_garden matched by title": 10,
    "memorial_garden quarantined by database_id": 1,
    "memorial_garden quarantined": 1,
    "memorial_garden created": 9,
    "chapel matched by notion_id": 10,
    "chapel matched by database_id": 10,
    "chapel matched by title": 10,
    "chapel quarantined by database_id": 1,
    "chapel quarantined": 1,
    "chapel created": 6,
}


def test_the_notion_sample_is_reconciled_by_every_rule_with_every_outcome(legacy_db):
    db = legacy_db
    migrate.run(db.params(), MIGRATIONS, None, 2, "test", "r", check_mode=False)
    notion, env = notion_for(db.cluster.conninfo(dbname=db.name))
    with notion:
        result = notion_sync.sync(
            db.params(),
            "api",
            token=env["NOTION_TOKEN"],
            data_sources=json.loads(env["BAYVIEW_NOTION_DATA_SOURCES"]),
            base_url=env["BAYVIEW_NOTION_API_URL"],
            requests_per_second=10,
        )
    assert result["reconciliation"]["reconciled"] == RECONCILED
    report = result["report"]
    reasons = sorted(q["reason"] for q in report["quarantined_pages"])
    assert [r.split(":")[0] for r in reasons[2:]] == ["conflict", "conflict"], reasons
    assert "Database ID 'see office' is not a number" in reasons
    assert "Service Time 'after the 11 o''clock service' is not a time of day" in reasons
    assert report["duplicate_pages"] == [
        {"database": "memorial_garden", "title": "MG-1768226940000", "duplicate_of": "MG-1768226700000"}
    ]
    # Staff edited three pages of each rule in Notion after their legacy row: Notion wins a memorial's
    # service date, a chapel service's status and, for one, its slot; the other differences are the
    # legacy row's.
    won = db.query(
        "SELECT p.notion_database, d.field, count(*) FROM migration.notion_differences d "
        "JOIN migration.notion_pages p ON p.id = d.notion_page_id WHERE d.winner = 'notion' GROUP BY 1, 2 ORDER BY 1, 2"
    )
    assert won == [
        ("chapel", "service_date", 3),
        ("chapel", "service_time", 3),
        ("chapel", "status", 9),
        ("memorial_garden", "service_date", 9),
    ]
    # One more memorial page of each rule holds the fee the form first wrote; the office corrected the
    # row since, so the legacy row wins (and nothing else differs: placeholders are not differences).
    lost = db.query(
        "SELECT p.notion_database, d.field, count(*) FROM migration.notion_differences d "
        "JOIN migration.notion_pages p ON p.id = d.notion_page_id WHERE d.winner = 'legacy' GROUP BY 1, 2 ORDER BY 1, 2"
    )
    assert lost == [("memorial_garden", "fee", 3)]
    assert NOTION_TOKEN not in json.dumps(result)
