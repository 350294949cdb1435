-- Back to 0021: no notes table. Reverse the Notion notes migration (0038) first: what it wrote
-- here is read again from the staged pages.
DROP TABLE events.service_notes;
