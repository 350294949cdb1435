"""Callback plugin: lets a run's keeper (module_utils/bayview/run_keeper.py) know the
ansible-playbook process it belongs to and the task it is at.

It prints nothing. At the start of the playbook it puts two variables into the environment,
which Ansible's workers and the modules they start inherit: BAYVIEW_PLAYBOOK_PID (this process)
and BAYVIEW_TASK_FILE (a private file holding the name of the task being run, rewritten at each
task start). The keeper watches the first and records the second, so a run that is killed or
interrupted is known as such, with the task it stopped at.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: bayview_run
type: aggregate
short_description: Tell the Bay View run keeper which process and task a run is at
description:
  - Sets BAYVIEW_PLAYBOOK_PID and BAYVIEW_TASK_FILE for the modules, and writes the current task's name into
    that file at every task start. Prints nothing.
requirements:
  - enabled in ansible.cfg (callbacks_enabled)
"""

import os
import tempfile

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bayview_run"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self.task_file: str | None = None

    def v2_playbook_on_start(self, playbook) -> None:
        fd, self.task_file = tempfile.mkstemp(prefix="bayview-task-", suffix=".txt")
        os.close(fd)
        os.environ["BAYVIEW_PLAYBOOK_PID"] = str(os.getpid())
        os.environ["BAYVIEW_TASK_FILE"] = self.task_file

    def v2_playbook_on_task_start(self, task, is_conditional) -> None:
        if self.task_file:
            tmp = f"{self.task_file}.new"
            with open(tmp, "w") as fh:
                fh.write(task.get_name())
            os.replace(tmp, self.task_file)  # the keeper never reads half a name

    def v2_playbook_on_stats(self, stats) -> None:
        if self.task_file and os.path.exists(self.task_file):
            os.remove(self.task_file)
