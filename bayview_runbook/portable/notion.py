"""The portable data API over the association's two Notion databases, through notion-client.

What a page means is the Notion sync's mapping: the CARRIED declarations of the data migrations
0024-0027 (property -> column of the new design), read by the rules of the values views
(migration.notion_memorial_values / notion_chapel_values, docs/notion.md): placeholders are None,
select options lower-cased with '_' for spaces and dashes, the application type by its key word,
the chapel status by its synonyms, times of day as the forms wrote them, a date-only or
offset-less point in time in America/Detroit. A value the views cannot read is None here.

Only memorial applications (the Memorial Garden Applications database) and chapel services (the
Chapel Services database) live in Notion, with their persons as properties of the page: a
person's id is '<page id>:<role>' (deceased, contact, member_sponsor), its fields the name (split
as the sync splits it: the last word is the last name), email and phone. Payments are not there.

Read-only unless constructed with writes=True: then create writes a page (pages.create), update
its properties (pages.update) and delete moves the page to the trash (in_trash), as Notion's own
delete does. Persons are created and changed only with their record (as fields in `persons`).
"""

from __future__ import annotations

import re
import time as clock
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

from ansible.module_utils.bayview import notion_read

from bayview_runbook.engine import DATA_MIGRATIONS, data_migrations
from bayview_runbook.notion_local import TYPES as PROPERTY_TYPES
from bayview_runbook.portable.contract import CENT, ENTITIES, NotSupported, PortableDataAPI, PortableError, matches

LOCAL = ZoneInfo("America/Detroit")
PLACEHOLDERS = {"", "not provided", "n/a", "na", "none", "unknown", "tbd", "-", "--", "?", "null"}
DATABASE = {"memorial_application": "memorial_garden", "chapel_service": "chapel"}
ENTITY = {db: entity for entity, db in DATABASE.items()}


def _carried(name: str) -> dict[str, str]:
    """property -> column, from a data migration's CARRIED (one mapping: the Notion sync's)."""
    return {
        prop: target.rsplit(".", 1)[1] for prop, target in data_migrations.load(DATA_MIGRATIONS, name).CARRIED.items()
    }


COLUMNS = {
    "memorial_application": _carried("0024_notion_memorial_applications"),
    "chapel_service": _carried("0025_notion_chapel_services"),
}
# role -> (name, email, phone) properties, from 0026 and 0027's CARRIED.
PERSONS = {
    "memorial_application": {
        "deceased": ("Deceased Name", None, None),
        "contact": ("Contact Name", "Contact Email", "Contact Phone"),
        "member_sponsor": ("Member Name", None, None),
    },
    "chapel_service": {"contact": ("Contact Name", "Contact Email", "Contact Phone")},
}
PARTICULARS_ONLY = {"Personal History JSON", "Bay View History"}
for _entity, _migration in (
    ("memorial_application", "0026_notion_memorial_persons"),
    ("chapel_service", "0027_notion_chapel_persons"),
):
    # the deceased's particulars (0026) are fields the portable person does not have
    _declared = set(data_migrations.load(DATA_MIGRATIONS, _migration).CARRIED) - PARTICULARS_ONLY
    assert {p for props in PERSONS[_entity].values() for p in props if p} == _declared, _migration
PERSON_FIELDS = ("person_type", "first_name", "last_name", "email", "phone")
PERSON_TYPES = {"deceased": "deceased", "contact": "contact", "member_sponsor": "member"}
CHAPEL_STATUS = {
    "pending": "pending", "pending_review": "pending", "submitted": "pending",
    "approved": "approved", "confirmed": "approved",
    "rejected": "rejected", "declined": "rejected",
    "cancelled": "cancelled", "canceled": "cancelled",
}  # fmt: skip
NO_PAYMENTS = (
    "the Notion databases hold no payments as records of their own: a chapel page's Amount Paid is a property of it"
)
EMBEDDED = "a person exists in Notion only as properties of an application page: write it with its record"
READ_ONLY = "this Notion adapter is read-only: construct it with writes=True to write to Notion"


# --- reading a property (the views' rules) ------------------------------------------------------


def _text(prop) -> str | None:
    if not isinstance(prop, dict):
        return prop
    kind = prop.get("type")
    value = prop.get(kind)
    if kind in ("title", "rich_text"):
        text = "".join(part.get("plain_text", "") for part in value or [])
    elif kind in ("select", "status"):
        text = None if value is None else value.get("name")
    elif kind == "date":
        text = None if value is None else value.get("start")
    elif kind == "checkbox":
        text = "Yes" if value else "No"
    else:
        text = None if value is None else str(value)
    if text is None or text.strip().lower() in PLACEHOLDERS:
        return None
    return text.strip()


