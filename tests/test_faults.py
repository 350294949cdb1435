"""A sample of the fault-injection matrix (tests/fault_matrix.py): one scenario of those prepared by
at most one phase run, one of its cases, chosen by the commit (tests/sampling.py), so successive
commits strike different points. `make faults` runs every case of every scenario."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from fault_matrix import SCENARIOS, Harness
from sampling import sample

# In make test, a scenario that needs at most one phase run to prepare (make faults runs them all).
SHALLOW = sorted(name for name, scenario in SCENARIOS.items() if len(scenario.after) <= 1)
SAMPLED_SCENARIOS = sample("fault-scenarios", SHALLOW, 1)


@pytest.fixture(scope="module")
def harness():
    h = Harness(Path(tempfile.mkdtemp(prefix="bayview-faults-")))
    yield h
    h.close()


@pytest.mark.parametrize("scenario", SAMPLED_SCENARIOS)
def test_a_sample_of_the_fault_matrix_survives(harness, scenario):
    cases = sample(f"fault-cases-{scenario}", harness.cases(SCENARIOS[scenario]), 1)
    assert cases, f"the census of {scenario} found no injection point"
    outcomes = [harness.run_case(case) for case in cases]
    for outcome in outcomes:
        print(outcome.line)
    assert [o.line for o in outcomes if not o.survived] == []
