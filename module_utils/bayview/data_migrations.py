"""Loading the data migrations of migrations/data/ (see its README), and their dependencies.

The directory is loaded as a package of its own, registered in sys.modules under a name made
from its path (sys.path is never touched), so the migrations import their shared clean-up rules
with `from .cleaning import ...`. Loading is serialised by a lock and cached per file version:
a threaded web server may load from any thread, and a file edited on disk is loaded again.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import threading
from pathlib import Path
from types import ModuleType

from ansible.module_utils.bayview.errors import RunbookError

REQUIRED = ("NAME", "LEGACY_TABLE", "KEY", "TARGET", "FIELDS", "candidates_sql")
# The columns the engine adds to every candidate (data_migration_sql.py): no target field may reuse them.
RESERVED = {"legacy_id", "role", "has_data", "problem", "outcome", "reason", "target_id"}

_lock = threading.Lock()
_loaded: dict[tuple[str, int, int], ModuleType] = {}


def _package(directory: Path) -> str:
    """The package the directory is loaded as (created once; nothing is put on sys.path)."""
    name = "bayview_data_migrations_" + hashlib.sha256(str(directory).encode()).hexdigest()[:12]
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, directory / "__init__.py", submodule_search_locations=[str(directory)]
        )
        package = importlib.util.module_from_spec(spec)
        if (directory / "__init__.py").is_file():
            spec.loader.exec_module(package)
        sys.modules[name] = package
    return name


def names(directory) -> list[str]:
    """Every data migration of the directory, in file order."""
    return sorted(p.stem for p in Path(directory).glob("[0-9]*.py"))


def load(directory, name: str) -> ModuleType:
    """The data migration module migrations/data/<name>.py, checked for what the engine needs."""
    directory = Path(directory).resolve()
    path = directory / f"{name}.py"
    if not path.is_file():
        known = ", ".join(names(directory)) or "none"
        raise RunbookError(f"There is no data migration {name!r} in {directory}.", f"use one of: {known}.")
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    with _lock:
        if key in _loaded:
            return _loaded[key]
        package = _package(directory)
        spec = importlib.util.spec_from_file_location(f"{package}.{name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for attribute in REQUIRED:
            if not hasattr(module, attribute):
                raise RunbookError(
                    f"{path} has no {attribute}.", "see migrations/data/README.md for what a data migration provides."
                )
        clashing = sorted(set(module.FIELDS) & RESERVED)
        if clashing:
            raise RunbookError(
                f"{path} writes {', '.join(clashing)}, which the engine's own candidate columns already name.",
                "name the target column otherwise (e.g. closure_reason, clergy_role).",
            )
        module.DEPENDS_ON = tuple(getattr(module, "DEPENDS_ON", ()))
        unknown = [d for d in module.DEPENDS_ON if not (directory / f"{d}.py").is_file()]
        if unknown:
            raise RunbookError(
                f"{path} depends on {', '.join(unknown)}, which {directory} does not have.",
                "name each dependency by its file name without .py.",
            )
        _loaded[key] = module
        return module


def load_all(directory) -> list[ModuleType]:
    return [load(directory, name) for name in names(directory)]


def dependents(directory, name: str) -> list[str]:
    """The data migrations that declare `name` among their dependencies."""
    return [m.NAME for m in load_all(directory) if name in m.DEPENDS_ON]
