-- phase: 2
-- description: The details the chapel forms have written to Notion since 2025-12-22 that the legacy detail tables never had: a baptism's date, type and witnesses; a general-use event's type, organisation, setup and cleanup times and fee. The Notion detail migrations (0028-0031) fill them; a legacy row leaves them NULL.
ALTER TABLE events.baptism_details
    ADD COLUMN baptism_date date,
    ADD COLUMN baptism_type text CHECK (baptism_type IN ('infant', 'adult', 'dedication')),
    ADD COLUMN witnesses    text;

ALTER TABLE events.general_use_details
    ADD COLUMN event_type        text,
    ADD COLUMN organization_name text,
    ADD COLUMN setup_time        time,
    ADD COLUMN cleanup_time      time,
    ADD COLUMN fee               numeric(10,2) CHECK (fee >= 0);
