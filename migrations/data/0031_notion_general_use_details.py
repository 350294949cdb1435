"""The general-use details of a chapel service that exists only in Notion (0025): the event, its
description and the guests expected, and what the legacy table never had (migration 0017): the
event's type, the organisation, the setup and cleanup times and the event fee."""

from .notion import STAGED, chapel_detail_query, count, unreadable

NAME = "0031_notion_general_use_details"
LEGACY_TABLE = STAGED
KEY = "id"
TARGET = "events.general_use_details"
UPDATED_AT = "reconciled_at"
NOTION_DATABASE = "chapel"
DEPENDS_ON = ("0025_notion_chapel_services",)

FIELDS = (
    "service_id",
    "event_type",
    "organization_name",
    "description",
    "expected_guests",
    "setup_time",
    "cleanup_time",
    "fee",
)
CARRIED = {
    "Event Type": "events.general_use_details.event_type",
    "Organization Name": "events.general_use_details.organization_name",
    "Event Description": "events.general_use_details.description",
    "Expected Attendance": "events.general_use_details.expected_guests",
    "Setup Time": "events.general_use_details.setup_time",
    "Cleanup Time": "events.general_use_details.cleanup_time",
    "Event Fee": "events.general_use_details.fee",
}
NOT_CARRIED: dict[str, str] = {}


def candidates_sql(columns: set[str]) -> str:
    raw = {
        "event_type_raw": "Event Type",
        "organization_raw": "Organization Name",
        "description_raw": "Event Description",
        "attendance_raw": "Expected Attendance",
        "setup_raw": "Setup Time",
        "cleanup_raw": "Cleanup Time",
        "fee_raw": "Event Fee",
    }
    fields = {
        "event_type": "r.event_type_raw",
        "organization_name": "r.organization_raw",
        "description": "r.description_raw",
        "expected_guests": count("r.attendance_raw"),
        "setup_time": "migration.notion_time(r.setup_raw)",
        "cleanup_time": "migration.notion_time(r.cleanup_raw)",
        "fee": "migration.notion_money(r.fee_raw)",
    }
    problem = f"""coalesce(
        {unreadable("Expected Attendance", "r.attendance_raw", "f.expected_guests", "a whole number")},
        {unreadable("Setup Time", "r.setup_raw", "f.setup_time", "a time of day")},
        {unreadable("Cleanup Time", "r.cleanup_raw", "f.cleanup_time", "a time of day")},
        {unreadable("Event Fee", "r.fee_raw", "f.fee", "an amount of money")})"""
    return chapel_detail_query(("general_use",), raw, fields, problem)
