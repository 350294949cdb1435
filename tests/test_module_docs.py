"""The modules pass Ansible's own module checks (`ansible-test sanity`: validate-modules compares
each DOCUMENTATION with its real argument spec, and pylint, yamllint, ansible-doc, compile), the
docs render from the repo root, and a module run without psycopg names the missing library."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from ansible.module_utils.bayview.db import connection_argument_spec
from conftest import ROOT

MODULES = sorted(p.stem for p in (ROOT / "library").glob("bayview_*.py"))
BIN = Path(sys.executable).parent


def test_ansible_test_sanity_is_clean():
    """tests/ansible_sanity.py: the modules laid out as a collection, every applicable sanity test,
    offline; the only ignores are in tests/sanity/ignore-2.19.txt, each with its reason."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "ansible_sanity.py")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    for test in ("validate-modules", "pylint", "yamllint", "ansible-doc", "compile"):
        assert f'Running sanity test "{test}"' in result.stdout


def test_every_sanity_ignore_says_why():
    for line in (ROOT / "tests" / "sanity" / "ignore-2.19.txt").read_text().splitlines():
        entry, _, reason = line.partition(" # ")
        assert len(entry.split()) == 2 and len(reason.split()) >= 4, f"an ignore without its reason: {line!r}"


@pytest.mark.parametrize("module", MODULES)
def test_ansible_doc_renders_from_the_repo_root(module):
    result = subprocess.run(
        [str(BIN / "ansible-doc"), "-t", "module", module], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "connection" in result.stdout and "EXAMPLES" in result.stdout


def test_a_module_without_psycopg_names_the_missing_library(tmp_path):
    """A controller (or execution environment) whose Python lacks the driver gets a sentence, not a trace."""
    bare = tmp_path / "bare"
    venv.create(bare, with_pip=False)  # the same Python, without the project's packages
    connection = {"connection": {"host": "127.0.0.1", "dbname": "x", "user": "x"}}
    result = subprocess.run(
        [
            str(BIN / "ansible"),
            "localhost",
            "-c",
            "local",
            "-m",
            "bayview_status",
            "-a",
            json.dumps(connection),
            "-e",
            f"ansible_python_interpreter={bare / 'bin' / 'python'}",
        ],
        cwd=ROOT,
        env={
            "PATH": f"{BIN}:/usr/bin:/bin",
            "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
            "ANSIBLE_NOCOLOR": "1",
            "HOME": str(tmp_path),
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    text = " ".join(result.stdout.split())
    assert "Failed to import the required Python library (psycopg)" in text and "make venv" in text, text[-3000:]


def test_passwords_are_no_log():
    assert connection_argument_spec()["connection"]["options"]["password"]["no_log"] is True
