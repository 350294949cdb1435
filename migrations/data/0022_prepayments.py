"""Prepayments for memorial garden spaces, into finance.payments (paid_for = prepayment). Their
payers are moved by 0023_prepayment_persons. Some environments have no bayview.prepayments:
there this migration completes with nothing to do."""

from .cleaning import clean, record_query

NAME = "0022_prepayments"
LEGACY_TABLE = "bayview.prepayments"
KEY = "id"
TARGET = "finance.payments"
UPDATED_AT = None  # the table has no such column: every row is compared by the sync

FIELDS = ("paid_for", "amount", "spaces", "paid_at", "notes", "recorded_at")
CARRIED = {
    "id": "finance.payments.legacy_id",
    "amount": "finance.payments.amount",
    "spaces": "finance.payments.spaces",
    "paid_at": "finance.payments.paid_at",
    "notes": "finance.payments.notes",
    "created_at": "finance.payments.recorded_at",
}
NOT_CARRIED: dict[str, str] = {}


def candidates_sql(columns: set[str]) -> str:
    fields = {
        "paid_for": "'prepayment'::text",
        "amount": "p.amount::numeric(10,2)",
        "spaces": "p.spaces",
        "paid_at": "p.paid_at",
        "notes": clean("p.notes"),
        "recorded_at": "p.created_at",
    }
    problem = """coalesce(CASE WHEN r.amount < 0 THEN 'amount ' || r.amount || ' is negative' END,
                          CASE WHEN r.spaces < 1 THEN 'spaces ' || r.spaces || ' is not a number of spaces' END)"""
    return record_query(LEGACY_TABLE, "p", fields, problem)
