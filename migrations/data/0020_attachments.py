"""The files attached to memorial garden applications (photos, documents: their address, not the file)."""

from .cleaning import clean, parent, record_query

NAME = "0020_attachments"
LEGACY_TABLE = "bayview.attachments"
KEY = "id"
TARGET = "property.attachments"
DEPENDS_ON = ("0003_memorial_applications",)
UPDATED_AT = None  # the table has no such column: every row is compared by the sync

FIELDS = ("memorial_application_id", "file_name", "file_url", "content_type", "uploaded_at")
CARRIED = {
    "id": "property.attachments.legacy_id",
    "memorial_id": "property.attachments.memorial_application_id",
    "file_name": "property.attachments.file_name",
    "file_url": "property.attachments.file_url",
    "content_type": "property.attachments.content_type",
    "uploaded_at": "property.attachments.uploaded_at",
}
NOT_CARRIED: dict[str, str] = {}


def candidates_sql(columns: set[str]) -> str:
    fields = {
        "memorial_application_id": parent("property.memorial_applications", "bayview.memorials", "a.memorial_id"),
        "file_name": clean("a.file_name"),
        "file_url": clean("a.file_url"),
        "content_type": f"lower({clean('a.content_type')})",
        "uploaded_at": "a.uploaded_at",
        "legacy_memorial_id": "a.memorial_id",
    }
    problem = """CASE WHEN r.legacy_memorial_id IS NOT NULL AND r.memorial_application_id IS NULL
                      THEN 'its memorial ' || r.legacy_memorial_id || ' is not in the new design' END"""
    return record_query(LEGACY_TABLE, "a", fields, problem)
