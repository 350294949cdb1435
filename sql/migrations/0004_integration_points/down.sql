DROP TABLE core.webhook_registry;
DROP TABLE core.event_log;
