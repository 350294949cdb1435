"""The inventories an operator follows: every one parses and defines the connection variables."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

REQUIRED = {"bayview_db_host", "bayview_db_port", "bayview_db_name", "bayview_db_user", "bayview_db_sslmode"}


@pytest.mark.parametrize("name", ["local", "staging", "production"])
def test_inventory_targets_the_database_group(name):
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-inventory"), "-i", str(ROOT / "inventories" / name), "--graph"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "@bayview_databases:" in result.stdout


@pytest.mark.parametrize("name", ["staging", "production"])
def test_remote_inventories_keep_the_password_in_vault(name):
    group = ROOT / "inventories" / name / "group_vars" / "bayview_databases"
    values = yaml.safe_load((group / "vars.yml").read_text())
    assert set(values) >= REQUIRED
    assert values["bayview_db_password"] == "{{ vault_bayview_db_password }}"  # noqa: S105 - a vault reference
    assert values["bayview_db_sslmode"] == "verify-full"
    assert "$ANSIBLE_VAULT;1.2;AES256;" in (group / "vault.yml").read_text()
