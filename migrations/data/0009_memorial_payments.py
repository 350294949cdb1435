"""The payments made for memorial garden applications, into finance.payments."""

from .cleaning import clean, parent, record_query

NAME = "0009_memorial_payments"
LEGACY_TABLE = "bayview.memorial_payments"
KEY = "id"
TARGET = "finance.payments"
DEPENDS_ON = ("0003_memorial_applications",)
UPDATED_AT = None  # the table has no such column: every row is compared by the sync

FIELDS = ("paid_for", "memorial_application_id", "amount", "method", "paid_at", "reference", "recorded_at")
CARRIED = {
    "id": "finance.payments.legacy_id",
    "memorial_id": "finance.payments.memorial_application_id",
    "amount": "finance.payments.amount",
    "payment_method": "finance.payments.method",
    "paid_at": "finance.payments.paid_at",
    "reference": "finance.payments.reference",
    "created_at": "finance.payments.recorded_at",
}
NOT_CARRIED: dict[str, str] = {}


def candidates_sql(columns: set[str]) -> str:
    fields = {
        "paid_for": "'memorial_application'::text",
        "memorial_application_id": parent("property.memorial_applications", "bayview.memorials", "p.memorial_id"),
        "amount": "p.amount::numeric(10,2)",
        "method": f"lower({clean('p.payment_method')})",
        "paid_at": "p.paid_at",
        "reference": clean("p.reference"),
        "recorded_at": "p.created_at",
        "legacy_memorial_id": "p.memorial_id",
    }
    # A payment of no memorial is still a payment; one whose memorial is not in the new design waits.
    problem = """coalesce(
        CASE WHEN r.legacy_memorial_id IS NOT NULL AND r.memorial_application_id IS NULL
             THEN 'its memorial ' || r.legacy_memorial_id || ' is not in the new design' END,
        CASE WHEN r.amount < 0 THEN 'amount ' || r.amount || ' is negative' END)"""
    return record_query(LEGACY_TABLE, "p", fields, problem)
