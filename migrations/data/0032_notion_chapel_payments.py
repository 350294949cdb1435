"""The payment recorded on a chapel service that exists only in Notion (0025): its Amount Paid,
into finance.payments, with the page's Payment Status kept in the payment's notes (the new design
has no status on a payment: a payment row is money received). A page with no Amount Paid has no
payment, whatever its Payment Status says."""

from .notion import CHAPEL_TYPES, STAGED, chapel_detail_query, unreadable

NAME = "0032_notion_chapel_payments"
LEGACY_TABLE = STAGED
KEY = "id"
TARGET = "finance.payments"
UPDATED_AT = "reconciled_at"
NOTION_DATABASE = "chapel"
DEPENDS_ON = ("0025_notion_chapel_services",)

FIELDS = ("paid_for", "chapel_service_id", "amount", "notes")
CARRIED = {
    "Amount Paid": "finance.payments.amount",
    "Payment Status": "finance.payments.notes",  # as "Payment Status in Notion: <status>"
}
NOT_CARRIED: dict[str, str] = {}


def candidates_sql(columns: set[str]) -> str:
    raw = {"amount_raw": "Amount Paid", "status_raw": "Payment Status"}
    fields = {
        "paid_for": "'chapel_service'::text",
        "amount": "migration.notion_money(r.amount_raw)",
        "notes": "'Payment Status in Notion: ' || r.status_raw",
    }
    problem = unreadable("Amount Paid", "r.amount_raw", "f.amount", "an amount of money")
    query = chapel_detail_query(CHAPEL_TYPES, raw, fields, problem, given="r.amount_raw IS NOT NULL")
    # the service this pays for is the detail query's service_id, under the payment's own name
    return f"SELECT q.*, q.service_id AS chapel_service_id FROM ({query}) q"
