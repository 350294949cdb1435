-- Back to 0016: the detail tables hold what the legacy detail tables hold. Reverse the Notion
-- detail migrations (0028-0031) first: what they wrote here is read again from the staged pages.
ALTER TABLE events.general_use_details
    DROP COLUMN fee,
    DROP COLUMN cleanup_time,
    DROP COLUMN setup_time,
    DROP COLUMN organization_name,
    DROP COLUMN event_type;

ALTER TABLE events.baptism_details
    DROP COLUMN witnesses,
    DROP COLUMN baptism_type,
    DROP COLUMN baptism_date;
