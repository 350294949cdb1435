"""Reading Notion: the live API through the official SDK, or a "Markdown & CSV" export. Both
yield the same thing, one NotionPage per page or exported row, exactly as read; nothing here
parses a value (the reconciliation does, in SQL). The runbook never writes to Notion.
"""

from __future__ import annotations

import csv
import io
import logging
import random
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ansible.module_utils.bayview.errors import RunbookError

NOTION_VERSION = "2025-09-03"
PAGE_SIZE = 100
# The title property of each database: an export's header names it first, and it identifies a database.
TITLES = {"memorial_garden": "Submission ID", "chapel": "Application ID"}
DATABASES = tuple(TITLES)
MAX_ATTEMPTS = 6  # per request, for 429 and 5xx: five waits, of 1 to 30 s each
MAX_RETRY_AFTER = 60.0  # seconds; a longer Retry-After is waited this long, then asked again


@dataclass(frozen=True)
class NotionPage:
    notion_database: str
    source: str  # the data source id, or the export file the row came from
    title: str
    properties: dict
    page_id: str | None = None
    last_edited_time: str | None = None


class RateLimit:
    """At most `per_second` requests per second on average, measured from the first request:
    Notion's limit is an average of three per second per integration, with bursts allowed."""

    def __init__(self, per_second: float, clock=time.monotonic, sleep=time.sleep):
        self.interval, self.clock, self.sleep = 1.0 / per_second, clock, sleep
        self.next_at: float | None = None

    def wait(self) -> None:
        now = self.clock()
        if self.next_at is not None and now < self.next_at:
            self.sleep(self.next_at - now)
            now = self.next_at
        self.next_at = now + self.interval


def title_of(properties: dict, database: str) -> str:
    """The title property's text of an API page (its `title` rich text) or an exported row."""
    value = properties.get(TITLES[database])
    if isinstance(value, dict):
        return "".join(part.get("plain_text", "") for part in value.get("title", []))
    return value or ""


# --- The API ---------------------------------------------------------------------------------


def _client(token: str, base_url: str | None):
    try:
        import notion_client
    except ImportError as exc:
        raise RunbookError(
            "The notion-client library is not installed where the runbook runs.",
            "install the runbook's requirements (make venv, or pip install notion-client).",
        ) from exc
    # Retries are ours (below); the SDK's own log (on stderr, one handler more per client) stays quiet:
    # the runbook says itself what failed.
    quiet = logging.getLogger("bayview.notion_sdk")
    if not quiet.handlers:
        quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    options = {
        "auth": token,
        "notion_version": NOTION_VERSION,
        "retry": False,
        "logger": quiet,
        "log_level": logging.CRITICAL,
    }
    if base_url:
        options["base_url"] = base_url.rstrip("/")
    return notion_client.Client(**options)


def _request(call, limit: RateLimit, token_source: str, what: str, sleep=time.sleep):
    """One request, within the rate limit: a 429 waits its Retry-After, a 5xx or a lost connection
    backs off exponentially (the query only reads, so repeating it is safe); 401 and 403 say which
    token was refused, never the token."""
    import httpx
    from notion_client.errors import HTTPResponseError, RequestTimeoutError

    for attempt in range(MAX_ATTEMPTS):
        limit.wait()
        try:
            return call()
        except HTTPResponseError as exc:
            status, code = exc.status, getattr(exc, "code", "")
            if status in (401, 403):
                raise RunbookError(
                    f"Notion refused the token from {token_source} ({status} {code}) while reading {what}: "
                    "nothing more was staged (what was read before stays staged for the next sync).",
                    f"check the integration token in {token_source} and that the database is shared with the "
                    "integration (in Notion: the database's ... menu > Connections).",
                ) from None
            if status == 404:
                raise RunbookError(
                    f"Notion shows this integration no {what.removeprefix('the ')} (404 {code}): "
                    "nothing more was staged.",
                    "check bayview_notion_data_sources (the data source ids of the two databases) and that "
                    "each database is shared with the integration.",
                ) from None
            if status != 429 and status < 500:
                raise RunbookError(
                    f"Notion refused reading {what}: {status} {code}: nothing more was staged.",
                    "check bayview_notion_data_sources and notion_api_base_url.",
                ) from None
            delay = _retry_after(exc.headers) if status == 429 else None
        except (RequestTimeoutError, httpx.TransportError) as exc:
            status, delay = type(exc).__name__, None
        if attempt == MAX_ATTEMPTS - 1:
            break
        sleep(delay if delay is not None else min(2**attempt, 30) * (0.5 + random.random() / 2))  # noqa: S311
    raise RunbookError(
        f"Notion kept failing while reading {what} ({status}, {MAX_ATTEMPTS} attempts): the pages read before "
        "were staged; nothing half-read was.",
        "run the sync again later: it reads from where the staged pages end.",
    )


