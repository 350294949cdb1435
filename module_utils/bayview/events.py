"""Runbook events: stored in the database, delivered to webhooks (Slack-compatible JSON) and by email.

An event is stored first (migration.runbook_events, which survives any rollback, and the seed's
core.event_log when it exists), then delivered to every webhook that wants its type: those of
the inventory and those registered in core.webhook_registry. Each delivery is a row of
migration.runbook_notifications, retried with exponential backoff up to its maximum; what is
still undelivered when this event's time budget runs out is retried with the next event.

Delivery never raises: a notification failure is recorded, never fails or blocks a phase.
Messages carry only the event's summary and plain facts, scrubbed of every secret the runbook
knows (passwords, webhook URLs) before they leave.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from email.message import EmailMessage
from urllib.parse import urlsplit

from ansible.module_utils.bayview import db
from ansible.module_utils.bayview.errors import RunbookError

# EVENT_TYPES stays readable without psycopg (the module's argument spec); the module reports it missing.
with contextlib.suppress(ImportError):
    import psycopg

EVENT_TYPES = (
    "phase.started",
    "phase.completed",
    "phase.failed",
    "rollback.started",
    "rollback.completed",
    "rollback.failed",
    "restore_point.created",
    "validation.failed",
    "gate.signed_off",
    "cutover.completed",
)

WEBHOOK_DEFAULTS = {"event_types": ["*"], "max_retries": 3, "backoff_base_seconds": 0.5, "backoff_max_seconds": 8}


def redact_target(url_or_address: str) -> str:
    """What may be stored and shown of a target: a webhook's scheme and host (its path often holds
    a token), or an email address."""
    if "://" not in url_or_address:
        return url_or_address
    parts = urlsplit(url_or_address)
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}/…"


def target_key(channel: str, name: str) -> str:
    """How a delivery finds its target again for a retry: the address, or a hash of the URL
    (never the URL itself, which may hold a token)."""
    return name if channel == "email" else "sha256:" + hashlib.sha256(name.encode()).hexdigest()[:16]


def scrub(text: str, secrets: list[str]) -> str:
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, "[redacted]")
    return re.sub(r"(?i)(password|passwd|secret|token)=(?!\[redacted\])[^\s,;)]+", r"\1=[redacted]", text)


def store(conn: psycopg.Connection, event_type: str, summary: str, details: dict, run_id: str | None) -> int:
    with conn.transaction():
        event_id = conn.execute(
            "INSERT INTO migration.runbook_events (event_type, summary, details, run_id) "
            "VALUES (%s, %s, %s::jsonb, %s) RETURNING id",
            [event_type, summary, json.dumps(details, default=str), run_id],
        ).fetchone()[0]
        if conn.execute("SELECT to_regclass('core.event_log') IS NOT NULL").fetchone()[0]:
            conn.execute(
                "INSERT INTO core.event_log (event_type, source, payload) VALUES (%s, 'bayview-runbook', %s::jsonb)",
                [event_type, json.dumps({"summary": summary, "run_id": run_id, **details}, default=str)],
            )
    return event_id


def registered_webhooks(conn: psycopg.Connection) -> list[dict]:
    """Enabled webhooks of the seed's registry (core.webhook_registry), when it exists."""
    if not conn.execute("SELECT to_regclass('core.webhook_registry') IS NOT NULL").fetchone()[0]:
        return []
    rows = conn.execute(
        "SELECT name, url, event_types, max_retries, backoff_base_seconds, backoff_max_seconds "
        "FROM core.webhook_registry WHERE enabled"
    ).fetchall()
    keys = ("name", "url", "event_types", "max_retries", "backoff_base_seconds", "backoff_max_seconds")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def wants(target: dict, event_type: str) -> bool:
    types = target.get("event_types") or ["*"]
    return "*" in types or event_type in types


def slack_payload(event_type: str, summary: str, facts: dict) -> dict:
    lines = "\n".join(f"*{k}*: {v}" for k, v in facts.items())
    return {
        "text": f"[Bay View runbook] {summary}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{event_type}*: {summary}"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": lines or "-"}},
        ],
    }


