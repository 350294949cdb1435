"""The periods the chapel is closed (Christmas week, repairs)."""

from .cleaning import clean, record_query

NAME = "0019_blackout_dates"
LEGACY_TABLE = "crouse_chapel.blackout_dates"
KEY = "id"
TARGET = "events.blackout_dates"
UPDATED_AT = None  # the table has no such column: every row is compared by the sync

FIELDS = ("start_date", "end_date", "closure_reason")
CARRIED = {
    "id": "events.blackout_dates.legacy_id",
    "start_date": "events.blackout_dates.start_date",
    "end_date": "events.blackout_dates.end_date",
    "reason": "events.blackout_dates.closure_reason",
}
NOT_CARRIED: dict[str, str] = {}


def candidates_sql(columns: set[str]) -> str:
    fields = {"start_date": "b.start_date", "end_date": "b.end_date", "closure_reason": clean("b.reason")}
    problem = "CASE WHEN r.end_date < r.start_date THEN 'end_date ' || r.end_date || ' is before start_date' END"
    return record_query(LEGACY_TABLE, "b", fields, problem)
