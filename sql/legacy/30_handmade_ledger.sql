-- The ledger that earlier ad-hoc scripts created by hand from the seed's DDL. Versions repeat,
-- mix zero-padded and plain numbers, and carry no checksum. The runbook adopts it and never
-- changes these rows.
CREATE SCHEMA migration;

CREATE TABLE migration.schema_versions (
    id              serial PRIMARY KEY,
    version         varchar(20) NOT NULL,
    description     text,
    applied_at      timestamptz DEFAULT now(),
    rollback_script text,
    status          varchar(20) DEFAULT 'applied' CHECK (status IN ('applied', 'rolled_back'))
);

INSERT INTO migration.schema_versions (version, description, applied_at, rollback_script, status)
VALUES
    ('001', 'Initial schema setup', '2024-08-13 10:02:11+00', 'DROP SCHEMA core CASCADE;', 'applied'),
    ('1', 'Initial schema setup (re-run)', '2024-08-13 10:40:57+00', NULL, 'applied'),
    ('002', 'Add persons table', '2024-08-20 18:15:00+00', 'DROP TABLE core.persons;', 'rolled_back'),
    ('2', 'Add persons table again', '2024-08-21 09:00:00+00', NULL, 'applied'),
    ('1', 'Fix memorial view', '2024-09-02 14:30:00+00', '', 'applied'),
    ('01', 'Initial schema setup (staging copy)', '2024-09-03 08:00:00+00', NULL, 'applied');
