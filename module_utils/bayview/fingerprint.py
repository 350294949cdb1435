"""The legacy fingerprint: proof that the protected data and its definitions did not change.

Per protected table: the row count and an order-independent content hash (the sum of a
64-bit hash of each row's text), computed set-based in one pass with no sort,
so it stays fast at a million rows. Plus a hash of the protected catalog: columns,
constraints, indexes, triggers (internal ones too: a foreign key pointing at a legacy
table adds some), functions, views, sequences' definitions, rules, policies, owners, ACLs.

Scope "full" hashes content and catalog; scope "catalog" skips content, for a run during
which the web application is known to be writing legacy rows (the per-transaction guard in
migrate still proves the runbook itself wrote nothing).
"""

from __future__ import annotations

import hashlib
import json

import psycopg
from ansible.module_utils.bayview.protected_guard import PROTECTED_SCHEMAS, PROTECTED_TABLES
from psycopg import sql

# Definitions of every catalog object in the protected schemas (plus the protected tables
# elsewhere), one row each: (kind, name, definition). Statistics and row-level data are
# left out on purpose: VACUUM and ANALYZE by others must not look like a change.
CATALOG_SQL = """
WITH ns AS (
    SELECT oid, nspname FROM pg_catalog.pg_namespace WHERE nspname = ANY(%(schemas)s)
), rel AS (
    SELECT c.oid, c.relkind, pg_catalog.format('%%I.%%I', n.nspname, c.relname) AS name
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relnamespace IN (SELECT oid FROM ns)
        OR c.oid = ANY(ARRAY(SELECT pg_catalog.to_regclass(t) FROM pg_catalog.unnest(%(tables)s::text[]) t))
)
SELECT 'schema', n.nspname::text,  -- text, not name: name would truncate every key to 63 bytes
       pg_catalog.concat_ws('|', pg_catalog.pg_get_userbyid(n.nspowner), n.nspacl::text)
  FROM pg_catalog.pg_namespace n WHERE n.oid IN (SELECT oid FROM ns)
UNION ALL
SELECT 'relation', r.name,
       pg_catalog.concat_ws('|', r.relkind, pg_catalog.pg_get_userbyid(c.relowner), c.relacl::text,
                            c.reloptions::text, c.relpersistence, c.relrowsecurity)
  FROM rel r JOIN pg_catalog.pg_class c ON c.oid = r.oid
UNION ALL
SELECT 'column', r.name || '.' || a.attname,
       pg_catalog.concat_ws('|', a.attnum, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
                            pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
                            a.attcollation, a.attacl::text)
  FROM rel r JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
UNION ALL
SELECT 'constraint:' || co.contype::text, r.name || '.' || co.conname, pg_catalog.pg_get_constraintdef(co.oid)
  FROM rel r JOIN pg_catalog.pg_constraint co ON co.conrelid = r.oid
UNION ALL
SELECT 'index', r.name || ' ' || i.indexrelid::regclass::text, pg_catalog.pg_get_indexdef(i.indexrelid)
  FROM rel r JOIN pg_catalog.pg_index i ON i.indrelid = r.oid
UNION ALL
-- Internal (foreign key) triggers are named after OIDs, which a restore changes: name them
-- after their constraint and event instead.
SELECT 'trigger', r.name || '.' || CASE WHEN t.tgisinternal THEN 'internal:' || co.conname || ':' || t.tgtype
                                        ELSE t.tgname END,
       CASE WHEN t.tgisinternal
            THEN pg_catalog.concat_ws('|', t.tgfoid::regproc::text, t.tgtype, t.tgenabled,
                                      t.tgconstrrelid::regclass::text)
            ELSE pg_catalog.concat_ws('|', pg_catalog.pg_get_triggerdef(t.oid), t.tgenabled) END
  FROM rel r JOIN pg_catalog.pg_trigger t ON t.tgrelid = r.oid
  LEFT JOIN pg_catalog.pg_constraint co ON co.oid = t.tgconstraint
UNION ALL
SELECT 'rule', r.name || '.' || ru.rulename, pg_catalog.pg_get_ruledef(ru.oid)
  FROM rel r JOIN pg_catalog.pg_rewrite ru ON ru.ev_class = r.oid
UNION ALL
SELECT 'policy', r.name || '.' || p.polname,
       pg_catalog.concat_ws('|', p.polcmd, p.polpermissive, p.polroles::text,
                            pg_catalog.pg_get_expr(p.polqual, p.polrelid),
                            pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid))
  FROM rel r JOIN pg_catalog.pg_policy p ON p.polrelid = r.oid
UNION ALL
SELECT 'view', r.name, pg_catalog.pg_get_viewdef(r.oid)
  FROM rel r WHERE r.relkind IN ('v', 'm')
UNION ALL
SELECT 'sequence', r.name,
       pg_catalog.concat_ws('|', s.seqtypid::regtype::text, s.seqstart, s.seqincrement, s.seqmax, s.seqmin,
                            s.seqcache, s.seqcycle)
  FROM rel r JOIN pg_catalog.pg_sequence s ON s.seqrelid = r.oid
UNION ALL
SELECT 'function', pg_catalog.format('%%I.%%I(%%s)', ns.nspname, p.proname,
                                     pg_catalog.pg_get_function_identity_arguments(p.oid)),
       pg_catalog.concat_ws('|', p.prokind, pg_catalog.pg_get_function_result(p.oid), p.prosrc,
                            p.provolatile, p.prosecdef, p.proconfig::text, p.proacl::text,
                            pg_catalog.pg_get_userbyid(p.proowner))
  FROM pg_catalog.pg_proc p JOIN ns ON ns.oid = p.pronamespace
"""

