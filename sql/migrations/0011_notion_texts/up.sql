-- phase: 2
-- description: Each staged Notion page's property values read once, when it is staged (notion_pages.texts), for the values views to read: reading them from the raw properties for every value took 5 ms a page.

-- 0010's readers of dates and times caught a failed cast with an EXCEPTION block: a subtransaction
-- for every value (50 us a timestamp), and an error in a parallel query (a subtransaction cannot
-- start there, yet they were declared PARALLEL SAFE). These check the value before they convert it,
-- so nothing can fail: the same values, NULL for the same unreadable ones.
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

-- It still catches an unknown time zone (an EXCEPTION block): not in parallel.
ALTER FUNCTION migration.notion_date_start(jsonb) PARALLEL RESTRICTED;

-- A property's value as text, staged from the API (a property object) or an export (a display
-- string): a title or rich text as its plain text, a select or status as its option name, a
-- multi-select as 'A, B', a checkbox as Yes/No, a date as its start. PL/pgSQL: its plan is kept
-- between calls (a SQL function with sub-selects is planned again for each).
CREATE FUNCTION migration.notion_property_text(v jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL RESTRICTED AS $$
BEGIN
    CASE jsonb_typeof(v)
        WHEN 'string' THEN
            RETURN v #>> '{}';
        WHEN 'object' THEN
            CASE v ->> 'type'
                WHEN 'title', 'rich_text' THEN
                    RETURN (SELECT string_agg(t ->> 'plain_text', '') FROM jsonb_array_elements(v -> (v ->> 'type')) t);
                WHEN 'select', 'status' THEN
                    RETURN v -> (v ->> 'type') ->> 'name';
                WHEN 'multi_select' THEN
                    RETURN (SELECT string_agg(o ->> 'name', ', ') FROM jsonb_array_elements(v -> 'multi_select') o);
                WHEN 'date' THEN
                    RETURN migration.notion_date_start(v -> 'date');
                WHEN 'checkbox' THEN
                    RETURN CASE WHEN (v ->> 'checkbox')::boolean THEN 'Yes' ELSE 'No' END;
                WHEN 'number', 'email', 'phone_number', 'url', 'created_time', 'last_edited_time' THEN
                    RETURN v ->> (v ->> 'type');
                ELSE
                    RETURN NULL;
            END CASE;
        ELSE
            RETURN NULL;
    END CASE;
END
$$;

-- 0010's notion_value, now one home with the above.
CREATE OR REPLACE FUNCTION migration.notion_value(properties jsonb, name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL RESTRICTED AS $$
SELECT migration.notion_property_text(properties -> name)
$$;

-- Every property of a page as its cleaned text: trimmed, NULL when empty or a placeholder ('Not
-- provided', 'N/A', ...), as 0010's notion_text cleans one value.
CREATE FUNCTION migration.notion_texts(properties jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL RESTRICTED AS $$
SELECT coalesce(jsonb_object_agg(e.key, CASE WHEN lower(t.text) IN ('', 'not provided', 'n/a', 'na', 'none', 'unknown',
                                                                    'tbd', '-', '--', '?', 'null')
                                             THEN NULL ELSE t.text END), '{}'::jsonb)
  FROM jsonb_each(properties) e
 CROSS JOIN LATERAL (SELECT btrim(migration.notion_property_text(e.value), E' \t\r\n') AS text) t
$$;

CREATE OR REPLACE FUNCTION migration.notion_text(properties jsonb, name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL RESTRICTED AS $$
SELECT migration.notion_texts(jsonb_build_object(name, properties -> name)) ->> name
$$;

-- Derived from the raw properties, which stay as they were read.
ALTER TABLE migration.notion_pages
    ADD COLUMN texts jsonb GENERATED ALWAYS AS (migration.notion_texts(properties)) STORED;
COMMENT ON COLUMN migration.notion_pages.texts IS
    'Each property''s value as cleaned text (migration.notion_texts), read from properties when the page is staged';

-- The views of 0010, reading the page's stored texts instead of parsing its properties again for
-- every value: the same columns, the same values. The values read from the texts are fenced with
-- OFFSET 0, so that each is computed once per page, not once per place it is used.
CREATE OR REPLACE VIEW migration.notion_memorial_values AS
SELECT p.id, p.page_key, p.title, p.page_id, p.last_edited_time, p.staged_at, p.outcome,
       v.*,
       coalesce(
           CASE WHEN p.title IS NULL OR btrim(p.title) = '' THEN 'the page has no Submission ID' END,
           CASE WHEN v.service_date_raw IS NOT NULL AND v.service_date IS NULL
                THEN 'Service Date ' || quote_literal(v.service_date_raw) || ' is not a date' END,
           CASE WHEN v.submitted_raw IS NOT NULL AND v.submitted_at IS NULL
                THEN 'Submission Date ' || quote_literal(v.submitted_raw) || ' is not a date' END,
           CASE WHEN v.fee_raw IS NOT NULL AND v.fee IS NULL
                THEN 'Fee Amount ' || quote_literal(v.fee_raw) || ' is not an amount of money' END,
           CASE WHEN v.application_type_raw IS NOT NULL AND v.application_type IS NULL
                THEN 'Application Type ' || quote_literal(v.application_type_raw) || ' says neither immediate nor future' END,
           CASE WHEN v.placement_type IS NOT NULL
                 AND v.placement_type NOT IN ('single', 'double', 'triple', 'family', 'scatter', 'other')
                THEN 'Placement Type ' || quote_literal(v.placement_type) || ' is not one of single, double, triple, family, scatter, other' END,
           CASE WHEN v.database_id_raw IS NOT NULL AND v.database_id IS NULL
                THEN 'Database ID ' || quote_literal(v.database_id_raw) || ' is not a number' END
       ) AS problem
  FROM migration.notion_pages p
 CROSS JOIN LATERAL (
    SELECT r.*,
           CASE WHEN lower(r.application_type_raw) ~ 'immediate' THEN 'immediate'
                WHEN lower(r.application_type_raw) ~ 'future|reserve|prepa' THEN 'future' END AS application_type,
           migration.notion_date(r.service_date_raw) AS service_date,
           migration.notion_timestamp(r.submitted_raw) AS submitted_at,
           migration.notion_money(r.fee_raw) AS fee,
           CASE WHEN r.database_id_raw ~ '^\d{1,18}$' THEN r.database_id_raw::bigint END AS database_id
      FROM (SELECT (p.texts ->> 'Application Type') AS application_type_raw,
                   (p.texts ->> 'Service Date') AS service_date_raw,
                   (p.texts ->> 'Submission Date') AS submitted_raw,
                   (p.texts ->> 'Fee Amount') AS fee_raw,
                   (p.texts ->> 'Database ID') AS database_id_raw,
                   migration.notion_option(p.texts ->> 'Placement Type') AS placement_type,
                   (p.texts ->> 'Status') AS status_raw,
                   (p.texts ->> 'Celebrant Requested') AS celebrant,
                   migration.notion_bool(p.texts ->> 'Bay View Member') AS is_member,
                   (p.texts ->> 'Member Name') AS member_name,
                   (p.texts ->> 'Member Relationship') AS member_relationship,
                   (p.texts ->> 'Contact Name') AS contact_name,
                   (p.texts ->> 'Contact Email') AS contact_email,
                   (p.texts ->> 'Contact Phone') AS contact_phone,
                   (p.texts ->> 'Contact Address') AS contact_address,
                   (p.texts ->> 'Deceased Name') AS deceased_name,
                   (p.texts ->> 'Bay View History') AS bayview_history
           ) r
    OFFSET 0
 ) v
 WHERE p.notion_database = 'memorial_garden';

-- What a chapel page says, likewise (data migration 0025).
CREATE OR REPLACE VIEW migration.notion_chapel_values AS
SELECT p.id, p.page_key, p.title, p.page_id, p.last_edited_time, p.staged_at, p.outcome,
       v.*,
       coalesce(
           CASE WHEN p.title IS NULL OR btrim(p.title) = '' THEN 'the page has no Application ID' END,
           CASE WHEN v.service_type IS NULL THEN 'the page has no Type' END,
           CASE WHEN v.service_type NOT IN ('wedding', 'memorial', 'funeral', 'baptism', 'general_use')
                THEN 'Type ' || quote_literal(v.service_type_raw) || ' is not one of Wedding, Memorial, Funeral, Baptism, General Use' END,
           CASE WHEN v.service_date_raw IS NULL THEN 'the page has no Service Date' END,
           CASE WHEN v.service_date IS NULL
                THEN 'Service Date ' || quote_literal(v.service_date_raw) || ' is not a date' END,
           CASE WHEN v.service_time_raw IS NULL THEN 'the page has no Service Time' END,
           CASE WHEN v.service_time IS NULL
                THEN 'Service Time ' || quote_literal(v.service_time_raw) || ' is not a time of day' END,
           CASE WHEN v.rehearsal_date_raw IS NOT NULL AND v.rehearsal_date IS NULL
                THEN 'Rehearsal Date ' || quote_literal(v.rehearsal_date_raw) || ' is not a date' END,
           CASE WHEN v.rehearsal_time_raw IS NOT NULL AND v.rehearsal_time IS NULL
                THEN 'Rehearsal Time ' || quote_literal(v.rehearsal_time_raw) || ' is not a time of day' END,
           CASE WHEN v.submitted_raw IS NOT NULL AND v.submitted_at IS NULL
                THEN 'Submitted ' || quote_literal(v.submitted_raw) || ' is not a date' END,
           CASE WHEN v.approval_raw IS NOT NULL AND v.approved_at IS NULL
                THEN 'Approval Date ' || quote_literal(v.approval_raw) || ' is not a date' END,
           CASE WHEN v.status IS NULL
                THEN 'Status ' || quote_literal(v.status_raw) || ' is not one of Pending, Pending Review, Approved, Rejected, Cancelled' END,
           CASE WHEN v.database_id_raw IS NOT NULL AND v.database_id IS NULL
                THEN 'Database ID ' || quote_literal(v.database_id_raw) || ' is not a number' END
       ) AS problem
  FROM migration.notion_pages p
 CROSS JOIN LATERAL (
    SELECT r.*,
           CASE WHEN r.service_type_raw IS NOT NULL THEN migration.notion_option(r.service_type_raw) END AS service_type,
           migration.notion_date(r.service_date_raw) AS service_date,
           migration.notion_time(r.service_time_raw) AS service_time,
           migration.notion_date(r.rehearsal_date_raw) AS rehearsal_date,
           migration.notion_time(r.rehearsal_time_raw) AS rehearsal_time,
           migration.notion_timestamp(r.submitted_raw) AS submitted_at,
           migration.notion_timestamp(r.approval_raw) AS approved_at,
           CASE migration.notion_option(coalesce(r.status_raw, 'pending'))
                WHEN 'pending' THEN 'pending' WHEN 'pending_review' THEN 'pending' WHEN 'submitted' THEN 'pending'
                WHEN 'approved' THEN 'approved' WHEN 'confirmed' THEN 'approved'
                WHEN 'rejected' THEN 'rejected' WHEN 'declined' THEN 'rejected'
                WHEN 'cancelled' THEN 'cancelled' WHEN 'canceled' THEN 'cancelled' END AS status,
           CASE WHEN r.database_id_raw ~ '^\d{1,18}$' THEN r.database_id_raw::bigint END AS database_id
      FROM (SELECT (p.texts ->> 'Type') AS service_type_raw,
                   (p.texts ->> 'Service Date') AS service_date_raw,
                   (p.texts ->> 'Service Time') AS service_time_raw,
                   (p.texts ->> 'Rehearsal Date') AS rehearsal_date_raw,
                   (p.texts ->> 'Rehearsal Time') AS rehearsal_time_raw,
                   (p.texts ->> 'Submitted') AS submitted_raw,
                   (p.texts ->> 'Approval Date') AS approval_raw,
                   (p.texts ->> 'Status') AS status_raw,
                   (p.texts ->> 'Database ID') AS database_id_raw,
                   (p.texts ->> 'Approved By') AS approved_by,
                   (p.texts ->> 'Member Relationship') AS member_relationship,
                   (p.texts ->> 'Contact Name') AS contact_name,
                   (p.texts ->> 'Contact Email') AS contact_email,
                   (p.texts ->> 'Contact Phone') AS contact_phone,
                   (p.texts ->> 'Contact Address') AS contact_address,
                   coalesce(migration.notion_bool(p.texts ->> 'Altar Guild Notified'), false)
                       AS altar_guild_notified
           ) r
    OFFSET 0
 ) v
 WHERE p.notion_database = 'chapel';
