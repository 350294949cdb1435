"""The static protected-schema guard: what it refuses, what it lets through, and where."""

from __future__ import annotations

import pytest
from ansible.module_utils.bayview.protected_guard import check_sql

REFUSED = [
    "INSERT INTO bayview.memorials (first_name) VALUES ('x');",
    "update bayview.memorials set message = '';",
    "DELETE FROM ONLY crouse_chapel.clergy WHERE id = 1;",
    'DELETE FROM "bayview"."memorials";',
    "TRUNCATE core.a, bayview.audit_log;",
    "MERGE INTO bayview.memorials m USING core.persons p ON false WHEN NOT MATCHED THEN DO NOTHING;",
    "COPY bayview.memorials FROM '/tmp/x.csv';",
    "ALTER TABLE bayview.memorials ADD COLUMN person_id bigint;",
    "ALTER TABLE IF EXISTS ONLY bayview.memorials DROP COLUMN notion_id;",
    "DROP TABLE core.x, bayview.attachments;",
    "DROP SCHEMA crouse_chapel CASCADE;",
    "ALTER SCHEMA bayview RENAME TO old_bayview;",
    "ALTER FUNCTION crouse_chapel.is_chapel_available(date, time) OWNER TO someone;",
    "CREATE INDEX ON bayview.memorials (last_name, first_name);",
    "CREATE UNIQUE INDEX i ON bayview.memorials (notion_id);",
    "CREATE TRIGGER t AFTER INSERT ON bayview.memorials FOR EACH ROW EXECUTE FUNCTION core.sync();",
    "CREATE RULE r AS ON INSERT TO bayview.memorials DO ALSO NOTIFY x;",
    "CREATE POLICY p ON crouse_chapel.payments USING (true);",
    "CREATE TABLE bayview.new_table (id int);",
    "CREATE OR REPLACE FUNCTION bayview.f() RETURNS int LANGUAGE sql AS 'SELECT 1';",
    "CREATE SCHEMA IF NOT EXISTS bayview;",
    "GRANT SELECT ON bayview.memorials TO public;",
    "REVOKE ALL ON ALL TABLES IN SCHEMA crouse_chapel FROM bayview_app;",
    "GRANT USAGE ON SCHEMA bayview TO reporting;",
    "COMMENT ON TABLE bayview.memorials IS 'x';",
    "LOCK TABLE bayview.memorials IN ACCESS EXCLUSIVE MODE;",
    "CREATE TABLE core.l (memorial_id int REFERENCES bayview.memorials (id));",
    "ALTER TABLE core.l ADD FOREIGN KEY (m) REFERENCES bayview.memorials (id);",
    "SELECT setval('bayview.memorials_id_seq', 1);",
    "SELECT nextval('crouse_chapel.clergy_id_seq');",
    "SET search_path = bayview, public;",
    "CREATE FUNCTION core.f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DELETE FROM bayview.memorials; END $$;",
    "CREATE FUNCTION core.g() RETURNS void LANGUAGE sql AS $body$ UPDATE crouse_chapel.clergy SET name = '' $body$;",
    "WITH gone AS (DELETE FROM bayview.attachments RETURNING id) SELECT count(*) FROM gone;",
    "INSERT INTO migration.schema_versions (version) VALUES ('5');",
    "DELETE FROM migration.schema_versions;",
    "ALTER TABLE migration.schema_versions ADD COLUMN checksum text;",
    "COMMIT;",
    "BEGIN;",
    "CREATE INDEX CONCURRENTLY i ON core.persons (last_name);",
    "VACUUM core.persons;",
    "\\i other.sql",
]

ALLOWED = [
    "CREATE VIEW migration.memorial_persons AS SELECT m.id FROM bayview.memorials m "
    "LEFT JOIN core.person_legacy_links l ON l.legacy_table = 'bayview.memorials' AND l.legacy_id = m.id;",
    "INSERT INTO core.persons (first_name) SELECT first_name FROM bayview.memorials;",
    "CREATE TABLE core.persons (id int, note text DEFAULT 'UPDATE bayview.memorials');",
    "-- DELETE FROM bayview.memorials;\nCREATE SCHEMA core;",
    "/* DROP SCHEMA bayview; */ CREATE SCHEMA finance;",
    "COMMENT ON SCHEMA core IS 'copied from bayview.memorials';",
    "DROP VIEW migration.memorial_persons;",
    "SELECT count(*) FROM migration.schema_versions;",
    "CREATE FUNCTION core.f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN (SELECT count(*) FROM bayview.memorials); END $$;",
    "CREATE TABLE core.bayview_notes (id int);",
    "ALTER TABLE core.persons ADD COLUMN bayview_address text;",
    "GRANT SELECT ON ALL TABLES IN SCHEMA core TO reporting;",
]


@pytest.mark.parametrize("statement", REFUSED)
def test_refuses(statement):
    assert check_sql(statement, "up.sql"), f"not refused: {statement}"


@pytest.mark.parametrize("statement", ALLOWED)
def test_allows(statement):
    assert check_sql(statement, "up.sql") == []


def test_names_file_line_and_reason():
    text = "CREATE SCHEMA core;\n\n-- harmless\nCREATE TABLE core.a (id int);\nUPDATE\n  bayview.memorials SET message = '';\n"
    [violation] = check_sql(text, "sql/migrations/0009_x/up.sql")
    assert violation.file == "sql/migrations/0009_x/up.sql"
    assert violation.line == 5
    assert "UPDATE of a protected table" in violation.reason
    assert "bayview.memorials" in str(violation)
