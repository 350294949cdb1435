"""bayview-runbook: the operator's command line. It runs the playbooks through ansible-runner.

    bayview-runbook phase 2 [--inventory production] [--check] [--signoff-by "Name"]
    bayview-runbook rollback --to N                    (the emergency rollback to version N)
    bayview-runbook rollback --point ID --confirm DB   (the emergency rollback through a restore)
    bayview-runbook restore --point ID [--confirm DB]
    bayview-runbook status
    bayview-runbook export [--formats csv,jsonl,sql] [--list]
    bayview-runbook import --database NEW_NAME [--export-id ID]

A short line per task appears as it finishes, read from ansible-runner's events. The exit
status is the playbook's own. Each run keeps its artifacts (stdout, events, command) under
--artifacts, so they can be attached to a ticket: extra variables travel in a private file that
is removed after the run (never on the command line), the value of every secret-looking
environment or extra variable is replaced by ********, and there are no terminal colours.
The vault options of ansible-playbook (--vault-id, --vault-password-file, --ask-vault-pass)
are passed through.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import shlex
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import ansible_runner

ROOT = Path(__file__).resolve().parent.parent
REDACTED = "********"
# Words in the names of environment or extra variables whose values are secrets: DB_PASS,
# PGPASSWORD, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, bayview_db_password, bayview_webhooks,
# DATABASE_DSN ... (PWD and OLDPWD are the working directory, not a password).
SECRET_WORDS = re.compile(
    r"PASS(WORD|WD)?|PGPASSWORD|SECRETS?|TOKENS?|KEYS?|APIKEY|PRIVATE|CREDENTIALS?|AUTH\w*|COOKIES?|DSN|WEBHOOKS?|"
    r"\w*PWD",
    re.I,
)
NOT_SECRET = {"PWD", "OLDPWD"}


def secret_name(name: str) -> bool:
    if name.upper() in NOT_SECRET:
        return False
    if re.search(r"(DATABASE|DB|PG)_?UR[LI]", name, re.I):  # a connection string carries its password
        return True
    return any(SECRET_WORDS.fullmatch(word) for word in re.split(r"[^A-Za-z0-9]+", name) if word)


# Terminal colour and cursor codes (a stdout artifact is read in an editor or a ticket, not a terminal).
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# Ansible prompts for this when --ask-vault-pass is given (ansible-runner answers it).
VAULT_PROMPT = r"^Vault password.*:\s*?$"


def secret_values(variables: dict) -> list[str]:
    """The values to keep out of the artifacts, longest first (a value inside another goes after).
    Nested values (a webhook list, an email dict) count as secret when their own key or a parent's
    key says so."""
    found: set[str] = set()

    def walk(name: str, value, secret: bool) -> None:
        secret = secret or secret_name(name)
        if isinstance(value, dict):
            for key, item in value.items():
                walk(str(key), item, secret)
        elif isinstance(value, list):
            for item in value:
                walk(name, item, secret)
        elif secret and isinstance(value, str) and len(value) >= 4:
            found.add(value)

    for name, value in variables.items():
        walk(str(name), value, False)
    return sorted(found, key=len, reverse=True)


def scrub_artifacts(artifact_dir: Path, secrets: list[str]) -> int:
    """Replace every secret value in every artifact file and drop terminal codes; returns how many
    files changed."""
    changed = 0
    for path in artifact_dir.rglob("*"):
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        clean = ANSI_ESCAPE.sub("", text)
        for secret in secrets:
            clean = clean.replace(secret, REDACTED)
            clean = clean.replace(json.dumps(secret)[1:-1], REDACTED)  # as escaped inside JSON
        if clean != text:
            path.write_text(clean)
            changed += 1
    return changed


class Progress:
    """Prints one line per finished task and the recap, from ansible-runner's events."""

    def __init__(self, out=sys.stdout, quiet: bool = False):
        self.out, self.quiet, self.started = out, quiet, time.monotonic()
        # host -> task name -> its last result (for `status`, `coverage`), hosts in the order they answered
        self.results: dict[str, dict[str, dict]] = {}
        self.hosts_section = False  # printing the bayview_hosts callback's closing section

    def __call__(self, event: dict) -> bool:
        kind, data = event.get("event", ""), event.get("event_data", {})
        task = data.get("task", "")
        results = self.results.setdefault(data["host"], {}) if data.get("host") else {}
        clock = f"{time.monotonic() - self.started:6.1f}s"
        where = f" [{data['host']}]" if data.get("host") else ""  # which database, over several
        if kind == "playbook_on_play_start":
            self._print(f"{clock}  == {data.get('play', '')}")
        elif kind == "runner_on_ok":
            results[task] = data.get("res", {})
            self._print(f"{clock}  {'changed' if data.get('res', {}).get('changed') else 'ok':<8} {task}{where}")
        elif kind == "runner_on_failed":
            results[task] = data.get("res", {})
            msg = data.get("res", {}).get("msg", "")
            note = " (ignored)" if data.get("ignore_errors") else ""
            self._print(f"{clock}  FAILED{note:<2} {task}{where}: {msg}")
        elif kind == "runner_on_unreachable":
            results[task] = data.get("res", {})
            self._print(f"{clock}  UNREACHABLE {task}{where}: {data.get('res', {}).get('msg', '')}")
        elif kind == "verbose" and (self.hosts_section or "BAY VIEW HOSTS" in event.get("stdout", "")):
            # the bayview_hosts callback's closing section (several hosts): where each database stands
            self.hosts_section = True
            for line in event.get("stdout", "").strip("\r\n").splitlines():
                self._print(line)
        elif kind == "playbook_on_stats":
            for host in data.get("processed", {}):
                counts = {k: data.get(k, {}).get(host, 0) for k in ("ok", "changed", "failures", "rescued", "skipped")}
                self._print(f"{clock}  recap {host}: " + " ".join(f"{k}={v}" for k, v in counts.items()))
        return True  # keep every event in the artifacts

    def _print(self, line: str) -> None:
        if not self.quiet:
            print(line, file=self.out, flush=True)


