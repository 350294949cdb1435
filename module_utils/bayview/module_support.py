"""What every module does the same way: check psycopg, name the operator, fail clearly."""

from __future__ import annotations

import getpass
import traceback

from ansible.module_utils.bayview import db
from ansible.module_utils.bayview.errors import RunbookError


def new_module(module_class, argument_spec: dict, **kwargs):
    """An AnsibleModule with the shared connection options; fails early without psycopg."""
    spec = {**db.connection_argument_spec(), **argument_spec}
    module = module_class(argument_spec=spec, supports_check_mode=True, **kwargs)
    if not db.HAS_PSYCOPG:
        module.fail_json(
            msg="psycopg 3 is not installed for the Python that runs this module. Next step: run the "
            "playbook from the project's virtualenv (make venv), or set ansible_python_interpreter to it."
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
