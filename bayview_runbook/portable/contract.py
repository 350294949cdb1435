"""The portable data API (the seed's PortableDataAPI): one contract, the same for every adapter.

Entities and their fields (the new design's column names; `id` is always there):

  person                core.persons: person_type, first_name, middle_name, last_name, maiden_name,
                        birth_date, death_date, email, phone, birth_place, home_address,
                        bayview_address, bayview_history, mother_name, father_name
  memorial_application  property.memorial_applications: the fields of data migration
                        0003_memorial_applications, status (active or cancelled), persons
  chapel_service        events.chapel_services: the fields of data migration 0004_chapel_services,
                        details (the service type's detail record: wedding, memorial, baptism,
                        general use), persons
  payment               finance.payments: paid_for, memorial_application_id, chapel_service_id and
                        the data-access layer's PAYMENT_FIELDS

Values are Python values of the field's type: text (str), date, time, timestamptz (an aware
datetime, UTC), numeric (Decimal, two places), boolean, integer, id. A string in ISO form is
accepted for a date, time or timestamp (a timestamp without an offset is taken as UTC). Ids are
strings, opaque to the caller: pass back what an adapter returned. `persons` maps a role
(deceased, contact, member_sponsor, payer, ...) to a person's id; in create and update a role may
instead map to a person's fields, which creates that person with the record (its person_type
defaults from the role). `details` is a dict of the detail record's fields (without ids).

Operations:
  create(entity, data) -> id     (a reference to a person or record the adapter lacks: NotFound)
  read(entity, id) -> dict       every field of the entity, None where unset; NotFound if absent
  update(entity, id, changes)    only the fields given; NotFound if absent
  delete(entity, id)             NotFound if absent. Deleting a record deletes its payments and its
                                 links to persons, never the persons; deleting a person unlinks it
  query(entity, conditions)      the records whose every field in `conditions` equals its value
                                 ({} is every record); a value None matches an unset field; no
                                 order is promised. `persons` and `details` cannot be conditions.
  get_related(entity, id, relation) -> list of dicts:
    memorial_application, chapel_service: "persons" (each person with its "role"), "payments"
    payment: "record" (the record it pays for, with its "entity"; [] for a prepayment)
    person: "records" (every record naming the person, each with its "entity" and "role")

Errors: UnknownEntity, UnknownField, UnknownRelation, InvalidValue (each a ValueError), NotFound
(a KeyError), NotSupported (what an adapter cannot do, with the reason), all PortableError.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from bayview_runbook.data_access import PAYMENT_FIELDS, PERSON_FIELDS, PERSON_TYPE_BY_ROLE, RECORDS, _fields


class PortableError(Exception):
    """An error of the portable data API, a sentence a person can act on."""


class UnknownEntity(PortableError, ValueError):
    pass


class UnknownField(PortableError, ValueError):
    pass


class UnknownRelation(PortableError, ValueError):
    pass


class InvalidValue(PortableError, ValueError):
    pass


class NotFound(PortableError, KeyError):
    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class NotSupported(PortableError):
    """An operation (or field) the adapter declares it cannot do; the message says why."""


# --- The vocabulary ----------------------------------------------------------------------------

# One definition of each record: the data migrations' and the data-access layer's field lists.
_DETAILS = {
    service_type: tuple(f for f in _fields(migration) if f != "service_id")
    for service_type, (_table, migration) in RECORDS["chapel_service"]["details"].items()
}
ENTITIES: dict[str, tuple[str, ...]] = {
    "person": tuple(PERSON_FIELDS),
    "memorial_application": (*_fields(RECORDS["memorial_application"]["migration"]), "status", "persons"),
    "chapel_service": (*_fields(RECORDS["chapel_service"]["migration"]), "details", "persons"),
    "payment": ("paid_for", "memorial_application_id", "chapel_service_id", *PAYMENT_FIELDS),
}
RECORD_ENTITIES = ("memorial_application", "chapel_service")
# The order a copy goes in: what is referred to before what refers to it.
ORDER = ("person", "memorial_application", "chapel_service", "payment")

_TYPES = {
    "date": ("birth_date", "death_date", "service_date", "rehearsal_date", "placement_date"),
    "time": ("service_time", "rehearsal_time", "placement_time"),
    "timestamptz": ("submitted_at", "approved_at", "paid_at", "recorded_at"),
    "numeric": ("fee", "amount"),
    "boolean": ("is_member", "altar_guild_notified", "garden_placement"),
    "integer": ("spaces", "guest_count", "expected_guests"),
    "id": ("memorial_application_id", "chapel_service_id"),
    "persons": ("persons",),
    "details": ("details",),
}
TYPES: dict[str, str] = {name: kind for kind, names in _TYPES.items() for name in names}
DETAIL_FIELDS = _DETAILS
REFERENCES = {"memorial_application_id": "memorial_application", "chapel_service_id": "chapel_service"}
RELATIONS = {
    "memorial_application": ("persons", "payments"),
    "chapel_service": ("persons", "payments"),
    "payment": ("record",),
    "person": ("records",),
}
ROLE = re.compile(r"^[a-z_]+$")
CENT = Decimal("0.01")


def type_of(field: str) -> str:
    return TYPES.get(field, "text")


def fields_of(entity: str) -> tuple[str, ...]:
    if entity not in ENTITIES:
        raise UnknownEntity(
            f"There is no entity {entity!r} in the portable data API: use one of {', '.join(ENTITIES)}."
        )
    return ENTITIES[entity]


def coerce(field: str, value, kind: str | None = None):
    """The value in the field's type, or InvalidValue naming the field and the value."""
    kind = kind or type_of(field)
    if value is None:
        return None
    try:
        if kind == "text":
            if not isinstance(value, str):
                raise TypeError
            return value
        if kind == "date":
            if isinstance(value, datetime):
                raise TypeError
            return value if isinstance(value, date) else date.fromisoformat(value)
        if kind == "time":
            parsed = value if isinstance(value, time) else time.fromisoformat(value)
            return parsed.replace(tzinfo=None)
        if kind == "timestamptz":
            parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value.replace("Z", "+00:00"))
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
        if kind == "numeric":
            if isinstance(value, bool):
                raise TypeError
            return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)  # as PostgreSQL rounds numeric(10,2)
        if kind == "boolean":
            if not isinstance(value, bool):
                raise TypeError
            return value
        if kind == "integer":
            value = int(value) if isinstance(value, str) else value  # '120', as CSV gives it
            if isinstance(value, bool) or int(value) != value:
                raise TypeError
            return int(value)
        if kind == "id":
            if isinstance(value, bool) or not isinstance(value, str | int):
                raise TypeError
            return str(value)
    except (TypeError, ValueError, InvalidOperation, AttributeError):
        article = "an" if kind[0] in "aeiou" else "a"
        raise InvalidValue(f"{field} {value!r} is not {article} {kind} value.") from None
    raise InvalidValue(f"{field} has no type {kind!r}.")  # pragma: no cover - the table above is closed


