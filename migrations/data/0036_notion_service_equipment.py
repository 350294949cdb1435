"""The equipment of a chapel service that exists only in Notion (0025). The form asks for each item
in a property of its own, where the new design keeps one row per item: a page is the source of one
candidate per item (its role, kept in events.service_equipment.legacy_role by migration 0020), and
of a row for each item it asks for: chairs by their number (0 asks for none), a ticked checkbox as
one of its item, Equipment Needs (free text) kept whole as one row, as the legacy table keeps it."""

from .cleaning import SERVICES, parent
from .notion import CHAPEL_TYPES, STAGED, WAITING, count, created_chapel_pages

NAME = "0036_notion_service_equipment"
LEGACY_TABLE = STAGED
KEY = "id"
TARGET = "events.service_equipment"
UPDATED_AT = "reconciled_at"
NOTION_DATABASE = "chapel"
DEPENDS_ON = ("0025_notion_chapel_services",)

FIELDS = ("service_id", "equipment", "quantity")
# role: (Notion property, how the form wrote it)
ITEMS = {
    "additional_chairs": ("Additional Chairs", "number"),
    "stand_microphone": ("Stand Microphone", "checkbox"),
    "wireless_microphone": ("Wireless Microphone", "checkbox"),
    "cd_player": ("CD Player", "checkbox"),
    "communion_service": ("Communion Service", "checkbox"),
    "guest_book_stand": ("Guest Book Stand", "checkbox"),
    "roped_seating": ("Roped Seating", "checkbox"),
    "equipment_needs": ("Equipment Needs", "text"),
}
CARRIED = {
    prop: "events.service_equipment.equipment" if kind == "text" else "events.service_equipment.quantity"
    for prop, kind in ITEMS.values()
}
NOT_CARRIED: dict[str, str] = {}


def candidates_sql(columns: set[str]) -> str:
    items = ", ".join(f"('{role}', '{prop}', '{kind}')" for role, (prop, kind) in ITEMS.items())
    roles = ", ".join(f"('{role}')" for role in ITEMS)
    of_type = created_chapel_pages(CHAPEL_TYPES)
    number = count("r.raw")
    # an unreadable value is a row of its item, quarantined with the value
    problem = f"""CASE WHEN i.kind = 'number' AND r.raw IS NOT NULL AND {number} IS NULL
                       THEN i.property || ' ' || quote_literal(r.raw) || ' is not a whole number'
                       WHEN i.kind = 'checkbox' AND r.raw IS NOT NULL AND migration.notion_bool(r.raw) IS NULL
                       THEN i.property || ' ' || quote_literal(r.raw) || ' is not Yes or No' END"""
    return f"""
        SELECT p.id AS legacy_id, i.role, s.service_id, f.equipment, f.quantity,
               f.given AS has_data,
               coalesce(CASE WHEN s.service_id IS NULL THEN '{WAITING}' END, f.problem) AS problem
          FROM {STAGED} p
         CROSS JOIN LATERAL (SELECT {parent(SERVICES, STAGED, "p.id")} AS service_id OFFSET 0) s
         CROSS JOIN (VALUES {items}) i (role, property, kind)
         CROSS JOIN LATERAL (SELECT p.texts ->> i.property AS raw OFFSET 0) r
         CROSS JOIN LATERAL (
              SELECT CASE WHEN i.kind = 'text' THEN r.raw ELSE i.property END AS equipment,
                     CASE WHEN i.kind = 'number' THEN coalesce({number}, 0) ELSE 1 END AS quantity,
                     ({problem}) AS problem,
                     CASE WHEN i.kind = 'number' THEN r.raw IS NOT NULL AND {number} IS DISTINCT FROM 0
                          WHEN i.kind = 'checkbox' THEN r.raw IS NOT NULL AND migration.notion_bool(r.raw) IS NOT FALSE
                          ELSE r.raw IS NOT NULL END AS given
              OFFSET 0) f
         WHERE p.id > %(lo)s AND p.id <= %(hi)s AND {of_type}
        UNION ALL
        SELECT p.id, i.role, NULL::bigint, NULL::text, NULL::integer, false, NULL::text
          FROM {STAGED} p
         CROSS JOIN (VALUES {roles}) i (role)
         WHERE p.id > %(lo)s AND p.id <= %(hi)s AND ({of_type}) IS NOT TRUE
    """
