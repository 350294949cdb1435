"""The column-by-column part of docs/mapping.md, written from what the data migrations declare
(CARRIED, NOT_CARRIED): the declarations are the one source, so the document cannot fall behind
them (tests/test_coverage.py compares the two).

    python -m bayview_runbook.mapping_doc docs/mapping.md    (make docs)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import ModuleType

from bayview_runbook.engine import DATA_MIGRATIONS, coverage, data_migrations

BEGIN = "<!-- Written by `make docs` from the data migrations' declarations: edit those, not this. -->"
END = "<!-- End of what `make docs` writes. -->"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _source(migration: ModuleType) -> str:
    if hasattr(migration, "NOTION_DATABASE"):
        return f"The Notion {migration.NOTION_DATABASE.replace('_', ' ')} pages (staged in `{migration.LEGACY_TABLE}`)"
    return f"`{migration.LEGACY_TABLE}`"


def section(migration: ModuleType) -> str:
    """One data migration: where it reads and writes, why, and where each column goes."""
    carried, not_carried = coverage.declarations(migration)
    about = " ".join((migration.__doc__ or "").split("\n\n")[0].split())
    after = f" (after {', '.join(f'`{d}`' for d in migration.DEPENDS_ON)})" if migration.DEPENDS_ON else ""
    column = "Notion property" if hasattr(migration, "NOTION_DATABASE") else "Legacy column"
    lines = [
        f"### `{migration.NAME}`",
        "",
        f"{_source(migration)} → `{migration.TARGET}`{after}. {about}".rstrip(),
        "",
        f"| {column} | Goes to, or why it is not carried |",
        "|---|---|",
        *(f"| `{_cell(c)}` | `{_cell(target)}` |" for c, target in carried.items()),
        *(f"| `{_cell(c)}` | not carried: {_cell(reason)} |" for c, reason in not_carried.items()),
    ]
    if not carried and not not_carried:
        lines.append("| | declares no column |")
    return "\n".join(lines)


def generated(directory: Path = DATA_MIGRATIONS) -> str:
    """The generated part, its markers included."""
    return "\n\n".join([BEGIN, *(section(m) for m in data_migrations.load_all(directory)), END])


def _span(document: str) -> tuple[int, int] | None:
    start, end = document.find(BEGIN), document.find(END)
    return (start, end + len(END)) if 0 <= start < end else None


def current(document: str) -> str | None:
    """The generated part of a document as it stands (None when it has no markers)."""
    span = _span(document)
    return document[span[0] : span[1]] if span else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the column-by-column part of docs/mapping.md.")
    parser.add_argument("document", type=Path)
    path = parser.parse_args(argv).document
    text = path.read_text(encoding="utf-8")
    span = _span(text)
    if span is None:
        print(
            f"{path} has no generated part: put these two lines where it goes, then run again.\n{BEGIN}\n{END}",
            file=sys.stderr,
        )
        return 2
    path.write_text(text[: span[0]] + generated() + text[span[1] :], encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