def _unknown(entity: str, names, allowed) -> None:
    unknown = sorted(set(names) - set(allowed))
    if unknown:
        raise UnknownField(
            f"{entity} has no field {', '.join(unknown)}: its fields are {', '.join(allowed)}.",
        )


def check_persons(entity: str, persons) -> dict:
    if not isinstance(persons, dict):
        raise InvalidValue(f"{entity}.persons must map a role to a person's id or fields, not {persons!r}.")
    checked = {}
    for role, person in persons.items():
        if not isinstance(role, str) or not ROLE.match(role):
            raise InvalidValue(f"{entity}.persons: the role {role!r} is not lowercase letters and underscores.")
        if isinstance(person, dict):
            person = {"person_type": PERSON_TYPE_BY_ROLE.get(role, "other"), **person}
            checked[role] = check_values("person", person)
        else:
            checked[role] = coerce(f"{entity}.persons.{role}", person, "id")
    return checked


def check_details(service_type: str | None, details) -> dict | None:
    if details is None:
        return None
    if not isinstance(details, dict):
        raise InvalidValue(f"chapel_service.details must be a dict of the detail record's fields, not {details!r}.")
    if service_type not in DETAIL_FIELDS:
        raise InvalidValue(
            f"A chapel service of type {service_type!r} has no details: set service_type to one of "
            f"{', '.join(DETAIL_FIELDS)}."
        )
    _unknown(f"chapel_service.details ({service_type})", details, DETAIL_FIELDS[service_type])
    return {name: coerce(name, value) for name, value in details.items()}


