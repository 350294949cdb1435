SELECT id, run_id, validated_at, passed, seconds, checks FROM migration.validation_runs LIMIT 0;
