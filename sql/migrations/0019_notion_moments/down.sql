-- Back to 0016's reader of a moment, which reads an unreadable time of day as midnight.
CREATE OR REPLACE FUNCTION migration.notion_timestamp(v text) RETURNS timestamptz
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    day date := migration.notion_date(v);
BEGIN
    IF day IS NULL THEN
        RETURN NULL;
    ELSIF v ~ '^\d{4}-\d{2}-\d{2}T' THEN  -- 2026-01-05T10:40, with seconds, a fraction and a zone or not
        IF v !~ '^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-](?:0\d|1[0-4])(?::?[0-5]\d)?)?$'
           OR substr(v, 12, 2)::integer > 23 OR substr(v, 15, 2)::integer > 59
           OR (substr(v, 17, 1) = ':' AND substr(v, 18, 2)::integer > 59) THEN
            RETURN NULL;
        ELSIF substr(v, 17) ~ '[Z+-]' THEN
            RETURN v::timestamptz;
        END IF;
        RETURN v::timestamp AT TIME ZONE 'America/Detroit';
    END IF;
    -- January 5, 2026 10:40 AM: the time after the year (at midnight without one)
    RETURN (day + coalesce(CASE WHEN v ~ '^[A-Za-z]+ \d{1,2}, \d{4} \d{1,2}:\d{2} ?[AaPp][Mm]$'
                                THEN migration.notion_time(substr(v, strpos(v, ', ') + 7)) END,
                           '00:00'::time)) AT TIME ZONE 'America/Detroit';
END
$$;
COMMENT ON FUNCTION migration.notion_timestamp(text) IS '0016: a moment (ISO, with or without a zone; January 5, 2026 10:40 AM in Bay View''s zone), NULL when unreadable';
