"""Reconciliation: each staged page that is new or changed gets its outcome, set-based.

Matching, in this order (docs/notion.md), the first rule that finds a legacy row decides:
  notion_id    the legacy row whose notion_id is the page's id;
  database_id  the page's "Database ID": a bayview.memorials.id for an immediate memorial
               application, a bayview.prepayments.id for a future one (the two id sequences
               collide; without a prepayments table a future page matches nothing by it), a
               crouse_chapel.service_applications.id for a chapel page;
  title        the memorial's submission_id (MG-...), or the chapel application's serial.
A page matched by an id whose title names another record is a conflict: quarantined, naming
both. A page with a value that cannot be read is quarantined with the value. Every other page
matched nothing: it is a Notion-only record, created in the new design by the data migrations
0024 and 0025 (outcome `created`). A memorial page submitted again by the same contact for the
same deceased within an hour of another gets duplicate_of (its probable original); both stay.

Where a matched page and its legacy row disagree, each difference is recorded with both values
and the side that wins by the field's rule (FIELD_RULES). The migrations that carry these fields
(0001-0004) take Notion's winning values into the new design (their NOTION_WINNERS).
"""

from __future__ import annotations

from ansible.module_utils.bayview.data_migrate import legacy_columns

# A retried submission: same contact and deceased, another MG- id, at most this long after.
RETRY_WINDOW_MS = 60 * 60 * 1000


def _cleaned(column: str) -> str:
    """A legacy text cleaned as a staged Notion value is (trimmed; a placeholder such as 'none' or
    'Not provided' is NULL), by the same SQL function, so that only real differences are recorded."""
    return f"migration.notion_text(jsonb_build_object('v', {column}), 'v')"


# Per compared field: (the staged value, the legacy value, the rule). 'last_edited': the side
# edited last wins (Notion's last_edited_time against the legacy row's updated_at); without a
# Notion edit time (an export) the legacy row wins, and an empty Notion value never blanks a
# legacy one (a property missing from a page must not erase a permanent record's value). Staff
# edit these in Notion since the forms moved there, which never reached PostgreSQL.
FIELD_RULES = {
    "memorial_garden": {
        "service_date": ("v.service_date::text", "l.service_date::text", "last_edited"),
        "fee": ("v.fee::text", "l.fee_amount::numeric(10,2)::text", "last_edited"),
        "contact_email": ("lower(v.contact_email)", "lower(" + _cleaned("l.contact_email") + ")", "last_edited"),
        "contact_phone": ("v.contact_phone", _cleaned("l.contact_phone"), "last_edited"),
        "celebrant": ("v.celebrant", _cleaned("l.celebrant_requested"), "last_edited"),
    },
    "chapel": {
        # as 0004 reads it: no legacy status is a pending one; an empty Notion Status is no value (the
        # view reads it as pending for a page of its own), so it never sets a service back to pending
        "status": (
            "CASE WHEN v.status_raw IS NOT NULL THEN v.status END",
            "coalesce(lower(" + _cleaned("l.status") + "), 'pending')",
            "last_edited",
        ),
        "service_date": ("v.service_date::text", "l.service_date::text", "last_edited"),
        "service_time": ("v.service_time::text", "l.service_time::text", "last_edited"),
        "approved_by": ("v.approved_by", _cleaned("l.approved_by"), "last_edited"),
        "contact_email": ("lower(v.contact_email)", "lower(" + _cleaned("l.contact_email") + ")", "last_edited"),
    },
}

# The legacy table a matched page's fields are compared with (a future memorial page matched to a
# prepayment has no field in common with it).
COMPARED_WITH = {"memorial_garden": "bayview.memorials", "chapel": "crouse_chapel.service_applications"}
VALUES_VIEW = {"memorial_garden": "migration.notion_memorial_values", "chapel": "migration.notion_chapel_values"}


def _has(conn, table: str, column: str) -> bool:
    return column in legacy_columns(conn, table)


