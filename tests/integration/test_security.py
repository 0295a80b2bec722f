"""Least privilege on the running stack: loopback only, no secret on a command line, PostgreSQL roles that
can do exactly their job (docs/security.md)."""

from __future__ import annotations

import dataclasses
import stat
import uuid
from datetime import UTC, date, datetime

import psycopg2
import pytest

from ga4lake import pgroles
from ga4lake.clients import secrets as secretfiles
from ga4lake.config import load_env
from ga4lake.stack import airflow, superset
from ga4lake.stack.process import is_loopback, listening_sockets, tree_cmdlines
from ga4lake.stack.services import build_services, nessie_home

pytestmark = pytest.mark.integration


def _running(stack):
    services = build_services(stack)
    pids = {s.name: s.pid() for s in services}
    assert all(pids.values()), f"services not running: {[n for n, p in pids.items() if not p]}"
    return services, pids


def test_every_listening_socket_of_every_service_tree_is_loopback(stack):
    """Every socket any process of a service's tree listens on — declared or not — is on loopback, and
    every declared port is among them."""
    services, pids = _running(stack)
    for svc in services:
        found = listening_sockets(pids[svc.name])
        wide = [f"pid {pid} on {addr}:{port}" for pid, addr, port in found if not is_loopback(addr)]
        assert not wide, f"{svc.name} listens beyond loopback: {wide}"
        ports = {port for _, _, port in found}
        missing = {svc.port, *svc.extra_ports} - ports
        assert not missing, f"{svc.name}: declared port(s) {missing} not held by its process tree ({found})"
    if "airflow" in stack.ui_services:  # its log server is part of the port map and of its tree
        (af,) = [s for s in services if s.name == "airflow"]
        assert stack.ports.airflow_logs in af.extra_ports


def _secrets(stack) -> dict[str, str]:
    env = load_env()
    found = {
        "GA4LAKE_PG_PASSWORD": stack.pg_password,
        "GA4LAKE_S3_SECRET_KEY": stack.s3_secret_key,
        **{key: env.get(key, "") for key in pgroles.PASSWORD_KEYS.values()},
        "GA4LAKE_AIRFLOW_ADMIN_PASSWORD": env.get("GA4LAKE_AIRFLOW_ADMIN_PASSWORD", ""),
        "GA4LAKE_SUPERSET_ADMIN_PASSWORD": env.get("GA4LAKE_SUPERSET_ADMIN_PASSWORD", ""),
        "Trino password": secretfiles.trino_password(stack),
        "Trino shared secret": secretfiles.trino_shared_secret(stack),
    }
    if "superset" in stack.ui_services:
        found["superset secret key"] = superset.secret_key(stack)
    if "airflow" in stack.ui_services:
        for name in ("api_secret", "jwt_secret"):
            path = airflow.home(stack) / f".{name}"
            if path.exists():
                found[f"airflow {name}"] = path.read_text().strip()
    return {k: v for k, v in found.items() if v}


def test_no_process_of_the_stack_has_a_secret_on_its_command_line(stack):
    services, pids = _running(stack)
    secrets = _secrets(stack)
    assert {"GA4LAKE_PG_PASSWORD", "GA4LAKE_S3_SECRET_KEY", "GA4LAKE_PG_TRINO_PASSWORD"} <= set(secrets)
    leaks = []
    checked = 0
    for svc in services:
        for pid, cmdline in tree_cmdlines(pids[svc.name]).items():
            checked += 1
            leaks += [f"{svc.name} pid {pid}: {what}" for what, v in secrets.items() if v in cmdline]
    assert checked >= len(services)
    assert not leaks, f"secrets visible in /proc/<pid>/cmdline: {leaks}"


def test_files_that_hold_the_secrets_are_private(stack):
    private = [nessie_home(stack) / "config" / "application.properties"]
    if "spark-connect" in stack.ui_services:
        private.append(stack.state_dir / "spark" / "connect.properties")
    for path in private:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    catalog = stack.state_dir / "trino" / "etc" / "catalog"
    assert stat.S_IMODE(catalog.stat().st_mode) == 0o700
    text = (catalog / "postgresql.properties").read_text()
    assert f"connection-user={pgroles.TRINO_ROLE}" in text and stack.pg_password not in text


