DROP TABLE migration.dual_write_discrepancies;
DROP TABLE migration.dual_write_mode_history;
DROP TABLE migration.dual_write_mode;
