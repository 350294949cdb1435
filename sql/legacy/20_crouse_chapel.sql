-- The legacy `crouse_chapel` schema: chapel service applications (see shared LEGACY.md).
CREATE SCHEMA crouse_chapel;

CREATE TABLE crouse_chapel.service_applications (
    id                   serial PRIMARY KEY,
    application_type     varchar(50) NOT NULL
        CHECK (application_type IN ('wedding', 'memorial', 'funeral', 'baptism', 'general_use')),
    service_date         date NOT NULL,
    service_time         time NOT NULL,
    rehearsal_date       date,
    rehearsal_time       time,
    member_name          varchar(200),
    member_relationship  varchar(200),
    contact_name         varchar(200),
    contact_address      text,
    contact_phone        varchar(50) NOT NULL,
    contact_email        varchar(200),
    status               varchar(20) DEFAULT 'pending'
        CHECK (status IN ('pending', 'approved', 'rejected', 'cancelled')),
    submission_date      timestamptz DEFAULT now(),
    approved_by          varchar(200),
    approval_date        timestamptz,
    altar_guild_notified boolean DEFAULT false,
    notion_id            varchar(100),
    created_at           timestamptz DEFAULT now(),
    updated_at           timestamptz DEFAULT now(),
    UNIQUE (service_date, service_time)
);

CREATE TABLE crouse_chapel.wedding_details (
    id             serial PRIMARY KEY,
    application_id integer REFERENCES crouse_chapel.service_applications(id) ON DELETE CASCADE,
    couple_names   varchar(300),
    guest_count    integer,
    wedding_fee    numeric(10,2),
    created_at     timestamptz DEFAULT now()
);

CREATE TABLE crouse_chapel.memorial_details (
    id                        serial PRIMARY KEY,
    application_id            integer REFERENCES crouse_chapel.service_applications(id) ON DELETE CASCADE,
    deceased_name             varchar(200),
    memorial_garden_placement boolean DEFAULT false,
    placement_date            date,
    placement_time            time,
    created_at                timestamptz DEFAULT now()
);

CREATE TABLE crouse_chapel.baptism_details (
    id             serial PRIMARY KEY,
    application_id integer REFERENCES crouse_chapel.service_applications(id) ON DELETE CASCADE,
    child_name     varchar(200),
    parents_names  varchar(300),
    created_at     timestamptz DEFAULT now()
);

CREATE TABLE crouse_chapel.general_use_details (
    id              serial PRIMARY KEY,
    application_id  integer REFERENCES crouse_chapel.service_applications(id) ON DELETE CASCADE,
    event_name      varchar(200),
    description     text,
    expected_guests integer,
    created_at      timestamptz DEFAULT now()
);

CREATE TABLE crouse_chapel.service_music (
    id             serial PRIMARY KEY,
    application_id integer REFERENCES crouse_chapel.service_applications(id) ON DELETE CASCADE,
    piece          varchar(300),
    notes          text
);

CREATE TABLE crouse_chapel.service_musicians (
    id             serial PRIMARY KEY,
    application_id integer REFERENCES crouse_chapel.service_applications(id) ON DELETE CASCADE,
    musician_name  varchar(200),
    instrument     varchar(100)
);

CREATE TABLE crouse_chapel.service_equipment (
    id             serial PRIMARY KEY,
    application_id integer REFERENCES crouse_chapel.service_applications(id) ON DELETE CASCADE,
    equipment      varchar(200),
    quantity       integer DEFAULT 1
);

CREATE TABLE crouse_chapel.policy_acknowledgments (
    id              serial PRIMARY KEY,
    application_id  integer REFERENCES crouse_chapel.service_applications(id) ON DELETE CASCADE,
    policy_name     varchar(200),
    acknowledged    boolean DEFAULT false,
    acknowledged_at timestamptz
);

CREATE TABLE crouse_chapel.notifications (
    id                serial PRIMARY KEY,
    application_id    integer REFERENCES crouse_chapel.service_applications(id) ON DELETE CASCADE,
    notification_type varchar(50),
    recipient         varchar(200),
    sent_at           timestamptz
);

CREATE TABLE crouse_chapel.payments (
    id             serial PRIMARY KEY,
    application_id integer REFERENCES crouse_chapel.service_applications(id) ON DELETE CASCADE,
    amount         numeric(10,2),
    payment_method varchar(50),
    paid_at        timestamptz
);

CREATE TABLE crouse_chapel.clergy (
    id         serial PRIMARY KEY,
    name       varchar(200) NOT NULL,
    title      varchar(100),
    email      varchar(200),
    phone      varchar(50),
    is_active  boolean DEFAULT true
);

-- Note: service_id, not application_id (as in production).
CREATE TABLE crouse_chapel.service_clergy (
    id         serial PRIMARY KEY,
    service_id integer REFERENCES crouse_chapel.service_applications(id) ON DELETE CASCADE,
    clergy_id  integer REFERENCES crouse_chapel.clergy(id),
    role       varchar(100)
);

CREATE TABLE crouse_chapel.chapel_availability (
    id           serial PRIMARY KEY,
    date         date NOT NULL,
    time_slot    time NOT NULL,
    is_available boolean DEFAULT true,
    reason       text,
    UNIQUE (date, time_slot)
);

CREATE TABLE crouse_chapel.blackout_dates (
    id         serial PRIMARY KEY,
    start_date date NOT NULL,
    end_date   date NOT NULL,
    reason     text
);

CREATE FUNCTION crouse_chapel.is_chapel_available(check_date date, check_time time)
RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM crouse_chapel.blackout_dates
               WHERE check_date BETWEEN start_date AND end_date) THEN
        RETURN false;
    END IF;
    IF EXISTS (SELECT 1 FROM crouse_chapel.chapel_availability
               WHERE date = check_date AND time_slot = check_time AND NOT is_available) THEN
        RETURN false;
    END IF;
    RETURN NOT EXISTS (SELECT 1 FROM crouse_chapel.service_applications
                       WHERE service_date = check_date AND service_time = check_time
                         AND status IN ('pending', 'approved'));
END;
$$;