def _matches(conn, database: str) -> list[str]:
    """SELECT page id, rank, rule, legacy table, legacy id, the legacy row's own title (or NULL):
    one per rule that finds a row, for the pages waiting (alias v)."""
    found = []
    if database == "memorial_garden":
        tables = [("bayview.memorials", "immediate", "nullif(btrim(l.submission_id), '')")]
        if legacy_columns(conn, "bayview.prepayments"):
            tables.append(("bayview.prepayments", "future", "NULL::text"))
        for table, kind, own_title in tables:
            if _has(conn, table, "notion_id"):
                found.append(
                    f"SELECT v.id, 1, 'notion_id', '{table}', l.id::bigint, {own_title} FROM waiting v JOIN {table} l "
                    "ON lower(replace(l.notion_id, '-', '')) = lower(replace(v.page_id, '-', ''))"
                )
            found.append(
                f"SELECT v.id, 2, 'database_id', '{table}', l.id::bigint, {own_title} FROM waiting v JOIN {table} l "
                f"ON l.id = v.database_id AND v.application_type = '{kind}'"
            )
        found.append(
            "SELECT v.id, 3, 'title', 'bayview.memorials', l.id::bigint, nullif(btrim(l.submission_id), '') "
            "FROM waiting v JOIN bayview.memorials l ON l.submission_id = v.title"
        )
    else:
        table = "crouse_chapel.service_applications"
        if _has(conn, table, "notion_id"):
            found.append(
                f"SELECT v.id, 1, 'notion_id', '{table}', l.id::bigint, l.id::text FROM waiting v JOIN {table} l "
                "ON lower(replace(l.notion_id, '-', '')) = lower(replace(v.page_id, '-', ''))"
            )
        found.append(
            f"SELECT v.id, 2, 'database_id', '{table}', l.id::bigint, l.id::text FROM waiting v JOIN {table} l "
            "ON l.id = v.database_id"
        )
        found.append(
            f"SELECT v.id, 3, 'title', '{table}', l.id::bigint, l.id::text FROM waiting v JOIN {table} l "
            "ON v.title ~ '^\\d{1,9}$' AND l.id = v.title::integer"
        )
    return found


def _comparable_title(database: str) -> str:
    """True where the page's title can be compared with a legacy row's (an MG- id, a serial)."""
    return "v.title ~ '^MG-'" if database == "memorial_garden" else "v.title ~ '^\\d{1,9}$'"


def _reconcile_sql(conn, database: str) -> str:
    matches = "\nUNION ALL\n".join(_matches(conn, database))
    return f"""
WITH waiting AS MATERIALIZED (
    SELECT v.* FROM {VALUES_VIEW[database]} v JOIN migration.notion_pages p ON p.id = v.id WHERE p.reconciled_at IS NULL
),
found (id, rank, rule, legacy_table, legacy_id, legacy_title) AS ({matches}),
first AS (SELECT DISTINCT ON (id) * FROM found ORDER BY id, rank, legacy_id),
decided AS (
    SELECT v.id, f.rule, f.legacy_table, f.legacy_id,
           CASE WHEN f.rule IN ('notion_id', 'database_id') AND f.legacy_title IS NOT NULL
                 AND {_comparable_title(database)} AND f.legacy_title <> v.title
                THEN 'conflict: the page''s ' || CASE f.rule WHEN 'notion_id' THEN 'id' ELSE 'Database ID' END
                     || ' matches ' || f.legacy_table || ' ' || f.legacy_id || ' (' || f.legacy_title
                     || '), but its title is ' || v.title END AS conflict,
           v.problem
      FROM waiting v LEFT JOIN first f ON f.id = v.id
)
UPDATE migration.notion_pages p
   SET reconciled_at = now(),
       outcome = CASE WHEN d.conflict IS NOT NULL OR d.problem IS NOT NULL THEN 'quarantined'
                      WHEN d.rule IS NOT NULL THEN 'matched' ELSE 'created' END,
       match_rule = d.rule, legacy_table = d.legacy_table, legacy_id = d.legacy_id,
       reason = coalesce(d.conflict, d.problem)
  FROM decided d
 WHERE p.id = d.id
RETURNING p.id, p.outcome, p.match_rule
"""


