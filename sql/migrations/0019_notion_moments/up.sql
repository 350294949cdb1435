-- phase: 2
-- description: A Notion moment whose time of day cannot be read (January 5, 2026 10:61 PM, January 5, 2026 at noon) is unreadable, and its page waits in quarantine naming it: 0016's reader took it for midnight. A date alone is still that day at midnight in Bay View's zone; an export's 24-hour time (January 5, 2026 14:00) is read like any other time of day.

CREATE OR REPLACE FUNCTION migration.notion_timestamp(v text) RETURNS timestamptz
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    day date := migration.notion_date(v);
    clock time;
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
    ELSIF v ~ '^\d{4}-\d{2}-\d{2}$' OR v ~ '^[A-Za-z]+ \d{1,2}, \d{4}$' THEN  -- a day alone: its midnight
        RETURN day::timestamp AT TIME ZONE 'America/Detroit';
    ELSIF v !~ '^[A-Za-z]+ \d{1,2}, \d{4} ' THEN  -- 2026-01-05 10:40, January 5, 20261: not what Notion writes
        RETURN NULL;
    END IF;
    -- January 5, 2026 10:40 AM: the time after the year, which must be one
    clock := migration.notion_time(substr(v, strpos(v, ', ') + 7));
    RETURN CASE WHEN clock IS NOT NULL THEN (day + clock) AT TIME ZONE 'America/Detroit' END;
END
$$;
COMMENT ON FUNCTION migration.notion_timestamp(text) IS '0019: a moment (ISO, with or without a zone; January 5, 2026 10:40 AM in Bay View''s zone; a day alone at its midnight), NULL when unreadable, its time of day too';
