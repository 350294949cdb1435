"""Build the sample legacy Bay View database (schemas `bayview`, `crouse_chapel`, and the
hand-made `migration.schema_versions`) and fill it with realistic rows at any scale.

Variants mirror the differences between environments listed in shared LEGACY.md:
- full:    placement_type + other_/second_ persons, nullable names, bayview.prepayments,
           both overloads of crouse_chapel.is_chapel_available (like production);
- minimal: one person per memorial, names NOT NULL, no prepayments, one overload.

Rows are generated set-based in SQL (generate_series + a deterministic hash), so one million
memorials load in well under a few minutes, and the same scale always gives the same rows.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import psycopg
from psycopg import sql

LEGACY_SQL = Path(__file__).resolve().parent.parent / "sql" / "legacy"

VARIANT_FILES = {
    "full": [
        "10_bayview.sql",
        "11_bayview_prepayments.sql",
        "12_bayview_three_persons.sql",
        "20_crouse_chapel.sql",
        "21_crouse_chapel_availability_overload.sql",
        "30_handmade_ledger.sql",
    ],
    "minimal": [
        "10_bayview.sql",
        "13_bayview_names_not_null.sql",
        "20_crouse_chapel.sql",
        "30_handmade_ledger.sql",
    ],
}

# A deterministic pseudo-random integer in [0, m) for row g and stream k.
RANDOM_FN = """
CREATE FUNCTION pg_temp.r(g bigint, k int, m int) RETURNS int
LANGUAGE sql IMMUTABLE AS $$ SELECT (abs(hashint8($1 * 1009 + $2)::bigint) % $3)::int $$;
CREATE FUNCTION pg_temp.pick(a text[], g bigint, k int) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT $1[1 + pg_temp.r($2, $3, array_length($1, 1))] $$;
"""

FIRST_NAMES = [
    "Mary",
    "John",
    "Elizabeth",
    "William",
    "Margaret",
    "James",
    "Dorothy",
    "Robert",
    "Helen",
    "Charles",
    "Ruth",
    "George",
    "Frances",
    "Edward",
    "Virginia",
    "Thomas",
    "Jean",
    "Richard",
    "Barbara",
    "Donald",
    "Anne",
    "Harold",
    "Carol",
    "Paul",
]
LAST_NAMES = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Martin",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
]
# Names that broke earlier scripts: quotes, backslashes, Unicode, injection attempts,
# maximum lengths, strings that look like NULL, wildcards, tabs and emoji.
HOSTILE_NAMES = [
    "O'Brien",
    "D'Angelo",
    "Zoë",
    "Nguyễn",
    "José María",
    "van der Berg",
    "Smith-Jones",
    'Robert "Bob"',
    "Back\\slash",
    "Robert'); DROP TABLE bayview.memorials;--",
    "李",
    "Ørsted",
    "A" * 100,
    "NULL",
    "null",
    "%_wildcard",
    "Tab\there",
    "🌹 Rose",
    "Ünal",
    "MacDonald-O'Neil",
]
PLACEHOLDERS = ["N/A", "n/a", "Unknown", "unknown", "-", "TBD", "none", "?"]
SENTENCE_TYPES = [
    "Immediate placement of ashes in the Memorial Garden",
    "I would like to reserve a space for future use",
    "Future placement for myself and my husband",
]


def _array(values: list[str]) -> sql.Composable:
    return sql.SQL("ARRAY[{}]::text[]").format(sql.SQL(", ").join(sql.Literal(v) for v in values))


def _person_expr(prefix: str, stream: int) -> dict[str, sql.Composable]:
    """SQL expressions for one person's name columns, with the legacy quirks mixed in."""
    s = stream * 20
    quirk = sql.SQL("pg_temp.r(g, {}, 1000)").format(sql.Literal(s + 1))
    first = sql.SQL("pg_temp.pick({}, g, {})").format(_array(FIRST_NAMES), sql.Literal(s + 2))
    last = sql.SQL("pg_temp.pick({}, g, {})").format(_array(LAST_NAMES), sql.Literal(s + 3))
    hostile = sql.SQL("pg_temp.pick({}, g, {})").format(_array(HOSTILE_NAMES), sql.Literal(s + 4))
    placeholder = sql.SQL("pg_temp.pick({}, g, {})").format(_array(PLACEHOLDERS), sql.Literal(s + 5))
    first_sql = sql.SQL(
        """CASE WHEN {q} < 10 THEN ''                      -- missing name stored as ''
                WHEN {q} < 30 THEN {last}                  -- one-word name: first = last
                WHEN {q} < 50 THEN '  ' || {first} || ' '  -- stray whitespace
                WHEN {q} < 60 THEN {ph}                    -- placeholder value
                WHEN {q} < 90 THEN {hostile}
                ELSE {first} END"""
    ).format(q=quirk, first=first, last=last, ph=placeholder, hostile=hostile)
    last_sql = sql.SQL(
        """CASE WHEN {q} < 10 THEN ''
                WHEN {q} < 30 THEN {last}
                WHEN {q} < 50 THEN ' ' || {last}
                WHEN {q} BETWEEN 60 AND 89 AND {q} % 2 = 0 THEN {hostile}
                ELSE {last} END"""
    ).format(q=quirk, last=last, hostile=hostile)
    middle = sql.SQL("CASE WHEN {q} % 3 = 0 THEN {first} WHEN {q} % 7 = 0 THEN {ph} ELSE '' END").format(
        q=quirk, first=first, ph=placeholder
    )
    maiden = sql.SQL("CASE WHEN {q} % 4 = 0 THEN {last} ELSE '' END").format(q=quirk, last=last)
    birth = sql.SQL("CASE WHEN {q} % 33 = 0 THEN NULL ELSE date '1900-01-01' + pg_temp.r(g, {k}, 36500) END").format(
        q=quirk, k=sql.Literal(s + 6)
    )
    # Death after birth, except about 1% recorded before it (a bad date the migration must catch).
    death = sql.SQL(
        """CASE WHEN {q} % 29 = 0 THEN NULL
                WHEN {q} % 97 = 0 THEN date '1900-01-01' + pg_temp.r(g, {k}, 36500) - 40000
                ELSE date '1900-01-01' + pg_temp.r(g, {k}, 36500) + pg_temp.r(g, {k2}, 30000) END"""
    ).format(q=quirk, k=sql.Literal(s + 6), k2=sql.Literal(s + 7))
    place = sql.SQL("pg_temp.pick(ARRAY['Petoskey, MI','Detroit, Michigan','','Chicago IL','N/A'], g, {})").format(
        sql.Literal(s + 8)
    )
    return {
        f"{prefix}first_name": first_sql,
        f"{prefix}middle_name": middle,
        f"{prefix}last_name": last_sql,
        f"{prefix}maiden_name": maiden,
        f"{prefix}birth_date": birth,
        f"{prefix}death_date": death,
        f"{prefix}birth_place": place,
    }


