"""The sample legacy database has the shape and the quirks LEGACY.md describes."""

from __future__ import annotations

import pytest
from conftest import TEMPLATE_ROWS, _template, new_database

from bayview_runbook import legacy_sample


def test_full_variant_has_the_quirks(legacy_db):
    q = legacy_db.scalar
    assert q("SELECT count(*) FROM bayview.memorials") == TEMPLATE_ROWS
    assert q("SELECT count(*) FROM bayview.memorials WHERE first_name = '' AND last_name = ''") > 0
    assert q("SELECT count(*) FROM bayview.memorials WHERE first_name = last_name AND first_name <> ''") > 0
    assert q("SELECT count(*) FROM bayview.memorials WHERE first_name <> btrim(first_name)") > 0
    assert q("SELECT count(*) FROM bayview.memorials WHERE first_name IN ('N/A', 'Unknown', 'unknown', '-', 'TBD')") > 0
    assert q("SELECT count(*) FROM bayview.memorials WHERE last_name LIKE '%''%' OR first_name LIKE '%''%'") > 0
    assert q("SELECT count(*) FROM bayview.memorials WHERE death_date < birth_date") > 0
    assert q("SELECT count(*) FROM bayview.memorials WHERE length(application_type) > 20") > 0
    assert q("SELECT count(*) FROM bayview.memorials WHERE other_first_name <> ''") > 0
    assert q("SELECT count(*) FROM bayview.memorials WHERE second_first_name <> ''") > 0
    assert q("SELECT count(DISTINCT placement_type) FROM bayview.memorials") >= 3
    assert q("SELECT count(*) FROM crouse_chapel.service_clergy") > 0
    overloads = q("SELECT count(*) FROM pg_proc WHERE proname = 'is_chapel_available'")
    assert overloads == 2
    assert q("SELECT count(*) FROM migration.schema_versions") == 6


def test_updated_at_trigger_fires(legacy_db):
    legacy_db.query("UPDATE bayview.memorials SET message = 'x' WHERE id = 1 RETURNING id", user="bayview_app")
    assert legacy_db.scalar("SELECT updated_at > now() - interval '1 minute' FROM bayview.memorials WHERE id = 1")


def test_minimal_variant_differs_like_other_environments(cluster):
    db = new_database(cluster, _template(cluster, "minimal"))
    assert (
        db.scalar(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'memorials' AND column_name = 'other_first_name'"
        )
        == 0
    )
    assert (
        db.scalar(
            "SELECT is_nullable FROM information_schema.columns WHERE table_name = 'memorials' AND column_name = 'first_name'"
        )
        == "NO"
    )
    assert db.scalar("SELECT to_regclass('bayview.prepayments')") is None
    assert db.scalar("SELECT count(*) FROM pg_proc WHERE proname = 'is_chapel_available'") == 1


def test_loading_into_a_database_that_has_legacy_schemas_is_refused(legacy_db):
    with pytest.raises(ValueError, match="already has schema"):
        legacy_sample.load(legacy_db.cluster.conninfo(dbname=legacy_db.name), rows=10)
