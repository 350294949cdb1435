"""The contact and the member sponsor of every Crouse Chapel service application."""

NAME = "0002_chapel_persons"
LEGACY_TABLE = "crouse_chapel.service_applications"
KEY = "id"
# Legacy rows changed after they were migrated are found by this column (set by a trigger or the app).
UPDATED_AT = "updated_at"

from cleaning import SELECT_COLUMNS, VALUES_COLUMNS, named  # noqa: E402 - sibling module


def candidates_sql(columns: set[str]) -> str:
    rows = [
        named("contact", "contact", "a.contact_name", "a.contact_email", "a.contact_phone"),
        named("member_sponsor", "member", "a.member_name"),
    ]
    values = ",\n               ".join(rows)
    return f"""
        SELECT a.id AS legacy_id, {SELECT_COLUMNS}, to_jsonb(a) AS legacy_row
          FROM crouse_chapel.service_applications AS a
         CROSS JOIN LATERAL (VALUES
               {values}
         ) AS {VALUES_COLUMNS}
         WHERE a.id > %(lo)s AND a.id <= %(hi)s
    """
