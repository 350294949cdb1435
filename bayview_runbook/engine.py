"""The engine in module_utils/bayview, importable from Python exactly as the Ansible modules
import it (`from ansible.module_utils.bayview import ...`): one copy of the code for the
modules, the data-access layer, the CLI, the tests and the benchmarks."""

from __future__ import annotations

from pathlib import Path

import ansible.module_utils

# From a checkout the engine files are beside the package; an installed wheel carries them inside
# it, under engine_files/ (pyproject.toml), laid out the same way.
_CHECKOUT = Path(__file__).resolve().parent.parent
ROOT = (
    _CHECKOUT if (_CHECKOUT / "module_utils" / "bayview").is_dir() else Path(__file__).resolve().parent / "engine_files"
)
MODULE_UTILS = ROOT / "module_utils"
DATA_MIGRATIONS = ROOT / "migrations" / "data"
SQL_MIGRATIONS = ROOT / "sql" / "migrations"

if str(MODULE_UTILS) not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(str(MODULE_UTILS))

# The engine modules the package uses, imported once the path above is set.
from ansible.module_utils.bayview import (  # noqa: E402
    coverage,
    data_migrate,
    data_migration_sql,
    data_migrations,
    data_sync,
    db,
    dual_write,
    migrate,
    notion_sync,
    validate,
)
from ansible.module_utils.bayview.errors import RunbookError  # noqa: E402

__all__ = [
    "DATA_MIGRATIONS",
    "MODULE_UTILS",
    "ROOT",
    "SQL_MIGRATIONS",
    "RunbookError",
    "coverage",
    "data_migrate",
    "data_migration_sql",
    "data_migrations",
    "data_sync",
    "db",
    "dual_write",
    "migrate",
    "notion_sync",
    "validate",
]
