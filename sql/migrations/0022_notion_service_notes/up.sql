-- phase: 2
-- description: The Notes a chapel form writes to Notion (free text: requests, and on 2026 baptism pages the date and place of birth), kept whole as a note of the service: the legacy tables never had them. The Notion notes migration (0038) fills it.
CREATE TABLE events.service_notes (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service_id     bigint NOT NULL REFERENCES events.chapel_services (id) ON DELETE CASCADE,
    note           text NOT NULL,
    legacy_table   text CHECK (legacy_table ~ '^[a-z_]+\.[a-z_]+$'),
    legacy_id      bigint,
    data_migration text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT service_notes_one_per_legacy_row UNIQUE (legacy_table, legacy_id)
);
CREATE INDEX service_notes_service_id_idx ON events.service_notes (service_id);
