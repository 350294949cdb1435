"""Phases 1-5 in order through ansible-playbook, with real HTTP and SMTP receivers: the gates,
sign-off, notifications, the audit copy, the cutover's confirmation and the portable export."""

from __future__ import annotations

import json
import os

import pytest
from conftest import run_playbook

from bayview_runbook.receivers import HttpReceiver, SmtpReceiver


@pytest.fixture
def receivers():
    http, smtp = HttpReceiver(), SmtpReceiver()
    os.environ["BAYVIEW_WEBHOOK_URL"], os.environ["BAYVIEW_SMTP_PORT"] = http.url(), str(smtp.port)
    yield http, smtp
    del os.environ["BAYVIEW_WEBHOOK_URL"], os.environ["BAYVIEW_SMTP_PORT"]
    http.stop()
    smtp.stop()


def test_phases_one_to_five_with_gates_events_audit_and_export(legacy_db, receivers, tmp_path):
    http, smtp = receivers
    store = tmp_path / "store"
    store_arg = f"restore_point_store=file://{store}"
    for phase in range(1, 6):
        result = run_playbook(legacy_db, f"phase{phase}.yml", "-e", store_arg, records_dir=tmp_path)
        assert result.returncode == 0, result.output[-4000:]
    gates = legacy_db.query("SELECT phase, passed, signoff_kind FROM migration.phase_gates ORDER BY phase")
    assert gates == [(p, True, "automatic (local rehearsal)") for p in range(1, 6)]
    texts = http.texts()
    assert texts.count(f"[Bay View runbook] Phase 3 completed on {legacy_db.name}@127.0.0.1") == 1
    assert any("Restore point" in t and "Phase 5" in t for t in texts)
    assert len(smtp.messages) == len(texts)  # the same events by email
    # Phase 5 without confirmation: everything but the cutover.
    assert legacy_db.scalar("SELECT mode FROM migration.dual_write_mode") == "dual"
    [manifest] = store.glob(f"exports/{legacy_db.name}/*/manifest.json")
    export = json.loads(manifest.read_text())
    assert export["tables"]["core.persons"] == legacy_db.scalar("SELECT count(*) FROM core.persons") > 0
    assert set(export["files"]) == {"schema.sql", "data.pgcustom"}
    audits = list(store.glob(f"audit/{legacy_db.name}/*-phase*.json"))
    assert len(audits) == 5 and all(json.loads(a.read_text())["status"] == "succeeded" for a in audits)
    assert legacy_db.scalar("SELECT count(*) FROM migration.performance_baselines") >= 4

    confirmed = run_playbook(
        legacy_db, "phase5.yml", "-e", store_arg, "-e", f"confirm_cutover={legacy_db.name}", records_dir=tmp_path
    )
    assert confirmed.returncode == 0, confirmed.output[-4000:]
    assert legacy_db.scalar("SELECT mode FROM migration.dual_write_mode") == "modern-only"
    assert any("is now modern-only" in t for t in http.texts())


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
