"""Load sql/migrations and refuse a broken set before anything is touched.

Layout: one directory per version, ``NNNN_name/`` holding ``up.sql``, ``down.sql`` and
``verify.sql``. ``verify.sql`` must succeed after up and fail after down (Sqitch style):
it proves the change is really there, and really gone.

The head of up.sql carries metadata as comments:
    -- phase: 1
    -- description: What this change does, in one line.
    -- requires: bayview.memorials(id, first_name, last_name)
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from ansible.module_utils.bayview.errors import RunbookError

PARTS = ("up", "down", "verify")
DIR_PATTERN = re.compile(r"^(\d+)_([a-z0-9_]+)$")
HEADER_PATTERN = re.compile(r"^--\s*(phase|description|requires)\s*:\s*(.+?)\s*$")
REQUIRES_PATTERN = re.compile(r"^([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)\s*\(([^)]*)\)$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    directory: Path
    sql: dict[str, str]
    checksums: dict[str, str]
    phase: int
    description: str
    requires: tuple[tuple[str, str, tuple[str, ...]], ...] = field(default=())

    def path(self, part: str) -> Path:
        return self.directory / f"{part}.sql"

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"


def _refuse(problem: str, directory: Path) -> RunbookError:
    return RunbookError(
        f"The migrations in {directory} are not a valid set: {problem}. Nothing was changed.",
        "fix the migration files (one directory per version NNNN_name with up.sql, down.sql "
        "and verify.sql; versions numbered 1, 2, 3 … without gaps or repeats), then run again.",
    )


def _parse_header(text: str, up_path: Path, directory: Path) -> tuple[int, str, tuple]:
    phase, description, requires = None, "", []
    for line in text.splitlines():
        if not line.startswith("--"):
            if line.strip():
                break
            continue
        match = HEADER_PATTERN.match(line)
        if not match:
            continue
        key, value = match.groups()
        if key == "phase":
            if not value.isdigit():
                raise _refuse(f"{up_path} says 'phase: {value}', which is not a number", directory)
            phase = int(value)
        elif key == "description":
            description = value
        else:
            req = REQUIRES_PATTERN.match(value.lower())
            if not req:
                raise _refuse(
                    f"{up_path} has 'requires: {value}'; write it as schema.table(col1, col2)",
                    directory,
                )
            cols = tuple(c.strip() for c in req.group(3).split(",") if c.strip())
            requires.append((req.group(1), req.group(2), cols))
    if phase is None:
        raise _refuse(f"{up_path} has no '-- phase: N' header line", directory)
    return phase, description, tuple(requires)


def load_migrations(directory: Path) -> list[Migration]:
    """All migrations in version order; raises RunbookError on any inconsistency."""
    directory = Path(directory)
    if not directory.is_dir():
        raise _refuse("the directory does not exist", directory)
    by_version: dict[int, Migration] = {}
    for entry in sorted(directory.iterdir()):
        if entry.name.startswith(".") or entry.name.lower() == "readme.md":
            continue
        match = DIR_PATTERN.match(entry.name)
        if not entry.is_dir() or not match:
            raise _refuse(f"unexpected entry '{entry.name}' (expected NNNN_name directories)", directory)
        version, name = int(match.group(1)), match.group(2)
        if version in by_version:
            other = by_version[version].directory.name
            raise _refuse(f"version {version} is used twice ({other} and {entry.name})", directory)
        missing = [p for p in PARTS if not (entry / f"{p}.sql").is_file()]
        if missing:
            raise _refuse(f"{entry.name} has no {', '.join(p + '.sql' for p in missing)}", directory)
        raw = {p: (entry / f"{p}.sql").read_bytes() for p in PARTS}
        texts = {p: raw[p].decode("utf-8") for p in PARTS}
        for part, text in texts.items():
            if not text.strip():
                raise _refuse(f"{entry.name}/{part}.sql is empty", directory)
        phase, description, requires = _parse_header(texts["up"], entry / "up.sql", directory)
        by_version[version] = Migration(
            version=version,
            name=name,
            directory=entry,
            sql=texts,
            checksums={p: hashlib.sha256(raw[p]).hexdigest() for p in PARTS},
            phase=phase,
            description=description,
            requires=requires,
        )
    versions = sorted(by_version)
    expected = list(range(1, len(versions) + 1))
    if versions != expected:
        gaps = sorted(set(range(1, max(versions, default=0) + 1)) - set(versions))
        raise _refuse(f"version(s) {', '.join(map(str, gaps))} are missing (gap)", directory)
    migrations = [by_version[v] for v in versions]
    for earlier, later in zip(migrations, migrations[1:], strict=False):
        if later.phase < earlier.phase:
            raise _refuse(
                f"{later.label} belongs to phase {later.phase} but comes after {earlier.label} "
                f"of phase {earlier.phase}; phases must not go backwards",
                directory,
            )
    return migrations


def last_version_of_phase(migrations: list[Migration], phase: int) -> int:
    """The highest version whose phase is <= phase (0 when none)."""
    return max((m.version for m in migrations if m.phase <= phase), default=0)
