"""The Molecule scenarios: each phase (after the phases before it), its idempotence step, then
the emergency rollback after it, each on its own disposable PostgreSQL. `make test` runs the
default scenario; `make molecule` and `make e2e` run them all."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from sampling import full_matrix

SCENARIOS = sorted(p.parent.name for p in (ROOT / "molecule").glob("*/molecule.yml"))
# make test runs the default scenario; every one runs in make molecule and make e2e (CI).
SAMPLED = SCENARIOS if full_matrix() else ["default"]


def test_every_phase_has_a_scenario():
    assert SCENARIOS == ["default", "phase2", "phase3", "phase4", "phase5"]


@pytest.mark.molecule
@pytest.mark.parametrize("scenario", SAMPLED)
def test_molecule_rehearses_the_phase_and_the_rollback(scenario):
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}", "ANSIBLE_FORCE_COLOR": "0", "NO_COLOR": "1"}
    result = subprocess.run(
        [f"{bin_dir}/molecule", "test", "-s", scenario],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    for step in ("converge", "idempotence", "verify"):
        assert f"{step}: Executed: Successful" in output, f"molecule step {step} did not succeed"
