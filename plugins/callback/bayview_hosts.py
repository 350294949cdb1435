"""Callback plugin: at the end of a run over several databases, where each host stands (done,
failed, stopped when another failed, never started) and the run record of each, printed and
written as one combined report beside the hosts' own records.

A phase runs on a canary host first and then on the rest (or one at a time); a failure stops the
hosts that have not started. The emergency rollback goes on over the other hosts. Either way the
operator then needs to know exactly where each database stands: this prints one line per state
at the end of the playbook, after Ansible's recap, then one line per host with its run record.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: bayview_hosts
type: aggregate
short_description: Say which Bay View database hosts were done, failed, stopped or never started
description:
  - At the end of the playbook, lists the hosts of its plays by state, then each host with the run record its
    C(bayview_run_record) finished; prints nothing for a run on one host.
  - Writes the same as one combined report, C(<stamp>-<playbook>-hosts.json) and C(.html), in each directory that
    holds one of the hosts' run records (by default each host has its own).
requirements:
  - enabled in ansible.cfg (callbacks_enabled)
"""

import html
import json
import os
from datetime import UTC, datetime
from pathlib import Path

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bayview_hosts"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self.playbook = ""
        self.started_at = datetime.now(UTC)
        self.hosts: list[str] = []  # every host of the plays, in order
        self.fatal_batches: list[set[str]] = []  # the hosts of each serial batch of an any_errors_fatal play
        self.started: set[str] = set()
        self.records: dict[str, dict] = {}  # host -> the run record its run finished

    def v2_playbook_on_start(self, playbook) -> None:
        self.playbook = Path(playbook._file_name).name

    def v2_playbook_on_play_start(self, play) -> None:
        # Sent for each serial batch, while the inventory is restricted to it. The play's whole
        # host list is read past that restriction (Ansible's inventory, as its executor reads it).
        inventory = getattr(getattr(play, "_variable_manager", None), "_inventory", None)
        if inventory is None:
            return
        for host in inventory.get_hosts(play.hosts, ignore_restrictions=True, order=play.order):
            if host.name not in self.hosts:
                self.hosts.append(host.name)
        if play.any_errors_fatal:
            self.fatal_batches.append({host.name for host in inventory.get_hosts(play.hosts, order=play.order)})

    def v2_runner_on_start(self, host, task) -> None:
        self.started.add(host.get_name())

    def v2_runner_on_ok(self, result) -> None:
        record = result._result.get("record")
        # the finished record (a started one has no finished_at)
        if result._task.action.endswith("bayview_run_record") and isinstance(record, dict) and "finished_at" in record:
            self.records[result._host.get_name()] = record

    def v2_playbook_on_stats(self, stats) -> None:
        if len(self.hosts) < 2:
            return
        failed = {h for h in self.hosts if stats.failures.get(h) or stats.dark.get(h)}
        # the other hosts of a batch in which one failed were stopped with it (any_errors_fatal)
        stopped = {h for batch in self.fatal_batches if batch & failed for h in batch - failed if h in self.started}
        states = {
            "done": [h for h in self.hosts if h in self.started and h not in failed | stopped],
            "failed": [h for h in self.hosts if h in failed],
            "stopped when another failed": [h for h in self.hosts if h in stopped],
            "never started": [h for h in self.hosts if h not in self.started],
        }
        self._display.banner("BAY VIEW HOSTS")
        for state, names in states.items():
            self._display.display(f"{state}: {', '.join(names) if names else '-'}")
        state_of = {h: state for state, names in states.items() for h in names}
        hosts = [self.host_entry(h, state_of[h]) for h in self.hosts]
        for entry in hosts:
            run = f"run {entry['run_id']} {entry['run_status']}" if entry["run_id"] else "no run record"
            self._display.display(f"  {entry['host']} ({entry['database'] or '-'}): {entry['state']}, {run}")
        for report in self.write_report(hosts):
            self._display.display(f"Combined report: {report}")

    def host_entry(self, host: str, state: str) -> dict:
        record = self.records.get(host, {})
        return {
            "host": host,
            "state": state,
            "database": record.get("database"),
            "run_id": record.get("run_id"),
            "run_status": record.get("status"),
            "record_file": record.get("record_file"),
            "report_file": record.get("report_file"),
        }

    def write_report(self, hosts: list[dict]) -> list[str]:
        """<stamp>-<playbook>-hosts.json and .html in each directory that holds one of the hosts' records
        (by default each host has its own); the HTML files written."""
        directories = dict.fromkeys(Path(h["record_file"]).parent for h in hosts if h["record_file"])
        started = self.started_at.isoformat(timespec="seconds")
        summary = {"playbook": self.playbook, "started_at": started, "hosts": hosts}
        written = []
        for directory in directories:
            stem = directory / f"{self.started_at:%Y%m%dT%H%M%SZ}-{Path(self.playbook).stem}-hosts"
            write_atomically(stem.with_suffix(".json"), json.dumps(summary, indent=2) + "\n")
            write_atomically(stem.with_suffix(".html"), render(summary, directory))
            written.append(str(stem.with_suffix(".html")))
        return written


def render(summary: dict, directory: Path) -> str:
    """One self-contained page in directory: a row per host, linking to its own run report."""
    rows = []
    for h in summary["hosts"]:
        run = html.escape(h["run_id"] or "-")
        if h["report_file"]:
            run = f'<a href="{html.escape(os.path.relpath(h["report_file"], directory))}">{run}</a>'
        status = html.escape(h["run_status"] or "-")
        cells = [*(html.escape(h[k] or "-") for k in ("host", "database", "state")), run, status]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    title = html.escape(f"{summary['playbook']} over {len(summary['hosts'])} databases, {summary['started_at']}")
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head><body>\n'
        f"<h1>{title}</h1>\n<table>\n<tr><th>host</th><th>database</th><th>state</th><th>run record</th>"
        f"<th>run status</th></tr>\n" + "\n".join(rows) + "\n</table>\n</body></html>\n"
    )


def write_atomically(target: Path, text: str) -> None:
    """Through a temporary file renamed into place: a crash never leaves half a report."""
    temporary = target.with_name(f".tmp-{target.name}")
    temporary.write_text(text)
    temporary.chmod(0o640)  # as the hosts' run records
    temporary.replace(target)
