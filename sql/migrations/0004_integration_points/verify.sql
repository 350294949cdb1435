SELECT id, event_type, occurred_at, source, payload FROM core.event_log WHERE false;
SELECT id, name, url, event_types, max_retries, backoff_base_seconds FROM core.webhook_registry WHERE false;
