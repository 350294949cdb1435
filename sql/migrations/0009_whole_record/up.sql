-- phase: 2
-- description: The whole record in the new design: memorial applications, chapel services and their details, payments; the people's own particulars.
-- Every record table links to the legacy row it came from (legacy_table, legacy_id, data_migration;
-- NULL for a record created in the new design); no foreign key reaches into the legacy schemas.

-- What the legacy rows say of each person beyond the name (docs/mapping.md).
ALTER TABLE core.persons
    ADD COLUMN birth_place     text,
    ADD COLUMN home_address    text,
    ADD COLUMN bayview_address text,
    ADD COLUMN bayview_history text,
    ADD COLUMN mother_name     text,
    ADD COLUMN father_name     text;

CREATE TABLE property.memorial_applications (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    submission_id       text UNIQUE,
    application_type    text CHECK (application_type IN ('immediate', 'future')),
    placement_type      text CHECK (placement_type IN ('single', 'double', 'triple', 'family', 'scatter', 'other')),
    service_date        date,
    celebrant           text,
    message             text,
    is_member           boolean,
    member_relationship text,
    contact_address     text,
    fee                 numeric(10,2) CHECK (fee >= 0),
    payment_status      text CHECK (payment_status IN ('pending', 'paid', 'waived')),
    notion_id           text,
    submitted_at        timestamptz,
    status              text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cancelled')),
    legacy_table        text CHECK (legacy_table ~ '^[a-z_]+\.[a-z_]+$'),
    legacy_id           bigint,
    data_migration      text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT memorial_applications_one_per_legacy_row UNIQUE (legacy_table, legacy_id)
);
COMMENT ON TABLE property.memorial_applications IS
    'Memorial garden applications, immediate (a placement) or future (a prepaid space); their people are in core.record_persons';

CREATE TABLE events.chapel_services (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service_type         text NOT NULL CHECK (service_type IN ('wedding', 'memorial', 'funeral', 'baptism', 'general_use')),
    service_date         date NOT NULL,
    service_time         time NOT NULL,
    rehearsal_date       date,
    rehearsal_time       time,
    member_relationship  text,
    contact_address      text,
    status               text NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'cancelled')),
    submitted_at         timestamptz,
    approved_by          text,
    approved_at          timestamptz,
    altar_guild_notified boolean NOT NULL DEFAULT false,
    notion_id            text,
    legacy_table         text CHECK (legacy_table ~ '^[a-z_]+\.[a-z_]+$'),
    legacy_id            bigint,
    data_migration       text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT chapel_services_one_per_legacy_row UNIQUE (legacy_table, legacy_id)
);
-- The chapel holds one service at a time: a slot is taken by a pending or approved service only.
CREATE UNIQUE INDEX chapel_services_one_per_slot ON events.chapel_services (service_date, service_time)
    WHERE status IN ('pending', 'approved');

CREATE TABLE events.wedding_details (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service_id     bigint NOT NULL REFERENCES events.chapel_services (id) ON DELETE CASCADE,
    couple_names   text,
    guest_count    integer CHECK (guest_count >= 0),
    fee            numeric(10,2) CHECK (fee >= 0),
    legacy_table   text CHECK (legacy_table ~ '^[a-z_]+\.[a-z_]+$'),
    legacy_id      bigint,
    data_migration text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT wedding_details_one_per_legacy_row UNIQUE (legacy_table, legacy_id)
);
CREATE INDEX wedding_details_service_id_idx ON events.wedding_details (service_id);

CREATE TABLE events.memorial_service_details (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service_id       bigint NOT NULL REFERENCES events.chapel_services (id) ON DELETE CASCADE,
    deceased_name    text,
    garden_placement boolean NOT NULL DEFAULT false,
    placement_date   date,
    placement_time   time,
    legacy_table     text CHECK (legacy_table ~ '^[a-z_]+\.[a-z_]+$'),
    legacy_id        bigint,
    data_migration   text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT memorial_service_details_one_per_legacy_row UNIQUE (legacy_table, legacy_id)
);
CREATE INDEX memorial_service_details_service_id_idx ON events.memorial_service_details (service_id);

CREATE TABLE events.baptism_details (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service_id     bigint NOT NULL REFERENCES events.chapel_services (id) ON DELETE CASCADE,
    child_name     text,
    parents_names  text,
    legacy_table   text CHECK (legacy_table ~ '^[a-z_]+\.[a-z_]+$'),
    legacy_id      bigint,
    data_migration text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT baptism_details_one_per_legacy_row UNIQUE (legacy_table, legacy_id)
);
CREATE INDEX baptism_details_service_id_idx ON events.baptism_details (service_id);

