"""The engine in module_utils/bayview, importable from Python exactly as the Ansible modules
import it (`from ansible.module_utils.bayview import ...`): one copy of the code for the
modules, the data-access layer, the CLI, the tests and the benchmarks."""

from __future__ import annotations

from pathlib import Path

import ansible.module_utils

ROOT = Path(__file__).resolve().parent.parent
MODULE_UTILS = ROOT / "module_utils"
DATA_MIGRATIONS = ROOT / "migrations" / "data"
SQL_MIGRATIONS = ROOT / "sql" / "migrations"

if str(MODULE_UTILS) not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(str(MODULE_UTILS))

# The engine modules the package uses, imported once the path above is set.
from ansible.module_utils.bayview import data_migrate, db, dual_write, migrate, validate  # noqa: E402
from ansible.module_utils.bayview.errors import RunbookError  # noqa: E402

__all__ = [
    "DATA_MIGRATIONS",
    "MODULE_UTILS",
    "ROOT",
    "SQL_MIGRATIONS",
    "RunbookError",
    "data_migrate",
    "db",
    "dual_write",
    "migrate",
    "validate",
]
