"""The portable data API (bayview_runbook.portable): the seed's PortableDataAPI over the new design
in PostgreSQL, the association's Notion databases, MongoDB and the export package; one contract
(contract.py), one adapter a file, and a copy between any two (copy.py).

An adapter is opened from a URL (open_adapter):
  postgresql://user@host:port/database            the new design (writes need the cutover: modern-only)
  mongodb://host:port/database                    a MongoDB server, through pymongo
  montydb:///path/to/directory[#database]         the embedded pymongo-compatible store (SQLite-backed)
  notion://?memorial_garden=<id>&chapel=<id>[&base_url=...][&writes=1]
                                                  the two Notion data sources; the token from NOTION_TOKEN
  package+file:///store?database=<name>[&export=<id>|latest]   an export package (read-only); package+s3:// too
"""

from __future__ import annotations

import os

from bayview_runbook.portable.contract import (
    ENTITIES,
    RELATIONS,
    InvalidValue,
    NotFound,
    NotSupported,
    PortableDataAPI,
    PortableError,
    UnknownEntity,
    UnknownField,
    UnknownRelation,
)


def open_adapter(url: str) -> PortableDataAPI:
    scheme = url.split(":", 1)[0]
    if scheme in ("postgresql", "postgres"):
        from bayview_runbook.portable.postgres import PostgresAdapter

        return PostgresAdapter(url)
    if scheme in ("mongodb", "mongodb+srv", "montydb"):
        from bayview_runbook.portable.mongo import MongoAdapter

        return MongoAdapter(url)
    if scheme == "notion":
        from bayview_runbook.portable.notion import from_url

        token = os.environ.get("NOTION_TOKEN")
        if not token:
            raise PortableError(
                "A notion:// adapter needs the integration token in the NOTION_TOKEN environment variable."
            )
        return from_url(url, token)
    if scheme.startswith("package+"):
        from bayview_runbook.portable.package import from_url

        return from_url(url)
    raise PortableError(
        f"{scheme}:// is not an adapter of the portable data API: use postgresql://, mongodb://, montydb://, "
        "notion:// or package+file:// (package+s3://)."
    )


__all__ = [
    "ENTITIES",
    "RELATIONS",
    "InvalidValue",
    "NotFound",
    "NotSupported",
    "PortableDataAPI",
    "PortableError",
    "UnknownEntity",
    "UnknownField",
    "UnknownRelation",
    "open_adapter",
]
