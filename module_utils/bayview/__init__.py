"""The Bay View runbook engine, shared by the modules in library/.

Imported by modules as ``ansible.module_utils.bayview.<name>``. Each file has one job:
db (sessions and the run lock), migration_files (loading and checking sql/migrations),
protected_guard (refusing writes to the legacy schemas), ledger, fingerprint, migrate,
preflight, run_record.
"""