def _memorials_insert(rows: int, three_persons: bool) -> sql.Composable:
    columns: dict[str, sql.Composable] = {
        # About 1% of older rows have no submission id.
        "submission_id": sql.SQL(
            "CASE WHEN g % 101 = 0 THEN NULL ELSE 'MG-' || (1723500000000 + g::bigint * 60000) END"
        ),
        **_person_expr("", 0),
        "home_address": sql.SQL("(100 + pg_temp.r(g, 40, 900)) || ' Main St, Petoskey, MI'"),
        "bayview_address": sql.SQL("CASE WHEN g % 3 = 0 THEN '' ELSE 'Cottage ' || (g % 450) END"),
        "mother_name": sql.SQL(
            "CASE WHEN g % 5 = 0 THEN '' ELSE pg_temp.pick({}, g, 41) || ' ' || pg_temp.pick({}, g, 42) END"
        ).format(_array(FIRST_NAMES), _array(LAST_NAMES)),
        "father_name": sql.SQL(
            "CASE WHEN g % 6 = 0 THEN 'unknown' ELSE pg_temp.pick({}, g, 43) || ' ' || pg_temp.pick({}, g, 44) END"
        ).format(_array(FIRST_NAMES), _array(LAST_NAMES)),
        "message": sql.SQL("CASE WHEN g % 4 = 0 THEN '' ELSE 'Forever in our hearts. Row ' || g END"),
        "bayview_history": sql.SQL(
            "CASE WHEN g % 2 = 0 THEN '' ELSE 'Summered at Bay View since ' || (1920 + g % 100) END"
        ),
        "application_type": sql.SQL(
            """CASE WHEN pg_temp.r(g, 45, 100) < 45 THEN 'immediate'
                    WHEN pg_temp.r(g, 45, 100) < 85 THEN 'future'
                    WHEN pg_temp.r(g, 45, 100) < 97 THEN pg_temp.pick({}, g, 46)
                    ELSE '' END"""
        ).format(_array(SENTENCE_TYPES)),
        "is_member": sql.SQL("g % 3 <> 0"),
        "member_name": sql.SQL(
            "CASE WHEN pg_temp.r(g, 47, 10) < 4 THEN pg_temp.pick({}, g, 48) || ' ' || pg_temp.pick({}, g, 49) "
            "WHEN pg_temp.r(g, 47, 10) = 4 THEN 'N/A' ELSE '' END"
        ).format(_array(FIRST_NAMES + HOSTILE_NAMES[:4]), _array(LAST_NAMES)),
        "member_relationship": sql.SQL("pg_temp.pick(ARRAY['spouse','child','friend','self','','Sibling'], g, 50)"),
        "contact_name": sql.SQL(
            "CASE WHEN pg_temp.r(g, 51, 100) < 75 THEN pg_temp.pick({}, g, 52) || ' ' || pg_temp.pick({}, g, 53) "
            "WHEN pg_temp.r(g, 51, 100) < 80 THEN '  ' ELSE '' END"
        ).format(_array(FIRST_NAMES), _array(LAST_NAMES + HOSTILE_NAMES[:3])),
        "contact_email": sql.SQL(
            "CASE WHEN g % 9 = 0 THEN '' WHEN g % 13 = 0 THEN ' Contact' || g || '@Example.ORG ' "
            "ELSE 'contact' || g || '@example.org' END"
        ),
        "contact_phone": sql.SQL(
            "CASE WHEN g % 8 = 0 THEN '' ELSE '(231) 555-' || lpad((g % 10000)::text, 4, '0') END"
        ),
        "contact_address": sql.SQL("CASE WHEN g % 7 = 0 THEN '' ELSE g || ' Lake Ave, Petoskey, MI' END"),
        "service_date": sql.SQL("CASE WHEN g % 3 = 0 THEN NULL ELSE date '2010-01-01' + pg_temp.r(g, 54, 5000) END"),
        "celebrant_requested": sql.SQL("pg_temp.pick(ARRAY['','Rev. Smith','Pastor Jones','none'], g, 55)"),
        "fee_amount": sql.SQL(
            "CASE WHEN g % 10 = 0 THEN NULL ELSE (150 + pg_temp.r(g, 56, 4) * 50)::numeric(10,2) END"
        ),
        "payment_status": sql.SQL("pg_temp.pick(ARRAY['pending','paid','paid','','waived'], g, 57)"),
        "notion_id": sql.SQL("CASE WHEN g % 2 = 0 THEN '' ELSE md5(g::text) END"),
        "created_at": sql.SQL("timestamptz '2019-01-01 00:00+00' + g * interval '37 seconds'"),
        "updated_at": sql.SQL(
            "timestamptz '2019-01-01 00:00+00' + g * interval '37 seconds' + (g % 5) * interval '1 day'"
        ),
    }
    if three_persons:
        other = _person_expr("other_", 3)
        second = _person_expr("second_", 4)
        has_other = sql.SQL("pg_temp.r(g, 60, 100) < 30")
        has_second = sql.SQL("pg_temp.r(g, 60, 100) < 8")
        for prefix, exprs, cond in (("other_", other, has_other), ("second_", second, has_second)):
            for name, expr in exprs.items():
                empty = sql.SQL("NULL") if name.endswith("_date") else sql.SQL("''")
                columns[name] = sql.SQL("CASE WHEN {} THEN {} ELSE {} END").format(cond, expr, empty)
            for name in ("home_address", "bayview_address", "bayview_history"):
                columns[prefix + name] = sql.SQL("CASE WHEN {} THEN 'see primary' ELSE '' END").format(cond)
        columns["placement_type"] = sql.SQL(
            """CASE WHEN g % 50 = 0 THEN NULL
                    WHEN pg_temp.r(g, 60, 100) < 8 THEN 'triple'
                    WHEN pg_temp.r(g, 60, 100) < 30 THEN 'double'
                    WHEN g % 17 = 0 THEN 'family'
                    ELSE 'single' END"""
        )
    return sql.SQL("INSERT INTO bayview.memorials ({}) SELECT {} FROM generate_series(1, {}) AS g").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in columns),
        sql.SQL(", ").join(columns.values()),
        sql.Literal(rows),
    )


