-- phase: 2
-- description: A chapel page in Notion asks for its equipment one property per item (Additional Chairs, Stand Microphone, ..., Equipment Needs), where the new design keeps one row per item: an equipment row is now linked to its legacy row and the item it came from (legacy_role; 'record' for a row of the legacy equipment table, which is one item), so one staged page can be the source of several rows. The Notion equipment migration (0036) fills them.
ALTER TABLE events.service_equipment
    ADD COLUMN legacy_role text NOT NULL DEFAULT 'record' CHECK (legacy_role ~ '^[a-z_]+$'),
    DROP CONSTRAINT service_equipment_one_per_legacy_row,
    ADD CONSTRAINT service_equipment_one_per_legacy_item UNIQUE (legacy_table, legacy_id, legacy_role);
