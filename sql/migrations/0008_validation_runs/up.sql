-- phase: 2
-- description: Results of every validation run (counts, field hashes, links, legacy fingerprint).
CREATE TABLE migration.validation_runs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id       text,
    validated_at timestamptz NOT NULL DEFAULT now(),
    passed       boolean NOT NULL,
    seconds      numeric NOT NULL,
    checks       jsonb NOT NULL
);
COMMENT ON TABLE migration.validation_runs IS
    'One row per validation: every check with what it compared and, when it failed, what differs';
