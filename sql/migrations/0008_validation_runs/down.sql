DROP TABLE migration.validation_runs;
