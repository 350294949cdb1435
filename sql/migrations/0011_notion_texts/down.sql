-- Back to 0010: the views read the raw properties again, and the stored texts go.
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
      FROM (SELECT migration.notion_text(p.properties, 'Application Type') AS application_type_raw,
                   migration.notion_text(p.properties, 'Service Date') AS service_date_raw,
                   migration.notion_text(p.properties, 'Submission Date') AS submitted_raw,
                   migration.notion_text(p.properties, 'Fee Amount') AS fee_raw,
                   migration.notion_text(p.properties, 'Database ID') AS database_id_raw,
                   migration.notion_option(migration.notion_text(p.properties, 'Placement Type')) AS placement_type,
                   migration.notion_text(p.properties, 'Status') AS status_raw,
                   migration.notion_text(p.properties, 'Celebrant Requested') AS celebrant,
                   migration.notion_bool(migration.notion_text(p.properties, 'Bay View Member')) AS is_member,
                   migration.notion_text(p.properties, 'Member Name') AS member_name,
                   migration.notion_text(p.properties, 'Member Relationship') AS member_relationship,
                   migration.notion_text(p.properties, 'Contact Name') AS contact_name,
                   migration.notion_text(p.properties, 'Contact Email') AS contact_email,
                   migration.notion_text(p.properties, 'Contact Phone') AS contact_phone,
                   migration.notion_text(p.properties, 'Contact Address') AS contact_address,
                   migration.notion_text(p.properties, 'Deceased Name') AS deceased_name,
                   migration.notion_text(p.properties, 'Bay View History') AS bayview_history
           OFFSET 0) r
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
      FROM (SELECT migration.notion_text(p.properties, 'Type') AS service_type_raw,
                   migration.notion_text(p.properties, 'Service Date') AS service_date_raw,
                   migration.notion_text(p.properties, 'Service Time') AS service_time_raw,
                   migration.notion_text(p.properties, 'Rehearsal Date') AS rehearsal_date_raw,
                   migration.notion_text(p.properties, 'Rehearsal Time') AS rehearsal_time_raw,
                   migration.notion_text(p.properties, 'Submitted') AS submitted_raw,
                   migration.notion_text(p.properties, 'Approval Date') AS approval_raw,
                   migration.notion_text(p.properties, 'Status') AS status_raw,
                   migration.notion_text(p.properties, 'Database ID') AS database_id_raw,
                   migration.notion_text(p.properties, 'Approved By') AS approved_by,
                   migration.notion_text(p.properties, 'Member Relationship') AS member_relationship,
                   migration.notion_text(p.properties, 'Contact Name') AS contact_name,
                   migration.notion_text(p.properties, 'Contact Email') AS contact_email,
                   migration.notion_text(p.properties, 'Contact Phone') AS contact_phone,
                   migration.notion_text(p.properties, 'Contact Address') AS contact_address,
                   coalesce(migration.notion_bool(migration.notion_text(p.properties, 'Altar Guild Notified')), false)
                       AS altar_guild_notified
           OFFSET 0) r
 ) v
 WHERE p.notion_database = 'chapel';

