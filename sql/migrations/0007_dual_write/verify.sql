SELECT mode, changed_at, changed_by FROM migration.dual_write_mode WHERE false;
SELECT old_mode, new_mode, changed_by FROM migration.dual_write_mode_history WHERE false;
SELECT legacy_table, legacy_id, operation, error, resolved_at FROM migration.dual_write_discrepancies WHERE false;
