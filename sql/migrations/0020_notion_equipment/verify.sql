SELECT legacy_role FROM events.service_equipment WHERE false;
SELECT 'events.service_equipment_one_per_legacy_item'::regclass;
