-- No CASCADE: if anything outside the runbook was put in these schemas, stop and say so.
DROP SCHEMA finance;
DROP SCHEMA recreation;
DROP SCHEMA events;
DROP SCHEMA education;
DROP SCHEMA property;
DROP SCHEMA core;
