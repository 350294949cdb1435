"""The SQL of the data migrations: how candidates are classified, and how each migration's rows
are written into its target table, linked to the legacy row (and role) they came from, brought up
to date, and removed.

A data migration's candidates are one row per (legacy row, role), already cleaned, with the
target's FIELDS, `has_data` and `problem`. The engine classifies each candidate, set-based:
  excluded     has_data is not true (an empty person slot): nothing to migrate;
  quarantined  problem says why it cannot enter the new design (no usable name, its parent
               record is not there): kept in migration.quarantine with the reason and the row;
  migrated     a row of the target table, linked to its legacy row.
so that migrated + quarantined + excluded = candidates, at every checkpoint.

Two kinds of link, one shape: a person is linked through core.person_legacy_links (one legacy
row names several people, by role); a record (a memorial application, a chapel service, a
payment) carries its link itself (legacy_table, legacy_id, data_migration; role 'record', or
the role it keeps itself where one legacy row is the source of several records: ROLE_COLUMNS).
Every statement reads links through Target.links, the same relation for both.
"""

from __future__ import annotations

from types import ModuleType

from psycopg import sql

# Targets linked through a table of their own: target -> (link table, its column of the target's id).
LINK_TABLES = {"core.persons": ("core.person_legacy_links", "person_id")}

# Record targets one legacy row can be the source of several rows of, one per item (its role):
# target -> the column that keeps the role. A Notion chapel page asks for each item of equipment
# in a property of its own (0036); a row of the legacy equipment table is one item (role 'record').
ROLE_COLUMNS = {"events.service_equipment": "legacy_role"}

# Written besides the fields, on insert and on update (the persons' own provenance columns).
INSERT_EXTRAS = {"core.persons": {"migration_source": "%(legacy_table)s", "migration_date": "now()"}}
UPDATE_EXTRAS = {"core.persons": "updated_at = now(), migration_date = now()"}


class Target:
    """Where one data migration's rows go, and how they are linked to the legacy rows."""

    def __init__(self, migration: ModuleType):
        self.table = migration.TARGET
        self.fields = tuple(migration.FIELDS)
        self.link_table, self.link_column = LINK_TABLES.get(self.table, (None, None))
        self.role_column = ROLE_COLUMNS.get(self.table)

    @property
    def links(self) -> sql.Composable:
        """(target_id, legacy_table, legacy_id, role, data_migration) of every linked row."""
        if self.link_table:
            return sql.SQL("(SELECT {} AS target_id, legacy_table, legacy_id, role, data_migration FROM {})").format(
                sql.Identifier(self.link_column), sql.SQL(self.link_table)
            )
        role = sql.Identifier(self.role_column) if self.role_column else sql.SQL("'record'::text")
        return sql.SQL(
            "(SELECT id AS target_id, legacy_table, legacy_id, {} AS role, data_migration "
            "FROM {} WHERE legacy_id IS NOT NULL)"
        ).format(role, sql.SQL(self.table))

    def _fields(self, alias: str = "") -> sql.Composable:
        return sql.SQL(", ").join(sql.Identifier(alias, f) if alias else sql.Identifier(f) for f in self.fields)

    @property
    def write(self) -> sql.Composable:
        """The CTEs `written` (target rows) and `linked` (their links) of the candidates in `numbered`."""
        extras = INSERT_EXTRAS.get(self.table, {})
        if self.link_table:
            columns = sql.SQL(", ").join([self._fields(), *map(sql.Identifier, extras)])
            values = sql.SQL(", ").join([self._fields(), *map(sql.SQL, extras.values())])
            linked = sql.SQL(
                "linked AS (INSERT INTO {} ({}, legacy_table, legacy_id, role, data_migration) "
                "SELECT target_id, %(legacy_table)s, legacy_id, role, %(name)s FROM numbered RETURNING 1)"
            ).format(sql.SQL(self.link_table), sql.Identifier(self.link_column))
        else:
            columns = sql.SQL("{}, legacy_table, legacy_id, data_migration").format(self._fields())
            values = sql.SQL("{}, %(legacy_table)s, legacy_id, %(name)s").format(self._fields())
            if self.role_column:
                columns = sql.SQL("{}, {}").format(columns, sql.Identifier(self.role_column))
                values = sql.SQL("{}, role").format(values)
            linked = sql.SQL("linked AS (SELECT 1 FROM written)")  # a record is its own link
        return sql.SQL(
            "written AS (INSERT INTO {} (id, {}) OVERRIDING SYSTEM VALUE "
            "SELECT target_id, {} FROM numbered RETURNING 1),\n{}"
        ).format(sql.SQL(self.table), columns, values, linked)

    @property
    def sequence(self) -> sql.Composable:
        """The target's id sequence, looked up once per statement (an InitPlan): per row it cost as
        much as inserting the row."""
        return sql.SQL("(SELECT pg_catalog.pg_get_serial_sequence({}, 'id')::regclass)").format(sql.Literal(self.table))

    @property
    def changed(self) -> sql.Composable:
        """True where the target row p differs from its candidate cls."""
        return sql.SQL("({}) IS DISTINCT FROM ({})").format(self._fields("p"), self._fields("cls"))

    @property
    def assign(self) -> sql.Composable:
        touch = UPDATE_EXTRAS.get(self.table, "updated_at = now()")
        return sql.SQL(", ").join(
            [
                *(sql.SQL("{} = cls.{}").format(sql.Identifier(f), sql.Identifier(f)) for f in self.fields),
                sql.SQL(touch),
            ]
        )

    def as_text(self, alias: str, types: dict[str, str] | None = None) -> sql.Composable:
        """The fields of alias as one comparable list, each cast to the target column's type so that
        a candidate and its target row print alike (numeric(10,2) shows 150.00 either way)."""
        return sql.SQL(", ").join(
            sql.SQL("CAST({} AS {})").format(sql.Identifier(alias, f), sql.SQL(types[f]))
            if types
            else sql.Identifier(alias, f)
            for f in self.fields
        )


