-- phase: 1
-- description: Create the schemas of the new design beside the legacy ones.
CREATE SCHEMA core;
CREATE SCHEMA property;
CREATE SCHEMA education;
CREATE SCHEMA events;
CREATE SCHEMA recreation;
CREATE SCHEMA finance;

COMMENT ON SCHEMA core IS 'Bay View new design: people and shared integration points';
COMMENT ON SCHEMA property IS 'Bay View new design: cottages, lots and leases';
COMMENT ON SCHEMA education IS 'Bay View new design: programs and classes';
COMMENT ON SCHEMA events IS 'Bay View new design: chapel services and community events';
COMMENT ON SCHEMA recreation IS 'Bay View new design: recreation programs';
COMMENT ON SCHEMA finance IS 'Bay View new design: fees, payments and accounts';