# ---- PostgreSQL roles -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def schema(stack):
    """A throw-away gold schema as the sync and a parity run leave it: one gold table with a row, the
    sync's bookkeeping and the parity history."""
    from ga4lake.gold import sync
    from ga4lake.validate import parity

    name = f"itest_sec_{uuid.uuid4().hex[:8]}"
    settings = dataclasses.replace(stack, pg_gold_schema=name)
    conn = psycopg2.connect(stack.pg_dsn())
    sync.ensure_schema(conn, settings)
    with conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {name}.fact_sessions (session_key text PRIMARY KEY, n bigint)")
        cur.execute(f"INSERT INTO {name}.fact_sessions VALUES ('a', 1), ('b', 2)")
        cur.execute(f"INSERT INTO {name}._sync_state VALUES ('fact_sessions', 'c0ffee', 2, now())")
    sync.ensure_schema(conn, settings)  # grants what exists, as the next sync would
    report = parity.ParityReport(
        run_id="itest",
        ran_at=datetime.now(UTC),
        start=date(2021, 1, 1),
        end=date(2021, 1, 1),
        threshold_pct=0.5,
        mode="federated",
    )
    parity.store_report(settings, report, name)
    yield settings
    with conn, conn.cursor() as cur:
        cur.execute(f"DROP SCHEMA {name} CASCADE")
    conn.close()


def _connect(stack, role: str, db: str | None = None):
    conn = psycopg2.connect(
        host=stack.pg_host,
        port=stack.ports.postgres,
        dbname=db or stack.pg_gold_db,
        user=role,
        password=pgroles.role_password(role),
    )
    conn.autocommit = True
    return conn


def _denied(cur, sql: str) -> None:
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        cur.execute(sql)


def _other_databases(stack) -> list[str]:
    env = load_env()
    return [
        stack.pg_nessie_db,
        env.get("GA4LAKE_PG_AIRFLOW_DB") or "airflow",
        env.get("GA4LAKE_PG_SUPERSET_DB") or "superset",
        "postgres",
    ]


@pytest.mark.parametrize("role", [pgroles.READER_ROLE, pgroles.TRINO_ROLE])
def test_roles_are_not_superusers_and_reach_no_other_database(stack, schema, role):
    conn = _connect(stack, role)
    with conn.cursor() as cur:
        cur.execute("SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user")
        assert cur.fetchone() == (False, False, False)
    conn.close()
    for db in _other_databases(stack):
        with pytest.raises(psycopg2.OperationalError, match="permission denied for database"):
            _connect(stack, role, db)


def test_trino_role_reads_gold_and_appends_parity_results_only(stack, schema):
    s = schema.pg_gold_schema
    conn = _connect(stack, pgroles.TRINO_ROLE)
    with conn.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {s}.fact_sessions")
        assert cur.fetchone()[0] == 2
        cur.execute(
            f"INSERT INTO {s}.parity_results (run_id, ran_at, model, gold_table, passed, threshold_pct, "
            "start_date, end_date) VALUES ('itest-trino', now(), 'm', 'fact_sessions', true, 0.5, "
            "'2021-01-01', '2021-01-01')"
        )
        cur.execute(f"SELECT count(*) FROM {s}.parity_results WHERE run_id = 'itest-trino'")
        assert cur.fetchone()[0] == 1
        _denied(cur, f"UPDATE {s}.parity_results SET passed = false")
        _denied(cur, f"DELETE FROM {s}.parity_results")
        _denied(cur, f"INSERT INTO {s}.fact_sessions VALUES ('x', 0)")
        _denied(cur, f"DELETE FROM {s}.fact_sessions")
        _denied(cur, f"SELECT * FROM {s}._sync_state")
        _denied(cur, f"CREATE TABLE {s}.sneaky (x int)")
        _denied(cur, f"DROP TABLE {s}.fact_sessions")
    conn.close()


def test_reader_reads_gold_not_bookkeeping_nor_parity_history(stack, schema):
    s = schema.pg_gold_schema
    conn = _connect(stack, pgroles.READER_ROLE)
    with conn.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {s}.fact_sessions")
        assert cur.fetchone()[0] == 2
        _denied(cur, f"SELECT * FROM {s}._sync_state")
        _denied(cur, f"SELECT * FROM {s}.parity_results")
        _denied(cur, f"INSERT INTO {s}.parity_results (run_id) VALUES ('x')")
        _denied(cur, f"DELETE FROM {s}.fact_sessions")
        _denied(cur, f"CREATE TABLE {s}.sneaky (x int)")
    conn.close()


def test_trinos_postgresql_catalog_has_the_trino_roles_rights_only(stack, schema):
    """Through Trino itself: gold is readable, the sync's bookkeeping is not (the superuser could)."""
    from ga4lake.clients.trino import run_sql

    s = schema.pg_gold_schema
    _, rows = run_sql(stack, f"SELECT count(*) FROM postgresql.{s}.fact_sessions")
    assert [tuple(r) for r in rows] == [(2,)]
    with pytest.raises(Exception, match="(?i)permission denied"):
        run_sql(stack, f"SELECT * FROM postgresql.{s}._sync_state")