def inventory_path(name: str) -> Path:
    path = Path(name) if "/" in name else ROOT / "inventories" / name
    if not path.exists():
        known = ", ".join(sorted(p.name for p in (ROOT / "inventories").iterdir()))
        raise SystemExit(f"bayview-runbook: no inventory {name!r}. Next step: use one of {known}, or a path.")
    return path.resolve()


def parse_extra(pairs: list[str]) -> dict[str, str]:
    extra = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"bayview-runbook: -e {pair!r} is not KEY=VALUE. Nothing was run.")
        extra[key] = value
    return extra


def plan(args: argparse.Namespace) -> tuple[str, dict]:
    """The playbook and the extra variables of a command."""
    extra = parse_extra(args.extra)
    if getattr(args, "operator", None):
        extra["operator"] = args.operator
    if args.command == "phase":
        if args.signoff_by:
            extra["signoff_by"] = args.signoff_by
        return f"playbooks/phase{args.number}.yml", extra
    if args.command == "rollback":
        if args.point:
            extra["restore_point"] = args.point
        else:
            extra["target_version"] = str(args.to)
        if args.confirm:
            extra["confirm_restore"] = args.confirm
        return "playbooks/emergency_rollback.yml", extra
    if args.command == "restore":
        extra["restore_point"] = args.point
        if args.confirm:
            extra["confirm_restore"] = args.confirm
        return "playbooks/restore.yml", extra
    if args.command == "coverage":
        return "playbooks/coverage.yml", extra
    if args.command == "export":
        if args.formats:
            extra["export_formats"] = args.formats
        if args.list:
            extra["export_action"] = "list"
        return "playbooks/export.yml", extra
    if args.command == "import":
        extra["export_id"] = args.export_id
        extra["import_database"] = args.database
        return "playbooks/import.yml", extra
    if args.command == "notion-sync":
        if args.export:
            extra["notion_export"] = str(Path(args.export).resolve())
        else:
            extra["notion_source"] = "api"
        return "playbooks/notion_sync.yml", extra
    return "playbooks/status.yml", extra


def vault_options(args: argparse.Namespace) -> tuple[list[str], dict[str, str], list[str]]:
    """(ansible-playbook options, answers to its prompts, secrets) for the vault options given."""
    options, answers, secrets = [], {}, []
    for vault_id in args.vault_id:
        options += ["--vault-id", vault_id]
    for password_file in args.vault_password_file:
        options += ["--vault-password-file", password_file]
    if args.ask_vault_pass:
        password = getpass.getpass("Vault password: ")
        options.append("--ask-vault-pass")
        answers[VAULT_PROMPT] = password
        secrets.append(password)
    return options, answers, secrets


