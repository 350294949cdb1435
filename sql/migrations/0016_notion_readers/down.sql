-- Back to 0015: 0011's readers, which take a value's parts with regexp_match.
CREATE OR REPLACE FUNCTION migration.notion_date(v text) RETURNS date
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    parts text[] := regexp_match(v, '^(\d{4})-(\d{2})-(\d{2})');
    y integer;
    m integer;
    d integer;
BEGIN
    IF parts IS NOT NULL THEN
        y := parts[1]::integer;
        m := parts[2]::integer;
        d := parts[3]::integer;
    ELSE
        parts := regexp_match(v, '^([A-Za-z]+) (\d{1,2}), (\d{4})');
        IF parts IS NULL THEN
            RETURN NULL;
        END IF;
        m := array_position(ARRAY['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august',
                                  'september', 'october', 'november', 'december'], lower(parts[1]));
        y := parts[3]::integer;
        d := parts[2]::integer;
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
    parts text[] := regexp_match(btrim(v), '^(\d{1,2})(?::(\d{2}))?\s*([AaPp])\.?\s*[Mm]\.?$');
    hour integer;
BEGIN
    IF parts IS NOT NULL THEN
        hour := parts[1]::integer;
        IF hour < 1 OR hour > 12 OR coalesce(parts[2], '0')::integer > 59 THEN
            RETURN NULL;
        END IF;
        hour := hour % 12 + CASE WHEN lower(parts[3]) = 'p' THEN 12 ELSE 0 END;
        RETURN make_time(hour, coalesce(parts[2], '0')::integer, 0);
    END IF;
    parts := regexp_match(btrim(v), '^(\d{1,2}):(\d{2})(?::(\d{2}))?$');
    IF parts IS NULL OR parts[1]::integer > 23 OR parts[2]::integer > 59 OR coalesce(parts[3], '0')::integer > 59 THEN
        RETURN NULL;
    END IF;
    RETURN make_time(parts[1]::integer, parts[2]::integer, coalesce(parts[3], '0')::integer);
END
$$;

CREATE OR REPLACE FUNCTION migration.notion_timestamp(v text) RETURNS timestamptz
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    day date := migration.notion_date(v);
    parts text[];
BEGIN
    IF day IS NULL THEN
        RETURN NULL;
    ELSIF v ~ '^\d{4}-\d{2}-\d{2}T' THEN
        parts := regexp_match(v, '^\d{4}-\d{2}-\d{2}T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-](?:0\d|1[0-4])(?::?[0-5]\d)?)?$');
        IF parts IS NULL OR parts[1]::integer > 23 OR parts[2]::integer > 59 OR coalesce(parts[3], '0')::integer > 59 THEN
            RETURN NULL;
        ELSIF parts[4] IS NOT NULL THEN
            RETURN v::timestamptz;
        END IF;
        RETURN v::timestamp AT TIME ZONE 'America/Detroit';
    END IF;
    RETURN (day + coalesce(migration.notion_time(substring(v FROM '^[A-Za-z]+ \d{1,2}, \d{4} (\d{1,2}:\d{2} ?[AaPp][Mm])$')),
                           '00:00'::time)) AT TIME ZONE 'America/Detroit';
END
$$;

CREATE OR REPLACE FUNCTION migration.notion_texts(properties jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL RESTRICTED AS $$
SELECT coalesce(jsonb_object_agg(e.key, CASE WHEN lower(t.text) IN ('', 'not provided', 'n/a', 'na', 'none', 'unknown',
                                                                    'tbd', '-', '--', '?', 'null')
                                             THEN NULL ELSE t.text END), '{}'::jsonb)
  FROM jsonb_each(properties) e
 CROSS JOIN LATERAL (SELECT btrim(migration.notion_property_text(e.value), E' \t\r\n') AS text) t
$$;

COMMENT ON FUNCTION migration.notion_date(text) IS NULL;
COMMENT ON FUNCTION migration.notion_time(text) IS NULL;
COMMENT ON FUNCTION migration.notion_timestamp(text) IS NULL;
COMMENT ON FUNCTION migration.notion_texts(jsonb) IS NULL;
