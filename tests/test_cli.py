"""bayview-runbook, the operator CLI, run as operators run it: a subprocess on ansible-runner
against a real database, with live progress, the playbook's exit status, and artifacts kept
without secrets."""

from __future__ import annotations

import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import playbook_command

from bayview_runbook.engine import ROOT
from bayview_runbook.receivers import HttpReceiver

CLI = str(Path(sys.executable).parent / "bayview-runbook")


def run_cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.e2e  # every CLI command in turn (minutes): make e2e (and CI after make test) runs it
def test_cli_phases_status_rollback_restore_with_clean_artifacts(legacy_db, tmp_path):
    _, env = playbook_command(legacy_db, "phase1.yml", records_dir=tmp_path / "records")
    token = secrets.token_hex(16)
    webhook = HttpReceiver()
    env.update(
        {
            "BAYVIEW_ARTIFACTS_DIR": str(tmp_path / "artifacts"),
            "BAYVIEW_RESTORE_POINT_DIR": str(tmp_path / "store"),
            # Secrets an operator's shell may hold: none may reach the artifacts.
            "BAYVIEW_WEBHOOK_URL": f"{webhook.url()}?token={token}",
            "AWS_SECRET_ACCESS_KEY": f"aws-{token}",
            "DB_PASS": f"db-pass-{token}",
        }
    )
    # The runbook role's real password, passed on the command line as operators do.
    password = next(
        line.rsplit(":", 1)[1].strip()
        for line in legacy_db.cluster.passfile.read_text().splitlines()
        if ":bayview_runbook:" in line
    )
    try:
        phase1 = run_cli(
            env,
            "phase",
            "1",
            "--operator",
            "Jane Operator",
            "-e",
            f"bayview_db_password={password}",
            "-e",
            "bayview_admin_db_password=",  # the scratch copy's superuser reads the password file
        )
    finally:
        webhook.stop()
    assert phase1.returncode == 0, phase1.stdout + phase1.stderr
    assert "changed  Bring the database to the planned version" in phase1.stdout  # live, one line per task
    assert "recap rehearsal: ok=" in phase1.stdout
    report = next(line.split("run report ")[1] for line in phase1.stdout.splitlines() if "run report " in line)
    assert Path(report).exists()
    assert webhook.received, "the webhook got the events"
    assert legacy_db.scalar("SELECT operator FROM migration.runbook_runs") == "Jane Operator"

    # Check mode changes nothing; a phase out of order fails with the playbook's exit status.
    check = run_cli(env, "phase", "2", "--check")
    assert check.returncode == 0, check.stdout
    assert legacy_db.scalar("SELECT count(*) FROM migration.runbook_ledger WHERE phase = 2") == 0
    early = run_cli(env, "phase", "3")
    assert early.returncode == 2
    assert "FAILED" in early.stdout and "Phase 3 cannot start" in early.stdout

    status = run_cli(env, "status")
    assert status.returncode == 0, status.stdout
    assert "Ledger version 4" in status.stdout and "Phase 1: passed, automatic (local rehearsal)" in status.stdout
    assert "phase1" in status.stdout.split("Newest restore points:")[1]

    covered = run_cli(env, "coverage")
    assert covered.returncode == 0, covered.stdout  # the whole record is carried: nothing stands in the cutover's way
    assert "bayview.memorials: 50 mapped, 1 not carried, 0 unmapped of 51" in covered.stdout
    assert "169 legacy columns in 20 tables: 162 mapped, 7 not carried, 0 unmapped" in covered.stdout

    rollback = run_cli(env, "rollback", "--to", "0")
    assert rollback.returncode == 0, rollback.stdout
    assert legacy_db.scalar("SELECT count(*) FROM migration.runbook_ledger WHERE status = 'applied'") == 0

    restore = run_cli(env, "restore", "--point", "latest")  # into a new database only: no --confirm
    assert restore.returncode == 0, restore.stdout

    bad = run_cli(env, "phase", "2", "-e", "oops")
    assert bad.returncode != 0 and "is not KEY=VALUE" in bad.stderr

    artifacts = [p for p in (tmp_path / "artifacts").rglob("*") if p.is_file()]
    assert len({p.relative_to(tmp_path / "artifacts").parts[0] for p in artifacts}) == 7  # one per run
    for path in artifacts:
        text = path.read_text(errors="replace")
        assert token not in text and password not in text, f"a secret leaked into {path}"
        assert "\x1b[" not in text, f"terminal colour codes in {path}"
    assert any("********" in p.read_text() for p in artifacts if p.name == "command")
    assert not any("bayview_db_password" in p.read_text() for p in artifacts if p.name == "command")