CHAPEL_AND_RELATED = """
INSERT INTO crouse_chapel.clergy (name, title, email, phone, is_active)
SELECT pick, 'Rev.', 'clergy' || g || '@example.org', '', g % 5 <> 0
FROM generate_series(1, 12) g, LATERAL (SELECT pg_temp.pick(ARRAY['Ann Lee','Mark O''Hara','Zoë Park',
     'Paul Green','Ruth King','Samuel Ortiz'], g, 70) || ' ' || g AS pick) p;

INSERT INTO crouse_chapel.service_applications
    (application_type, service_date, service_time, rehearsal_date, rehearsal_time, member_name,
     member_relationship, contact_name, contact_address, contact_phone, contact_email, status,
     submission_date, approved_by, approval_date, altar_guild_notified, notion_id, created_at, updated_at)
SELECT (ARRAY['wedding','wedding','wedding','memorial','memorial','funeral','baptism','baptism','general_use','wedding'])
           [1 + pg_temp.r(g, 71, 10)],
       date '2005-01-01' + (g / 4),
       time '10:00' + (g % 4) * interval '2 hours',
       CASE WHEN g % 3 = 0 THEN date '2005-01-01' + (g / 4) - 1 END,
       CASE WHEN g % 3 = 0 THEN time '17:00' END,
       CASE WHEN g % 2 = 0 THEN pg_temp.pick({first}, g, 72) || ' ' || pg_temp.pick({last}, g, 73) ELSE '' END,
       pg_temp.pick(ARRAY['self','parent','grandparent','','friend'], g, 74),
       CASE WHEN g % 23 = 0 THEN '' WHEN g % 11 = 0 THEN pg_temp.pick({hostile}, g, 75)
            ELSE pg_temp.pick({first}, g, 76) || ' ' || pg_temp.pick({last}, g, 77) END,
       CASE WHEN g % 5 = 0 THEN '' ELSE g || ' Bay St' END,
       CASE WHEN g % 19 = 0 THEN '' ELSE '231-555-' || lpad((g % 10000)::text, 4, '0') END,
       CASE WHEN g % 7 = 0 THEN '' ELSE 'applicant' || g || '@example.com' END,
       (ARRAY['pending','approved','approved','approved','rejected','cancelled'])[1 + pg_temp.r(g, 78, 6)],
       timestamptz '2004-06-01 00:00+00' + g * interval '41 minutes',
       CASE WHEN g % 2 = 0 THEN 'Office' END,
       CASE WHEN g % 2 = 0 THEN timestamptz '2004-06-02 00:00+00' + g * interval '41 minutes' END,
       g % 4 = 0,
       CASE WHEN g % 2 = 0 THEN '' ELSE md5('chapel' || g) END,
       timestamptz '2004-06-01 00:00+00' + g * interval '41 minutes',
       timestamptz '2004-06-01 00:00+00' + g * interval '41 minutes'
FROM generate_series(1, {apps}) g;

INSERT INTO crouse_chapel.memorial_details (application_id, deceased_name, memorial_garden_placement, placement_date, placement_time)
SELECT id, CASE WHEN id % 13 = 0 THEN '' ELSE pg_temp.pick({first}, id, 80) || ' ' || pg_temp.pick({last}, id, 81) END,
       id % 2 = 0, CASE WHEN id % 2 = 0 THEN service_date + 1 END, CASE WHEN id % 2 = 0 THEN time '09:00' END
FROM crouse_chapel.service_applications WHERE application_type IN ('memorial', 'funeral');

INSERT INTO crouse_chapel.wedding_details (application_id, couple_names, guest_count, wedding_fee)
SELECT id, pg_temp.pick({first}, id, 82) || ' & ' || pg_temp.pick({first}, id, 83), 20 + id % 180, 500
FROM crouse_chapel.service_applications WHERE application_type = 'wedding';

INSERT INTO crouse_chapel.baptism_details (application_id, child_name, parents_names)
SELECT id, pg_temp.pick({first}, id, 84), pg_temp.pick({last}, id, 85) || ' family'
FROM crouse_chapel.service_applications WHERE application_type = 'baptism';

INSERT INTO crouse_chapel.general_use_details (application_id, event_name, description, expected_guests)
SELECT id, 'Recital ' || id, '', 30 + id % 100
FROM crouse_chapel.service_applications WHERE application_type = 'general_use';

INSERT INTO crouse_chapel.service_music (application_id, piece, notes)
SELECT id, pg_temp.pick(ARRAY['Amazing Grace','Ave Maria','Canon in D','Be Thou My Vision','Pie Jesu (Fauré)'], id, 86),
       (ARRAY['', 'n/a', 'organ & choir', '  processional  '])[1 + id % 4]
FROM crouse_chapel.service_applications WHERE id % 3 = 0;

INSERT INTO crouse_chapel.service_musicians (application_id, musician_name, instrument)
SELECT id, pg_temp.pick({first}, id, 87) || ' ' || pg_temp.pick({last}, id, 88), 'organ'
FROM crouse_chapel.service_applications WHERE id % 4 = 0;

INSERT INTO crouse_chapel.service_equipment (application_id, equipment, quantity)
SELECT id, (ARRAY['chairs', 'Chairs ', 'piano', 'sound system'])[1 + id % 4], id % 40
FROM crouse_chapel.service_applications WHERE id % 5 = 0;

INSERT INTO crouse_chapel.policy_acknowledgments (application_id, policy_name, acknowledged, acknowledged_at)
SELECT id, 'Chapel use policy', true, submission_date FROM crouse_chapel.service_applications;

INSERT INTO crouse_chapel.notifications (application_id, notification_type, recipient, sent_at)
SELECT id, 'altar_guild', 'altarguild@example.org', approval_date
FROM crouse_chapel.service_applications WHERE altar_guild_notified;

INSERT INTO crouse_chapel.payments (application_id, amount, payment_method, paid_at)
SELECT id, 250, (ARRAY['check','Check ','card','CASH',''])[1 + id % 5], approval_date
FROM crouse_chapel.service_applications WHERE status = 'approved';

INSERT INTO crouse_chapel.service_clergy (service_id, clergy_id, role)
SELECT id, 1 + id % 12, 'officiant' FROM crouse_chapel.service_applications WHERE id % 2 = 1;

INSERT INTO crouse_chapel.chapel_availability (date, time_slot, is_available, reason)
SELECT date '2026-05-01' + (g / 4), time '10:00' + (g % 4) * interval '2 hours', g % 9 <> 0,
       CASE WHEN g % 9 = 0 THEN 'Maintenance' ELSE '' END
FROM generate_series(0, 499) g;

INSERT INTO crouse_chapel.blackout_dates (start_date, end_date, reason)
SELECT date '2026-12-20' + g * 365, date '2026-12-26' + g * 365, 'Christmas week'
FROM generate_series(0, 9) g;

INSERT INTO bayview.audit_log (table_name, record_id, action, changed_by, changes, created_at)
SELECT 'memorials', 1 + g % {rows}, (ARRAY['INSERT','UPDATE'])[1 + g % 2], 'webapp',
       jsonb_build_object('payment_status', 'paid'), timestamptz '2020-01-01 00:00+00' + g * interval '1 hour'
FROM generate_series(1, greatest({rows} / 10, 1)) g;

INSERT INTO bayview.attachments (memorial_id, file_name, file_url, content_type, uploaded_at)
SELECT g * 5, 'photo_' || g || '.jpg', 'https://files.example.org/' || g, 'image/jpeg',
       timestamptz '2020-01-01 00:00+00' + g * interval '2 hours'
FROM generate_series(1, {rows} / 5) g;

INSERT INTO bayview.memorial_payments (memorial_id, amount, payment_method, paid_at, reference, created_at)
SELECT g * 3, 200, 'card', timestamptz '2020-01-01 00:00+00' + g * interval '3 hours', 'ch_' || md5(g::text),
       timestamptz '2020-01-01 00:00+00' + g * interval '3 hours'
FROM generate_series(1, {rows} / 3) g;
"""