def run(args: argparse.Namespace, out=sys.stdout) -> int:
    playbook, extra = plan(args)
    artifacts = Path(args.artifacts).resolve()
    artifacts.mkdir(parents=True, exist_ok=True)
    ident = f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}-{Path(playbook).stem}-{os.getpid()}"
    env = {
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
    }
    vault, answers, vault_secrets = vault_options(args)
    progress = Progress(out, quiet=args.command == "status")  # status prints its own summary
    print(f"bayview-runbook: {playbook} on inventory {args.inventory}{' (check mode)' if args.check else ''}", file=out)
    secrets = [*vault_secrets, *secret_values({**os.environ, **env, **extra})]
    try:
        with tempfile.TemporaryDirectory(prefix="bayview-runbook-") as private:
            # The extra variables (a password among them, perhaps) in a file only this user can read,
            # removed after the run: the command line, and so the 'command' artifact, names only the file.
            extravars_file = Path(private) / "extravars.json"
            extravars_file.touch(mode=0o600)
            extravars_file.write_text(json.dumps(extra))
            cmdline = [*(["--check"] if args.check else []), *vault, "-e", f"@{extravars_file}"]
            result = ansible_runner.run(
                private_data_dir=str(artifacts),
                artifact_dir=str(artifacts),
                project_dir=str(ROOT),
                playbook=playbook,
                inventory=str(inventory_path(args.inventory)),
                cmdline=shlex.join(cmdline),
                envvars=env,
                passwords=answers,
                ident=ident,
                quiet=True,
                suppress_env_files=True,  # nothing of the environment is written into env/
                event_handler=progress,
                rotate_artifacts=args.keep_artifacts,
            )
    finally:  # a run interrupted with Ctrl-C keeps clean artifacts too
        if (artifacts / ident).is_dir():
            scrub_artifacts(artifacts / ident, secrets)
    artifact_dir = Path(result.config.artifact_dir)
    summary = {"status": print_status, "coverage": print_coverage, "notion-sync": print_notion}.get(args.command)
    if summary:
        if not progress.results:
            print("No database answered; see the artifacts.", file=out)
        for host, results in progress.results.items():  # a section per host of the inventory, each named
            print(f"== {host}", file=out)
            summary(results, out)
    rc = result.rc if isinstance(result.rc, int) else 1
    if result.status != "successful" and rc == 0:
        rc = 1  # timeout or cancel
    for host, results in progress.results.items():
        report = results.get("Finish the run record", {}).get("record", {}).get("report_file")
        if report:
            print(f"bayview-runbook: {host} run report {report}", file=out)
    print(f"bayview-runbook: {result.status} (exit {rc}); artifacts: {artifact_dir}", file=out)
    if rc and args.command != "status":
        print(f"bayview-runbook: the full output is {artifact_dir / 'stdout'}", file=out)
    return rc


def print_status(results: dict[str, dict], out) -> None:
    read = results.get("Read the state", {})
    state = read.get("state")
    if state is None:  # this database could not be reached or read: said here, the others still shown
        print(f"The state could not be read: {read.get('msg') or 'see the artifacts'}", file=out)
        return
    print(f"Database {state['database']}", file=out)
    mode = state["dual_write"]["mode"] if state.get("dual_write") else "not set up"
    print(f"Ledger version {state['version']}   dual-write: {mode}", file=out)
    cutover = state.get("cutover")
    print(f"Cutover: {'to modern-only at ' + cutover['at'] + ' by ' + cutover['by'] if cutover else 'none'}", file=out)
    halt = state.get("halt")
    if halt:
        print(
            f"HALTED by {halt['set_by']} at {halt['set_at']} ({halt['reason']}): no migration runs until a phase "
            "playbook is run again (it lifts the halt).",
            file=out,
        )
    else:
        print("Halt: none", file=out)
    for run in state.get("running_runs", []):
        kept = "its keeper is watching it" if run["kept_alive"] else "no keeper: cannot tell if it is alive"
        print(f"Running: {run['run_id']} {run['playbook']} at '{run['current_task'] or '-'}' ({kept})", file=out)
    for run in state.get("interrupted_runs", []):
        print(
            f"Interrupted: {run['run_id']} {run['playbook']} at '{run['current_task'] or 'unknown'}', "
            f"last seen {run['last_seen_at'] or run['started_at']} (found by {run['detected_by']})",
            file=out,
        )
    for row in state["ledger"]:
        print(f"  {row['version']:>4}  {row['name']:<32} phase {row['phase']}  {row['status']}", file=out)
    print("Gates:", file=out)
    for gate in state["gates"]:
        signed = gate["signed_off_by"] or "NOT signed off"
        print(f"  Phase {gate['phase']}: {'passed' if gate['passed'] else 'NOT passed'}, {signed}", file=out)
    print("Data migrations:", file=out)
    for m in state["data_migrations"]:
        print(
            f"  {m['data_migration']:<30} {m['status']:<10} {m['rows_read']:,}/{m['legacy_total']:,} rows, "
            f"{m['migrated']:,} migrated, {m['quarantined']:,} quarantined",
            file=out,
        )
    print("Records of the new design:", file=out)
    for r in state.get("records", []):
        print(f"  {r['table']:<32} {r['rows']:,} ({r['created_in_new_design']:,} created there)", file=out)
    print(f"Open dual-write discrepancies: {state['open_discrepancies']}", file=out)
    sessions = state["runbook_sessions"]
    print(f"Running runbook sessions: {len(sessions)}", file=out)
    for s in sessions:
        lock = "  (holds the run lock)" if s["holds_run_lock"] else ""
        print(f"  pid {s['pid']} {s['user']} {s['state']} since {s['query_start']}{lock}", file=out)
    points = results.get("Run the restore point action", {}).get("restore_points", [])
    print("Newest restore points:", file=out)
    for p in points[:5]:
        print(f"  {p['id']}  {p['label']}  {p['created_at']}", file=out)


