-- phase: 2
-- description: The deceased of a Notion-only memorial page gets the particulars of its Personal History JSON (birth and death dates, parents, Bay View history): a reader of a JSON text that never fails.

-- A JSON object written as text into a property, or NULL when the text is not one. Catching the
-- failed cast needs an EXCEPTION block, which no parallel query may run: PARALLEL UNSAFE. Only the
-- persons migration of Notion-only memorial pages (0026) reads it, never the values views.
CREATE FUNCTION migration.notion_json_object(v text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL UNSAFE AS $$
BEGIN
    IF v !~ '^\s*\{' THEN
        RETURN NULL;
    END IF;
    RETURN v::jsonb;
EXCEPTION WHEN invalid_text_representation OR untranslatable_character THEN  -- not JSON, or a \u0000
    RETURN NULL;
END
$$;
