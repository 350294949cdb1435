"""Callback plugin of the fault-injection tests (tests/fault_matrix.py); enabled only by them.

With BAYVIEW_FAULT_CENSUS (a file), it writes one JSON line per task start: its index in the
run, its name and its action, so the test knows every task boundary of a real run. With
BAYVIEW_FAULT_AT=N and BAYVIEW_FAULT_COMMAND, it runs the command (kill this playbook, restart
the server, cut the store, take a receiver down ...) at the start of the run's Nth task, before
that task does anything, and waits for it.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: bayview_fault
type: aggregate
short_description: Note the task boundaries of a run, or strike a fault at one of them (tests only)
description:
  - BAYVIEW_FAULT_CENSUS names a file that gets a JSON line per task start.
  - BAYVIEW_FAULT_AT (a task index, from 1) and BAYVIEW_FAULT_COMMAND (a shell command) strike a fault there.
requirements:
  - enabled with ANSIBLE_CALLBACKS_ENABLED by the fault-injection tests
"""

import json
import os
import subprocess

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bayview_fault"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self.index = 0

    def v2_playbook_on_task_start(self, task, is_conditional) -> None:
        self.index += 1
        census = os.environ.get("BAYVIEW_FAULT_CENSUS")
        if census:
            with open(census, "a") as fh:
                fh.write(json.dumps({"index": self.index, "name": task.get_name(), "action": task.action}) + "\n")
        if os.environ.get("BAYVIEW_FAULT_AT") == str(self.index):
            env = {**os.environ, "BAYVIEW_PLAYBOOK_PID": str(os.getpid())}
            subprocess.run(["/bin/sh", "-c", os.environ.get("BAYVIEW_FAULT_COMMAND", "true")], env=env, check=False)