def _retry_after(headers) -> float | None:
    try:
        return min(max(float(headers.get("retry-after")), 0.0), MAX_RETRY_AFTER)
    except (TypeError, ValueError):
        return None


def read_api(
    token: str,
    token_source: str,
    data_sources: dict[str, str],
    since: dict[str, str | None],
    requests_per_second: float = 3.0,
    base_url: str | None = None,
) -> Iterator[list[NotionPage]]:
    """The pages of each data source (database -> data source id), one list per response; only those
    edited on or after since[database] when it is set (an incremental sync)."""
    client = _client(token, base_url)
    limit = RateLimit(requests_per_second)
    try:
        for database, data_source_id in data_sources.items():
            # oldest edit first: a read cut short has staged a prefix of the edit times, and the
            # next read starts from the newest staged one (minus an overlap)
            body: dict = {
                "page_size": PAGE_SIZE,
                "sorts": [{"timestamp": "last_edited_time", "direction": "ascending"}],
            }
            if since.get(database):
                body["filter"] = {"timestamp": "last_edited_time", "last_edited_time": {"on_or_after": since[database]}}
            cursor = None
            while True:
                query = dict(body, start_cursor=cursor) if cursor else body
                response = _request(
                    lambda q=query, ds=data_source_id: client.data_sources.query(ds, **q),
                    limit,
                    token_source,
                    f"the {database} data source {data_source_id}",
                )
                yield [
                    NotionPage(
                        notion_database=database,
                        source=data_source_id,
                        title=title_of(page.get("properties", {}), database),
                        properties=page.get("properties", {}),
                        page_id=page.get("id"),
                        last_edited_time=page.get("last_edited_time"),
                    )
                    for page in response.get("results", [])
                    if page.get("object", "page") == "page" and not page.get("in_trash") and not page.get("archived")
                ]
                if not response.get("has_more"):
                    break
                if not response.get("next_cursor") or response["next_cursor"] == cursor:
                    raise RunbookError(
                        f"Notion said more pages of the {database} data source follow but gave no new cursor: "
                        "the pages read so far are staged.",
                        "run the sync again; if it repeats, report it (the API's answer is not as documented).",
                    )
                cursor = response["next_cursor"]
    finally:
        client.close()


# --- An export --------------------------------------------------------------------------------


def export_files(path: str) -> list[tuple[str, bytes]]:
    """(name, content) of every CSV in a Notion export: the zip, its unpacked folder, or one CSV.
    Notion writes each database twice in a zip: 'Name <id>.csv' and 'Name <id>_all.csv' (every row,
    not just the view's): the _all file is read when it is there."""
    where = Path(path)
    if not where.exists():
        raise RunbookError(f"The Notion export {path} does not exist.", "pass the export's zip, folder or CSV file.")
    if where.is_dir():
        found = [(str(p.relative_to(where)), p.read_bytes()) for p in sorted(where.rglob("*.csv"))]
    elif zipfile.is_zipfile(where):
        found = []
        with zipfile.ZipFile(where) as archive:
            for name in sorted(archive.namelist()):
                if name.lower().endswith(".csv"):
                    found.append((name, archive.read(name)))
                elif name.lower().endswith(".zip"):  # Notion nests the export in a second zip
                    with zipfile.ZipFile(io.BytesIO(archive.read(name))) as inner:
                        found += [(n, inner.read(n)) for n in sorted(inner.namelist()) if n.lower().endswith(".csv")]
    elif where.suffix.lower() == ".csv":
        found = [(where.name, where.read_bytes())]
    else:
        raise RunbookError(
            f"The Notion export {path} is neither a zip, a folder nor a CSV file.",
            "pass the zip Notion's 'Export > Markdown & CSV' gave, its unpacked folder, or a CSV from it.",
        )
    names = {item[0] for item in found}
    chosen = [(name, data) for name, data in found if not name.endswith("_all.csv") and name[:-4] + "_all.csv" in names]
    found = [item for item in found if item not in chosen]
    if not found:
        raise RunbookError(f"The Notion export {path} holds no CSV file.", "export the databases as Markdown & CSV.")
    return found


def read_export(path: str) -> Iterator[list[NotionPage]]:
    """Every row of every database CSV of the export, as strings exactly as exported. The title
    property is the first column; which database a file holds is told by it."""
    for name, data in export_files(path):
        text = data.decode("utf-8-sig")  # Notion starts the file with a byte-order mark
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if not header:
            continue
        header = [h.strip() for h in header]
        database = next((db for db, title in TITLES.items() if header[0] == title), None)
        if database is None:
            raise RunbookError(
                f"{name} in the Notion export starts with the column {header[0]!r}: it is neither the memorial garden "
                "database (Submission ID first) nor the chapel database (Application ID first). Nothing was staged.",
                "export the two databases themselves, not a view with another first column.",
            )
        rows = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            properties = dict(zip(header, row + [""] * (len(header) - len(row)), strict=False))
            rows.append(NotionPage(database, name, properties[header[0]], properties))
        yield rows
