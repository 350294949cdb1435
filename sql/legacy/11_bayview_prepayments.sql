-- Variant: not every environment has bayview.prepayments.
CREATE TABLE bayview.prepayments (
    id           serial PRIMARY KEY,
    payer_name   varchar(200),
    payer_email  varchar(200),
    amount       numeric(10,2),
    spaces       integer,
    paid_at      timestamptz,
    notes        text,
    created_at   timestamptz DEFAULT now()
);
