"""The portable data API over an export package (module_utils/bayview/data_package.py), read-only.

The package is found in its store (file:// or s3://) by data_package.find and every file is
verified against the descriptor (bytes and sha256) before anything is read, as the import does.
The new design's tables are read from their JSON Lines resources (NULL and '' apart) or, in a
package without them, from CSV (where NULL and the empty string both read as None). A record's
persons are read as the view core.record_persons joins them: the persons its legacy row produced
(core.person_legacy_links) and those linked to it in the new design (core.record_person_links).
The tables are read into memory once: the association's volumes are small (docs/portability.md).
"""

from __future__ import annotations

import csv
import io
import json
from urllib.parse import parse_qs, urlparse

from ansible.module_utils.bayview import data_package, package_import
from ansible.module_utils.bayview.stores import open_store

from bayview_runbook.data_access import RECORDS
from bayview_runbook.portable.contract import DETAIL_FIELDS, RECORD_ENTITIES, PortableDataAPI, matches
from bayview_runbook.portable.postgres import TABLES

READ_ONLY = "an export package is read-only: write to a database and export again"


class PackageAdapter(PortableDataAPI):
    name = "package"
    unsupported = {("*", op): READ_ONLY for op in ("create", "update", "delete")}

    def __init__(self, store_url: str, database: str, export_id: str = "latest", verify: bool = True):
        self.store = open_store(store_url)
        self.descriptor = data_package.find(self.store, database, export_id)
        if verify:
            package_import.verify(self.store, self.descriptor)
        self._tables: dict[str, list[dict]] = {}
        self._entities: dict[str, list[dict]] = {}  # read once: a package never changes
        self._detail_rows: dict[str, dict[str, dict]] = {}

    def _table(self, name: str) -> list[dict]:
        if name not in self._tables:
            self._tables[name] = self._load(name)
        return self._tables[name]

    def _load(self, name: str) -> list[dict]:
        resources = [r for r in self.descriptor["resources"] if r.get("title") == name]
        chosen = next((r for r in resources if r["format"] == "jsonl"), None) or next(
            (r for r in resources if r["format"] == "csv"), None
        )
        if chosen is None:
            return []
        data = b"".join(self.store.download_stream(self.descriptor["_prefix"] + chosen["path"])).decode("utf-8")
        if chosen["format"] == "jsonl":
            return [json.loads(line) for line in data.splitlines() if line.strip()]
        rows = list(csv.DictReader(io.StringIO(data, newline="")))
        booleans = {f["name"] for f in chosen["schema"]["fields"] if f["type"] == "boolean"}
        return [{k: (None if v == "" else (v == "t") if k in booleans else v) for k, v in row.items()} for row in rows]

    def _links(self) -> tuple[dict, dict]:
        """The person links by (legacy_table, legacy_id) and by (record_table, record_id), built once."""
        if not hasattr(self, "_by_key"):
            legacy, modern = {}, {}
            for link in self._table("core.person_legacy_links"):
                legacy.setdefault((link["legacy_table"], str(link["legacy_id"])), {})[link["role"]] = str(
                    link["person_id"]
                )
            for link in self._table("core.record_person_links"):
                modern.setdefault((link["record_table"], str(link["record_id"])), {})[link["role"]] = str(
                    link["person_id"]
                )
            self._by_key = (legacy, modern)
        return self._by_key

    def _persons(self, entity: str, record: dict) -> dict:
        legacy, modern = self._links()
        persons = {}
        if record.get("legacy_table") is not None:
            persons |= legacy.get((record["legacy_table"], str(record["legacy_id"])), {})
        return persons | modern.get((TABLES[entity], str(record["id"])), {})

    def _details(self, record: dict) -> dict | None:
        spec = RECORDS["chapel_service"]["details"].get(record.get("service_type"))
        if spec is None:
            return None
        if spec[0] not in self._detail_rows:  # the first detail row of each service, as ModernAdapter.read takes it
            first: dict[str, dict] = {}
            for row in sorted(self._table(spec[0]), key=lambda r: int(r["id"])):
                first.setdefault(str(row["service_id"]), row)
            self._detail_rows[spec[0]] = first
        row = self._detail_rows[spec[0]].get(str(record["id"]))
        return {k: row.get(k) for k in DETAIL_FIELDS[record["service_type"]]} if row else None

    def _all(self, entity: str) -> list[dict]:
        if entity not in self._entities:
            self._entities[entity] = self._assemble(entity)
        return self._entities[entity]

    def _assemble(self, entity: str) -> list[dict]:
        rows = [dict(r) for r in self._table(TABLES[entity])]
        for row in rows:
            if entity in RECORD_ENTITIES:
                row["persons"] = self._persons(entity, row)
            if entity == "chapel_service":
                row["details"] = self._details(row)
        return rows

    def _read(self, entity: str, id: str) -> dict | None:
        return next((r for r in self._all(entity) if str(r["id"]) == id), None)

    def _query(self, entity: str, conditions: dict) -> list[dict]:
        return [r for r in self._all(entity) if matches(r, conditions)]


def from_url(url: str) -> PackageAdapter:
    """package+file:///store?database=bayview&export=latest (or package+s3://bucket/prefix?...)."""
    parsed = urlparse(url)
    options = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
    store = f"{parsed.scheme.removeprefix('package+')}://{parsed.netloc}{parsed.path}"
    return PackageAdapter(store, options.get("database", "bayview"), options.get("export", "latest"))
