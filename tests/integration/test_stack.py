"""Lifecycle of the native stack: health, idempotent up, persistence, clear failures (loopback binding and
the other least-privilege checks: test_security.py)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid

import psycopg2
import pytest

from ga4lake.clients.nessie import NessieClient
from ga4lake.clients.s3 import s3_client
from ga4lake.config import load_settings
from ga4lake.errors import StackError
from ga4lake.stack import manager
from ga4lake.stack.services import CORE_SERVICES, build_services

pytestmark = pytest.mark.integration


def _s3(settings):
    return s3_client(settings)


def test_status_reports_every_core_service_healthy(stack):
    rows = {r["service"]: r for r in manager.status_rows(stack)}
    for name in CORE_SERVICES:
        if name == "s3" and stack.s3_kind == "external":
            continue
        assert rows[name]["health"] == "healthy", rows[name]
        assert int(rows[name]["rss_mb"]) > 0
    res = subprocess.run(
        [sys.executable, "-m", "ga4lake.cli", "stack", "status"], capture_output=True, text=True
    )
    assert res.returncode == 0 and "total RSS" in res.stdout


def test_up_on_a_running_stack_is_a_noop(stack):
    pids = {s.name: s.pid() for s in build_services(stack)}
    t0 = time.monotonic()
    timings = manager.up(stack)
    assert time.monotonic() - t0 < 15
    assert {s.name: s.pid() for s in build_services(stack)} == pids
    assert set(timings) == set(pids)


def test_down_then_up_keeps_postgres_s3_and_nessie_data(stack):
    marker = uuid.uuid4().hex[:10]
    # write one thing into each store
    conn = psycopg2.connect(stack.pg_dsn())
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS public.persistence_check (marker text primary key)")
        cur.execute("INSERT INTO public.persistence_check VALUES (%s)", (marker,))
    conn.close()
    _s3(stack).put_object(Bucket=stack.s3_bucket, Key=f"tests/persistence/{marker}.txt", Body=marker.encode())
    nessie = NessieClient(stack.nessie_api)
    nessie.create_branch(f"persist_{marker}")

    manager.down(stack)
    assert all(s.pid() is None for s in build_services(stack, with_spark=True))
    manager.up(stack)

    conn = psycopg2.connect(stack.pg_dsn())
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM public.persistence_check WHERE marker = %s", (marker,))
        assert cur.fetchone()[0] == 1
    conn.close()
    body = _s3(stack).get_object(Bucket=stack.s3_bucket, Key=f"tests/persistence/{marker}.txt")["Body"].read()
    assert body == marker.encode()
    assert nessie.has_reference(f"persist_{marker}")
    nessie.delete_branch(f"persist_{marker}")


def test_port_already_taken_names_service_port_and_log(stack, tmp_path):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        settings = load_settings(
            {
                "GA4LAKE_STATE_DIR": str(tmp_path),
                "GA4LAKE_PG_PORT": str(port),
                "GA4LAKE_PG_DATA": str(tmp_path / "pg"),
            }
        )
        pg = next(s for s in build_services(settings) if s.name == "postgres")
        t0 = time.monotonic()
        with pytest.raises(StackError) as err:
            pg.start(progress=lambda _m: None)
        assert time.monotonic() - t0 < settings.start_timeout
    msg = str(err.value)
    assert "postgres" in msg and str(port) in msg and str(tmp_path / "logs" / "postgres.log") in msg


def test_sql_cli_prints_table_csv_and_json(stack):
    def run(*args):
        res = subprocess.run(
            [sys.executable, "-m", "ga4lake.cli", "sql", *args], capture_output=True, text=True
        )
        assert res.returncode == 0, res.stderr
        return res.stdout

    assert "(1 row)" in run("SELECT 42 AS answer")
    assert run("SELECT 42 AS answer", "--format", "csv").splitlines() == ["answer", "42"]
    assert '"answer": 42' in run("SELECT 42 AS answer", "--format", "json")
    assert "bronze" in run("SHOW SCHEMAS", "--format", "csv")


def test_sql_cli_fails_clearly_on_bad_query(stack):
    res = subprocess.run(
        [sys.executable, "-m", "ga4lake.cli", "sql", "SELECT * FROM silver.no_such_table"],
        capture_output=True,
        text=True,
    )
    assert res.returncode != 0
    assert "no_such_table" in res.stderr
