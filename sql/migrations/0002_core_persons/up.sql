-- phase: 1
-- description: core.persons and the link that says which legacy row and role produced each person.
CREATE TABLE core.persons (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_type      text NOT NULL
        CHECK (person_type IN ('deceased', 'contact', 'member', 'applicant', 'other')),
    first_name       text,
    middle_name      text,
    last_name        text,
    maiden_name      text,
    birth_date       date,
    death_date       date,
    email            text,
    phone            text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    migration_source text,
    migration_date   timestamptz,
    CONSTRAINT persons_has_a_name CHECK (coalesce(first_name, last_name) IS NOT NULL),
    CONSTRAINT persons_dates_in_order CHECK (death_date IS NULL OR birth_date IS NULL OR death_date >= birth_date)
);
COMMENT ON TABLE core.persons IS 'Every person of the new design; where each came from is in core.person_legacy_links';

-- One memorial row can name three people, a contact and a member sponsor: a single
-- legacy_memorial_id column cannot say that. Each link names the legacy table, row and role.
-- No foreign key to the legacy tables: that would add triggers to them and block their deletes.
CREATE TABLE core.person_legacy_links (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id      bigint NOT NULL REFERENCES core.persons (id) ON DELETE CASCADE,
    legacy_table   text NOT NULL CHECK (legacy_table ~ '^[a-z_]+\.[a-z_]+$'),
    legacy_id      integer NOT NULL,
    role           text NOT NULL CHECK (role ~ '^[a-z_]+$'),
    data_migration text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT person_legacy_links_one_person_per_role UNIQUE (legacy_table, legacy_id, role)
);
CREATE INDEX person_legacy_links_person_id_idx ON core.person_legacy_links (person_id);
COMMENT ON COLUMN core.person_legacy_links.role IS
    'deceased, other_person, second_person, contact, member_sponsor, …';