PREPAYMENTS = """
INSERT INTO bayview.prepayments (payer_name, payer_email, amount, spaces, paid_at, notes, created_at)
SELECT pg_temp.pick({first}, g, 90) || ' ' || pg_temp.pick({last}, g, 91), 'payer' || g || '@example.org',
       400, 1 + g % 2, timestamptz '2021-01-01 00:00+00' + g * interval '5 days', '',
       timestamptz '2021-01-01 00:00+00' + g * interval '5 days'
FROM generate_series(1, 50) g;
"""


def _quote_array(values: list[str]) -> str:
    return _array(values).as_string(None)


def load(
    conninfo: str,
    rows: int = 3000,
    variant: str = "full",
    app_role: str | None = "bayview_app",
    runbook_role: str | None = "bayview_runbook",
) -> dict[str, int]:
    """Create the legacy schemas in the (empty) database at conninfo and fill them.

    Connects as a superuser or the database owner. Legacy objects are owned by app_role
    when it exists; runbook_role gets read access only (plus CREATE for its own schemas).
    Returns the row counts of the main tables.
    """
    if variant not in VARIANT_FILES:
        raise ValueError(f"unknown variant {variant!r}; choose one of {sorted(VARIANT_FILES)}")
    if rows < 1:
        raise ValueError("rows must be at least 1")
    with psycopg.connect(conninfo, autocommit=False) as conn:
        existing = conn.execute(
            "SELECT string_agg(nspname, ', ') FROM pg_namespace "
            "WHERE nspname IN ('bayview', 'crouse_chapel', 'migration')"
        ).fetchone()[0]
        if existing:
            raise ValueError(
                f"the database already has schema(s) {existing}; load the sample into a new, empty database"
            )
        roles = {
            r[0]
            for r in conn.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", [[app_role, runbook_role]])
        }
        dbname = conn.info.dbname
        if app_role in roles:
            conn.execute(
                sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(sql.Identifier(dbname), sql.Identifier(app_role))
            )
            conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(app_role)))
        files = VARIANT_FILES[variant]
        for name in files:
            conn.execute((LEGACY_SQL / name).read_text())
        conn.execute(RANDOM_FN)
        conn.execute(_memorials_insert(rows, three_persons="12_bayview_three_persons.sql" in files))
        fmt = {
            "first": _quote_array(FIRST_NAMES),
            "last": _quote_array(LAST_NAMES),
            "hostile": _quote_array(HOSTILE_NAMES),
            "rows": rows,
            "apps": max(rows // 2, 10),
        }
        conn.execute(CHAPEL_AND_RELATED.format(**fmt))
        if "11_bayview_prepayments.sql" in files:
            conn.execute(PREPAYMENTS.format(**fmt))
        conn.execute("RESET ROLE")
        if runbook_role in roles:
            grants = """
                GRANT CONNECT, CREATE ON DATABASE {db} TO {rb};
                GRANT USAGE ON SCHEMA bayview, crouse_chapel TO {rb};
                GRANT SELECT ON ALL TABLES IN SCHEMA bayview, crouse_chapel TO {rb};
                GRANT SELECT ON ALL SEQUENCES IN SCHEMA bayview, crouse_chapel TO {rb};
                GRANT USAGE, CREATE ON SCHEMA migration TO {rb};
                GRANT SELECT ON ALL TABLES IN SCHEMA migration TO {rb};
                GRANT SELECT ON ALL SEQUENCES IN SCHEMA migration TO {rb};
            """
            for stmt in grants.split(";"):
                if stmt.strip():
                    conn.execute(sql.SQL(stmt).format(db=sql.Identifier(dbname), rb=sql.Identifier(runbook_role)))
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
        counts = {}
        for table in ("bayview.memorials", "crouse_chapel.service_applications"):
            counts[table] = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.SQL(table))).fetchone()[0]
        return counts


