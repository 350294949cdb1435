"""The portable data API over a MongoDB database, through pymongo (or an embedded store with
pymongo's API: montydb, for tests and for a machine without a MongoDB server).

One collection per entity: persons, memorial_applications, chapel_services, payments. A document
is the entity's fields (the new design's column names), `_id` its id (a string: an ObjectId's hex).
Stored types: a date as 'YYYY-MM-DD' and a time as 'HH:MM:SS' (MongoDB has neither), a timestamp
as a BSON date (UTC; MongoDB keeps milliseconds), money as Decimal128. A record's persons are a list
of {role, person_id}, its details a subdocument. Deleting a record deletes its payments, deleting a
person takes it out of the records that named it, as the new design's foreign keys do.
"""

from __future__ import annotations

from urllib.parse import urlparse

from bson import Decimal128, ObjectId

from bayview_runbook.portable.contract import RECORD_ENTITIES, PortableDataAPI, type_of

COLLECTIONS = {
    "person": "persons",
    "memorial_application": "memorial_applications",
    "chapel_service": "chapel_services",
    "payment": "payments",
}


def _stored(name: str, value):
    if value is None:
        return None
    kind = type_of(name)
    if kind == "date":
        return value.isoformat()
    if kind == "time":
        return value.isoformat()
    if kind == "timestamptz":
        return value.replace(tzinfo=None) if value.utcoffset() is not None else value  # UTC, as BSON keeps it
    if kind == "numeric":
        return Decimal128(value)
    if kind == "details":
        return {k: _stored(k, v) for k, v in value.items()}
    return value


def _loaded(value):
    if isinstance(value, Decimal128):
        return value.to_decimal()
    if isinstance(value, dict):
        return {k: _loaded(v) for k, v in value.items()}
    return value


def _client(url: str):
    """A MongoClient for mongodb:// URLs; montydb:///path for the embedded store (SQLite-backed)."""
    parsed = urlparse(url)
    if parsed.scheme == "montydb":
        from montydb import MontyClient, set_storage

        path = parsed.path or ":memory:"
        if path != ":memory:":
            set_storage(path, storage="sqlite", use_bson=True)
        return MontyClient(path), parsed.fragment or "bayview"
    import pymongo

    return pymongo.MongoClient(url, tz_aware=False), (parsed.path.strip("/") or "bayview")


class MongoAdapter(PortableDataAPI):
    name = "mongodb"

    def __init__(self, url_or_db, database: str | None = None):
        if isinstance(url_or_db, str):
            self.client, name = _client(url_or_db)
            self.db = self.client[database or name]
            if not url_or_db.startswith("montydb:"):  # a server: the relations' lookups by index
                for entity, key in (("payment", "memorial_application_id"), ("payment", "chapel_service_id")):
                    self._col(entity).create_index(key)
                for entity in RECORD_ENTITIES:
                    self._col(entity).create_index("persons.person_id")
        else:  # a pymongo (or montydb) database object
            self.client, self.db = None, url_or_db

    def close(self) -> None:
        if self.client is not None:
            self.client.close()

    def _col(self, entity: str):
        return self.db[COLLECTIONS[entity]]

    @staticmethod
    def _document(values: dict) -> dict:
        doc = {}
        for name, value in values.items():
            if name == "persons":
                doc[name] = [{"role": role, "person_id": pid} for role, pid in sorted(value.items())]
            else:
                doc[name] = _stored(name, value)
        return doc

    @staticmethod
    def _record(doc: dict) -> dict:
        record = {k: _loaded(v) for k, v in doc.items() if k not in ("_id", "persons")}
        record["id"] = doc["_id"]
        if "persons" in doc:
            record["persons"] = {p["role"]: p["person_id"] for p in doc["persons"] or []}
        return record

    def _embedded_persons(self, values: dict) -> dict:
        """Persons given as fields are created first (as persons of their own), then linked by id."""
        if "persons" in values:
            values = dict(values)
            values["persons"] = {
                role: self._create("person", p) if isinstance(p, dict) else p for role, p in values["persons"].items()
            }
        return values

    def _create(self, entity: str, values: dict) -> str:
        values = self._embedded_persons(values)
        if entity in RECORD_ENTITIES:
            values.setdefault("persons", {})
        doc = {"_id": str(ObjectId()), **self._document(values)}
        if entity == "memorial_application" and doc.get("status") is None:
            doc["status"] = "active"  # the new design's default
        self._col(entity).insert_one(doc)
        return doc["_id"]

    def _read(self, entity: str, id: str) -> dict | None:
        doc = self._col(entity).find_one({"_id": id})
        return None if doc is None else self._record(doc)

    def _update(self, entity: str, id: str, values: dict) -> bool:
        values = self._embedded_persons(values)
        if not values:
            return self._col(entity).find_one({"_id": id}) is not None
        return self._col(entity).update_one({"_id": id}, {"$set": self._document(values)}).matched_count == 1

    def _delete(self, entity: str, id: str) -> bool:
        deleted = self._col(entity).delete_one({"_id": id}).deleted_count == 1
        if deleted and entity in RECORD_ENTITIES:
            self._col("payment").delete_many({f"{entity}_id": id})
        if deleted and entity == "person":
            for record in RECORD_ENTITIES:
                self._col(record).update_many({"persons.person_id": id}, {"$pull": {"persons": {"person_id": id}}})
        return deleted

    def _query(self, entity: str, conditions: dict) -> list[dict]:
        flt = {("_id" if k == "id" else k): _stored(k, v) for k, v in conditions.items()}
        return [self._record(doc) for doc in self._col(entity).find(flt)]

    def _records_of_person(self, person_id: str) -> list[tuple[str, str, str]]:
        found = []
        for entity in RECORD_ENTITIES:
            for doc in self._col(entity).find({"persons.person_id": person_id}):
                found += [(entity, p["role"], doc["_id"]) for p in doc["persons"] if p["person_id"] == person_id]
        return found