CREATE TABLE events.general_use_details (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service_id      bigint NOT NULL REFERENCES events.chapel_services (id) ON DELETE CASCADE,
    event_name      text,
    description     text,
    expected_guests integer CHECK (expected_guests >= 0),
    legacy_table    text CHECK (legacy_table ~ '^[a-z_]+\.[a-z_]+$'),
    legacy_id       bigint,
    data_migration  text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT general_use_details_one_per_legacy_row UNIQUE (legacy_table, legacy_id)
);
CREATE INDEX general_use_details_service_id_idx ON events.general_use_details (service_id);

-- Every payment, whichever legacy table it came from; at most one record it pays for.
CREATE TABLE finance.payments (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    paid_for                text NOT NULL CHECK (paid_for IN ('memorial_application', 'chapel_service', 'prepayment')),
    memorial_application_id bigint REFERENCES property.memorial_applications (id) ON DELETE CASCADE,
    chapel_service_id       bigint REFERENCES events.chapel_services (id) ON DELETE CASCADE,
    amount                  numeric(10,2) CHECK (amount >= 0),
    method                  text,
    paid_at                 timestamptz,
    reference               text,
    recorded_at             timestamptz,
    legacy_table            text CHECK (legacy_table ~ '^[a-z_]+\.[a-z_]+$'),
    legacy_id               bigint,
    data_migration          text,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT payments_one_per_legacy_row UNIQUE (legacy_table, legacy_id),
    CONSTRAINT payments_pay_for_one_record CHECK (num_nonnulls(memorial_application_id, chapel_service_id) <= 1)
);
CREATE INDEX payments_memorial_application_id_idx ON finance.payments (memorial_application_id);
CREATE INDEX payments_chapel_service_id_idx ON finance.payments (chapel_service_id);

-- A prepayment buys memorial garden spaces ahead of need; its payer is a person (role 'payer').
ALTER TABLE finance.payments
    ADD COLUMN spaces integer CHECK (spaces > 0),
    ADD COLUMN notes  text;

CREATE TABLE property.attachments (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    memorial_application_id bigint REFERENCES property.memorial_applications (id) ON DELETE CASCADE,
    file_name               text,
    file_url                text,
    content_type            text,
    uploaded_at             timestamptz,
    legacy_table            text CHECK (legacy_table ~ '^[a-z_]+\.[a-z_]+$'),
    legacy_id               bigint,
    data_migration          text,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT attachments_one_per_legacy_row UNIQUE (legacy_table, legacy_id)
);
CREATE INDEX attachments_memorial_application_id_idx ON property.attachments (memorial_application_id);

CREATE TABLE events.clergy (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name           text NOT NULL,
    title          text,
    email          text,
    phone          text,
    is_active      boolean NOT NULL DEFAULT true,
    legacy_table   text CHECK (legacy_table ~ '^[a-z_]+\.[a-z_]+$'),
    legacy_id      bigint,
    data_migration text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT clergy_one_per_legacy_row UNIQUE (legacy_table, legacy_id)
);

-- legacy service_clergy.service_id (not application_id) is the service.
CREATE TABLE events.service_clergy (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service_id     bigint NOT NULL REFERENCES events.chapel_services (id) ON DELETE CASCADE,
    clergy_id      bigint REFERENCES events.clergy (id) ON DELETE CASCADE,
    clergy_role    text,
    legacy_table   text CHECK (legacy_table ~ '^[a-z_]+\.[a-z_]+$'),
    legacy_id      bigint,
    data_migration text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT service_clergy_one_per_legacy_row UNIQUE (legacy_table, legacy_id)
);
CREATE INDEX service_clergy_service_id_idx ON events.service_clergy (service_id);
CREATE INDEX service_clergy_clergy_id_idx ON events.service_clergy (clergy_id);

CREATE TABLE events.service_music (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service_id     bigint NOT NULL REFERENCES events.chapel_services (id) ON DELETE CASCADE,
    piece          text,
    notes          text,
    legacy_table   text CHECK (legacy_table ~ '^[a-z_]+\.[a-z_]+$'),
    legacy_id      bigint,
    data_migration text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT service_music_one_per_legacy_row UNIQUE (legacy_table, legacy_id)
);
CREATE INDEX service_music_service_id_idx ON events.service_music (service_id);

CREATE TABLE events.service_musicians (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service_id     bigint NOT NULL REFERENCES events.chapel_services (id) ON DELETE CASCADE,
    musician_name  text,
    instrument     text,
    legacy_table   text CHECK (legacy_table ~ '^[a-z_]+\.[a-z_]+$'),
    legacy_id      bigint,
    data_migration text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT service_musicians_one_per_legacy_row UNIQUE (legacy_table, legacy_id)
);
CREATE INDEX service_musicians_service_id_idx ON events.service_musicians (service_id);

CREATE TABLE events.service_equipment (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service_id     bigint NOT NULL REFERENCES events.chapel_services (id) ON DELETE CASCADE,
    equipment      text,
    quantity       integer NOT NULL DEFAULT 1 CHECK (quantity >= 0),
    legacy_table   text CHECK (legacy_table ~ '^[a-z_]+\.[a-z_]+$'),
    legacy_id      bigint,
    data_migration text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT service_equipment_one_per_legacy_row UNIQUE (legacy_table, legacy_id)
);
CREATE INDEX service_equipment_service_id_idx ON events.service_equipment (service_id);

