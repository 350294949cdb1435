-- Variant: some environments record a placement type and up to three people on one memorial row.
ALTER TABLE bayview.memorials
    ADD COLUMN placement_type varchar(50)
        CONSTRAINT memorials_placement_type_check
        CHECK (placement_type IN ('single', 'double', 'triple', 'family', 'scatter', 'other')),
    ADD COLUMN other_first_name varchar(100),
    ADD COLUMN other_middle_name varchar(100),
    ADD COLUMN other_last_name varchar(100),
    ADD COLUMN other_maiden_name varchar(100),
    ADD COLUMN other_birth_date date,
    ADD COLUMN other_death_date date,
    ADD COLUMN other_birth_place varchar(255),
    ADD COLUMN other_home_address text,
    ADD COLUMN other_bayview_address text,
    ADD COLUMN other_bayview_history text,
    ADD COLUMN second_first_name varchar(100),
    ADD COLUMN second_middle_name varchar(100),
    ADD COLUMN second_last_name varchar(100),
    ADD COLUMN second_maiden_name varchar(100),
    ADD COLUMN second_birth_date date,
    ADD COLUMN second_death_date date,
    ADD COLUMN second_birth_place varchar(255),
    ADD COLUMN second_home_address text,
    ADD COLUMN second_bayview_address text,
    ADD COLUMN second_bayview_history text;
