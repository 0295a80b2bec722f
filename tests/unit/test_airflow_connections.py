"""The stack's services as Airflow Connections: built right from Settings, resolved by Airflow the way a
task resolves them, and used by the DAGs' Trino hook and Cosmos profile (no services needed).

The round trip runs inside the Airflow virtualenv (``airflow_conn_probe.py``): ``AIRFLOW_CONN_*`` JSON ->
Airflow's connection lookup -> the provider hook's trino connection (opens no socket until a query) and
Cosmos' dbt profile.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ga4lake.clients.secrets import trino_password
from ga4lake.config import load_settings
from ga4lake.stack.airflow import (
    POSTGRES_CONN_ID,
    S3_CONN_ID,
    TRINO_CONN_ID,
    airflow_env,
    conn_env_name,
    connection_env,
    connections,
)
from tests.unit.airflow_venv import run_probe

PROBE = Path(__file__).with_name("airflow_conn_probe.py")


def test_env_names_are_airflows():
    assert conn_env_name("ga4lake_trino") == "AIRFLOW_CONN_GA4LAKE_TRINO"
    assert set(connection_env(load_settings())) == {
        "AIRFLOW_CONN_GA4LAKE_POSTGRES",
        "AIRFLOW_CONN_GA4LAKE_TRINO",
        "AIRFLOW_CONN_GA4LAKE_S3",
    }


def test_connections_come_from_settings_and_generated_secrets():
    s = load_settings()
    conns = connections(s)
    pg, trino, s3 = conns[POSTGRES_CONN_ID], conns[TRINO_CONN_ID], conns[S3_CONN_ID]
    assert (pg["conn_type"], pg["host"], pg["port"], pg["login"], pg["schema"]) == (
        "postgres",
        s.pg_host,
        s.ports.postgres,
        s.pg_user,
        s.pg_gold_db,
    )
    assert pg["password"] == s.pg_password
    assert (trino["conn_type"], trino["host"], trino["port"], trino["login"]) == (
        "trino",
        "127.0.0.1",
        s.ports.trino,
        s.trino_user,
    )
    assert trino["password"] == trino_password(s) and trino["password"]
    assert trino["extra"] == {"catalog": "iceberg", "protocol": "http"}
    assert (s3["conn_type"], s3["login"], s3["password"]) == ("aws", s.s3_access_key, s.s3_secret_key)
    assert s3["extra"]["endpoint_url"] == s.s3_endpoint and s3["extra"]["region_name"] == s.s3_region


def test_airflow_env_carries_the_connections_as_json():
    s = load_settings()
    env = airflow_env(s)
    for conn_id, conn in connections(s).items():
        assert json.loads(env[conn_env_name(conn_id)]) == conn


@pytest.fixture(scope="module")
def resolved(tmp_path_factory) -> dict:
    return run_probe(PROBE, tmp_path_factory.mktemp("conns"))


def test_airflow_resolves_each_connection_as_defined(resolved):
    s = load_settings()
    for conn_id, conn in connections(s).items():
        got = resolved["connections"][conn_id]
        for field in ("conn_type", "host", "port", "login", "password", "schema"):
            assert got[field] == conn.get(field), (conn_id, field)
        assert got["extra"] == conn.get("extra", {})
        # Airflow's secrets masker learned each password on lookup: task logs show *** instead. (When one
        # dev-default secret contains another, e.g. the S3 key "…-secret" and a shorter password, the
        # masker may hide the shorter match first and leave "***-secret": the secret itself never shows.)
        logged = got["password_logged_as"]
        assert logged.startswith("password=***") and conn["password"] not in logged, (conn_id, logged)


def test_trino_hook_connects_like_the_stack_clients(resolved):
    s = load_settings()
    t = resolved["trino"]
    assert (t["host"], t["port"], t["user"], t["catalog"]) == (
        "127.0.0.1",
        s.ports.trino,
        s.trino_user,
        "iceberg",
    )
    # password over the loopback "proxy": basic auth, and the header that makes Trino accept it
    assert t["auth"] == "BasicAuthentication" and t["forwarded_proto"] == "https"
    assert t["http_scheme"] == "http"
    assert t["source"] == "airflow"
    assert t["connector_catalog"] == "system"  # what parity asks for to create a branch's catalog


def test_cosmos_profile_comes_from_the_postgres_connection(resolved):
    s = load_settings()
    p = resolved["dbt_profile"]
    assert p["conn_id"] == POSTGRES_CONN_ID
    prof = p["profile"]
    assert (prof["type"], prof["host"], prof["port"], prof["user"], prof["dbname"]) == (
        "postgres",
        s.pg_host,
        s.ports.postgres,
        s.pg_user,
        s.pg_gold_db,
    )
    # the password is handed to dbt as an environment variable, never written into the profile
    assert s.pg_password not in json.dumps(prof) and "env_var(" in prof["password"]
    assert p["password_in_env"] == [s.pg_password]
    assert prof["schema"] == "{{ env_var('GA4LAKE_PG_INSIGHTS_SCHEMA') }}"


def test_dbt_task_env_in_xcom_holds_schemas_not_the_connection(resolved):
    s = load_settings()
    env = resolved["dbt_task_env"]
    assert env["GA4LAKE_PG_GOLD_SCHEMA"] == "gold_probe"
    assert env["GA4LAKE_PG_INSIGHTS_SCHEMA"] == "gold_probe_insights"
    assert not {"GA4LAKE_PG_PASSWORD", "GA4LAKE_PG_USER", "GA4LAKE_PG_HOST"} & set(env)
    assert s.pg_password not in json.dumps(env)


def test_a_secrets_backend_replaces_the_stacks_connection(tmp_path):
    """Airflow asks a configured secrets backend before the AIRFLOW_CONN_* variables: the same id there
    wins, with no change to the stack or the DAGs (Airflow's built-in local-file backend stands in for
    Vault & co.; the lookup order is the same)."""
    conns = tmp_path / "connections.json"
    # a TLS Trino elsewhere: the provider's own connect, with the catalog parity asks for
    trino = {
        "conn_type": "trino",
        "host": "trino.internal",
        "port": 8443,
        "login": "svc",
        "password": "from-the-vault",
        "extra": {"protocol": "https", "catalog": "iceberg"},
    }
    conns.write_text(json.dumps({TRINO_CONN_ID: trino}))
    env = {
        "AIRFLOW__SECRETS__BACKEND": "airflow.secrets.local_filesystem.LocalFilesystemBackend",
        "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps({"connections_file_path": str(conns)}),
    }
    got = run_probe(PROBE, tmp_path, env)
    t = got["trino"]
    assert (t["host"], t["port"], t["user"], t["http_scheme"]) == ("trino.internal", 8443, "svc", "https")
    assert t["auth"] == "BasicAuthentication" and t["forwarded_proto"] is None  # no loopback "proxy" header
    assert t["catalog"] == "iceberg" and t["connector_catalog"] == "system"
    assert got["connections"][POSTGRES_CONN_ID]["host"] == load_settings().pg_host  # not in the file: env
