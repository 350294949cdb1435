"""The data-access layer as a library: a wheel built from the project, installed into a fresh
virtualenv outside the checkout, writes a memorial through ModernAdapter after a cutover."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import zipfile

from ansible.module_utils.bayview import dual_write, migrate
from ansible.module_utils.bayview.db import connect
from conftest import MIGRATIONS, ROOT

from bayview_runbook.data_access import application_grants
from bayview_runbook.localpg import APP_ROLE

CARRIED = (
    "bayview_runbook/data_access.py",
    "bayview_runbook/engine_files/module_utils/bayview/data_migrate.py",
    "bayview_runbook/engine_files/module_utils/bayview/data_migration_sql.py",
    "bayview_runbook/engine_files/migrations/data/cleaning.py",
    "bayview_runbook/engine_files/migrations/data/0003_memorial_applications.py",
    "bayview_runbook/engine_files/sql/migrations/0009_whole_record/up.sql",
)

USE_IT = """
import sys, threading
before = list(sys.path)
import bayview_runbook.engine as engine
from bayview_runbook.data_access import BridgeAdapter, ModernAdapter
from bayview_runbook.engine import DATA_MIGRATIONS, data_migrations
import psycopg

assert "site-packages" in str(engine.ROOT), engine.ROOT  # the wheel's own files, not a checkout
# Loading the data migrations from many threads at once: one module each, sys.path untouched.
loaded = []
threads = [threading.Thread(target=lambda: loaded.append(data_migrations.load_all(DATA_MIGRATIONS))) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
assert len(loaded) == 8 and all(m == loaded[0] for m in loaded), "each thread must get the same modules"
assert sys.path == before, (before, sys.path)
with psycopg.connect(sys.argv[1]) as app:
    memorial = ModernAdapter(app).create(
        "memorial_application", {"submission_id": "MG-wheel", "application_type": "future", "fee": "400.00"},
        persons={"contact": {"first_name": "Ann", "last_name": "Lee"}},
    )
    source, record = BridgeAdapter(app).record("memorial_application", memorial)
    print(source, record["submission_id"], record["persons"]["contact"]["last_name"], record["fee"])
"""


def test_a_wheel_installed_in_a_fresh_venv_writes_a_memorial(legacy_db, tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(wheels), str(ROOT)],
        check=True,
        cwd=tmp_path,
    )
    (wheel,) = wheels.glob("bayview_runbook-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert set(CARRIED) <= names, sorted(set(CARRIED) - names)
    assert not [n for n in names if n.startswith(("tests/", "playbooks/", "library/"))]

    venv = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([venv / "bin" / "pip", "install", "--quiet", str(wheel)], check=True, cwd=tmp_path)

    migrate.run(legacy_db.params(), MIGRATIONS, None, 2, "test", "r", check_mode=False)
    with connect(legacy_db.params()) as conn:
        conn.execute(application_grants(APP_ROLE))
        dual_write.set_mode(conn, "modern-only", "test", "cutover confirmed")
    script = tmp_path / "use_it.py"
    script.write_text(textwrap.dedent(USE_IT))
    app_conninfo = legacy_db.cluster.conninfo(user=APP_ROLE, dbname=legacy_db.name)
    used = subprocess.run(
        [venv / "bin" / "python", str(script), app_conninfo],
        cwd=tmp_path,  # outside the checkout
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert used.returncode == 0, used.stderr[-3000:]
    assert used.stdout.split() == ["modern", "MG-wheel", "Lee", "400.00"]
    assert legacy_db.scalar("SELECT count(*) FROM property.memorial_applications WHERE submission_id = 'MG-wheel'") == 1
