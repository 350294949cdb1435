"""The payments made for chapel services, into finance.payments."""

from .cleaning import SERVICE_APPLICATIONS, SERVICES, clean, parent, record_query

NAME = "0010_chapel_payments"
LEGACY_TABLE = "crouse_chapel.payments"
KEY = "id"
TARGET = "finance.payments"
DEPENDS_ON = ("0004_chapel_services",)
UPDATED_AT = None  # the table has no such column: every row is compared by the sync

FIELDS = ("paid_for", "chapel_service_id", "amount", "method", "paid_at")
CARRIED = {
    "id": "finance.payments.legacy_id",
    "application_id": "finance.payments.chapel_service_id",
    "amount": "finance.payments.amount",
    "payment_method": "finance.payments.method",
    "paid_at": "finance.payments.paid_at",
}
NOT_CARRIED: dict[str, str] = {}


def candidates_sql(columns: set[str]) -> str:
    fields = {
        "paid_for": "'chapel_service'::text",
        "chapel_service_id": parent(SERVICES, SERVICE_APPLICATIONS, "p.application_id"),
        "amount": "p.amount::numeric(10,2)",
        "method": f"lower({clean('p.payment_method')})",
        "paid_at": "p.paid_at",
        "legacy_application_id": "p.application_id",
    }
    problem = """coalesce(
        CASE WHEN r.legacy_application_id IS NOT NULL AND r.chapel_service_id IS NULL
             THEN 'its service application ' || r.legacy_application_id || ' is not in the new design' END,
        CASE WHEN r.amount < 0 THEN 'amount ' || r.amount || ' is negative' END)"""
    return record_query(LEGACY_TABLE, "p", fields, problem)
