"""Phases 1-5 in order through ansible-playbook, with real HTTP and SMTP receivers: the gates,
sign-off, notifications, the audit copy, the cutover's confirmation and the portable export."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest
from browser import open_page
from conftest import playbook_command, run_playbook
from selenium.webdriver.common.by import By

from bayview_runbook.data_access import BridgeAdapter, ModernAdapter
from bayview_runbook.localpg import APP_ROLE
from bayview_runbook.receivers import HttpReceiver, SmtpReceiver
from bayview_runbook.rehearsal import NOTION_TOKEN, notion_for, notion_report, rollback_in_the_middle_of_phase3

PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")


@pytest.fixture
def receivers():
    http, smtp = HttpReceiver(), SmtpReceiver()
    os.environ["BAYVIEW_WEBHOOK_URL"], os.environ["BAYVIEW_SMTP_PORT"] = http.url(), str(smtp.port)
    yield http, smtp
    del os.environ["BAYVIEW_WEBHOOK_URL"], os.environ["BAYVIEW_SMTP_PORT"]
    http.stop()
    smtp.stop()


@pytest.fixture
def notion(legacy_db):
    """The rehearsal's Notion: the local API server with the sample made from legacy_db's rows, read by
    Phase 3 through the local inventory (the environment the rehearsal sets)."""
    server, env = notion_for(legacy_db.cluster.conninfo(dbname=legacy_db.name))
    os.environ.update(env)
    with server:
        yield server
    for name in env:
        del os.environ[name]


@pytest.mark.e2e  # the longest end-to-end case: make e2e (and CI) runs it
def test_phases_one_to_five_with_gates_events_audit_and_export(legacy_db, receivers, notion, tmp_path):
    http, smtp = receivers
    store = tmp_path / "store"
    store_arg = f"restore_point_store=file://{store}"
    for phase in range(1, 6):
        # Phase 3 in batches of 500 rows, so that the report's chart has several bars.
        extra = ("-e", "bayview_batch_size=500") if phase == 3 else ()
        result = run_playbook(legacy_db, f"phase{phase}.yml", "-e", store_arg, *extra, records_dir=tmp_path)
        assert result.returncode == 0, result.output[-4000:]
        if phase == 3:
            # Again, on unchanged data: the sample was loaded in bulk (one updated_at, inside the sync's
            # margin), so the sync reads every row again, and must find nothing to change.
            again = run_playbook(legacy_db, "phase3.yml", "-e", store_arg, *extra, records_dir=tmp_path)
            assert again.returncode == 0 and again.changed == 0, again.output[-4000:]
            check_notion_reconciliation(legacy_db, tmp_path)
    gates = legacy_db.query("SELECT phase, passed, signoff_kind FROM migration.phase_gates ORDER BY phase")
    assert gates == [(p, True, "automatic (local rehearsal)") for p in (1, 2, 3, 3, 4, 5)]
    texts = http.texts()
    assert texts.count(f"[Bay View runbook] Phase 3 completed on {legacy_db.name}@127.0.0.1") == 2
    assert any("Restore point" in t and "Phase 5" in t for t in texts)
    assert len(smtp.messages) == len(texts)  # the same events by email
    # Phase 5 without confirmation: everything but the cutover.
    assert legacy_db.scalar("SELECT mode FROM migration.dual_write_mode") == "dual"
    [descriptor] = store.glob(f"exports/{legacy_db.name}/*/datapackage.json")  # the whole system's package
    export = json.loads(descriptor.read_text())["bayview"]
    assert export["tables"]["core.persons"]["rows"] == legacy_db.scalar("SELECT count(*) FROM core.persons") > 0
    assert export["tables"]["bayview.memorials"]["rows"] == legacy_db.scalar("SELECT count(*) FROM bayview.memorials")
    audits = list(store.glob(f"audit/{legacy_db.name}/*-phase*.json"))
    assert len(audits) == 6 and all(json.loads(a.read_text())["status"] == "succeeded" for a in audits)
    assert legacy_db.scalar("SELECT count(*) FROM migration.performance_baselines") >= 4
    assert len(list(store.glob(f"audit/{legacy_db.name}/*-phase*.html"))) == 6
    check_phase3_report_in_a_browser(legacy_db, tmp_path)

    # The confirmed cutover: coverage is complete and Phase 4's validation passed, so it goes ahead.
    confirmed = run_playbook(
        legacy_db, "phase5.yml", "-e", store_arg, "-e", f"confirm_cutover={legacy_db.name}", records_dir=tmp_path
    )
    assert confirmed.returncode == 0, confirmed.output[-4000:]
    assert legacy_db.scalar("SELECT mode FROM migration.dual_write_mode") == "modern-only"
    # After it the association records a memorial and a chapel service in the new design.
    with legacy_db.connect(APP_ROLE) as app:
        memorial = ModernAdapter(app).create(
            "memorial_application",
            {"submission_id": "MG-after-cutover", "application_type": "immediate"},
            persons={"deceased": {"first_name": "Ruth", "last_name": "King"}},
        )
        service = ModernAdapter(app).create(
            "chapel_service",
            {"service_type": "baptism", "service_date": "2027-05-02", "service_time": "11:00", "status": "pending"},
            details={"child_name": "Ada"},
        )
        assert (
            BridgeAdapter(app).record("memorial_application", memorial)[1]["persons"]["deceased"]["last_name"] == "King"
        )
        assert BridgeAdapter(app).record("chapel_service", service)[1]["details"]["child_name"] == "Ada"

    # Phase 5 again without the confirmation keeps modern-only; nothing leaves it without its own.
    again = run_playbook(legacy_db, "phase5.yml", "-e", store_arg, records_dir=tmp_path)
    assert again.returncode == 0, again.output[-4000:]
    assert legacy_db.scalar("SELECT mode FROM migration.dual_write_mode") == "modern-only"
    refused = run_playbook(legacy_db, "phase2.yml", "-e", store_arg)
    assert refused.returncode != 0 and "confirm_leave_modern_only" in " ".join(refused.stdout.split())
    assert legacy_db.scalar("SELECT mode FROM migration.dual_write_mode") == "modern-only"

    # After the cutover, the emergency rollback refuses to take the new records out without its own confirmation.
    refused = run_playbook(legacy_db, "emergency_rollback.yml", "-e", store_arg)
    assert refused.returncode != 0 and "cut over to modern-only" in refused.stdout
    assert legacy_db.scalar("SELECT mode FROM migration.dual_write_mode") == "modern-only"
    assert legacy_db.scalar("SELECT count(*) FROM migration.runbook_halts") == 0


def check_notion_reconciliation(legacy_db, records_dir):
    """What the rehearsal prints of Phase 3's Notion sync, as the run record and the database hold it:
    every rule and outcome, quarantined pages, a probable duplicate, differences, and each of Notion's
    winning values in its record of the new design."""
    found = notion_report(legacy_db.cluster.conninfo(dbname=legacy_db.name), records_dir)
    assert found is not None, "no Phase 3 record with a Notion reconciliation"
    seen = {(r["database"], r["outcome"], r["rule"]) for r in found["by_rule"]}
    for database in ("memorial_garden", "chapel"):
        for rule in ("notion_id", "database_id", "title"):
            assert (database, "matched", rule) in seen, found["summary"]
        assert {(database, "created", "-"), (database, "quarantined", "-")} <= seen, found["summary"]
    assert found["quarantined"] > 0 and found["probable_duplicates"] > 0 and found["differences"] > 0
    assert found["winners"]["notion"] > 0 and found["winners"]["legacy"] > 0
    assert sum(a["applied"] for a in found["applied"]) == found["winners"]["notion"], found["applied"]
    assert not any(NOTION_TOKEN in p.read_text() for p in records_dir.glob("*-phase3.*"))


def check_phase3_report_in_a_browser(legacy_db, records_dir):
    """The Phase 3 report, rendered in headless Chromium: what a person sees agrees with the database."""
    # The first Phase 3 (the one that migrated in batches; the second found nothing to change).
    report = sorted(records_dir.glob("*-phase3.html"))[0]
    gate_restore_point, criteria = legacy_db.query(
        "SELECT restore_point, jsonb_array_length(criteria) FROM migration.phase_gates WHERE phase = 3 ORDER BY id"
    )[0]
    migrated = legacy_db.scalar(
        "SELECT count(*) FROM core.person_legacy_links WHERE data_migration = '0001_memorial_persons'"
    )
    batches = legacy_db.scalar(
        "SELECT batches FROM migration.data_migration_checkpoints WHERE data_migration = '0001_memorial_persons'"
    )
    driver = open_page(report)
    try:
        by_css = driver.find_element
        assert "Phase 3" in driver.title
        assert by_css(By.ID, "result").is_displayed() and by_css(By.ID, "result").text == "SUCCEEDED"
        rows = by_css(By.ID, "checklist").find_elements(By.CSS_SELECTOR, "tr")[1:]
        assert len(rows) == criteria == 7
        assert all(r.find_elements(By.CSS_SELECTOR, "td")[1].text == "PASS" for r in rows)
        assert any("the migrated data validated" in r.text for r in rows)
        assert "signed off by automatic (local rehearsal)" in by_css(By.ID, "signoff").text
        assert gate_restore_point in by_css(By.ID, "restore-points").text
        ledger_rows = [r.text for r in by_css(By.ID, "ledger").find_elements(By.CSS_SELECTOR, "tr")[1:]]
        assert len(ledger_rows) == 22 and ledger_rows[-1].endswith("applied applied")
        memorial = by_css(By.ID, "counts").find_elements(By.CSS_SELECTOR, "tr")[1]
        assert memorial.find_elements(By.CSS_SELECTOR, "td")[4].text == f"{migrated:,}"
        assert "PASSED" in by_css(By.ID, "validation-result").text
        assert "validation" in by_css(By.ID, "timings").text
        staged = legacy_db.scalar("SELECT count(*) FROM migration.notion_pages")
        assert f"{staged:,} staged pages" in by_css(By.ID, "notion-totals").text
        notion_rows = by_css(By.ID, "notion").find_elements(By.CSS_SELECTOR, "tr")[1:]
        assert len(notion_rows) == legacy_db.scalar(
            "SELECT count(DISTINCT (notion_database, outcome, coalesce(match_rule, '-'))) FROM migration.notion_pages"
        )
        assert "is not a time of day" in by_css(By.ID, "notion-quarantined").text
        assert "notion" in by_css(By.ID, "notion-differences").text
        chart = driver.find_elements(By.CSS_SELECTOR, "figure.chart")[0]
        assert chart.is_displayed() and f"{batches} batches" in chart.text and batches >= 4
        bars = chart.find_elements(By.CSS_SELECTOR, "rect.bar")
        assert len(bars) == batches and all(b.size["height"] > 0 for b in bars)
        assert len(driver.get_screenshot_as_png()) > 10_000
    finally:
        driver.quit()


def test_a_phase_refuses_to_start_before_the_previous_one_is_signed_off(legacy_db, tmp_path):
    store_arg = f"restore_point_store=file://{tmp_path / 'store'}"
    assert run_playbook(legacy_db, "phase1.yml", "-e", store_arg, "-e", "bayview_auto_signoff=false").returncode == 0
    refused = run_playbook(legacy_db, "phase2.yml", "-e", store_arg)
    assert refused.returncode != 0
    assert "Phase 2 cannot start: Phase 1 passed" in refused.stdout and "signoff.yml" in refused.stdout
    assert legacy_db.scalar("SELECT count(*) FROM migration.runbook_ledger WHERE phase = 2") == 0
    signed = run_playbook(legacy_db, "signoff.yml", "-e", "phase=1", "-e", '{"signoff_by": "Jane Operator"}')
    assert signed.returncode == 0, signed.output
    assert legacy_db.scalar("SELECT signed_off_by FROM migration.phase_gates WHERE phase = 1") == "Jane Operator"
    assert run_playbook(legacy_db, "phase2.yml", "-e", store_arg).returncode == 0


@pytest.mark.e2e  # make e2e (and CI after make test) runs it; the rehearsal does the same
def test_emergency_rollback_in_the_middle_of_phase_3(dual_db, tmp_path):
    """Phase 3 is migrating when the emergency rollback to the end of Phase 1 starts: one of its
    batches is held in flight by a lock the rehearsal controls (so the test does not depend on the
    machine's speed). The rollback stops that batch, reverses the data migrations, runs the down
    migrations, proves the legacy data unchanged and voids the gates of Phases 2 on."""
    store_arg = f"restore_point_store=file://{tmp_path / 'store'}"
    legacy_before = dual_db.pg_dump("bayview", "crouse_chapel")  # Phases 1 and 2 are done (dual_template)
    _, env = playbook_command(dual_db, "phase3.yml", records_dir=tmp_path)
    env["BAYVIEW_RESTORE_POINT_DIR"] = str(tmp_path / "store")
    rollback, phase3, held = rollback_in_the_middle_of_phase3(
        PLAYBOOK, dual_db.cluster, dual_db.name, env, ["-e", "target_version=4"]
    )
    assert rollback.returncode == 0, rollback.stdout[-4000:] + rollback.stderr
    assert phase3.returncode != 0, "the interrupted Phase 3 must fail"
    assert held["batches_committed"] == 3  # the fourth batch was in flight
    # The halt ended the runbook session the rehearsal kept open (holding the row the batch waits on).
    stopped = re.search(r"Runbook sessions stopped: \[([\d, ]*)\]", rollback.stdout)
    assert stopped and str(held["holder_pid"]) in stopped.group(1).split(", "), (held, rollback.stdout[-3000:])
    assert "Phase 3 stopped at 'Migrate in batches'" in phase3.stdout, phase3.stdout[-3000:]

    # Nothing of the new design's data is left, the legacy data is byte for byte as it was.
    assert dual_db.scalar("SELECT count(*) FROM core.persons") == 0
    assert dual_db.scalar("SELECT to_regclass('migration.data_migration_checkpoints')") is None
    assert dual_db.pg_dump("bayview", "crouse_chapel") == legacy_before
    assert dual_db.scalar("SELECT max(version) FROM migration.runbook_ledger WHERE status = 'applied'") == 4
    latest = dict(
        dual_db.query("SELECT DISTINCT ON (phase) phase, passed FROM migration.phase_gates ORDER BY phase, id DESC")
    )
    assert latest == {1: True, 2: False}
    events = [r[0] for r in dual_db.query("SELECT event_type FROM migration.runbook_events ORDER BY id")]
    assert events.index("rollback.started") < events.index("rollback.completed")
    assert "phase.failed" in events
    [failed] = [json.loads(p.read_text()) for p in tmp_path.glob("*-phase3.json")]
    assert failed["status"] == "failed"
    driver = open_page(Path(failed["report_file"]))
    try:  # the report of the interrupted run says so where a person looks first
        assert driver.find_element(By.ID, "result").text == "FAILED"
        stopped = driver.find_element(By.ID, "stopped")
        assert stopped.is_displayed() and "Stopped at:" in stopped.text and "Restore point of this run" in stopped.text
    finally:
        driver.quit()

    # The way forward is the phases again, in order: Phase 3 refuses until Phase 2 passed again.
    refused = run_playbook(dual_db, "phase3.yml", "-e", store_arg)
    assert refused.returncode != 0 and "Phase 2 did not pass" in refused.stdout
    for phase in (2, 3):
        again = run_playbook(dual_db, f"phase{phase}.yml", "-e", store_arg, records_dir=tmp_path)
        assert again.returncode == 0, again.output[-4000:]
    assert dual_db.scalar("SELECT count(*) FROM migration.runbook_halts WHERE cleared_at IS NULL") == 0
    assert dual_db.scalar("SELECT passed FROM migration.phase_gates WHERE phase = 3 ORDER BY id DESC LIMIT 1")
