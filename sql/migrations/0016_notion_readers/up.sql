-- phase: 2
-- description: The readers of Notion's dates, times and property texts check a value with a pattern and take its parts with string functions: a regexp_match with capture groups took 40 us a value (4.6 s of a 100,000-row export's values view), a PL/pgSQL call for every plain-string property 30 us a page. The same values, NULL for the same unreadable ones.

CREATE OR REPLACE FUNCTION migration.notion_date(v text) RETURNS date
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    words text[];
    y integer;
    m integer;
    d integer;
BEGIN
    IF v ~ '^\d{4}-\d{2}-\d{2}' THEN
        y := substr(v, 1, 4)::integer;
        m := substr(v, 6, 2)::integer;
        d := substr(v, 9, 2)::integer;
    ELSIF v ~ '^[A-Za-z]+ \d{1,2}, \d{4}' THEN
        words := string_to_array(v, ' ');  -- {January, '5,', 2026, ...}
        m := array_position(ARRAY['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august',
                                  'september', 'october', 'november', 'december'], lower(words[1]));
        d := rtrim(words[2], ',')::integer;
        y := left(words[3], 4)::integer;
    ELSE
        RETURN NULL;
    END IF;
    IF y < 1 OR m IS NULL OR m > 12 OR m < 1 OR d < 1
       OR d > extract(day FROM make_date(y, m, 1) + interval '1 month' - interval '1 day') THEN
        RETURN NULL;
    END IF;
    RETURN make_date(y, m, d);
END
$$;

CREATE OR REPLACE FUNCTION migration.notion_time(v text) RETURNS time
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    t text := btrim(v);
    after_hour text := ltrim(t, '0123456789');
    hour integer;
    minute integer;
    parts text[];
BEGIN
    IF t IS NULL THEN
        RETURN NULL;
    END IF;
    IF t ~ '^\d{1,2}(?::\d{2})?\s*[AaPp]\.?\s*[Mm]\.?$' THEN  -- 2pm, 2:00 PM, 2 p.m.
        hour := left(t, length(t) - length(after_hour))::integer;
        minute := CASE WHEN left(after_hour, 1) = ':' THEN substr(after_hour, 2, 2)::integer ELSE 0 END;
        IF hour < 1 OR hour > 12 OR minute > 59 THEN
            RETURN NULL;
        END IF;
        -- the only p the pattern lets through is p.m.'s
        RETURN make_time(hour % 12 + CASE WHEN strpos(lower(t), 'p') > 0 THEN 12 ELSE 0 END, minute, 0);
    END IF;
    IF t !~ '^\d{1,2}:\d{2}(?::\d{2})?$' THEN  -- 14:00, 14:00:30
        RETURN NULL;
    END IF;
    parts := string_to_array(t, ':');  -- {14, 00} or {14, 00, 30}
    IF parts[1]::integer > 23 OR parts[2]::integer > 59 OR coalesce(parts[3], '0')::integer > 59 THEN
        RETURN NULL;
    END IF;
    RETURN make_time(parts[1]::integer, parts[2]::integer, coalesce(parts[3], '0')::integer);
END
$$;

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

-- A plain string (an export's display string) is its own text: no PL/pgSQL call for it.
CREATE OR REPLACE FUNCTION migration.notion_texts(properties jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL RESTRICTED AS $$
SELECT coalesce(jsonb_object_agg(e.key, CASE WHEN lower(t.text) IN ('', 'not provided', 'n/a', 'na', 'none', 'unknown',
                                                                    'tbd', '-', '--', '?', 'null')
                                             THEN NULL ELSE t.text END), '{}'::jsonb)
  FROM jsonb_each(properties) e
 CROSS JOIN LATERAL (
    SELECT btrim(CASE WHEN jsonb_typeof(e.value) = 'string' THEN e.value #>> '{}'
                      ELSE migration.notion_property_text(e.value) END, E' \t\r\n') AS text
 ) t
$$;

COMMENT ON FUNCTION migration.notion_date(text) IS '0016: a date as the forms and the API write it (2026-01-05, January 5, 2026), NULL when unreadable';
COMMENT ON FUNCTION migration.notion_time(text) IS '0016: a time of day (2pm, 2:00 PM, 14:00), NULL when unreadable';
COMMENT ON FUNCTION migration.notion_timestamp(text) IS '0016: a moment (ISO, with or without a zone; January 5, 2026 10:40 AM in Bay View''s zone), NULL when unreadable';
COMMENT ON FUNCTION migration.notion_texts(jsonb) IS '0016: each property of a page as its cleaned text';
