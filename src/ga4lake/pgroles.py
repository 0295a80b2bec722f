"""The stack's PostgreSQL roles besides its superuser, and exactly what each may do.

* ``ga4lake_reader`` — dashboards (Superset) and analysts: SELECT on the gold tables and (granted by dbt's
  on-run-end) the insight models. Not the bookkeeping (``_sync_state``) nor the parity history.
* ``ga4lake_trino`` — Trino's ``postgresql`` catalog, i.e. the federated parity query: SELECT on the gold
  tables, SELECT and INSERT on ``parity_results``. Never the superuser: that would bypass every grant.

Only these two roles (and the superuser) may connect to the gold database; nobody but the superuser to
the other databases (Nessie, Airflow, Superset metadata). The superuser owns everything and runs the
sync, dbt and the services. Names are constants or pass :func:`ga4lake.sqlident.check_identifier`.
"""

from __future__ import annotations

from collections.abc import Iterable

from ga4lake.config import load_env
from ga4lake.sqlident import check_identifier

READER_ROLE = "ga4lake_reader"
TRINO_ROLE = "ga4lake_trino"
SYNC_STATE_TABLE = "_sync_state"
PARITY_TABLE = "parity_results"
ANY_TABLE_RIGHT = "SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER"
# role -> the configuration key of its password (config/defaults.env)
PASSWORD_KEYS = {READER_ROLE: "GA4LAKE_PG_READER_PASSWORD", TRINO_ROLE: "GA4LAKE_PG_TRINO_PASSWORD"}


def role_password(role: str, env: dict[str, str] | None = None) -> str:
    key = PASSWORD_KEYS[role]
    password = (env if env is not None else load_env()).get(key, "")
    if not password:
        raise ValueError(f"{key} is empty: the {role} role needs a password (config/defaults.env or .env)")
    return password


def ensure_roles(cur, *, set_passwords: bool = False) -> None:
    """Create the login roles if missing (no superuser, no CREATEDB/CREATEROLE, no inherited rights);
    ``set_passwords``: also bring existing roles' passwords in line with the configuration."""
    for role in PASSWORD_KEYS:
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
        if cur.fetchone() is None:
            cur.execute(
                f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD %s",
                (role_password(role),),
            )
        elif set_passwords:
            cur.execute(f"ALTER ROLE {role} WITH LOGIN PASSWORD %s", (role_password(role),))


def lock_databases(cur, gold_db: str, others: Iterable[str]) -> None:
    """CONNECT (and TEMP) only for whom needs it: the two roles on the gold database, nobody else."""
    for db in (gold_db, *others):
        cur.execute(f'REVOKE CONNECT, TEMPORARY ON DATABASE "{check_identifier(db, "database")}" FROM PUBLIC')
    grant_connect(cur, gold_db)


def grant_connect(cur, gold_db: str) -> None:
    db = check_identifier(gold_db, "GA4LAKE_PG_GOLD_DB")
    for role in PASSWORD_KEYS:
        cur.execute("SELECT has_database_privilege(%s, %s, 'CONNECT')", (role, db))
        if not cur.fetchone()[0]:  # grant only when missing: concurrent syncs would collide on the ACL
            cur.execute(f'GRANT CONNECT ON DATABASE "{db}" TO {role}')


def grant_schema(
    cur, schema: str, tables: Iterable[str], roles: tuple[str, ...] = (READER_ROLE, TRINO_ROLE)
) -> None:
    """USAGE on the gold schema for ``roles``, SELECT on its gold ``tables`` that exist, INSERT into the
    parity history for Trino; the bookkeeping tables stay the superuser's (earlier versions granted the
    reader every table of the schema, present and future: that is taken back here)."""
    schema = check_identifier(schema, "gold schema")
    cur.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (schema,))
    if cur.fetchone() is None:
        return  # nothing to grant on (parity over a schema that was never synced reports that itself)
    who = ", ".join(roles)
    for role in roles:
        cur.execute("SELECT has_schema_privilege(%s, %s, 'USAGE')", (role, schema))
        if not cur.fetchone()[0]:  # ACLs are rewritten only when something changes (concurrent syncs)
            cur.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
    cur.execute(
        "SELECT 1 FROM pg_default_acl d JOIN pg_namespace n ON n.oid = d.defaclnamespace WHERE n.nspname = %s",
        (schema,),
    )
    if cur.fetchone() is not None:
        cur.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} REVOKE ALL ON TABLES FROM {who}")
    cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,))
    existing = {r[0] for r in cur.fetchall()}
    for table in sorted(existing & set(tables)):
        grant_table(cur, schema, table, roles)
    for table in sorted(existing & {SYNC_STATE_TABLE, PARITY_TABLE}):
        for role in roles:
            if table == PARITY_TABLE and role == TRINO_ROLE:
                continue
            cur.execute(
                "SELECT has_table_privilege(%s, %s, %s)", (role, f"{schema}.{table}", ANY_TABLE_RIGHT)
            )
            if cur.fetchone()[0]:
                cur.execute(f"REVOKE ALL ON {schema}.{table} FROM {role}")
    if PARITY_TABLE in existing and TRINO_ROLE in roles:
        grant_parity_results(cur, schema)


def grant_table(cur, schema: str, table: str, roles: tuple[str, ...] = (READER_ROLE, TRINO_ROLE)) -> None:
    """A gold table: readable by the dashboards and by Trino, writable by neither."""
    target = f"{check_identifier(schema)}.{check_identifier(table)}"
    for role in roles:
        cur.execute("SELECT has_table_privilege(%s, %s, 'SELECT')", (role, target))
        if not cur.fetchone()[0]:
            cur.execute(f"GRANT SELECT ON {target} TO {role}")


def grant_parity_results(cur, schema: str) -> None:
    """Trino may append to and read the parity history; not change or delete it."""
    target = f"{check_identifier(schema)}.{PARITY_TABLE}"
    cur.execute(
        "SELECT has_table_privilege(%s, %s, 'UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER')",
        (TRINO_ROLE, target),
    )
    if cur.fetchone()[0]:
        cur.execute(f"REVOKE ALL ON {target} FROM {TRINO_ROLE}")
    cur.execute(
        "SELECT has_table_privilege(%s, %s, 'SELECT') AND has_table_privilege(%s, %s, 'INSERT')",
        (TRINO_ROLE, target, TRINO_ROLE, target),
    )
    if not cur.fetchone()[0]:
        cur.execute(f"GRANT SELECT, INSERT ON {target} TO {TRINO_ROLE}")
