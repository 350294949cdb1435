"""make bench: run every benchmark; exit non-zero if any misses its target."""

from __future__ import annotations

import sys

from bench import fingerprint, restore_points

BENCHMARKS = [fingerprint, restore_points]


def main() -> int:
    results = [bench.run() for bench in BENCHMARKS]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