# The memorial pages of each contact and deceased that a page reconciled in this transaction has
# (or had: the retries of a page reconciled now, which may have moved away), found through the index
# of migration 0015 on their stored texts; not every staged page at each sync.
CONTACT = "lower(coalesce(p.texts ->> 'Contact Email', p.texts ->> 'Contact Name'))"
DECEASED = "lower(p.texts ->> 'Deceased Name')"
DUPLICATES = f"""
WITH now_reconciled AS MATERIALIZED (
    SELECT p.title, {CONTACT} AS contact, {DECEASED} AS deceased
      FROM migration.notion_pages p WHERE p.notion_database = 'memorial_garden' AND p.reconciled_at = now()
),
touched AS (
    SELECT contact, deceased FROM now_reconciled
    UNION
    SELECT {CONTACT}, {DECEASED} FROM migration.notion_pages p
     WHERE p.duplicate_of IN (SELECT title FROM now_reconciled) AND p.notion_database = 'memorial_garden'
    UNION
    -- a retry whose original no longer has that title (edited with its contact or deceased: it is
    -- among neither of the above). Retries are few (the partial index of duplicate_of), and the
    -- original is looked up by its unique key: a page keeps the title it was first staged under as
    -- its key (notion_stage). A title now held only by another page counts as gone, which costs
    -- no more than checking that group again.
    SELECT {CONTACT}, {DECEASED} FROM migration.notion_pages p
     WHERE p.duplicate_of IS NOT NULL AND p.notion_database = 'memorial_garden'
       AND NOT EXISTS (SELECT 1 FROM migration.notion_pages o
                        WHERE o.notion_database = 'memorial_garden' AND o.page_key = p.duplicate_of
                          AND o.title = p.duplicate_of)
),
pages AS (
    SELECT p.id, p.title, substring(p.title FROM '^MG-(\\d{{10,15}})$')::bigint AS ms, t.contact, t.deceased
      FROM touched t
      JOIN migration.notion_pages p
        ON p.notion_database = 'memorial_garden' AND {CONTACT} = t.contact AND {DECEASED} = t.deceased
),
chained AS (
    SELECT id, title, ms, lag(title) OVER w AS previous_title, lag(ms) OVER w AS previous_ms
      FROM pages WHERE ms IS NOT NULL
    WINDOW w AS (PARTITION BY contact, deceased ORDER BY ms)
)
UPDATE migration.notion_pages p
   SET duplicate_of = CASE WHEN c.ms - c.previous_ms <= %(window)s THEN c.previous_title END
  FROM chained c
 WHERE p.id = c.id
   AND p.duplicate_of IS DISTINCT FROM CASE WHEN c.ms - c.previous_ms <= %(window)s THEN c.previous_title END
RETURNING p.id
"""


def _differences_sql(database: str, legacy_table: str) -> str:
    rules = FIELD_RULES[database]
    rows = ",\n               ".join(
        f"('{field}', ({notion})::text, ({legacy})::text, '{rule}')" for field, (notion, legacy, rule) in rules.items()
    )
    return f"""
INSERT INTO migration.notion_differences (notion_page_id, field, notion_value, legacy_value, winner, rule)
SELECT v.id, c.field, c.notion_value, c.legacy_value,
       CASE WHEN v.last_edited_time > l.updated_at AND c.notion_value IS NOT NULL THEN 'notion' ELSE 'legacy' END,
       CASE WHEN v.last_edited_time IS NULL THEN 'edited last; an export gives no edit time: legacy'
            WHEN v.last_edited_time > l.updated_at AND c.notion_value IS NULL
            THEN 'edited last; an empty Notion value never blanks a legacy one: legacy'
            ELSE 'edited last' END
  FROM {VALUES_VIEW[database]} v
  JOIN migration.notion_pages p ON p.id = v.id
  JOIN {legacy_table} l ON l.id = p.legacy_id
 CROSS JOIN LATERAL (VALUES {rows}) AS c (field, notion_value, legacy_value, rule)
 WHERE p.outcome = 'matched' AND p.legacy_table = '{legacy_table}' AND p.id = ANY(%s)
   AND c.notion_value IS DISTINCT FROM c.legacy_value
"""


def reconcile(conn) -> dict:
    """Reconcile every staged page waiting (new or re-staged), in one transaction: counts per
    database, outcome and rule, duplicates flagged, differences recorded."""
    counts: dict = {}
    with conn.transaction():
        for database in ("memorial_garden", "chapel"):
            decided = conn.execute(_reconcile_sql(conn, database)).fetchall()
            ids = [row[0] for row in decided]
            for _id, outcome, rule in decided:
                key = f"{database} {outcome}" + (f" by {rule}" if rule else "")
                counts[key] = counts.get(key, 0) + 1
            if ids:
                conn.execute("DELETE FROM migration.notion_differences WHERE notion_page_id = ANY(%s)", [ids])
                conn.execute(_differences_sql(database, COMPARED_WITH[database]), [ids])
        duplicates = conn.execute(DUPLICATES, {"window": RETRY_WINDOW_MS}).rowcount
    return {"reconciled": counts, "pages_reconciled": sum(counts.values()), "duplicates_flagged": duplicates}


