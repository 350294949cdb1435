"""Phase gates: each phase's success criteria, checked and stored with their evidence, and the
sign-off that lets the next phase start (migration.phase_gates, which survives any rollback).

A phase refuses to start unless the previous phase's latest gate passed and was signed off.
Sign-off is a person (`signoff_by`), recorded with the time, the evidence and the restore
point. Automatic sign-off exists for rehearsals only, and needs all three of: an inventory that
says it describes a rehearsal (bayview_environment local or molecule, with bayview_auto_signoff),
a database on this machine (loopback or a local socket), and a server that marks itself as a
disposable rehearsal cluster (it has the role bayview_disposable_cluster, which bayview-localpg
creates with a new cluster; a session cannot fake a role, as it could a setting). A tunnel to
production on 127.0.0.1 has none of the last, so production can never sign itself off.
"""

from __future__ import annotations

import json

import psycopg
from ansible.module_utils.bayview.errors import RunbookError

LOCAL_HOSTS = ("127.0.0.1", "::1", "localhost", "")
REHEARSAL_ENVIRONMENTS = ("local", "molecule")
# A role bayview_runbook.localpg creates with each disposable cluster.
DISPOSABLE_MARKER = "bayview_disposable_cluster"

GATE_COLUMNS = (
    "id, phase, run_id, passed, criteria, evidence, restore_point, recorded_at::text, signed_off_by, "
    "signed_off_at::text, signoff_kind"
)
GATE_KEYS = (
    "id",
    "phase",
    "run_id",
    "passed",
    "criteria",
    "evidence",
    "restore_point",
    "recorded_at",
    "signed_off_by",
    "signed_off_at",
    "signoff_kind",
)


def latest(conn: psycopg.Connection, phase: int) -> dict | None:
    if not conn.execute("SELECT to_regclass('migration.phase_gates') IS NOT NULL").fetchone()[0]:
        return None
    row = conn.execute(
        f"SELECT {GATE_COLUMNS} FROM migration.phase_gates WHERE phase = %s ORDER BY id DESC LIMIT 1", [phase]
    ).fetchone()
    return dict(zip(GATE_KEYS, row, strict=True)) if row else None


def all_latest(conn: psycopg.Connection) -> list[dict]:
    """The latest gate of every phase (for status)."""
    return [g for g in (latest(conn, phase) for phase in range(1, 6)) if g]


def require_previous(conn: psycopg.Connection, phase: int) -> dict | None:
    """Refuse (RunbookError) unless phase - 1 passed and was signed off; returns that gate."""
    if phase <= 1:
        return None
    previous = latest(conn, phase - 1)
    if previous is None:
        raise RunbookError(
            f"Phase {phase} cannot start: Phase {phase - 1} has no recorded gate.",
            f"run playbooks/phase{phase - 1}.yml first.",
        )
    if not previous["passed"]:
        failed = [c["name"] for c in previous["criteria"] if not c["passed"]]
        raise RunbookError(
            f"Phase {phase} cannot start: Phase {phase - 1} did not pass (run {previous['run_id']}, "
            f"failed: {', '.join(failed) or 'see its run record'}).",
            f"fix that and run playbooks/phase{phase - 1}.yml again.",
        )
    if not previous["signed_off_by"]:
        raise RunbookError(
            f"Phase {phase} cannot start: Phase {phase - 1} passed (run {previous['run_id']}) "
            "but nobody signed it off.",
            f"review its run report, then: ansible-playbook playbooks/signoff.yml -e phase={phase - 1} "
            f'-e signoff_by="Your Name"',
        )
    return previous