TABLES_SQL = """
SELECT n.nspname, c.relname, pg_catalog.pg_relation_size(c.oid) / current_setting('block_size')::int AS pages
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p')
   AND (n.nspname = ANY(%(schemas)s)
        OR c.oid = ANY(ARRAY(SELECT pg_catalog.to_regclass(t) FROM pg_catalog.unnest(%(tables)s::text[]) t)))
 ORDER BY 1, 2
"""

# One pass, no sort: the sum of each row's 64-bit hash does not depend on row order.
# hash_record_extended hashes each column with its type's own hash function (the ones hash
# partitioning relies on staying stable), with no text conversion: about twice as fast as
# hashing the row's text. A table with a column type that has no hash function (json, point)
# falls back to hashtextextended over the row's text.
CONTENT_SQL = {
    "record": "SELECT count(*), coalesce(sum(hash_record_extended(t, 20240813)::numeric), 0)::text FROM {} AS t",
    "text": "SELECT count(*), coalesce(sum(hashtextextended(t::text, 20240813)::numeric), 0)::text FROM {} AS t",
}

PARAMS = {"schemas": list(PROTECTED_SCHEMAS), "tables": list(PROTECTED_TABLES)}


def catalog(conn: psycopg.Connection) -> dict[str, str]:
    """{'kind name': sha256 of its definition} for the protected catalog."""
    rows = conn.execute(CATALOG_SQL, PARAMS).fetchall()
    return {
        f"{kind} {name}": hashlib.sha256((definition or "").encode()).hexdigest()[:16]
        for kind, name, definition in rows
    }


def catalog_sha256(items: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(items, sort_keys=True).encode()).hexdigest()


def take(conn: psycopg.Connection, scope: str = "full") -> dict:
    """A fingerprint of the protected data, in one REPEATABLE READ snapshot of its own."""
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        return take_in_snapshot(conn, scope)


def take_in_snapshot(conn: psycopg.Connection, scope: str = "full") -> dict:
    """The same, inside the caller's (REPEATABLE READ) transaction, e.g. one shared with pg_dump."""
    items = catalog(conn)
    tables: dict[str, dict] = {}
    for schema, table, _pages in conn.execute(TABLES_SQL, PARAMS).fetchall():
        name = f"{schema}.{table}"
        if scope == "full":
            tables[name] = table_content(conn, schema, table)
        else:
            tables[name] = {"rows": None, "content": None}
    return _assemble(scope, items, tables)


def table_content(conn: psycopg.Connection, schema: str, table: str, where: sql.Composable | None = None) -> dict:
    """Row count and content hash of one table (or of the rows matching `where`)."""
    for method in ("record", "text"):
        query = sql.SQL(CONTENT_SQL[method]).format(sql.Identifier(schema, table)) + (where or sql.SQL(""))
        try:
            with conn.transaction():  # a savepoint inside a caller's transaction
                rows, content = conn.execute(query).fetchone()
            return {"rows": rows, "content": content, "hash": method}
        except psycopg.errors.UndefinedFunction:
            continue  # a column type without a hash function: hash the row's text instead
    raise AssertionError("unreachable: text hashing works for every type")


def _assemble(scope: str, items: dict[str, str], tables: dict[str, dict]) -> dict:
    fp = {"scope": scope, "catalog_sha256": catalog_sha256(items), "tables": tables, "catalog": items}
    fp["fingerprint_sha256"] = hashlib.sha256(
        json.dumps({"catalog": fp["catalog_sha256"], "tables": tables}, sort_keys=True).encode()
    ).hexdigest()
    return fp


