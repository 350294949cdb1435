#!/usr/bin/python
"""Ansible module: emit a runbook event (stored, then delivered to webhooks and by email)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: bayview_notify
short_description: Store a Bay View runbook event and deliver it to webhooks and by email
description:
  - Stores the event in C(migration.runbook_events) (and the seed's C(core.event_log) when it exists).
  - Delivers it as Slack-compatible JSON to the O(webhooks) and to the enabled rows of C(core.webhook_registry)
    that want its type, and by email over SMTP, each retried with exponential backoff up to its maximum.
  - Every delivery is recorded in C(migration.runbook_notifications); one still undelivered when the time budget
    runs out is retried with the next event.
  - It never fails because of a notification, and it never changes anything the runbook manages (changed is
    always false). Messages are scrubbed of the passwords and webhook URLs it knows.
version_added: "0.1.0"
author: ["Bay View runbook team (!UNKNOWN)"]
extends_documentation_fragment: [bayview_connection]
options:
  event_type:
    description: The event.
    type: str
    required: true
    choices: [phase.started, phase.completed, phase.failed, rollback.started, rollback.completed, rollback.failed,
              restore_point.created, validation.failed, gate.signed_off, cutover.completed]
  summary:
    description: One sentence for a person.
    type: str
    required: true
  details:
    description: Plain facts shown under the summary (no secrets).
    type: dict
    default: {}
  run_id:
    description: The run the event belongs to.
    type: str
  webhooks:
    description: Webhooks of the inventory (their URLs usually hold a token; keep them in the vault).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: A name for people.
        type: str
        required: true
      url:
        description: Where to POST the JSON (a secret when it holds a token; never logged).
        type: str
        required: true
      event_types:
        description: Event types to deliver; C(*) for all.
        type: list
        elements: str
        default: ["*"]
      max_retries:
        description: Retries after the first attempt.
        type: int
        default: 3
      backoff_base_seconds:
        description: First wait; doubled after each failed attempt.
        type: float
        default: 0.5
      backoff_max_seconds:
        description: Longest wait between attempts.
        type: float
        default: 8
  email:
    description: SMTP delivery; omit for none.
    type: dict
    suboptions:
      host:
        description: SMTP server.
        type: str
        required: true
      port:
        description: SMTP port.
        type: int
        default: 25
      starttls:
        description: Upgrade the connection with STARTTLS before sending.
        type: bool
        default: false
      username:
        description: SMTP login, if the server wants one.
        type: str
      password:
        description: SMTP password (from the vault; never logged).
        type: str
      sender:
        description: The From address.
        type: str
        required: true
      to:
        description: Recipients.
        type: list
        elements: str
        required: true
      event_types:
        description: Event types to send; C(*) for all.
        type: list
        elements: str
        default: ["*"]
      max_retries:
        description: Retries after the first attempt.
        type: int
        default: 3
      backoff_base_seconds:
        description: First wait; doubled after each failed attempt.
        type: float
        default: 0.5
      backoff_max_seconds:
        description: Longest wait between attempts.
        type: float
        default: 8
  budget_seconds:
    description: Time this event's deliveries may take in all before the rest waits for the next event.
    type: float
    default: 20
"""

EXAMPLES = r"""
- name: Tell everyone Phase 2 started
  ansible.legacy.bayview_notify:
    connection: "{{ bayview_db_connection }}"
    event_type: phase.started
    summary: Phase 2 started on bayview@db.example.org
    webhooks: "{{ bayview_webhooks }}"
"""

RETURN = r"""
event:
  description: event_id, stored, storage_error, and each delivery with channel, redacted target, status, attempts.
  returned: always
  type: dict
"""

import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.bayview.module_support import new_module

try:  # the engine needs psycopg (a store, boto3): without them new_module says so, naming the library
    from ansible.module_utils.bayview import events
except ImportError:
    ENGINE_IMPORT_ERROR = traceback.format_exc()
else:
    ENGINE_IMPORT_ERROR = None

RETRY_OPTIONS = {
    "event_types": {"type": "list", "elements": "str", "default": ["*"]},
    "max_retries": {"type": "int", "default": 3},
    "backoff_base_seconds": {"type": "float", "default": 0.5},
    "backoff_max_seconds": {"type": "float", "default": 8},
}


def main() -> None:
    module = new_module(
        AnsibleModule,
        import_error=ENGINE_IMPORT_ERROR,
        argument_spec={
            "event_type": {"type": "str", "required": True, "choices": list(events.EVENT_TYPES)},
            "summary": {"type": "str", "required": True},
            "details": {"type": "dict", "default": {}},
            "run_id": {"type": "str"},
            "webhooks": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": {
                    "name": {"type": "str", "required": True},
                    "url": {"type": "str", "required": True, "no_log": True},
                    **RETRY_OPTIONS,
                },
            },
            "email": {
                "type": "dict",
                "options": {
                    "host": {"type": "str", "required": True},
                    "port": {"type": "int", "default": 25},
                    "starttls": {"type": "bool", "default": False},
                    "username": {"type": "str"},
                    "password": {"type": "str", "no_log": True},
                    "sender": {"type": "str", "required": True},
                    "to": {"type": "list", "elements": "str", "required": True},
                    **RETRY_OPTIONS,
                },
            },
            "budget_seconds": {"type": "float", "default": 20},
        },
    )
    p = module.params
    if module.check_mode:
        module.exit_json(changed=False, event={"event_type": p["event_type"], "summary": p["summary"], "stored": False})
    try:
        result = events.emit(
            p, p["event_type"], p["summary"], p["details"], p["run_id"], p["webhooks"], p["email"], p["budget_seconds"]
        )
    except Exception as exc:  # noqa: BLE001 - a notification must never fail a phase
        result = {"event_type": p["event_type"], "stored": False, "error": f"{type(exc).__name__}: {exc}"}
    module.exit_json(changed=False, event=result)


if __name__ == "__main__":
    main()
