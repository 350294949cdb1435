"""A local stand-in for Notion's API, for tests and benchmarks (no Notion is reachable from a
rehearsal): an HTTP server on 127.0.0.1 that answers what the runbook asks, in the documented
request and response shapes of API version 2025-09-03: POST /v1/data_sources/{id}/query with
page_size, start_cursor, a last_edited_time filter and sorts; errors as Notion's error objects.
The real notion-client SDK talks to it through its base_url. For the portable data API's Notion
adapter (with writes enabled) it also answers GET /v1/pages/{id}, POST /v1/pages (a parent
data_source_id) and PATCH /v1/pages/{id} (properties, in_trash). It can be told to answer the next
requests with a 429 (and Retry-After), a 502 or a 401, to hold clients to a request rate as
Notion does (a 429 for a request over it), and records when each request came.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NOTION_VERSION = "2025-09-03"

# The property types of the two databases (../shared/NOTION.md); anything else is rich text.
TYPES = {
    "Submission ID": "title",
    "Application ID": "title",
    "Submission Date": "date",
    "Service Date": "date",
    "Submitted": "date",
    "Approval Date": "date",
    "Rehearsal Date": "date",
    "Baptism Date": "date",
    "Status": "select",
    "Application Type": "select",
    "Bay View Member": "select",
    "Celebrant Requested": "select",
    "Placement Type": "select",
    "Type": "select",
    "Baptism Type": "select",
    "Performance Location": "select",
    "Policy Agreement": "checkbox",
    "Memorial Garden Placement": "checkbox",
    "Altar Guild Notified": "checkbox",
    "Policy Acknowledged": "checkbox",
    "Contact Email": "email",
    "Contact Phone": "phone_number",
    "Fee Amount": "number",
    "Event Fee": "number",
    "Guest Count": "number",
}


def property_value(name: str, value) -> dict:
    """A page property object of the documented shape for a plain value."""
    kind = TYPES.get(name, "rich_text")
    prop: dict = {"id": uuid.uuid5(uuid.NAMESPACE_URL, name).hex[:4], "type": kind}
    if kind in ("title", "rich_text"):
        text = "" if value is None else str(value)
        prop[kind] = (
            [{"type": "text", "text": {"content": text, "link": None}, "plain_text": text, "href": None}]
            if text
            else []
        )
    elif kind == "select":
        prop[kind] = None if value is None else {"id": "opt", "name": str(value), "color": "default"}
    elif kind == "date":
        prop[kind] = None if value is None else {"start": str(value), "end": None, "time_zone": None}
    elif kind == "checkbox":
        prop[kind] = bool(value)
    else:  # number, email, phone_number
        prop[kind] = value
    return prop


def page(data_source_id: str, values: dict, last_edited_time: str | None = None, page_id: str | None = None) -> dict:
    """A page object as data_sources.query returns it."""
    edited = last_edited_time or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:00.000Z")
    return {
        "object": "page",
        "id": page_id or str(uuid.uuid4()),
        "created_time": edited,
        "last_edited_time": edited,
        "in_trash": False,
        "archived": False,
        "parent": {"type": "data_source_id", "data_source_id": data_source_id},
        "properties": {name: property_value(name, value) for name, value in values.items()},
        "url": "https://www.notion.so/page",
    }


class NotionState:
    """What the server holds and how it misbehaves; shared with the test."""

    def __init__(self, token: str):
        self.token = token
        self.pages: dict[str, list[dict]] = {}
        self.faults: list[tuple[int, dict]] = []  # (status, headers) answered to the next requests, in order
        self.requests: list[tuple[float, str, dict]] = []  # (monotonic time, path, body)
        self.lock = threading.Lock()
        # Notion's limit: an average of `rate_limit` requests per second, bursts of `burst` allowed
        # (a token bucket); None: no limit. over_budget counts the requests refused with a 429.
        self.rate_limit: float | None = None
        self.burst = 3.0
        self.over_budget = 0
        self._tokens, self._filled_at = self.burst, time.monotonic()

    def within_budget(self, now: float) -> bool:
        if self.rate_limit is None:
            return True
        self._tokens = min(self.burst, self._tokens + (now - self._filled_at) * self.rate_limit)
        self._filled_at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        self.over_budget += 1
        return False

    def add(self, data_source_id: str, values: dict, **kwargs) -> dict:
        created = page(data_source_id, values, **kwargs)
        self.pages.setdefault(data_source_id, []).append(created)
        return created


def request_value(name: str, prop: dict):
    """The plain value of a property as a create or update request gives it (the documented request
    shapes: title/rich_text as text objects, select as {name}, date as {start}, or the value)."""
    kind = next(
        (
            k
            for k in ("title", "rich_text", "select", "date", "checkbox", "number", "email", "phone_number")
            if k in prop
        ),
        None,
    )
    value = prop.get(kind)
    if kind in ("title", "rich_text"):
        return "".join(part.get("text", {}).get("content", "") for part in value or [])
    if kind in ("select", "date"):
        return None if value is None else value.get("name" if kind == "select" else "start")
    return value


def _error(status: int, code: str, message: str) -> dict:
    return {"object": "error", "status": status, "code": code, "message": message, "request_id": str(uuid.uuid4())}


class Handler(BaseHTTPRequestHandler):
    state: NotionState

    def log_message(self, *args) -> None:  # quiet
        pass

    def _send(self, status: int, body: dict, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        self.do_POST()

    def do_PATCH(self) -> None:  # noqa: N802 - the http.server API
        self.do_POST()

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        state = self.state
        with state.lock:
            now = time.monotonic()
            state.requests.append((now, self.path, body))
            fault = state.faults.pop(0) if state.faults else None
            if fault is None and not state.within_budget(now):
                fault = (429, {"Retry-After": "1"})
        if fault:
            status, headers = fault
            if status == 502:  # a gateway's HTML, not Notion's JSON
                data = b"<html><body>502 Bad Gateway</body></html>"
                self.send_response(502)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            codes = {429: "rate_limited", 401: "unauthorized", 500: "internal_server_error"}
            return self._send(status, _error(status, codes.get(status, "error"), "injected"), headers)
        if self.headers.get("Authorization") != f"Bearer {state.token}":
            return self._send(401, _error(401, "unauthorized", "API token is invalid."))
        if self.headers.get("Notion-Version") != NOTION_VERSION:
            return self._send(400, _error(400, "invalid_request", "Unsupported Notion-Version."))
        parts = self.path.strip("/").split("/")
        if parts[:2] == ["v1", "pages"]:
            return self._pages(parts[2:], body)
        if len(parts) != 4 or parts[:2] != ["v1", "data_sources"] or parts[3] != "query":
            return self._send(400, _error(400, "invalid_request_url", "Invalid request URL."))
        if parts[2] not in state.pages:
            return self._send(404, _error(404, "object_not_found", f"Could not find data source {parts[2]}."))
        size = body.get("page_size", 100)
        if not 1 <= size <= 100:
            return self._send(400, _error(400, "validation_error", "page_size should be between 1 and 100"))
        self._send(200, self._query(state.pages[parts[2]], body, size))

    def _pages(self, rest: list[str], body: dict) -> None:
        """pages.retrieve (GET /v1/pages/{id}), pages.create (POST /v1/pages), pages.update (PATCH)."""
        state = self.state
        with state.lock:
            if self.command == "POST" and not rest:
                source = (body.get("parent") or {}).get("data_source_id")
                if source not in state.pages:
                    return self._send(404, _error(404, "object_not_found", f"Could not find data source {source}."))
                values = {name: request_value(name, prop) for name, prop in body.get("properties", {}).items()}
                return self._send(200, state.add(source, values))
            found = next((p for pages in state.pages.values() for p in pages if rest and p["id"] == rest[0]), None)
            if found is None or len(rest) != 1 or self.command not in ("GET", "PATCH"):
                return self._send(404, _error(404, "object_not_found", f"Could not find page {'/'.join(rest)}."))
            if self.command == "PATCH":
                for name, prop in body.get("properties", {}).items():
                    found["properties"][name] = property_value(name, request_value(name, prop))
                for flag in ("in_trash", "archived"):
                    if flag in body:
                        found["in_trash"] = found["archived"] = bool(body[flag])
                found["last_edited_time"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:00.000Z")
            return self._send(200, found)

    def _query(self, pages: list[dict], body: dict, size: int) -> dict:
        found = list(pages)
        flt = body.get("filter")
        if flt and flt.get("timestamp") == "last_edited_time":
            on_or_after = flt["last_edited_time"]["on_or_after"]
            found = [p for p in found if _at(p["last_edited_time"]) >= _at(on_or_after)]
        for sort in reversed(body.get("sorts", [])):
            found.sort(key=lambda p, s=sort: p[s["timestamp"]], reverse=sort.get("direction") == "descending")
        start = int(body.get("start_cursor") or 0)
        chunk = found[start : start + size]
        more = start + size < len(found)
        return {
            "object": "list",
            "results": chunk,
            "next_cursor": str(start + size) if more else None,
            "has_more": more,
            "type": "page_or_data_source",
            "page_or_data_source": {},
        }


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class NotionServer:
    """The server on a free port of 127.0.0.1, in a thread; base_url for the SDK."""

    def __init__(self, token: str):
        self.state = NotionState(token)
        handler = type("BoundHandler", (Handler,), {"state": self.state})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> NotionServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
