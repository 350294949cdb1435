"""The full rehearsal on the local default: every operator action that exists, in order,
run for real with ansible-playbook against the disposable local PostgreSQL.

Phase 1 (and again, changing nothing), the emergency rollback to the baseline, Phases 1-2, then
Phase 3 interrupted by an emergency rollback in the middle of its batches, Phases 2-5 again in
order (local gates sign off automatically; Phase 5 stops short of the cutover, which needs
confirm_cutover), a check of the newest restore point and a restore drill. Every event goes to a
real local HTTP webhook receiver and SMTP server started for the rehearsal; every run leaves an
HTML report beside its record. Phase 3 reads Notion through the real SDK from a local Notion API
server holding a sample made from the legacy rows (notion_sample); the rehearsal ends with its
reconciliation report.
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
from psycopg import sql

from bayview_runbook import notion_sample
from bayview_runbook.engine import DATA_MIGRATIONS, data_migrate, data_migration_sql, data_migrations
from bayview_runbook.localpg import RUNBOOK_ROLE, LocalCluster
from bayview_runbook.notion_local import NotionServer
from bayview_runbook.receivers import HttpReceiver, SmtpReceiver

ROOT = Path(__file__).resolve().parent.parent

# Phase 3 in small batches: the rollback holds its fourth batch in flight (see below). The batch
# waits for the held lock as long as it takes, instead of giving up after lock_timeout.
HELD_PHASE3_BATCH_SIZE = 100
HELD_PHASE3 = ["-e", f"bayview_batch_size={HELD_PHASE3_BATCH_SIZE}", "-e", "bayview_lock_timeout_ms=300000"]
MID_PHASE3 = "mid-phase3"
RUNBOOK_APPLICATION = "bayview-runbook"  # the application_name the halt ends sessions by
# Longest the rehearsal waits for Phase 3 to reach the held batch: a failure guard, not a timing.
HELD_BATCH_WAIT_SECONDS = 600

# A made-up integration secret that only the local Notion server knows: never printed or recorded.
NOTION_TOKEN = "secret_rehearsal_" + "x" * 24  # noqa: S105

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
) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess, dict]:
    """Start Phase 3 with one of its batches held in flight, then run the emergency rollback with
    `extra`. Returns (the rollback, Phase 3, the held batch's session).

    Nothing here depends on the machine's speed. Before Phase 3 starts, a second runbook session
    (as a stuck batch worker would be) writes an uncommitted link for a legacy row of the memorial
    persons' fourth batch: the first three batches commit, the fourth waits on that row for as long
    as it takes. The rollback starts only once that batch is seen waiting, and its halt ends both
    runbook sessions, so there is always a session to stop and the lock goes with it."""
    memorials = data_migrations.load(DATA_MIGRATIONS, "0001_memorial_persons")
    holder = psycopg.connect(
        cluster.conninfo(user=RUNBOOK_ROLE, dbname=dbname), application_name=RUNBOOK_APPLICATION
    )  # not autocommit: the held row stays uncommitted until the halt ends this session
    phase3 = None
    try:
        legacy_id, role = holder.execute(
            sql.SQL(
                "WITH " + data_migration_sql.CLASSIFIED + " SELECT legacy_id, role FROM cls WHERE outcome = 'migrated' "
                "ORDER BY legacy_id, role LIMIT 1"
            ).format(candidates=data_migrate.candidates_sql_for(holder, memorials)),
            {"lo": 3 * HELD_PHASE3_BATCH_SIZE, "hi": 4 * HELD_PHASE3_BATCH_SIZE, "ids": None},
        ).fetchone()
        person = holder.execute(
            "INSERT INTO core.persons (person_type, last_name) VALUES ('other', 'Held by the rehearsal') RETURNING id"
        ).fetchone()[0]
        holder.execute(
            "INSERT INTO core.person_legacy_links (person_id, legacy_table, legacy_id, role) VALUES (%s, %s, %s, %s)",
            [person, memorials.LEGACY_TABLE, legacy_id, role],
        )
        holder_pid = holder.info.backend_pid
        phase3 = subprocess.Popen(
            [playbook, "playbooks/phase3.yml", *HELD_PHASE3],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        held = _wait_for_held_batch(cluster, dbname, holder_pid, phase3)
        rollback = subprocess.run(
            [playbook, "playbooks/emergency_rollback.yml", *extra],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        phase3_output = phase3.communicate(timeout=HELD_BATCH_WAIT_SECONDS)[0]
    finally:
        if phase3 is not None:
            phase3.kill()
        holder.close()  # normally already ended by the halt
    return rollback, subprocess.CompletedProcess(phase3.args, phase3.returncode, phase3_output, ""), held


def _wait_for_held_batch(cluster, dbname: str, holder_pid: int, phase3: subprocess.Popen) -> dict:
    """The Phase 3 session whose batch waits on the held row, once it does."""
    deadline = time.monotonic() + HELD_BATCH_WAIT_SECONDS
    with psycopg.connect(cluster.conninfo(dbname=dbname), autocommit=True) as conn:
        while True:
            row = conn.execute(
                "SELECT pid, (SELECT batches FROM migration.data_migration_checkpoints "
                "WHERE data_migration = '0001_memorial_persons') FROM pg_catalog.pg_stat_activity "
                "WHERE %s = ANY(pg_catalog.pg_blocking_pids(pid))",
                [holder_pid],
            ).fetchone()
            if row:
                sessions = conn.execute(
                    "SELECT pid, usename, application_name, state, wait_event_type, left(query, 80) "
                    "FROM pg_catalog.pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ).fetchall()
                return {"pid": row[0], "holder_pid": holder_pid, "batches_committed": row[1], "sessions": sessions}
            if phase3.poll() is not None:
                raise RuntimeError("Phase 3 ended before it reached the held batch: see its output")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Phase 3 did not reach the held batch in {HELD_BATCH_WAIT_SECONDS}s")
            time.sleep(0.1)


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


def notion_for(conninfo: str) -> tuple[NotionServer, dict[str, str]]:
    """The local Notion API server (to start with `with`) holding the sample made from the legacy
    rows at conninfo, and the environment that makes the local inventory read it
    (bayview_notion_data_sources, notion_api_base_url, NOTION_TOKEN)."""
    server = NotionServer(NOTION_TOKEN)
    sources = notion_sample.load(server.state, conninfo)
    env = {
        "NOTION_TOKEN": NOTION_TOKEN,
        "BAYVIEW_NOTION_API_URL": server.base_url,
        "BAYVIEW_NOTION_DATA_SOURCES": json.dumps(sources),
    }
    return server, env


# Each difference Notion won, against the record of the new design its legacy row became (the
# application or service, and its contact): does the record hold Notion's value?
WINNERS_APPLIED = """
SELECT p.notion_database, d.field, count(*) AS won,
       count(*) FILTER (WHERE lower(r.doc ->> d.field) = lower(d.notion_value)) AS applied
  FROM migration.notion_differences d
  JOIN migration.notion_pages p ON p.id = d.notion_page_id
 CROSS JOIN LATERAL (
    SELECT coalesce((SELECT to_jsonb(m) FROM property.memorial_applications m
                      WHERE m.legacy_table = p.legacy_table AND m.legacy_id = p.legacy_id),
                    (SELECT to_jsonb(s) FROM events.chapel_services s
                      WHERE s.legacy_table = p.legacy_table AND s.legacy_id = p.legacy_id), '{}')
           || coalesce((SELECT jsonb_build_object('contact_email', c.email, 'contact_phone', c.phone)
                          FROM core.person_legacy_links l JOIN core.persons c ON c.id = l.person_id
                         WHERE l.legacy_table = p.legacy_table AND l.legacy_id = p.legacy_id AND l.role = 'contact'
                         LIMIT 1), '{}') AS doc
 ) r
 WHERE d.winner = 'notion'
 GROUP BY 1, 2 ORDER BY 1, 2
"""


def notion_report(conninfo: str, records_dir: Path) -> dict | None:
    """The reconciliation of the newest Phase 3 that succeeded, as its run record holds it, with the
    differences by winner and Notion's winning values found in the new design's records (read from
    the database now). None when no Phase 3 ran the Notion sync."""
    runs = [json.loads(p.read_text()) for p in sorted(records_dir.glob("*-phase3.json"))]
    runs = [r for r in runs if r.get("status") == "succeeded" and (r.get("details") or {}).get("notion")]
    if not runs:
        return None
    with psycopg.connect(conninfo) as conn:
        winners = dict(conn.execute("SELECT winner, count(*) FROM migration.notion_differences GROUP BY 1"))
        applied = [{"database": d, "field": f, "won": w, "applied": a} for d, f, w, a in conn.execute(WINNERS_APPLIED)]
    return {"run_id": runs[-1]["run_id"], **runs[-1]["details"]["notion"], "winners": winners, "applied": applied}


def print_notion_report(found: dict | None, server: NotionServer) -> None:
    requests = len(server.state.requests)
    if found is None:
        print(f"Notion:         no Phase 3 ran the Notion sync ({requests} requests to the local Notion API)")
        return
    pages = sum(len(p) for p in server.state.pages.values())
    print(f"Notion:         {pages} sample pages on the local Notion API, {requests} requests to it")
    print(f"                the reconciliation of Phase 3 (run {found['run_id']}, its record and the database):")
    for line in found["summary"]:
        print(f"                  {line}")
    won, applied = found["winners"].get("notion", 0), sum(a["applied"] for a in found["applied"])
    print(
        f"                  Differences won by Notion: {won}, by the legacy row: {found['winners'].get('legacy', 0)}; "
        f"Notion's value in the new design's record: {applied} of {won}"
    )
    for a in found["applied"]:
        print(f"                    {a['database']} {a['field']}: {a['applied']} of {a['won']}")


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
    notion, notion_env = notion_for(cluster.conninfo(dbname=args.dbname))
    env.update(notion_env)
    try:
        with notion:
            return _run_steps(args, cluster, state, records_dir, logs_dir, env, (webhook, smtp, notion))
    finally:
        webhook.stop()
        smtp.stop()


def _run_steps(args, cluster, state, records_dir, logs_dir, env, servers) -> int:
    webhook, smtp, notion = servers
    playbook = str(Path(sys.executable).parent / "ansible-playbook")
    started_all = time.monotonic()
    print(f"Rehearsal on 127.0.0.1:{cluster.port}/{args.dbname}")
    for number, (title, path, extra, must_be_idle) in enumerate(STEPS, start=1):
        started = time.monotonic()
        log = logs_dir / f"{number:02d}-{Path(path).stem}.log"
        if path == MID_PHASE3:
            result, phase3, _ = rollback_in_the_middle_of_phase3(playbook, cluster, args.dbname, env, extra)
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
    print_notion_report(notion_report(cluster.conninfo(dbname=args.dbname), records_dir), notion)
    print("Stop:           make rehearsal-stop")
    return 0


if __name__ == "__main__":
    sys.exit(main())