def create_database(admin_conninfo: str, dbname: str, recreate: bool = False) -> None:
    with psycopg.connect(admin_conninfo, autocommit=True) as conn:
        if recreate:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))


def main(argv: list[str] | None = None) -> int:
    from bayview_runbook.localpg import LocalCluster

    parser = argparse.ArgumentParser(description="Load the sample legacy Bay View database.")
    parser.add_argument("--state", default=".rehearsal", help="local cluster state directory")
    parser.add_argument("--dbname", default="bayview_rehearsal")
    parser.add_argument("--rows", type=int, default=3000, help="memorial rows (default 3000)")
    parser.add_argument("--variant", choices=sorted(VARIANT_FILES), default="full")
    parser.add_argument("--recreate", action="store_true", help="drop and recreate the database first")
    args = parser.parse_args(argv)
    cluster = LocalCluster.at(Path(args.state))
    if not cluster.is_running():
        print(
            "bayview-legacy-sample: the local cluster is not running; start it with `make rehearsal-db`",
            file=sys.stderr,
        )
        return 1
    started = time.monotonic()
    try:
        create_database(cluster.conninfo(), args.dbname, recreate=args.recreate)
        counts = load(cluster.conninfo(dbname=args.dbname), rows=args.rows, variant=args.variant)
    except (ValueError, psycopg.Error) as exc:
        print(f"bayview-legacy-sample: {exc}", file=sys.stderr)
        return 1
    took = time.monotonic() - started
    summary = ", ".join(f"{t}: {n} rows" for t, n in counts.items())
    print(f"loaded sample legacy database {args.dbname!r} ({args.variant}) in {took:.1f}s: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
