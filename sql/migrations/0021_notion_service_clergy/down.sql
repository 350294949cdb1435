-- Back to 0020: a service's clergy row refers to the register alone. Reverse the Notion clergy
-- migration (0037) first: what it wrote here is read again from the staged pages.
ALTER TABLE events.service_clergy
    DROP COLUMN clergy_approved,
    DROP COLUMN clergy_name;