def column_types(conn, table: str) -> dict[str, str]:
    """The target table's columns and their types, from the catalog."""
    return dict(
        conn.execute(
            "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a "
            "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
            [table],
        ).fetchall()
    )


# The one definition of each candidate's outcome (used by batches, resyncs, dry runs, validation).
CLASSIFIED = """
cand AS ({candidates}),
cls AS (
    SELECT c.*,
           CASE WHEN c.has_data IS NOT TRUE THEN 'excluded'
                WHEN c.problem IS NOT NULL THEN 'quarantined'
                ELSE 'migrated' END AS outcome,
           CASE WHEN c.has_data IS TRUE THEN c.problem END AS reason
      FROM cand c
     WHERE %(ids)s::bigint[] IS NULL OR c.legacy_id = ANY(%(ids)s::bigint[])
)"""

# PostgreSQL caches the candidates' cleaning per distinct raw values (Memoize); hashing those
# keys costs more than the cleaning they save: a batch runs about 5% faster without it.
BATCH_PLANNER_SETTING = "SET LOCAL enable_memoize = off"

QUARANTINE = """
quarantine AS (
    INSERT INTO migration.quarantine AS q (data_migration, legacy_table, legacy_id, role, reason, legacy_row)
    SELECT %(name)s, %(legacy_table)s, legacy_id, role, reason,
           (SELECT to_jsonb(t) FROM {legacy} t WHERE t.{key} = cls.legacy_id)  -- only for the few quarantined
      FROM cls WHERE outcome = 'quarantined'
    -- already quarantined (a resync, or the dual-write manager): kept as is unless the row changed
    ON CONFLICT ON CONSTRAINT quarantine_once DO UPDATE SET reason = EXCLUDED.reason, legacy_row = EXCLUDED.legacy_row
     WHERE (q.reason, q.legacy_row) IS DISTINCT FROM (EXCLUDED.reason, EXCLUDED.legacy_row)
    RETURNING 1
)"""

CLASSIFY_AND_WRITE = (
    "WITH "
    + CLASSIFIED
    + """,
numbered AS (
    SELECT cls.*, nextval({sequence}) AS target_id
      FROM cls
     WHERE outcome = 'migrated'
       -- already written by the dual-write manager: counted as migrated, not written twice
       -- (looked up only when the batch's key range has links at all: usually it has none)
       AND (NOT %(range_has_links)s OR NOT EXISTS (
               SELECT 1 FROM {links} l
                WHERE l.legacy_table = %(legacy_table)s AND l.legacy_id = cls.legacy_id AND l.role = cls.role))
),
{write},"""
    + QUARANTINE
    + """
SELECT count(*),
       count(*) FILTER (WHERE outcome = 'migrated'),
       count(*) FILTER (WHERE outcome = 'quarantined'),
       count(*) FILTER (WHERE outcome = 'excluded'),
       (SELECT count(*) FROM written) - (SELECT count(*) FROM linked),
       coalesce(sum(hashtext(legacy_id::text || role)) FILTER (WHERE outcome = 'migrated'), 0),
       -- the rows this statement saw: a row the application deleted since its key was read is not one
       count(DISTINCT legacy_id)
  FROM cls
"""
)

RANGE_HAS_LINKS = """
SELECT EXISTS (SELECT 1 FROM {links} l WHERE l.legacy_table = %s AND l.legacy_id > %s AND l.legacy_id <= %s)
"""