def _option(v: str | None) -> str | None:
    return re.sub(r"[\s-]+", "_", v.strip().lower()) or None if v else None


def _date(v: str | None) -> date | None:
    try:
        return date.fromisoformat(v[:10]) if v and re.match(r"^\d{4}-\d{2}-\d{2}", v) else None
    except ValueError:
        return None


def _time(v: str | None) -> time | None:
    if not v:
        return None
    twelve = re.match(r"^(\d{1,2})(?::(\d{2}))?\s*([AaPp])\.?\s*[Mm]\.?$", v.strip())
    if twelve:
        hour, minute = int(twelve[1]), int(twelve[2] or 0)
        if not 1 <= hour <= 12 or minute > 59:
            return None
        return time(hour % 12 + (12 if twelve[3].lower() == "p" else 0), minute)
    plain = re.match(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$", v.strip())
    try:
        return time(int(plain[1]), int(plain[2]), int(plain[3] or 0)) if plain else None
    except ValueError:
        return None


def _timestamp(v: str | None) -> datetime | None:
    day = _date(v)
    if day is None:
        return None
    if "T" not in v:
        return datetime.combine(day, time(), LOCAL).astimezone(UTC)
    try:
        parsed = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=LOCAL)).astimezone(UTC)


def _money(v: str | None) -> Decimal | None:
    if not v or not re.match(r"^\$?\s*[0-9][0-9,]*(\.[0-9]+)?$", v):
        return None
    try:
        return Decimal(v.replace("$", "").replace(",", "").strip()).quantize(CENT, ROUND_HALF_UP)  # as numeric rounds
    except InvalidOperation:
        return None


def _bool(v: str | None) -> bool | None:
    return {"yes": True, "true": True, "no": False, "false": False}.get((v or "").strip().lower())


def _application_type(v: str | None) -> str | None:
    low = (v or "").lower()
    return "immediate" if "immediate" in low else "future" if re.search("future|reserve|prepa", low) else None


READERS = {
    "application_type": _application_type,
    "placement_type": _option,
    "service_type": _option,
    "service_date": _date,
    "rehearsal_date": _date,
    "service_time": _time,
    "rehearsal_time": _time,
    "submitted_at": _timestamp,
    "approved_at": _timestamp,
    "fee": _money,
    "is_member": _bool,
    "altar_guild_notified": lambda v: bool(_bool(v)),
    "status": lambda v: CHAPEL_STATUS.get(_option(v or "pending")),
}


def _split(name: str | None) -> tuple[str | None, str | None]:
    if not name:
        return None, None
    words = name.split()
    return (" ".join(words[:-1]) or None), words[-1]


# --- writing a property ----------------------------------------------------------------------


def _written(prop: str, value) -> dict:
    """A property value object in the documented request shape."""
    kind = PROPERTY_TYPES.get(prop, "rich_text")
    if kind in ("title", "rich_text"):
        return {kind: [] if value is None else [{"type": "text", "text": {"content": str(value)}}]}
    if kind == "select":
        return {kind: None if value is None else {"name": str(value)}}
    if kind == "date":
        return {kind: None if value is None else {"start": value.isoformat()}}
    if kind == "number":
        return {kind: None if value is None else float(value)}
    return {kind: value}


def _shown(column: str, value):
    """A column's value as the current forms write it to Notion (read back by the rules above)."""
    if value is None:
        return None
    if column in ("service_type", "placement_type", "application_type", "status"):
        return value.replace("_", " ").title()
    if column in ("is_member", "altar_guild_notified"):
        return ("Yes" if value else "No") if column == "is_member" else value
    if column in ("service_time", "rehearsal_time"):
        return value.strftime("%H:%M")
    return value


