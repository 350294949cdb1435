-- Back to 0017: the music table holds what the legacy music table holds. Reverse the Notion music
-- migration (0034) first: what it wrote here is read again from the staged pages.
ALTER TABLE events.service_music
    DROP COLUMN performance_location,
    DROP COLUMN needs_organ,
    DROP COLUMN needs_piano;