CREATE OR REPLACE FUNCTION migration.notion_value(properties jsonb, name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE jsonb_typeof(properties -> name)
    WHEN 'string' THEN properties ->> name
    WHEN 'object' THEN
        CASE properties -> name ->> 'type'
            WHEN 'title' THEN (SELECT string_agg(t ->> 'plain_text', '') FROM jsonb_array_elements(properties -> name -> 'title') t)
            WHEN 'rich_text' THEN (SELECT string_agg(t ->> 'plain_text', '') FROM jsonb_array_elements(properties -> name -> 'rich_text') t)
            WHEN 'select' THEN properties -> name -> 'select' ->> 'name'
            WHEN 'status' THEN properties -> name -> 'status' ->> 'name'
            WHEN 'multi_select' THEN (SELECT string_agg(o ->> 'name', ', ') FROM jsonb_array_elements(properties -> name -> 'multi_select') o)
            WHEN 'date' THEN migration.notion_date_start(properties -> name -> 'date')
            WHEN 'checkbox' THEN CASE WHEN (properties -> name ->> 'checkbox')::boolean THEN 'Yes' ELSE 'No' END
            WHEN 'number' THEN properties -> name ->> 'number'
            WHEN 'email' THEN properties -> name ->> 'email'
            WHEN 'phone_number' THEN properties -> name ->> 'phone_number'
            WHEN 'url' THEN properties -> name ->> 'url'
            WHEN 'created_time' THEN properties -> name ->> 'created_time'
            WHEN 'last_edited_time' THEN properties -> name ->> 'last_edited_time'
        END
END
$$;

CREATE OR REPLACE FUNCTION migration.notion_text(properties jsonb, name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE WHEN lower(v) IN ('', 'not provided', 'n/a', 'na', 'none', 'unknown', 'tbd', '-', '--', '?', 'null')
            THEN NULL ELSE v END
  FROM (SELECT btrim(migration.notion_value(properties, name), E' \t\r\n') AS v) s
$$;

CREATE OR REPLACE FUNCTION migration.notion_date(v text) RETURNS date
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF v ~ '^\d{4}-\d{2}-\d{2}' THEN
        RETURN left(v, 10)::date;
    ELSIF v ~* '^(january|february|march|april|may|june|july|august|september|october|november|december) \d{1,2}, \d{4}' THEN
        RETURN to_date(substring(v FROM '^[A-Za-z]+ \d{1,2}, \d{4}'), 'FMMonth FMDD, YYYY');
    END IF;
    RETURN NULL;
EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format THEN
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION migration.notion_timestamp(v text) RETURNS timestamptz
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    clock text := substring(v FROM '^[A-Za-z]+ \d{1,2}, \d{4} (\d{1,2}:\d{2} ?[AaPp][Mm])$');
BEGIN
    IF v ~ '^\d{4}-\d{2}-\d{2}T.*(Z|[+-]\d\d:?\d\d)$' THEN
        RETURN v::timestamptz;
    ELSIF v ~ '^\d{4}-\d{2}-\d{2}T' THEN
        RETURN v::timestamp AT TIME ZONE 'America/Detroit';
    ELSIF migration.notion_date(v) IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN (migration.notion_date(v) + coalesce(migration.notion_time(clock), '00:00'::time))
           AT TIME ZONE 'America/Detroit';
EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format THEN
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION migration.notion_time(v text) RETURNS time
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    parts text[];
    hour integer;
BEGIN
    parts := regexp_match(btrim(v), '^(\d{1,2})(?::(\d{2}))?\s*([AaPp])\.?\s*[Mm]\.?$');
    IF parts IS NOT NULL THEN
        hour := parts[1]::integer;
        IF hour < 1 OR hour > 12 THEN
            RETURN NULL;
        END IF;
        hour := hour % 12 + CASE WHEN lower(parts[3]) = 'p' THEN 12 ELSE 0 END;
        RETURN make_time(hour, coalesce(parts[2], '0')::integer, 0);
    END IF;
    parts := regexp_match(btrim(v), '^(\d{1,2}):(\d{2})(?::(\d{2}))?$');
    IF parts IS NOT NULL THEN
        RETURN make_time(parts[1]::integer, parts[2]::integer, coalesce(parts[3], '0')::integer);
    END IF;
    RETURN NULL;
EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format THEN
    RETURN NULL;
END
$$;

ALTER FUNCTION migration.notion_date_start(jsonb) PARALLEL SAFE;
ALTER TABLE migration.notion_pages DROP COLUMN texts;
DROP FUNCTION migration.notion_texts(jsonb);
DROP FUNCTION migration.notion_property_text(jsonb);
