-- phase: 1
-- description: Integration points of the seed design: the event log and the webhook registry.
CREATE TABLE core.event_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_type  text NOT NULL CHECK (event_type ~ '^[a-z_]+(\.[a-z_]+)*$'),
    occurred_at timestamptz NOT NULL DEFAULT now(),
    source      text NOT NULL,
    payload     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX event_log_type_time_idx ON core.event_log (event_type, occurred_at);

CREATE TABLE core.webhook_registry (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                 text NOT NULL UNIQUE,
    url                  text NOT NULL CHECK (url ~ '^https?://'),
    event_types          text[] NOT NULL CHECK (cardinality(event_types) > 0),
    max_retries          integer NOT NULL DEFAULT 5 CHECK (max_retries BETWEEN 0 AND 20),
    backoff_base_seconds numeric NOT NULL DEFAULT 2 CHECK (backoff_base_seconds > 0),
    backoff_max_seconds  numeric NOT NULL DEFAULT 300 CHECK (backoff_max_seconds > 0),
    enabled              boolean NOT NULL DEFAULT true,
    created_at           timestamptz NOT NULL DEFAULT now()
);