def store(conn: psycopg.Connection, fp: dict, label: str, run_id: str | None) -> int:
    with conn.transaction():
        return conn.execute(
            """INSERT INTO migration.runbook_fingerprints
                   (label, run_id, scope, fingerprint_sha256, catalog_sha256, tables, catalog)
               VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s::jsonb) RETURNING id""",
            [
                label,
                run_id,
                fp["scope"],
                fp["fingerprint_sha256"],
                fp["catalog_sha256"],
                json.dumps(fp["tables"]),
                json.dumps(fp["catalog"]),
            ],
        ).fetchone()[0]


def load(conn: psycopg.Connection, fingerprint_id: int) -> dict | None:
    row = conn.execute(
        """SELECT scope, fingerprint_sha256, catalog_sha256, tables, catalog
             FROM migration.runbook_fingerprints WHERE id = %s""",
        [fingerprint_id],
    ).fetchone()
    if row is None:
        return None
    scope, fp_sha, cat_sha, tables, items = row
    return {"scope": scope, "fingerprint_sha256": fp_sha, "catalog_sha256": cat_sha, "tables": tables, "catalog": items}


def differences(before: dict, after: dict, across_restore: bool = False) -> list[str]:
    """Human-readable differences; empty when the protected data is unchanged.

    across_restore: the two sides are a database and its dump/restore copy. PostgreSQL
    re-deparses some CHECK expressions (IN lists over varchar) differently after a round trip,
    so a CHECK whose text changed is accepted there; one added or missing still counts.
    """
    found = []
    for key in sorted(set(before["catalog"]) | set(after["catalog"])):
        old, new = before["catalog"].get(key), after["catalog"].get(key)
        if across_restore and key.startswith("constraint:c ") and old and new:
            continue
        if old != new:
            state = "added" if old is None else "removed" if new is None else "changed"
            found.append(f"catalog: {key} {state}")
    for name in sorted(set(before["tables"]) | set(after["tables"])):
        old, new = before["tables"].get(name), after["tables"].get(name)
        if old is None or new is None:
            found.append(f"table {name} {'appeared' if old is None else 'disappeared'}")
        elif old["rows"] is not None and new["rows"] is not None:
            if old["rows"] != new["rows"]:
                found.append(f"table {name}: {old['rows']} rows before, {new['rows']} after")
            elif old["content"] != new["content"]:
                found.append(f"table {name}: same row count, but row contents changed")
    return found


def take_parallel(conn_factory, scope: str = "full", workers: int = 2, split_min_pages: int = 1000) -> dict:
    """The same fingerprint, with table contents hashed on `workers` connections at once.

    The content hash is a sum over rows, so a large table is split into page ranges (TID range
    scans) whose partial sums add up to exactly the serial result. Only for a database nobody
    else writes to yet (a freshly restored copy): the connections do not share a snapshot.
    """
    from concurrent.futures import ThreadPoolExecutor

    with conn_factory() as conn:
        items = catalog(conn)
        tables = conn.execute(TABLES_SQL, PARAMS).fetchall()
    if scope != "full":
        return _assemble(scope, items, {f"{s}.{t}": {"rows": None, "content": None} for s, t, _columns in tables})
    tasks = []
    for schema, table, pages in tables:
        if pages < split_min_pages:
            tasks.append((schema, table, None, None))
            continue
        step = pages // workers + 1
        for i in range(workers):
            tasks.append((schema, table, i * step, None if i == workers - 1 else (i + 1) * step))

    def hash_range(task) -> tuple[str, dict]:
        schema, table, first, last = task
        where = sql.SQL("")
        if first is not None:
            where = sql.SQL(" WHERE t.ctid >= {}::tid").format(sql.Literal(f"({first},0)"))
            if last is not None:
                where += sql.SQL(" AND t.ctid < {}::tid").format(sql.Literal(f"({last},0)"))
        with conn_factory() as conn:
            return f"{schema}.{table}", table_content(conn, schema, table, where)

    totals: dict[str, dict] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for name, part in pool.map(hash_range, tasks):
            total = totals.setdefault(name, {"rows": 0, "content": 0, "hash": part["hash"]})
            total["rows"] += part["rows"]
            total["content"] += int(part["content"])
    return _assemble(scope, items, {name: {**t, "content": str(t["content"])} for name, t in sorted(totals.items())})
