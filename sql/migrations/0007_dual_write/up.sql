-- phase: 2
-- description: The dual-write mode (legacy-only, dual, modern-only) with its history, and the discrepancy log.
CREATE TABLE migration.dual_write_mode (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    mode       text NOT NULL CHECK (mode IN ('legacy-only', 'dual', 'modern-only')),
    changed_at timestamptz NOT NULL DEFAULT now(),
    changed_by text NOT NULL,
    reason     text NOT NULL DEFAULT ''
);
INSERT INTO migration.dual_write_mode (mode, changed_by, reason) VALUES ('legacy-only', 'migration 0007', 'initial');

CREATE TABLE migration.dual_write_mode_history (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    old_mode   text,
    new_mode   text NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now(),
    changed_by text NOT NULL,
    reason     text NOT NULL DEFAULT ''
);

-- A modern write that failed while the legacy write (the source of truth) committed.
-- The incremental sync repairs the modern side; resolved_at marks it done.
CREATE TABLE migration.dual_write_discrepancies (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at  timestamptz NOT NULL DEFAULT now(),
    legacy_table text NOT NULL,
    legacy_id    bigint NOT NULL,
    operation    text NOT NULL,
    error        text NOT NULL,
    resolved_at  timestamptz
);
CREATE INDEX dual_write_discrepancies_open_idx ON migration.dual_write_discrepancies (legacy_table, legacy_id)
    WHERE resolved_at IS NULL;
