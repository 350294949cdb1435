"""Refuse, when a run is planned, any migration that would write to or alter the legacy data.

The legacy schemas (`bayview`, `crouse_chapel`) and the hand-made ledger table
`migration.schema_versions` are protected: reading them is fine (views, INSERT … SELECT
FROM them), but DML, DDL, GRANT/REVOKE, triggers, rules, policies, foreign keys that point
at them, sequence writes and a search_path that reaches them are refused, with file and line.

This is a static check on the text (comments and string literals are ignored; function
bodies are checked too). Dynamic SQL escapes it, so the engine also checks at run time,
inside each migration's transaction, that no protected table saw a write and that the
protected catalog is unchanged (see migrate.runtime_guard).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PROTECTED_SCHEMAS = ("bayview", "crouse_chapel")
PROTECTED_TABLES = ("migration.schema_versions",)

_SCHEMA = r'"?(?:bayview|crouse_chapel)"?'
# A protected object: schema-qualified name in a protected schema, or a protected table.
_OBJ = rf'(?:{_SCHEMA}\s*\.|"?migration"?\s*\.\s*"?schema_versions"?\b)'

# Writes that can appear anywhere, including inside function bodies and CTEs.
_DML = [
    (rf"\bINSERT\s+INTO\s+{_OBJ}", "INSERT into a protected table"),
    (rf"\bUPDATE\s+(?:ONLY\s+)?{_OBJ}", "UPDATE of a protected table"),
    (rf"\bDELETE\s+FROM\s+(?:ONLY\s+)?{_OBJ}", "DELETE from a protected table"),
    (rf"\bMERGE\s+INTO\s+(?:ONLY\s+)?{_OBJ}", "MERGE into a protected table"),
    (rf"\bTRUNCATE\b[^;]*?{_OBJ}", "TRUNCATE of a protected table"),
    (rf"\bCOPY\s+{_OBJ}", "COPY into a protected table"),
    (
        rf"\bREFERENCES\s+{_OBJ}",
        "a foreign key to a protected table (it adds triggers to the "
        "legacy table and blocks its deletes; keep legacy links as plain columns)",
    ),
    (
        rf"\bSET\s+(?:LOCAL\s+|SESSION\s+)?search_path\b[^;]*?\b{_SCHEMA}",
        "a search_path that reaches a protected schema (unqualified names could then write to it)",
    ),
]
# Statements that change what they name: any mention of a protected object refuses them.
_CHANGING_VERBS = re.compile(
    r"^\s*(ALTER|DROP|TRUNCATE|COMMENT|GRANT|REVOKE|SECURITY\s+LABEL|LOCK|CLUSTER|REINDEX|"
    r"REFRESH|VACUUM|IMPORT)\b",
    re.I,
)
_MENTION = re.compile(rf"(?:{_OBJ}|\bSCHEMA\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?{_SCHEMA}(?:\s|,|;|$))", re.I)
_CREATE_IN = re.compile(
    rf"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:[A-Z_]+\s+){{0,3}}?(?:IF\s+NOT\s+EXISTS\s+)?{_OBJ}",
    re.I,
)
_CREATE_SCHEMA = re.compile(rf"^\s*CREATE\s+SCHEMA\s+(?:IF\s+NOT\s+EXISTS\s+)?{_SCHEMA}(?:\s|;|$)", re.I)
_CREATE_ON = re.compile(
    rf"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:UNIQUE\s+|CONSTRAINT\s+)?"
    rf"(?:TRIGGER|RULE|POLICY|INDEX|STATISTICS)\b.*?\b(?:ON|FROM|TO)\s+(?:ONLY\s+)?{_OBJ}",
    re.I | re.S,
)
_SEQUENCE_WRITE = re.compile(rf"\b(?:nextval|setval)\s*\(\s*'{_OBJ}", re.I)
# Outside function bodies only: the engine owns the transaction, one per migration.
_TRANSACTION_CONTROL = re.compile(
    r"^\s*(BEGIN|COMMIT|ROLLBACK|END|START\s+TRANSACTION|ABORT|SAVEPOINT|RELEASE|PREPARE\s+TRANSACTION)\b"
    r"|\bCONCURRENTLY\b|^\s*VACUUM\b|^\s*\\",
    re.I,
)
_COMPILED_DML = [(re.compile(p, re.I | re.S), why) for p, why in _DML]


@dataclass(frozen=True)
class Violation:
    file: str
    line: int
    statement: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}, line {self.line}: {self.reason}: {self.statement}"


def _mask(text: str) -> tuple[str, str, str]:
    """Three views of the SQL, same length and line breaks as the original:
    code   - comments and '…' literals blanked, dollar-quoted bodies kept (they are SQL too);
    outer  - as code, but dollar-quoted bodies blanked as well;
    quoted - only comments blanked (for nextval('bayview.…') and the like).
    """
    code, outer, quoted = [], [], []
    i, n = 0, len(text)

    def blank(s: str) -> str:
        return "".join(ch if ch == "\n" else " " for ch in s)

    while i < n:
        ch = text[i]
        if text.startswith("--", i):
            end = text.find("\n", i)
            end = n if end == -1 else end
            seg = blank(text[i:end])
            code.append(seg), outer.append(seg), quoted.append(seg)
            i = end
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            seg = blank(text[i:j])
            code.append(seg), outer.append(seg), quoted.append(seg)
            i = j
        elif ch == "'":
            j = i + 1
            while j < n:
                if text[j] == "'" and text.startswith("''", j):
                    j += 2
                elif text[j] == "'":
                    j += 1
                    break
                else:
                    j += 1
            seg = text[i:j]
            code.append(blank(seg)), outer.append(blank(seg)), quoted.append(seg)
            i = j
        elif ch == "$":
            match = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$", text[i:])
            if not match:
                code.append(ch), outer.append(ch), quoted.append(ch)
                i += 1
                continue
            tag = match.group(0)
            end = text.find(tag, i + len(tag))
            end = n if end == -1 else end
            body = text[i + len(tag) : end]
            closing = text[end : end + len(tag)]
            code.append(blank(tag) + body + blank(closing))
            outer.append(blank(tag + body + closing))
            quoted.append(blank(tag) + body + blank(closing))
            i = end + len(closing)
        else:
            code.append(ch), outer.append(ch), quoted.append(ch)
            i += 1
    return "".join(code), "".join(outer), "".join(quoted)


def _fragments(masked: str):
    """(offset, text) of each ;-separated piece."""
    start = 0
    for match in re.finditer(";", masked):
        yield start, masked[start : match.start()]
        start = match.end()
    yield start, masked[start:]


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _excerpt(original: str, offset: int, length: int) -> str:
    snippet = " ".join(original[offset : offset + length].split())
    return snippet[:120] + ("…" if len(snippet) > 120 else "")


def check_sql(text: str, filename: str) -> list[Violation]:
    """All protected-schema and transaction-control violations in one SQL file."""
    code, outer, quoted = _mask(text)
    found: list[Violation] = []

    def add(offset: int, length: int, reason: str) -> None:
        lead = len(code[offset:]) - len(code[offset:].lstrip())
        found.append(Violation(filename, _line(text, offset + lead), _excerpt(text, offset + lead, length), reason))

    for offset, frag in _fragments(code):
        for pattern, why in _COMPILED_DML:
            match = pattern.search(frag)
            if match:
                add(offset, len(frag), why)
                break
        else:
            verb = _CHANGING_VERBS.match(frag)
            if verb and _MENTION.search(frag):
                add(offset, len(frag), f"{verb.group(1).upper()} names a protected object")
            elif _CREATE_SCHEMA.match(frag) or _CREATE_IN.match(frag):
                add(offset, len(frag), "CREATE of an object inside a protected schema")
            elif _CREATE_ON.match(frag):
                add(offset, len(frag), "a trigger, rule, policy or index on a protected table")
    for match in _SEQUENCE_WRITE.finditer(quoted):
        add(match.start(), 60, "a write to a protected sequence")
    for offset, frag in _fragments(outer):
        if _TRANSACTION_CONTROL.search(frag):
            add(
                offset,
                len(frag),
                "transaction control or a statement that cannot run in a "
                "transaction (the engine runs each migration in one transaction of its own)",
            )
    return sorted(set(found), key=lambda v: (v.file, v.line))