QUARANTINE_WHOLE_ROW = """
INSERT INTO migration.quarantine (data_migration, legacy_table, legacy_id, role, reason, legacy_row)
SELECT %s, %s, t.{key}, 'row', %s, to_jsonb(t) FROM {legacy} t WHERE t.{key} = %s RETURNING 1
"""

DRY_RUN = (
    "WITH "
    + CLASSIFIED
    + """
SELECT outcome || coalesce(': ' || reason, ''), role, count(*), (array_agg(legacy_id ORDER BY legacy_id))[1:5]
  FROM cls GROUP BY 1, 2 ORDER BY 1, 2"""
)

# A legacy row that changed after it was migrated: its target rows are brought up to date in place
# (ids stay stable), removed when their candidate is no longer migrated, or created when it now is.
RESYNC = (
    "WITH "
    + CLASSIFIED
    + """,
old AS (
    SELECT l.target_id, l.legacy_id, l.role FROM {links} l
     WHERE l.legacy_table = %(legacy_table)s AND l.data_migration = %(name)s AND l.legacy_id = ANY(%(ids)s::bigint[])
),
updated AS (
    UPDATE {target} p SET {assign}
      FROM old JOIN cls ON cls.legacy_id = old.legacy_id AND cls.role = old.role
     WHERE p.id = old.target_id AND cls.outcome = 'migrated'
       -- unchanged rows are not rewritten: a row seen again within the sync's margin changes nothing
       AND {changed}
    RETURNING 1
),
unquarantined AS (
    -- quarantine entries of these rows that no longer apply (a reason that changed is updated in place)
    DELETE FROM migration.quarantine q
     WHERE q.data_migration = %(name)s AND q.legacy_table = %(legacy_table)s AND q.legacy_id = ANY(%(ids)s::bigint[])
       AND NOT EXISTS (SELECT 1 FROM cls WHERE cls.legacy_id = q.legacy_id AND cls.role = q.role
                                           AND cls.outcome = 'quarantined')
    RETURNING 1
),
removed AS (
    DELETE FROM {target} p
     USING old LEFT JOIN cls ON cls.legacy_id = old.legacy_id AND cls.role = old.role
     WHERE p.id = old.target_id AND coalesce(cls.outcome, 'excluded') <> 'migrated'
    RETURNING 1
),
numbered AS (
    SELECT cls.*, nextval({sequence}) AS target_id
      FROM cls
     WHERE outcome = 'migrated'
       AND NOT EXISTS (SELECT 1 FROM old WHERE old.legacy_id = cls.legacy_id AND old.role = cls.role)
),
{write},"""
    + QUARANTINE
    + """
SELECT (SELECT count(DISTINCT legacy_id) FROM cls), (SELECT count(*) FROM updated),
       (SELECT count(*) FROM removed), (SELECT count(*) FROM written),
       (SELECT count(*) FROM quarantine) + (SELECT count(*) FROM unquarantined)"""
)

# Everything the migration wrote: its target rows (a person's links go with it) and its quarantine.
REVERSE = """
DELETE FROM {target} p USING {links} l WHERE l.target_id = p.id AND l.data_migration = %s
"""

# Legacy rows the application deleted: their target rows and quarantine entries go too.
REMOVE_DELETED = """
WITH gone_rows AS (
    DELETE FROM {target} p USING {links} l
     WHERE l.target_id = p.id AND l.legacy_table = %(legacy_table)s AND l.data_migration = %(name)s
       AND NOT EXISTS (SELECT 1 FROM {legacy} t WHERE t.{key} = l.legacy_id)
    RETURNING 1
), gone_quarantine AS (
    DELETE FROM migration.quarantine q
     WHERE q.data_migration = %(name)s AND NOT EXISTS (SELECT 1 FROM {legacy} t WHERE t.{key} = q.legacy_id)
    RETURNING 1
)
SELECT (SELECT count(*) FROM gone_rows), (SELECT count(*) FROM gone_quarantine)
"""

# The links of this migration up to the checkpoint (recounts and validation).
LINKS_UP_TO = """
SELECT count(*) FROM {links} l
 WHERE l.legacy_table = %(legacy_table)s AND l.data_migration = %(name)s AND l.legacy_id <= c.last_key
"""


def statement(template: str, cand: sql.Composable, migration: ModuleType) -> sql.Composed:
    """One of the statements above, completed for this migration."""
    target = Target(migration)
    return sql.SQL(template).format(
        candidates=cand,
        legacy=sql.SQL(migration.LEGACY_TABLE),
        key=sql.Identifier(migration.KEY),
        target=sql.SQL(target.table),
        links=target.links,
        write=target.write,
        sequence=target.sequence,
        assign=target.assign,
        changed=target.changed,
    )
