-- Back to 0019: one equipment row per legacy row. Reverse the Notion equipment migration (0036)
-- first (the emergency rollback does): while a staged page is the source of several rows, the
-- constraint cannot be restored and this version stays applied.
ALTER TABLE events.service_equipment
    DROP CONSTRAINT service_equipment_one_per_legacy_item,
    ADD CONSTRAINT service_equipment_one_per_legacy_row UNIQUE (legacy_table, legacy_id),
    DROP COLUMN legacy_role;
