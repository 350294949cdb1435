-- phase: 2
-- description: What the chapel forms have written to Notion about a service's music since 2025-12-22 that the legacy music table never had: whether a piano or the organ is needed and where the musicians perform. The Notion music migration (0034) fills them; a legacy row leaves them NULL.
ALTER TABLE events.service_music
    ADD COLUMN needs_piano          boolean,
    ADD COLUMN needs_organ          boolean,
    ADD COLUMN performance_location text CHECK (performance_location IN ('sanctuary', 'balcony', 'both'));
