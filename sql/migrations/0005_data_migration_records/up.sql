-- phase: 2
-- description: Checkpoints and quarantine of the batched data migrations (Python modules in migrations/data).
CREATE TABLE migration.data_migration_checkpoints (
    data_migration    text PRIMARY KEY,
    legacy_table      text NOT NULL,
    status            text NOT NULL CHECK (status IN ('running', 'completed', 'reversed')),
    last_key          bigint NOT NULL DEFAULT 0,
    legacy_total      bigint NOT NULL DEFAULT 0,
    rows_read         bigint NOT NULL DEFAULT 0,
    candidates        bigint NOT NULL DEFAULT 0,
    migrated          bigint NOT NULL DEFAULT 0,
    quarantined       bigint NOT NULL DEFAULT 0,
    excluded          bigint NOT NULL DEFAULT 0,
    batches           bigint NOT NULL DEFAULT 0,
    checksum          text NOT NULL DEFAULT '',
    rows_per_second   numeric,
    eta_seconds       numeric,
    started_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT checkpoints_add_up CHECK (migrated + quarantined + excluded = candidates)
);
COMMENT ON TABLE migration.data_migration_checkpoints IS
    'One row per data migration, written in the same transaction as each batch: query it to watch progress';

CREATE TABLE migration.quarantine (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    data_migration text NOT NULL,
    legacy_table   text NOT NULL,
    legacy_id      bigint NOT NULL,
    role           text NOT NULL,
    reason         text NOT NULL,
    legacy_row     jsonb NOT NULL,
    quarantined_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT quarantine_once UNIQUE (data_migration, legacy_table, legacy_id, role)
);
COMMENT ON TABLE migration.quarantine IS
    'Legacy rows (and roles) a data migration could not migrate, with the reason and the row as it was';