def post_webhook(url: str, payload: dict, timeout: float = 5.0) -> None:
    request = urllib.request.Request(  # noqa: S310 - the URL is the operator's configured webhook
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        if not 200 <= response.status < 300:
            raise OSError(f"HTTP {response.status}")


def send_email(smtp: dict, to: str, subject: str, body: str, timeout: float = 10.0) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = smtp["sender"], to, subject
    message.set_content(body)
    with smtplib.SMTP(smtp["host"], int(smtp.get("port") or 25), timeout=timeout) as client:
        if smtp.get("starttls"):
            client.starttls(context=ssl.create_default_context())
        if smtp.get("username"):
            client.login(smtp["username"], smtp.get("password") or "")
        client.send_message(message)


class Deliveries:
    """The deliveries of events, each recorded in migration.runbook_notifications."""

    def __init__(self, conn: psycopg.Connection | None, secrets: list[str], budget_seconds: float):
        self.conn, self.secrets = conn, secrets
        self.deadline = time.monotonic() + budget_seconds
        self.results: list[dict] = []

    def _record(self, row_id, event_id, channel: str, name: str, status: str, attempts: int, error) -> None:
        target = redact_target(name) if channel == "webhook" else name
        self.results.append({"channel": channel, "target": target, "status": status, "attempts": attempts})
        if self.conn is None or event_id is None:
            return
        with self.conn.transaction():
            if row_id is None:
                self.conn.execute(
                    "INSERT INTO migration.runbook_notifications (event_id, channel, name, target, status, "
                    "attempts, last_error) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    [event_id, channel, target_key(channel, name), target, status, attempts, error],
                )
            else:
                self.conn.execute(
                    "UPDATE migration.runbook_notifications SET status = %s, attempts = attempts + %s, "
                    "last_error = %s, updated_at = now() WHERE id = %s",
                    [status, attempts, error, row_id],
                )

    def attempt(self, event_id, channel: str, name: str, send, policy: dict, row_id=None, tried: int = 0) -> None:
        """send() until it works, with exponential backoff, within the retries and the time budget."""
        attempts, error = 0, None
        while tried + attempts <= int(policy["max_retries"]):
            attempts += 1
            try:
                send()
                self._record(row_id, event_id, channel, name, "delivered", attempts, None)
                return
            except (OSError, smtplib.SMTPException, urllib.error.URLError, ValueError) as exc:
                error = scrub(f"{type(exc).__name__}: {exc}", self.secrets)[:500]
            delay = min(policy["backoff_base_seconds"] * 2 ** (attempts - 1), policy["backoff_max_seconds"])
            if tried + attempts > int(policy["max_retries"]) or time.monotonic() + delay > self.deadline:
                break
            time.sleep(delay)
        status = "failed" if tried + attempts > int(policy["max_retries"]) else "pending"
        self._record(row_id, event_id, channel, name, status, attempts, error)


def _policy(settings: dict) -> dict:
    """Retries and backoff of a target, defaults filled in."""
    given = {k: settings[k] for k in WEBHOOK_DEFAULTS if settings.get(k) is not None}
    policy = {**WEBHOOK_DEFAULTS, **given}
    return {**policy, **{k: float(policy[k]) for k in ("backoff_base_seconds", "backoff_max_seconds")}}


def _targets(event_type: str, webhooks: list[dict], email: dict | None) -> list[tuple[str, str, dict]]:
    """(channel, name, policy) of everyone who wants this event type; name is the URL or the address."""
    found = [("webhook", hook["url"], _policy(hook)) for hook in webhooks if wants(hook, event_type)]
    if email and wants(email, event_type):
        found += [("email", address, _policy(email)) for address in email.get("to") or []]
    return found


def _sender(channel: str, name: str, event_type: str, summary: str, facts: dict, email: dict | None):
    if channel == "webhook":
        return lambda: post_webhook(name, slack_payload(event_type, summary, facts))
    body = summary + "\n\n" + "\n".join(f"{k}: {v}" for k, v in facts.items()) + "\n"
    return lambda: send_email(email, name, f"[Bay View runbook] {summary}", body)


PENDING = """
SELECT n.id, n.channel, n.name, n.target, n.attempts, e.id, e.event_type, e.summary, e.details
  FROM migration.runbook_notifications n JOIN migration.runbook_events e ON e.id = n.event_id
 WHERE n.status = 'pending' AND e.id <> %s ORDER BY n.id LIMIT 20
"""


def _retry_pending(deliveries: Deliveries, current_event: int, webhooks: list[dict], email: dict | None) -> None:
    """Deliveries an earlier event could not finish: tried again to the same (still configured) target."""
    for row_id, channel, name, _target, tried, event_id, event_type, summary, facts in deliveries.conn.execute(
        PENDING, [current_event]
    ).fetchall():
        for t_channel, t_name, policy in _targets(event_type, webhooks, email):
            if t_channel == channel and target_key(t_channel, t_name) == name:
                send = _sender(channel, t_name, event_type, summary, facts, email)
                deliveries.attempt(event_id, channel, t_name, send, policy, row_id=row_id, tried=tried)
                break


def emit(
    params: dict,
    event_type: str,
    summary: str,
    details: dict,
    run_id: str | None,
    webhooks: list[dict],
    email: dict | None,
    budget_seconds: float = 20.0,
) -> dict:
    """Store the event, deliver it; returns what was stored and delivered. Never raises."""
    secrets = [params["connection"].get("password") or "", *(w.get("url", "") for w in webhooks)]
    if email:
        secrets.append(email.get("password") or "")
    summary = scrub(summary, secrets)
    facts = {k: scrub(str(v), secrets) for k, v in details.items() if v not in (None, "", [], {})}
    conn, event_id, storage_error = None, None, None
    try:
        conn = db.connect(params)
        event_id = store(conn, event_type, summary, facts, run_id)
        webhooks = webhooks + [w for w in registered_webhooks(conn) if w["url"] not in {x["url"] for x in webhooks}]
    except (psycopg.Error, RunbookError) as exc:  # the database may be what failed: deliver all the same
        storage_error = scrub(str(exc), secrets)[:300]
    deliveries = Deliveries(conn, [s for s in secrets if s], budget_seconds)
    for channel, name, policy in _targets(event_type, webhooks, email):
        deliveries.attempt(event_id, channel, name, _sender(channel, name, event_type, summary, facts, email), policy)
    if event_id is not None:
        _retry_pending(deliveries, event_id, webhooks, email)
    if conn is not None:
        conn.close()
    return {
        "event_id": event_id,
        "event_type": event_type,
        "summary": summary,
        "stored": event_id is not None,
        "storage_error": storage_error,
        "deliveries": deliveries.results,
    }
