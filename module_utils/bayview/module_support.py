"""What every module does the same way: check psycopg, name the operator, fail clearly."""

from __future__ import annotations

import getpass
import traceback

from ansible.module_utils.basic import missing_required_lib
from ansible.module_utils.bayview import db
from ansible.module_utils.bayview.errors import RunbookError


def new_module(module_class, argument_spec: dict, import_error: str | None = None, **kwargs):
    """An AnsibleModule with the shared connection options; fails early, naming the library, when
    psycopg (or another library the engine imports) is missing: import_error is the traceback of the
    module's guarded engine import."""
    spec = {**db.connection_argument_spec(), **argument_spec}
    module = module_class(argument_spec=spec, supports_check_mode=True, **kwargs)
    if import_error or not db.HAS_PSYCOPG:
        missing = "psycopg" if not db.HAS_PSYCOPG else import_error.strip().splitlines()[-1]
        module.fail_json(
            msg=missing_required_lib(
                missing, reason="for the Bay View runbook's engine", url="https://www.psycopg.org/psycopg3/"
            )
            + " Next step: run the playbook from the project's virtualenv (make venv), or set "
            "ansible_python_interpreter to it.",
            exception=import_error or db.PSYCOPG_IMPORT_ERROR,
        )
    return module


def operator(module) -> str:
    return module.params.get("operator") or getpass.getuser()


def run_guarded(module, action, **context) -> None:
    """Run action(); turn a RunbookError into fail_json with its next step and the context."""
    try:
        action()
    except RunbookError as err:
        module.fail_json(msg=str(err), next_step=err.next_step, **context, **err.details)
    except Exception as exc:  # noqa: BLE001 - an operator needs a sentence, and the trace for us
        module.fail_json(
            msg=f"Unexpected error on {db.describe(module.params)}: {exc}. Next step: keep this output "
            "and the run record, check the database state with the status playbook, and report it.",
            exception=traceback.format_exc(),
            **context,
        )
