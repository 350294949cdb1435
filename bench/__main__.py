"""make bench: run every benchmark; exit non-zero if any misses its target."""

from __future__ import annotations

import sys

from bench import data_migration, export, fingerprint, notion, records, restore_points

BENCHMARKS = [fingerprint, restore_points, data_migration, records, notion, export]


def main() -> int:
    # python -m bench [name ...] runs only those, e.g. python -m bench data_migration
    chosen = [b for b in BENCHMARKS if not sys.argv[1:] or b.__name__.split(".")[-1] in sys.argv[1:]]
    results = [bench.run() for bench in chosen]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
