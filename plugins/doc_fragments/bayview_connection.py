"""The documentation shared by the Bay View runbook modules: the connection options."""


class ModuleDocFragment:
    """Connection options shared by every Bay View runbook module (see module_utils/bayview/db.py)."""

    DOCUMENTATION = r"""
options:
  connection:
    description:
      - How to reach the database target. Playbooks pass C(bayview_db_connection), built from
        C(bayview_db_host), C(bayview_db_port), C(bayview_db_name), C(bayview_db_user),
        C(bayview_db_password) and C(bayview_db_sslmode).
    type: dict
    required: true
    suboptions:
      host:
        description: Server host name or address.
        type: str
        required: true
      port:
        description: Server port.
        type: int
        default: 5432
      dbname:
        description: Database name.
        type: str
        required: true
      user:
        description: Role to connect as.
        type: str
        required: true
      password:
        description:
          - Password. Keep it in Ansible Vault; it is never logged. When omitted, libpq reads a
            password file (O(connection.passfile) or C(PGPASSFILE)).
        type: str
      sslmode:
        description: libpq sslmode (use C(verify-full) for managed production databases).
        type: str
        default: prefer
      passfile:
        description: Path of a libpq password file (mode 0600).
        type: path
  application_name:
    description: application_name of the session, so operators can see the runbook in pg_stat_activity.
    type: str
    default: bayview-runbook
  lock_timeout_ms:
    description: lock_timeout of the session; a migration that cannot get its locks in time is retried with backoff.
    type: int
    default: 500
  statement_timeout_s:
    description: statement_timeout of the session, in seconds.
    type: int
    default: 600
"""

    # The connection that creates, renames and drops databases (restore points): the same suboptions,
    # written out again because ansible-test reads fragments as plain string literals.
    ADMIN = r"""
options:
  admin_connection:
    description:
      - Connection used to create databases and swap them in (restore, drill), with the same suboptions
        as O(connection). Defaults to O(connection).
    type: dict
    suboptions:
      host:
        description: Server host name or address.
        type: str
        required: true
      port:
        description: Server port.
        type: int
        default: 5432
      dbname:
        description: Database name.
        type: str
        required: true
      user:
        description: Role to connect as.
        type: str
        required: true
      password:
        description:
          - Password. Keep it in Ansible Vault; it is never logged. When omitted, libpq reads a
            password file (O(connection.passfile) or C(PGPASSFILE)).
        type: str
      sslmode:
        description: libpq sslmode (use C(verify-full) for managed production databases).
        type: str
        default: prefer
      passfile:
        description: Path of a libpq password file (mode 0600).
        type: path
"""