class NotionAdapter(PortableDataAPI):
    name = "notion"
    embedded_persons = True
    held = {
        "memorial_application": (*COLUMNS["memorial_application"].values(), "notion_id", "persons"),
        "chapel_service": (*COLUMNS["chapel_service"].values(), "notion_id", "persons"),
        "person": PERSON_FIELDS,
    }

    def __init__(
        self,
        token: str,
        data_sources: dict[str, str],
        base_url: str | None = None,
        writes: bool = False,
        requests_per_second: float = 3.0,
    ):
        self.token, self.data_sources, self.base_url, self.writes = token, data_sources, base_url, writes
        self.requests_per_second = requests_per_second
        self.client = notion_read._client(token, base_url)
        self.limit = notion_read.RateLimit(requests_per_second)
        unsupported = {("payment", op): NO_PAYMENTS for op in ("create", "read", "update", "delete", "query")}
        unsupported |= {("person", op): EMBEDDED for op in ("create", "update", "delete")}
        if not writes:
            unsupported |= {(e, op): READ_ONLY for e in DATABASE for op in ("create", "update", "delete")}
        self.unsupported = unsupported

    def close(self) -> None:
        self.client.close()

    # --- pages ---
    def _call(self, call, what: str, write: bool = False):
        """One request within the rate limit (notion_read.RateLimit). A 429 waits its Retry-After and is
        asked again (Notion did nothing); a 5xx is asked again only for a read (a write may have
        happened). A 400 or 404 is None (no such page); anything else a PortableError naming it."""
        import httpx
        from notion_client.errors import HTTPResponseError, RequestTimeoutError

        for attempt in range(notion_read.MAX_ATTEMPTS):
            self.limit.wait()
            last = attempt == notion_read.MAX_ATTEMPTS - 1
            try:
                return call()
            except HTTPResponseError as exc:
                if exc.status in (400, 404):
                    return None
                if last or not (exc.status == 429 or (exc.status >= 500 and not write)):
                    code = getattr(exc, "code", "") or "error"
                    raise PortableError(f"Notion refused {what}: {exc.status} {code}.") from None
                delay = notion_read._retry_after(exc.headers) if exc.status == 429 else None
            except (RequestTimeoutError, httpx.TransportError) as exc:
                if last or write:
                    raise PortableError(f"Notion could not be reached while {what} ({type(exc).__name__}).") from None
                delay = None
            clock.sleep(delay if delay is not None else min(2**attempt, 30))
        return None  # pragma: no cover - the loop returns or raises

    def _page(self, entity_or_none: str | None, page_id: str) -> dict | None:
        page = self._call(lambda: self.client.pages.retrieve(page_id), f"reading page {page_id}")
        if not page or page.get("in_trash") or page.get("archived"):
            return None
        source = (page.get("parent") or {}).get("data_source_id")
        database = next((db for db, ds in self.data_sources.items() if ds == source), None)
        if database is None or (entity_or_none and DATABASE[entity_or_none] != database):
            return None
        return page

    def _pages(self, entity: str) -> list[dict]:
        """Every page of the entity's data source (not trashed), 100 a request, as the sync pages."""
        database = DATABASE[entity]
        source = self.data_sources[database]
        found, cursor = [], None
        while True:
            body = {"page_size": notion_read.PAGE_SIZE, **({"start_cursor": cursor} if cursor else {})}
            response = self._call(
                lambda b=body: self.client.data_sources.query(source, **b), f"querying the {database} data source"
            )
            if response is None:
                raise PortableError(
                    f"Notion has no {database} data source {source} that this integration may read: check the data "
                    "source id and that the database is shared with the integration."
                )
            found += [
                {"id": p["id"], "properties": p.get("properties", {})}
                for p in response.get("results", [])
                if p.get("object", "page") == "page" and not p.get("in_trash") and not p.get("archived")
            ]
            if not response.get("has_more"):
                return found
            if not response.get("next_cursor") or response["next_cursor"] == cursor:
                raise PortableError(f"Notion said more {database} pages follow but gave no new cursor.")
            cursor = response["next_cursor"]

    # --- mapping ---
    @staticmethod
    def _record(entity: str, page: dict) -> dict:
        props = page["properties"]
        record = {"id": page["id"], "notion_id": page["id"]}
        for prop, column in COLUMNS[entity].items():
            text = _text(props.get(prop))
            record[column] = READERS.get(column, lambda v: v)(text)
        record["persons"] = {
            role: f"{page['id']}:{role}" for role, (name, *_rest) in PERSONS[entity].items() if _text(props.get(name))
        }
        return record

    @staticmethod
    def _person(entity: str, page: dict, role: str) -> dict | None:
        name, email, phone = PERSONS[entity][role]
        props = page["properties"]
        first, last = _split(_text(props.get(name)))
        if last is None:
            return None
        return {
            "id": f"{page['id']}:{role}",
            "person_type": PERSON_TYPES[role],
            "first_name": first,
            "last_name": last,
            "email": _text(props.get(email)) if email else None,
            "phone": _text(props.get(phone)) if phone else None,
        }

    def _properties(self, entity: str, values: dict) -> dict:
        properties = {}
        for prop, column in COLUMNS[entity].items():
            if column in values:
                properties[prop] = _written(prop, _shown(column, values[column]))
        for role, person in (values.get("persons") or {}).items():
            if role not in PERSONS[entity]:
                raise NotSupported(
                    f"Notion's {DATABASE[entity]} database holds no {role} person: only {', '.join(PERSONS[entity])}."
                )
            if not isinstance(person, dict):
                raise NotSupported(f"The Notion adapter cannot link the existing person {person!r}: {EMBEDDED}.")
            unheld = sorted(k for k, v in person.items() if v is not None and k not in PERSON_FIELDS)
            if unheld:
                raise NotSupported(f"Notion holds no {', '.join(unheld)} of a person: only {', '.join(PERSON_FIELDS)}.")
            name, email, phone = PERSONS[entity][role]
            full = " ".join(p for p in (person.get("first_name"), person.get("last_name")) if p) or None
            properties[name] = _written(name, full)
            for prop, field in ((email, "email"), (phone, "phone")):
                if prop:
                    properties[prop] = _written(prop, person.get(field))
        return properties

    # --- the contract ---
    def _create(self, entity: str, values: dict) -> str:
        properties = self._properties(entity, values)
        title = notion_read.TITLES[DATABASE[entity]]
        if title not in properties:
            prefix = "MG" if entity == "memorial_application" else "CHAPEL"
            properties[title] = _written(title, f"{prefix}-{int(clock.time() * 1000)}")
        parent = {"type": "data_source_id", "data_source_id": self.data_sources[DATABASE[entity]]}
        page = self._call(
            lambda: self.client.pages.create(parent=parent, properties=properties), f"creating a {entity}", write=True
        )
        if page is None:
            raise PortableError(f"Notion has no {DATABASE[entity]} data source {parent['data_source_id']} to write to.")
        return page["id"]

    def _read(self, entity: str, id: str) -> dict | None:
        if entity == "person":
            page_id, _, role = id.rpartition(":")
            page = self._page(None, page_id) if page_id else None
            if page is None:
                return None
            owner = ENTITY[next(db for db, ds in self.data_sources.items() if ds == page["parent"]["data_source_id"])]
            return self._person(owner, page, role) if role in PERSONS[owner] else None
        page = self._page(entity, id)
        return None if page is None else self._record(entity, page)

    def _update(self, entity: str, id: str, values: dict) -> bool:
        if self._page(entity, id) is None:
            return False
        properties = self._properties(entity, values)
        if properties:
            self._call(lambda: self.client.pages.update(id, properties=properties), f"updating page {id}", write=True)
        return True

    def _delete(self, entity: str, id: str) -> bool:
        if self._page(entity, id) is None:
            return False
        self._call(lambda: self.client.pages.update(id, in_trash=True), f"trashing page {id}", write=True)
        return True

    def _query(self, entity: str, conditions: dict) -> list[dict]:
        if entity == "person":
            found = []
            for owner in DATABASE:
                for page in self._pages(owner):
                    found += [p for role in PERSONS[owner] if (p := self._person(owner, page, role))]
            return [p for p in found if matches(p, conditions)]
        return [r for r in (self._record(entity, p) for p in self._pages(entity)) if matches(r, conditions)]

    def _records_of_person(self, person_id: str) -> list[tuple[str, str, str]]:
        page_id, _, role = person_id.rpartition(":")
        page = self._page(None, page_id)
        owner = ENTITY[next(db for db, ds in self.data_sources.items() if ds == page["parent"]["data_source_id"])]
        return [(owner, role, page_id)]


def from_url(url: str, token: str) -> NotionAdapter:
    """notion://?memorial_garden=<data source id>&chapel=<id>[&base_url=http://...][&writes=1]"""
    options = {k: v[-1] for k, v in parse_qs(urlparse(url).query).items()}
    sources = {db: options[db] for db in DATABASE.values() if db in options}
    return NotionAdapter(token, sources, options.get("base_url"), options.get("writes") in ("1", "true", "yes"))


assert set(PERSON_FIELDS) <= set(ENTITIES["person"])
