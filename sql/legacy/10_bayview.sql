-- The legacy `bayview` schema as production has it (see shared LEGACY.md).
-- Built by hand years ago; the runbook only ever reads it.
CREATE SCHEMA bayview;

CREATE TABLE bayview.memorials (
    id                  serial PRIMARY KEY,
    submission_id       varchar(50) UNIQUE,
    first_name          varchar(100),
    last_name           varchar(100),
    middle_name         varchar(100),
    maiden_name         varchar(100),
    birth_date          date,
    death_date          date,
    birth_place         varchar(255),
    home_address        text,
    bayview_address     text,
    mother_name         varchar(200),
    father_name         varchar(200),
    message             text,
    bayview_history     text,
    application_type    varchar(100),
    is_member           boolean DEFAULT false,
    member_name         varchar(200),
    member_relationship varchar(200),
    contact_name        varchar(200),
    contact_email       varchar(200),
    contact_phone       varchar(50),
    contact_address     text,
    service_date        date,
    celebrant_requested varchar(100),
    fee_amount          numeric(10,2),
    payment_status      varchar(50) DEFAULT 'pending',
    notion_id           varchar(100),
    created_at          timestamptz DEFAULT now(),
    updated_at          timestamptz DEFAULT now()
);
CREATE INDEX idx_memorials_last_name ON bayview.memorials (last_name);
CREATE INDEX idx_memorials_first_name ON bayview.memorials (first_name);
CREATE INDEX idx_memorials_submission_id ON bayview.memorials (submission_id);

CREATE FUNCTION bayview.update_updated_at_column() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at = now();
    RETURN NEW;
END;
$$;

CREATE TRIGGER update_memorials_updated_at
    BEFORE UPDATE ON bayview.memorials
    FOR EACH ROW EXECUTE FUNCTION bayview.update_updated_at_column();

CREATE TABLE bayview.audit_log (
    id          serial PRIMARY KEY,
    table_name  varchar(100),
    record_id   integer,
    action      varchar(20),
    changed_by  varchar(200),
    changes     jsonb,
    created_at  timestamptz DEFAULT now()
);

CREATE TABLE bayview.attachments (
    id           serial PRIMARY KEY,
    memorial_id  integer REFERENCES bayview.memorials(id),
    file_name    varchar(255),
    file_url     text,
    content_type varchar(100),
    uploaded_at  timestamptz DEFAULT now()
);

CREATE TABLE bayview.memorial_payments (
    id             serial PRIMARY KEY,
    memorial_id    integer REFERENCES bayview.memorials(id),
    amount         numeric(10,2),
    payment_method varchar(50),
    paid_at        timestamptz,
    reference      varchar(100),
    created_at     timestamptz DEFAULT now()
);
