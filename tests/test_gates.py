"""Automatic sign-off: only a rehearsal inventory, on this machine, on a server that marks itself as
a disposable rehearsal cluster. A tunnel to production on 127.0.0.1 is none of these."""

from __future__ import annotations

import pytest
from ansible.module_utils.bayview import db, gates, ledger
from ansible.module_utils.bayview.errors import RunbookError

from bayview_runbook.localpg import DISPOSABLE_MARKER

PASSED = [{"name": "everything", "passed": True, "detail": "-"}]


def record(conn, host: str, environment: str) -> dict:
    return gates.record(conn, host, 1, "run-1", PASSED, {}, None, None, True, environment)


def test_automatic_sign_off_needs_a_rehearsal_inventory_a_local_host_and_a_disposable_server(legacy_db):
    with db.connect(legacy_db.params()) as conn:
        ledger.bootstrap(conn, "test", "run-1")
        assert record(conn, "127.0.0.1", "local")["signoff_kind"] == "automatic (local rehearsal)"

        with pytest.raises(RunbookError, match="bayview_environment is 'production'"):
            record(conn, "127.0.0.1", "production")
        with pytest.raises(RunbookError, match="db.example.invalid is not this machine"):
            record(conn, "db.example.invalid", "local")
    # A tunnel: loopback, a rehearsal inventory by mistake, but a server that is not disposable.
    with legacy_db.connect() as admin:
        admin.execute(f"ALTER ROLE {DISPOSABLE_MARKER} RENAME TO not_{DISPOSABLE_MARKER}")
        try:
            refused = pytest.raises(RunbookError, match="does not mark itself as a disposable rehearsal cluster")
            with db.connect(legacy_db.params()) as conn, refused:
                record(conn, "127.0.0.1", "local")
        finally:
            admin.execute(f"ALTER ROLE not_{DISPOSABLE_MARKER} RENAME TO {DISPOSABLE_MARKER}")
    # Refused means not recorded: only the first gate exists.
    assert legacy_db.scalar("SELECT count(*) FROM migration.phase_gates") == 1
