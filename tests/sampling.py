"""Long matrices (every Molecule scenario, every fault-injection point) run whole behind their own
make targets; `make test` runs a sample of each. The sample is chosen by a seed: the commit being
tested unless BAYVIEW_SAMPLE_SEED says otherwise, so a run can be repeated exactly and successive
commits cover different cases. BAYVIEW_FULL_MATRIX=1 runs everything."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def full_matrix() -> bool:
    return os.environ.get("BAYVIEW_FULL_MATRIX") == "1"


def seed() -> str:
    if os.environ.get("BAYVIEW_SAMPLE_SEED"):
        return os.environ["BAYVIEW_SAMPLE_SEED"]
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False)
    return head.stdout.strip() or "no-git"


def sample(name: str, cases: list, k: int) -> list:
    """All cases with BAYVIEW_FULL_MATRIX=1, else k of them, the same k for the same seed."""
    if full_matrix() or k >= len(cases):
        return list(cases)
    ranked = sorted(cases, key=lambda case: hashlib.sha256(f"{seed()}/{name}/{case}".encode()).hexdigest())
    return sorted(ranked[:k], key=cases.index)
