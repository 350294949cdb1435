"""The full rehearsal on the local default: every operator action that exists, in order,
run for real with ansible-playbook against the disposable local PostgreSQL.

Phase 1 (and again, changing nothing), the emergency rollback to the baseline, Phases 1-2, then
Phase 3 interrupted by an emergency rollback in the middle of its batches, Phases 2-5 again in
order (local gates sign off automatically; Phase 5 stops short of the cutover, which needs
confirm_cutover), a check of the newest restore point and a restore drill. Every event goes to a
real local HTTP webhook receiver and SMTP server started for the rehearsal; every run leaves an
HTML report beside its record.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from bayview_runbook.localpg import LocalCluster
from bayview_runbook.receivers import HttpReceiver, SmtpReceiver

ROOT = Path(__file__).resolve().parent.parent

# Phase 3 slowed down (small batches, a rest between them) so that the rollback finds it at work.
SLOW_PHASE3 = ["-e", "bayview_batch_size=100", "-e", "bayview_batch_pause_seconds=0.2"]
MID_PHASE3 = "mid-phase3"

# (title, playbook, extra arguments, must it change nothing?)
STEPS = [
    ("Phase 1 (foundation)", "playbooks/phase1.yml", [], False),
    ("Phase 1 again (must change nothing)", "playbooks/phase1.yml", [], True),
    ("Emergency rollback to the baseline", "playbooks/emergency_rollback.yml", ["-e", "target_version=0"], False),
    ("Phase 1 after the rollback", "playbooks/phase1.yml", [], False),
    ("Phase 2 (parallel implementation)", "playbooks/phase2.yml", [], False),
    ("Emergency rollback in the middle of Phase 3", MID_PHASE3, ["-e", "target_version=4"], False),
    ("Phase 2 again", "playbooks/phase2.yml", [], False),
    ("Phase 3 (data migrations, batches of 500)", "playbooks/phase3.yml", ["-e", "bayview_batch_size=500"], False),
    ("Phase 4 (testing and validation)", "playbooks/phase4.yml", [], False),
    ("Phase 5 (cutover prepared, not confirmed)", "playbooks/phase5.yml", [], False),
    ("Verify the newest restore point", "playbooks/restore_point.yml", ["-e", "action=verify"], True),
    ("Restore drill (newest into a scratch database)", "playbooks/restore_drill.yml", [], True),
]


def rollback_in_the_middle_of_phase3(
    playbook: str, cluster, dbname: str, env: dict, extra: list[str]
) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]:
    """Start Phase 3 (slowed down), wait until its batches are under way, then run the emergency
    rollback with `extra`. Returns (the rollback, Phase 3): Phase 3 must have failed, interrupted."""
    phase3 = subprocess.Popen(
        [playbook, "playbooks/phase3.yml", *SLOW_PHASE3],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        with psycopg.connect(cluster.conninfo(dbname=dbname), autocommit=True) as conn:
            deadline = time.monotonic() + 120
            while not conn.execute(
                "SELECT count(*) FROM migration.data_migration_checkpoints WHERE status = 'running' AND batches >= 3"
            ).fetchone()[0]:
                if phase3.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("Phase 3 never got under way: see its output")
                time.sleep(0.2)
        rollback = subprocess.run(
            [playbook, "playbooks/emergency_rollback.yml", *extra],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        phase3_output = phase3.communicate(timeout=120)[0]
    finally:
        phase3.kill()
    return rollback, subprocess.CompletedProcess(phase3.args, phase3.returncode, phase3_output, "")


def playbook_env(cluster: LocalCluster, dbname: str, records_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(cluster.env())
    env.update(
        {
            "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
            "BAYVIEW_DB_NAME": dbname,
            "BAYVIEW_RECORDS_DIR": str(records_dir),
            "BAYVIEW_RESTORE_POINT_DIR": str(records_dir.parent / "restore_points"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "ANSIBLE_FORCE_COLOR": "0",
        }
    )
    return env


def recap_changed(output: str) -> int | None:
    for line in output.splitlines():
        if "changed=" in line and "ok=" in line:
            return int(line.split("changed=")[1].split()[0])
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", default=".rehearsal")
    parser.add_argument("--dbname", default="bayview_rehearsal")
    args = parser.parse_args(argv)
    cluster = LocalCluster.at(Path(args.state))
    state = Path(args.state).resolve()
    records_dir = state / "records"
    logs_dir = state / "logs"
    logs_dir.mkdir(parents=True, exist_ok=True)
    env = playbook_env(cluster, args.dbname, records_dir)
    webhook, smtp = HttpReceiver(), SmtpReceiver()
    env.update({"BAYVIEW_WEBHOOK_URL": webhook.url(), "BAYVIEW_SMTP_PORT": str(smtp.port)})
    try:
        return _run_steps(args, cluster, state, records_dir, logs_dir, env, webhook, smtp)
    finally:
        webhook.stop()
        smtp.stop()


def _run_steps(args, cluster, state, records_dir, logs_dir, env, webhook, smtp) -> int:
    playbook = str(Path(sys.executable).parent / "ansible-playbook")
    started_all = time.monotonic()
    print(f"Rehearsal on 127.0.0.1:{cluster.port}/{args.dbname}")
    for number, (title, path, extra, must_be_idle) in enumerate(STEPS, start=1):
        started = time.monotonic()
        log = logs_dir / f"{number:02d}-{Path(path).stem}.log"
        if path == MID_PHASE3:
            result, phase3 = rollback_in_the_middle_of_phase3(playbook, cluster, args.dbname, env, extra)
            if phase3.returncode == 0:
                result.returncode = 1  # the rollback did not stop Phase 3
            result.stdout += "\n--- the interrupted Phase 3 ---\n" + phase3.stdout
        else:
            result = subprocess.run(
                [playbook, path, *extra], cwd=ROOT, env=env, capture_output=True, text=True, check=False
            )
        log.write_text(result.stdout + result.stderr)
        took = time.monotonic() - started
        changed = recap_changed(result.stdout)
        failed = result.returncode != 0 or (must_be_idle and changed != 0)
        status = "FAILED" if failed else "ok"
        print(f"  {number}. {title:<48} {status:<8} changed={changed}  {took:5.1f}s  log: {log}")
        if failed:
            print(result.stdout[-3000:], file=sys.stderr)
            print(f"Rehearsal stopped at step {number}; the full log is {log}", file=sys.stderr)
            return 1
    records = sorted(records_dir.glob("*.json"))
    reports = sorted(records_dir.glob("*-phase*.html"))
    print(f"Rehearsal passed in {time.monotonic() - started_all:.1f}s.")
    print(f"Run records:    {records_dir} (newest: {records[-1].name if records else 'none'})")
    print(f"                and table migration.runbook_runs in {args.dbname}")
    print(f"Run reports:    {reports[-1] if reports else 'none'} (newest phase; one per run beside its record)")
    print(f"Restore points: {state / 'restore_points' / args.dbname}")
    drills = sorted(records_dir.glob("*-restore_drill.json"))
    if drills:
        drill = json.loads(drills[-1].read_text())["details"]["drill"]
        print(f"Restore drill:  {drill['restore_point']} restored in {drill['seconds_to_restore']}s")
    print(
        f"Inspect:        PGPASSFILE={cluster.passfile} psql -h 127.0.0.1 -p {cluster.port} "
        f"-U bayview_runbook {args.dbname}"
    )
    print(f"Notifications:  {len(webhook.received)} webhook posts, {len(smtp.messages)} emails received")
    print("Stop:           make rehearsal-stop")
    return 0


if __name__ == "__main__":
    sys.exit(main())