def _signoff_kind(
    conn: psycopg.Connection, host: str, environment: str, signoff_by: str | None, auto: bool
) -> tuple[str | None, str | None]:
    if signoff_by:
        return signoff_by, "operator"
    if auto:
        disposable = conn.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = %s)", [DISPOSABLE_MARKER]
        ).fetchone()[0]
        why_not = [
            f"the inventory's bayview_environment is {environment or 'not set'!r}, not one of "
            f"{', '.join(REHEARSAL_ENVIRONMENTS)}"
            if environment not in REHEARSAL_ENVIRONMENTS
            else "",
            f"{host} is not this machine" if host not in LOCAL_HOSTS and not host.startswith("/") else "",
            f"the server does not mark itself as a disposable rehearsal cluster (it has no role {DISPOSABLE_MARKER})"
            if not disposable
            else "",
        ]
        if any(why_not):
            raise RunbookError(
                "Automatic sign-off is for disposable local rehearsal clusters only, and here "
                + "; ".join(w for w in why_not if w)
                + ". The gate was not recorded.",
                'sign off as a person: -e signoff_by="Your Name" (and set bayview_auto_signoff: false here). A '
                "rehearsal cluster made before this check: make rehearsal-stop, then make rehearsal.",
            )
        return "automatic (local rehearsal)", "automatic (local rehearsal)"
    return None, None


def record(
    conn: psycopg.Connection,
    host: str,
    phase: int,
    run_id: str,
    criteria: list[dict],
    evidence: dict,
    restore_point: str | None,
    signoff_by: str | None,
    auto_signoff: bool,
    environment: str = "",
) -> dict:
    """Store the gate; sign it off at once when it passed and someone (or a rehearsal) signs."""
    passed = all(bool(c["passed"]) for c in criteria)
    by, kind = _signoff_kind(conn, host, environment, signoff_by, auto_signoff) if passed else (None, None)
    with conn.transaction():
        conn.execute(
            """INSERT INTO migration.phase_gates (phase, run_id, passed, criteria, evidence, restore_point,
                   signed_off_by, signed_off_at, signoff_kind)
               VALUES (%s, %s, %s, %s::jsonb, %s::jsonb, %s, %s,
                       CASE WHEN %s::text IS NULL THEN NULL ELSE now() END, %s)""",
            [
                phase,
                run_id,
                passed,
                json.dumps(criteria, default=str),
                json.dumps(evidence, default=str),
                restore_point,
                by,
                by,
                kind,
            ],
        )
    return latest(conn, phase)


def sign_off(
    conn: psycopg.Connection, phase: int, signoff_by: str, requested_at: str | None = None
) -> tuple[dict, bool]:
    """Sign the latest gate of a phase; (gate, changed). Refuses a gate that did not pass, and, given the
    time an approval was requested (an AWX approval node is reached after the run it follows), a gate
    recorded after it: an approval signs off the run before it, never a later one."""
    gate = latest(conn, phase)
    if gate is None or not gate["passed"]:
        raise RunbookError(
            f"Phase {phase} has no passed gate to sign off.", f"run playbooks/phase{phase}.yml until it passes."
        )
    if gate["signed_off_by"]:
        return gate, False
    if requested_at is not None:
        later = conn.execute(
            "SELECT recorded_at > %s::timestamptz FROM migration.phase_gates WHERE id = %s", [requested_at, gate["id"]]
        ).fetchone()[0]
        if later:
            raise RunbookError(
                f"Phase {phase}'s latest gate was recorded at {gate['recorded_at']}, after this approval was "
                f"requested ({requested_at}): the approval was for an earlier run. Nothing was signed off.",
                "approve the approval that follows the run to sign off (in AWX, the workflow's next approval node).",
            )
    with conn.transaction():
        conn.execute(
            "UPDATE migration.phase_gates SET signed_off_by = %s, signed_off_at = now(), signoff_kind = 'operator' "
            "WHERE id = %s",
            [signoff_by, gate["id"]],
        )
    return latest(conn, phase), True


def void_from(conn: psycopg.Connection, phase: int, run_id: str, reason: str) -> list[int]:
    """After an emergency rollback: every phase from `phase` on whose latest gate passed gets a
    new gate that did not pass, so it has to be run again before the phase after it can start.
    Returns the phases voided (the old gates stay, as history)."""
    voided = []
    for later in range(max(phase, 1), 6):
        gate = latest(conn, later)
        if gate and gate["passed"]:
            record(
                conn,
                "",
                later,
                run_id,
                [{"name": reason, "passed": False, "detail": f"run {run_id}"}],
                {},
                None,
                None,
                False,
            )
            voided.append(later)
    return voided
