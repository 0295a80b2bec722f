"""Integration tests run against the real native stack, which this fixture starts (idempotently).

If a service cannot start, the session fails loudly with the service, port and log file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import uuid
from collections.abc import Iterator

import pytest

from ga4lake.config import Settings, load_settings
from ga4lake.lake.nessie import NessieClient
from ga4lake.stack import manager

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings()


@pytest.fixture(scope="session")
def stack(settings: Settings) -> Settings:
    manager.up(settings)
    return settings


@pytest.fixture(scope="session")
def nessie(stack: Settings) -> NessieClient:
    return NessieClient(stack.nessie_api)


@pytest.fixture(scope="session")
def spark(stack: Settings):
    from ga4lake.lake.spark import get_spark

    os.environ.setdefault("GA4LAKE_SPARK_LOG_LEVEL", "ERROR")
    session = get_spark(stack, app_name="ga4lake-tests")
    yield session
    session.stop()


@contextlib.contextmanager
def isolated_lake(stack: Settings, nessie: NessieClient, name: str) -> Iterator[Settings]:
    """Settings whose loads publish to a new, empty Nessie branch ``itest_<name>_<tag>`` and whose gold syncs
    into a throw-away PostgreSQL schema; both are dropped afterwards."""
    from ga4lake.lake.nessie import NO_ANCESTOR

    tag = uuid.uuid4().hex[:8]
    branch = f"itest_{name}_{tag}"
    nessie.create_branch(branch, "main", NO_ANCESTOR)
    nessie.ensure_namespaces(("bronze", "silver", "gold"), branch)
    settings = dataclasses.replace(stack, lake_branch=branch, pg_gold_schema=f"itest_gold_{tag}")
    yield settings
    if nessie.has_reference(branch):
        nessie.delete_branch(branch)
    import psycopg2

    conn = psycopg2.connect(stack.pg_dsn())
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {settings.pg_gold_schema} CASCADE")
    conn.close()


@pytest.fixture(scope="module")
def lake(stack: Settings, nessie: NessieClient, spark, request):
    """An isolated lake for one test module: loads publish to a new, empty Nessie branch and gold syncs
    into a throw-away Postgres schema, so tests neither see nor disturb main or the `gold` schema."""
    with isolated_lake(stack, nessie, request.module.__name__.rsplit(".", 1)[-1]) as settings:
        yield settings


@pytest.fixture(scope="session")
def demo_gold(stack: Settings, tmp_path_factory) -> Settings:
    """The stack's main lake and PostgreSQL `gold` as `make demo` leaves them — what the dashboard and
    `ga4lake report` read. On an empty stack (a CI machine) five weeks of small sample data are loaded into
    main first; a stack that already holds data (a developer's demo) is used as it is."""
    import psycopg2

    try:
        conn = psycopg2.connect(stack.pg_dsn())
        with conn, conn.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM {stack.pg_gold_schema}.fact_sessions")
            sessions = cur.fetchone()[0]
        conn.close()
    except psycopg2.Error:
        sessions = 0
    if not sessions:
        from ga4lake.lake import load
        from ga4lake.sample.cli import main as sample_main

        out = tmp_path_factory.mktemp("demo_gold")
        assert (
            sample_main(["--start", "2020-12-01", "--days", "38", "--scale", "0.05", "--out", str(out)]) == 0
        )
        assert load.ingest(stack, str(out)).status == "published"
    return stack
