"""The wedding details of a chapel service that exists only in Notion (0025): the couple, the
guests, the wedding fee, as the page gives them."""

from .notion import STAGED, chapel_detail_query, count, unreadable

NAME = "0028_notion_wedding_details"
LEGACY_TABLE = STAGED
KEY = "id"
TARGET = "events.wedding_details"
UPDATED_AT = "reconciled_at"
NOTION_DATABASE = "chapel"
DEPENDS_ON = ("0025_notion_chapel_services",)

FIELDS = ("service_id", "couple_names", "guest_count", "fee")
CARRIED = {
    "Couple Names": "events.wedding_details.couple_names",
    "Guest Count": "events.wedding_details.guest_count",
    "Wedding Fee": "events.wedding_details.fee",
}
NOT_CARRIED: dict[str, str] = {}


def candidates_sql(columns: set[str]) -> str:
    raw = {"couple_names_raw": "Couple Names", "guest_count_raw": "Guest Count", "fee_raw": "Wedding Fee"}
    fields = {
        "couple_names": "r.couple_names_raw",
        "guest_count": count("r.guest_count_raw"),
        "fee": "migration.notion_money(r.fee_raw)",
    }
    problem = f"""coalesce({unreadable("Guest Count", "r.guest_count_raw", "f.guest_count", "a whole number")},
                          {unreadable("Wedding Fee", "r.fee_raw", "f.fee", "an amount of money")})"""
    return chapel_detail_query(("wedding",), raw, fields, problem)