CREATE TABLE events.policy_acknowledgments (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service_id      bigint NOT NULL REFERENCES events.chapel_services (id) ON DELETE CASCADE,
    policy_name     text,
    acknowledged    boolean NOT NULL DEFAULT false,
    acknowledged_at timestamptz,
    legacy_table    text CHECK (legacy_table ~ '^[a-z_]+\.[a-z_]+$'),
    legacy_id       bigint,
    data_migration  text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT policy_acknowledgments_one_per_legacy_row UNIQUE (legacy_table, legacy_id)
);
CREATE INDEX policy_acknowledgments_service_id_idx ON events.policy_acknowledgments (service_id);

CREATE TABLE events.service_notifications (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service_id        bigint NOT NULL REFERENCES events.chapel_services (id) ON DELETE CASCADE,
    notification_type text,
    recipient         text,
    sent_at           timestamptz,
    legacy_table      text CHECK (legacy_table ~ '^[a-z_]+\.[a-z_]+$'),
    legacy_id         bigint,
    data_migration    text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT service_notifications_one_per_legacy_row UNIQUE (legacy_table, legacy_id)
);
CREATE INDEX service_notifications_service_id_idx ON events.service_notifications (service_id);

CREATE TABLE events.chapel_availability (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    date           date NOT NULL,
    time_slot      time NOT NULL,
    is_available   boolean NOT NULL DEFAULT true,
    closure_reason text,
    legacy_table   text CHECK (legacy_table ~ '^[a-z_]+\.[a-z_]+$'),
    legacy_id      bigint,
    data_migration text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT chapel_availability_one_per_slot UNIQUE (date, time_slot),
    CONSTRAINT chapel_availability_one_per_legacy_row UNIQUE (legacy_table, legacy_id)
);

CREATE TABLE events.blackout_dates (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    start_date     date NOT NULL,
    end_date       date NOT NULL,
    closure_reason text,
    legacy_table   text CHECK (legacy_table ~ '^[a-z_]+\.[a-z_]+$'),
    legacy_id      bigint,
    data_migration text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT blackout_dates_in_order CHECK (end_date >= start_date),
    CONSTRAINT blackout_dates_one_per_legacy_row UNIQUE (legacy_table, legacy_id)
);

-- The legacy audit log, kept as history: the application's role may read it, never change it
-- (only the data migration that copies it writes here).
CREATE TABLE migration.legacy_audit_log (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    table_name     text,
    record_id      integer,
    action         text,
    changed_by     text,
    changes        jsonb,
    logged_at      timestamptz,
    legacy_table   text CHECK (legacy_table ~ '^[a-z_]+\.[a-z_]+$'),
    legacy_id      bigint,
    data_migration text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT legacy_audit_log_one_per_legacy_row UNIQUE (legacy_table, legacy_id)
);
COMMENT ON TABLE migration.legacy_audit_log IS 'bayview.audit_log as read-only history';

-- The people of a record created in the new design (after the cutover), by role.
CREATE TABLE core.record_person_links (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    record_table text NOT NULL
        CHECK (record_table IN ('property.memorial_applications', 'events.chapel_services', 'finance.payments')),
    record_id    bigint NOT NULL,
    role         text NOT NULL CHECK (role ~ '^[a-z_]+$'),
    person_id    bigint NOT NULL REFERENCES core.persons (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT record_person_links_one_person_per_role UNIQUE (record_table, record_id, role)
);
CREATE INDEX record_person_links_person_id_idx ON core.record_person_links (person_id);

-- The people of each record by role (the deceased of memorial application A, the contact of
-- service S): the persons a legacy row produced, joined to the record that row produced, and the
-- persons of records created in the new design.
CREATE VIEW core.record_persons AS
SELECT 'property.memorial_applications'::text AS record_table, r.id AS record_id, l.role, l.person_id
  FROM property.memorial_applications r
  JOIN core.person_legacy_links l ON l.legacy_table = r.legacy_table AND l.legacy_id = r.legacy_id
UNION ALL
SELECT 'events.chapel_services', r.id, l.role, l.person_id
  FROM events.chapel_services r
  JOIN core.person_legacy_links l ON l.legacy_table = r.legacy_table AND l.legacy_id = r.legacy_id
UNION ALL
SELECT 'finance.payments', r.id, l.role, l.person_id
  FROM finance.payments r
  JOIN core.person_legacy_links l ON l.legacy_table = r.legacy_table AND l.legacy_id = r.legacy_id
UNION ALL
SELECT record_table, record_id, role, person_id FROM core.record_person_links;
COMMENT ON VIEW core.record_persons IS 'The persons of each memorial application, chapel service and prepayment, by role';