def print_coverage(results: dict[str, dict], out) -> None:
    result = results.get("Compare the data migrations' declarations with the legacy catalog", {})
    # A complete coverage returns the whole report; a refusal carries its summary beside its message.
    for line in result.get("summary") or result.get("coverage", {}).get("summary", []):
        print(line, file=out)
    for column in result.get("unmapped", []):
        print(f"  unmapped: {column}", file=out)


def print_notion(results: dict[str, dict], out) -> None:
    notion = results.get("Read Notion, stage it raw, reconcile it with the legacy rows", {}).get("notion")
    if not notion:
        return
    if "report" not in notion:  # check mode
        print(f"Would stage: {notion.get('would_stage')}", file=out)
        return
    staged = notion["staged"]
    print(
        f"Read {notion['pages_read']} pages: {staged['new']} new, {staged['changed']} changed, "
        f"{staged['unchanged']} unchanged",
        file=out,
    )
    for line in notion["report"]["summary"]:
        print(line, file=out)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="bayview-runbook", description=__doc__.splitlines()[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--inventory", "-i", default="local", help="inventory: local, staging, production, or a path")
    common.add_argument("--check", action="store_true", help="check mode: report what would change, change nothing")
    common.add_argument("--operator", help="who runs this (recorded; defaults to the login name)")
    common.add_argument("-e", dest="extra", action="append", default=[], metavar="KEY=VALUE", help="extra variable")
    common.add_argument(
        "--artifacts",
        default=os.environ.get("BAYVIEW_ARTIFACTS_DIR", str(ROOT / "artifacts")),
        help="where each run's artifacts are kept",
    )
    common.add_argument("--keep-artifacts", type=int, default=100, help="artifact directories kept (0: all)")
    common.add_argument("--vault-id", action="append", default=[], help="as ansible-playbook's --vault-id")
    common.add_argument(
        "--vault-password-file", action="append", default=[], help="as ansible-playbook's --vault-password-file"
    )
    common.add_argument("--ask-vault-pass", action="store_true", help="ask for the vault password")
    commands = top.add_subparsers(dest="command", required=True)
    phase = commands.add_parser("phase", parents=[common], help="run a phase playbook")
    phase.add_argument("number", type=int, choices=range(1, 6), metavar="N", help="phase 1-5")
    phase.add_argument("--signoff-by", help="sign this phase's gate off when it passes")
    rollback = commands.add_parser("rollback", parents=[common], help="the emergency rollback")
    how = rollback.add_mutually_exclusive_group(required=True)
    how.add_argument("--to", metavar="N", help="roll back with the down migrations to version N")
    how.add_argument("--point", metavar="ID", help="roll back through a restore of this restore point")
    rollback.add_argument("--confirm", metavar="DB", help="the live database's name, to swap a restore in")
    restore = commands.add_parser("restore", parents=[common], help="restore a restore point")
    restore.add_argument("--point", required=True, metavar="ID", help="restore point id, or latest")
    restore.add_argument("--confirm", metavar="DB", help="the live database's name, to make the restore live")
    commands.add_parser("status", parents=[common], help="ledger, gates, dual-write, restore points, sessions")
    commands.add_parser("coverage", parents=[common], help="which legacy columns the data migrations carry")
    export = commands.add_parser("export", parents=[common], help="export everything as a verifiable data package")
    export.add_argument("--formats", metavar="LIST", help="csv, jsonl and/or sql, comma-separated (default csv)")
    export.add_argument("--list", action="store_true", help="list the complete exports instead")
    imported = commands.add_parser("import", parents=[common], help="import an export into a new, empty database")
    imported.add_argument("--export-id", default="latest", metavar="ID", help="the export's id, or latest")
    imported.add_argument("--database", required=True, metavar="NAME", help="the new database to create")
    notion = commands.add_parser("notion-sync", parents=[common], help="read Notion, stage it raw, reconcile it")
    notion.add_argument("--export", metavar="PATH", help="a Notion export (zip, folder or csv); else the live API")
    copy = commands.add_parser("portable-copy", help="copy every entity between two portable data API adapters")
    copy.add_argument("--from", dest="source", required=True, metavar="URL", help="the adapter read from")
    copy.add_argument("--to", dest="target", required=True, metavar="URL", help="the adapter written to")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "portable-copy":  # no playbook: bayview_runbook.portable.copy
        from bayview_runbook.portable.copy import cli_copy

        return cli_copy(args.source, args.target)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
