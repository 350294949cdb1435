"""Named points inside the long tasks where the fault-injection tests strike (the "failpoints"
of etcd and TiKV): the middle of a migration's transaction, of a batch, of a restore-point
upload, of a restore, of a validation, of an import.

In normal runs reach() is a dictionary look-up that does nothing. When the environment names
this point (BAYVIEW_FAILPOINT) and this database (BAYVIEW_FAILPOINT_DATABASE), the first reach
in the process runs BAYVIEW_FAILPOINT_COMMAND (a shell command: kill the playbook, restart the
server, cut the store ...) and carries on, so the fault lands at exactly this point of the work.
With BAYVIEW_FAILPOINT_CENSUS (a file), it only notes there which points a run reaches.
"""

from __future__ import annotations

import os
import subprocess

POINTS = (
    "migrate.in_transaction",  # a migration (up or down) ran, its transaction not yet committed
    "data_migrate.in_batch",  # a batch is written, its checkpoint not yet committed
    "restore_point.uploading",  # the first part of a restore point's dump is in the store, no manifest yet
    "restore.restored",  # a restore is in its new database, not yet checked or swapped in
    "validate.comparing",  # a validation has compared its first data migration, not the rest
    "import.loading",  # an import's transaction has loaded its first table, not the rest
)
_fired: set[str] = set()


def reach(point: str, database: str) -> None:
    if os.environ.get("BAYVIEW_FAILPOINT_DATABASE") != database:
        return  # unset in every real run: the tests name the one database they strike
    census = os.environ.get("BAYVIEW_FAILPOINT_CENSUS")
    if census and point not in _fired:  # the test's unfaulted run: note which points the run reaches
        _fired.add(point)
        with open(census, "a") as fh:
            fh.write(point + "\n")
        return
    if os.environ.get("BAYVIEW_FAILPOINT") != point or point in _fired:
        return
    _fired.add(point)
    subprocess.run(["/bin/sh", "-c", os.environ.get("BAYVIEW_FAILPOINT_COMMAND", "true")], check=False)