REPORT = """
SELECT notion_database, outcome, coalesce(match_rule, '-'), count(*), count(duplicate_of)
  FROM migration.notion_pages WHERE outcome IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""


def _gone(conn, limit: int) -> tuple[list[dict], int]:
    """The staged pages a full read no longer found (the first `limit`), and how many. gone_at came
    with migration 0014: a database rolled back below it has none to list."""
    if "gone_at" not in legacy_columns(conn, "migration.notion_pages"):
        return [], 0
    listed = [
        {"database": d, "title": t, "page_id": page, "outcome": o, "gone_at": str(at)}
        for d, t, page, o, at in conn.execute(
            "SELECT notion_database, title, page_id, outcome, gone_at FROM migration.notion_pages "
            "WHERE gone_at IS NOT NULL ORDER BY id LIMIT %s",
            [limit],
        )
    ]
    count = conn.execute("SELECT count(*) FROM migration.notion_pages WHERE gone_at IS NOT NULL").fetchone()[0]
    return listed, count


def report(conn, limit: int = 20) -> dict:
    """The reconciliation report: counts per database, outcome and rule; the quarantined pages with
    their reasons, the probable duplicates and the differences (the first `limit` of each)."""
    by_rule = [
        {"database": d, "outcome": o, "rule": r, "pages": n, "probable_duplicates": dup}
        for d, o, r, n, dup in conn.execute(REPORT)
    ]
    quarantined = [
        {"database": d, "title": t, "reason": reason}
        for d, t, reason in conn.execute(
            "SELECT notion_database, title, reason FROM migration.notion_pages WHERE outcome = 'quarantined' "
            "ORDER BY id LIMIT %s",
            [limit],
        )
    ]
    duplicates = [
        {"database": d, "title": t, "duplicate_of": of}
        for d, t, of in conn.execute(
            "SELECT notion_database, title, duplicate_of FROM migration.notion_pages WHERE duplicate_of IS NOT NULL "
            "ORDER BY id LIMIT %s",
            [limit],
        )
    ]
    differences = [
        {"title": t, "field": f, "notion": n, "legacy": lv, "winner": w, "rule": r}
        for t, f, n, lv, w, r in conn.execute(
            "SELECT p.title, d.field, d.notion_value, d.legacy_value, d.winner, d.rule "
            "FROM migration.notion_differences d JOIN migration.notion_pages p ON p.id = d.notion_page_id "
            "ORDER BY d.id LIMIT %s",
            [limit],
        )
    ]
    gone, gone_count = _gone(conn, limit)
    totals = conn.execute(
        "SELECT (SELECT count(*) FROM migration.notion_pages), (SELECT count(*) FROM migration.notion_differences), "
        "(SELECT count(*) FROM migration.notion_pages WHERE outcome = 'quarantined'), "
        "(SELECT count(*) FROM migration.notion_pages WHERE duplicate_of IS NOT NULL)"
    ).fetchone() + (gone_count,)
    summary = [
        f"{r['database']} {r['outcome']}"
        + (f" by {r['rule']}" if r["rule"] != "-" else "")
        + f": {r['pages']}"
        + (f" ({r['probable_duplicates']} probable duplicates)" if r["probable_duplicates"] else "")
        for r in by_rule
    ]
    summary.append(
        f"Total: {totals[0]} staged pages, {totals[2]} quarantined, {totals[3]} probable duplicates, "
        f"{totals[1]} differences with the legacy rows"
    )
    if totals[4]:
        summary.append(
            f"{totals[4]} staged pages are no longer in Notion (trashed or deleted there): kept, with their records; "
            "check Notion's trash before cancelling anything"
        )
    return {
        "summary": summary,
        "pages": totals[0],
        "differences": totals[1],
        "quarantined": totals[2],
        "probable_duplicates": totals[3],
        "gone": totals[4],
        "gone_pages": gone,
        "by_rule": by_rule,
        "quarantined_pages": quarantined,
        "duplicate_pages": duplicates,
        "differences_listed": differences,
    }