def check_values(entity: str, data: dict, service_type: str | None = None) -> dict:
    """The data with every value in its field's type; UnknownField for a field the entity lacks."""
    if not isinstance(data, dict):
        raise InvalidValue(f"The data of a {entity} must be a dict of its fields, not {type(data).__name__}.")
    allowed = fields_of(entity)
    _unknown(entity, data, allowed)
    checked = {}
    for name, value in data.items():
        if name == "persons":
            checked[name] = check_persons(entity, value or {})
        elif name == "details":
            checked[name] = check_details(data.get("service_type", service_type), value)
        else:
            checked[name] = coerce(name, value)
    return checked


def complete(entity: str, record: dict) -> dict:
    """A read's answer: the id and every field of the entity (None where unset)."""
    out = {"id": str(record["id"])}
    for name in fields_of(entity):
        value = record.get(name)
        if name == "persons":
            out[name] = {role: str(pid) for role, pid in (value or {}).items()}
        elif name == "details":
            out[name] = {k: coerce(k, v) for k, v in value.items()} if value else None
        else:
            out[name] = coerce(name, value)
    return out


class PortableDataAPI:
    """The contract. Adapters implement the _underscored methods on checked values; every check,
    conversion and error of the contract is made here, once, for all of them.

    An adapter answers None (read) or False (update, delete) for an id it does not hold, and raises
    NotSupported for what it cannot do (`unsupported` names the operations it never does, per
    entity, with the reason)."""

    name = "adapter"
    unsupported: dict[tuple[str, str], str] = {}
    # The fields an adapter holds per entity (None: every field). A field it does not hold reads as
    # None; writing a value to it raises NotSupported.
    held: dict[str, tuple[str, ...]] = {}
    # Persons that exist only inside a record (Notion): a copy passes them as fields, not ids.
    embedded_persons = False

    # --- what an adapter declares ---
    def supports(self, entity: str, operation: str) -> str | None:
        """None when the adapter does the operation on the entity; else why not."""
        fields_of(entity)
        return self.unsupported.get((entity, operation)) or self.unsupported.get(("*", operation))

    def _require(self, entity: str, operation: str) -> None:
        reason = self.supports(entity, operation)
        if reason:
            raise NotSupported(f"The {self.name} adapter cannot {operation} a {entity}: {reason}.")

    def _held_check(self, entity: str, values: dict) -> None:
        held = self.held.get(entity)
        if held is None:
            return
        unheld = sorted(k for k, v in values.items() if k not in held and v not in (None, {}))
        if unheld:
            raise NotSupported(
                f"The {self.name} adapter holds no {', '.join(unheld)} of a {entity}: it keeps only {', '.join(held)}."
            )

    def _references_exist(self, entity: str, values: dict) -> None:
        """A reference to a record or person this adapter does not hold is refused (NotFound), by
        every adapter alike, before anything is written."""
        for column, target in REFERENCES.items():
            if values.get(column) is not None and self._read(target, values[column]) is None:
                raise NotFound(
                    f"The {entity}'s {column} {values[column]!r} names no {target} in the {self.name} adapter."
                )
        for role, person in (values.get("persons") or {}).items():
            if not isinstance(person, dict) and self._read("person", person) is None:
                raise NotFound(f"The {entity}'s {role} {person!r} names no person in the {self.name} adapter.")

    # --- the operations ---
    def create(self, entity: str, data: dict, check_references: bool = True) -> str:
        """check_references=False is for a copy, whose references are ids it has just created here."""
        values = check_values(entity, data)
        self._require(entity, "create")
        self._held_check(entity, values)
        if entity == "payment" and values.get("paid_for") is None:
            values["paid_for"] = paid_for(values)
        if check_references:
            self._references_exist(entity, values)
        return str(self._create(entity, values))

    def read(self, entity: str, id) -> dict:
        fields_of(entity)
        self._require(entity, "read")
        found = self._read(entity, coerce("id", id, "id"))
        if found is None:
            raise NotFound(f"There is no {entity} {id!r} in the {self.name} adapter.")
        return complete(entity, found)

    def update(self, entity: str, id, changes: dict) -> None:
        fields_of(entity)
        service_type = None
        if "details" in (changes or {}) and "service_type" not in changes and entity == "chapel_service":
            service_type = self.read(entity, id)["service_type"]
        values = check_values(entity, changes, service_type)
        self._require(entity, "update")
        self._held_check(entity, values)
        self._references_exist(entity, values)
        if not self._update(entity, coerce("id", id, "id"), values):
            raise NotFound(f"There is no {entity} {id!r} in the {self.name} adapter to update.")

    def delete(self, entity: str, id) -> None:
        fields_of(entity)
        self._require(entity, "delete")
        if not self._delete(entity, coerce("id", id, "id")):
            raise NotFound(f"There is no {entity} {id!r} in the {self.name} adapter to delete.")

    def query(self, entity: str, conditions: dict | None = None) -> list[dict]:
        allowed = tuple(f for f in fields_of(entity) if f not in ("persons", "details"))
        conditions = conditions or {}
        _unknown(entity + " (as a query condition)", conditions, ("id", *allowed))
        checked = {k: coerce(k, v, "id" if k == "id" else None) for k, v in conditions.items()}
        self._require(entity, "query")
        return [complete(entity, r) for r in self._query(entity, checked)]

    def get_related(self, entity: str, id, relation: str) -> list[dict]:
        fields_of(entity)
        if relation not in RELATIONS[entity]:
            raise UnknownRelation(
                f"A {entity} has no relation {relation!r}: its relations are {', '.join(RELATIONS[entity])}."
            )
        record = self.read(entity, id)
        if relation == "persons":
            return [{**self.read("person", pid), "role": role} for role, pid in sorted(record["persons"].items())]
        if relation == "payments":
            self._require("payment", "query")
            return self.query("payment", {f"{entity}_id": record["id"]})
        if relation == "record":
            for column, target in REFERENCES.items():
                if record[column] is not None:
                    return [{**self.read(target, record[column]), "entity": target}]
            return []
        # person -> records
        found = []
        for target, role, record_id in self._records_of_person(record["id"]):
            found.append({**self.read(target, record_id), "entity": target, "role": role})
        return found

    def count(self, entity: str) -> int:
        return len(self.query(entity, {}))

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- what adapters implement ---
    def _records_of_person(self, person_id: str) -> list[tuple[str, str, str]]:
        """(entity, role, record id) of every record naming the person; by default from the records."""
        found = []
        for target in RECORD_ENTITIES:
            if self.supports(target, "query"):
                continue
            for record in self._query(target, {}):
                for role, pid in (record.get("persons") or {}).items():
                    if str(pid) == person_id:
                        found.append((target, role, str(record["id"])))
        return found

    def _create(self, entity: str, values: dict):
        raise NotImplementedError

    def _read(self, entity: str, id: str) -> dict | None:
        raise NotImplementedError

    def _update(self, entity: str, id: str, values: dict) -> bool:
        raise NotImplementedError

    def _delete(self, entity: str, id: str) -> bool:
        raise NotImplementedError

    def _query(self, entity: str, conditions: dict) -> list[dict]:
        raise NotImplementedError


def paid_for(values: dict) -> str:
    """What a payment pays for, from the record it names (a prepayment names none)."""
    for column, target in REFERENCES.items():
        if values.get(column) is not None:
            return target
    return "prepayment"


def matches(record: dict, conditions: dict) -> bool:
    """Equality of every condition against a record in the contract's types (for adapters that filter
    in Python)."""
    for name, wanted in conditions.items():
        value = str(record["id"]) if name == "id" else coerce(name, record.get(name))
        if value != wanted:
            return False
    return True
