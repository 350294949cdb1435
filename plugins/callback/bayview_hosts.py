"""Callback plugin: at the end of a run over several databases, which hosts were done, which
failed, which were stopped when another failed, and which never started.

A phase runs on a canary host first and then on the rest (or one at a time); a failure stops the
hosts that have not started. The operator then needs to know exactly where each database stands:
this prints one line per state at the end of the playbook, after Ansible's recap.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: bayview_hosts
type: aggregate
short_description: Say which Bay View database hosts were done, failed, stopped or never started
description:
  - At the end of the playbook, lists the hosts of its plays by state; prints nothing for a run on one host.
requirements:
  - enabled in ansible.cfg (callbacks_enabled)
"""

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bayview_hosts"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self.hosts: list[str] = []  # every host of the plays, in order
        self.batches: list[set[str]] = []  # the hosts of each serial batch, as it started
        self.started: set[str] = set()

    def v2_playbook_on_play_start(self, play) -> None:
        # Sent for each serial batch, while the inventory is restricted to it. The play's whole
        # host list is read past that restriction (Ansible's inventory, as its executor reads it).
        inventory = getattr(getattr(play, "_variable_manager", None), "_inventory", None)
        if inventory is None:
            return
        for host in inventory.get_hosts(play.hosts, ignore_restrictions=True, order=play.order):
            if host.name not in self.hosts:
                self.hosts.append(host.name)
        self.batches.append({host.name for host in inventory.get_hosts(play.hosts, order=play.order)})

    def v2_runner_on_start(self, host, task) -> None:
        self.started.add(host.get_name())

    def v2_playbook_on_stats(self, stats) -> None:
        if len(self.hosts) < 2:
            return
        failed = {h for h in self.hosts if stats.failures.get(h) or stats.dark.get(h)}
        # the other hosts of a batch in which one failed were stopped with it (any_errors_fatal)
        stopped = {h for batch in self.batches if batch & failed for h in batch - failed if h in self.started}
        states = {
            "done": [h for h in self.hosts if h in self.started and h not in failed | stopped],
            "failed": [h for h in self.hosts if h in failed],
            "stopped when another failed": [h for h in self.hosts if h in stopped],
            "never started": [h for h in self.hosts if h not in self.started],
        }
        self._display.banner("BAY VIEW HOSTS")
        for state, names in states.items():
            self._display.display(f"{state}: {', '.join(names) if names else '-'}")
