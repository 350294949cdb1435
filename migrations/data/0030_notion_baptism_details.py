"""The baptism details of a chapel service that exists only in Notion (0025): the candidate, the
parents, and what the legacy table never had (migration 0017): the baptism's date, its type and
the witnesses."""

from .notion import STAGED, chapel_detail_query, unreadable

NAME = "0030_notion_baptism_details"
LEGACY_TABLE = STAGED
KEY = "id"
TARGET = "events.baptism_details"
UPDATED_AT = "reconciled_at"
NOTION_DATABASE = "chapel"
DEPENDS_ON = ("0025_notion_chapel_services",)

FIELDS = ("service_id", "child_name", "parents_names", "baptism_date", "baptism_type", "witnesses")
CARRIED = {
    "Baptism Candidate Name": "events.baptism_details.child_name",
    "Parents Names": "events.baptism_details.parents_names",
    "Baptism Date": "events.baptism_details.baptism_date",
    "Baptism Type": "events.baptism_details.baptism_type",
    "Witnesses": "events.baptism_details.witnesses",
}
NOT_CARRIED: dict[str, str] = {}


def candidates_sql(columns: set[str]) -> str:
    raw = {
        "child_raw": "Baptism Candidate Name",
        "parents_raw": "Parents Names",
        "date_raw": "Baptism Date",
        "type_raw": "Baptism Type",
        "witnesses_raw": "Witnesses",
    }
    fields = {
        "child_name": "r.child_raw",
        "parents_names": "r.parents_raw",
        "baptism_date": "migration.notion_date(r.date_raw)",
        "baptism_type": "migration.notion_option(r.type_raw)",  # infant and Infant alike
        "witnesses": "r.witnesses_raw",
    }
    problem = f"""coalesce(
        {unreadable("Baptism Date", "r.date_raw", "f.baptism_date", "a date")},
        CASE WHEN f.baptism_type NOT IN ('infant', 'adult', 'dedication')
             THEN 'Baptism Type ' || quote_literal(r.type_raw) || ' is not one of Infant, Adult, Dedication' END)"""
    return chapel_detail_query(("baptism",), raw, fields, problem)
