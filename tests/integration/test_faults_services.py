"""A service outage during a load: S3, then Nessie, then PostgreSQL is stopped while `ga4lake ingest` runs.

For each: the load fails clearly (one line naming the service that is down, exit code 4, no traceback),
the target branch is unchanged (nothing half-written is visible, PostgreSQL gold untouched), no load is
left open, and once the service is back a plain re-run publishes exactly what a clean load publishes
(every lake table and every PostgreSQL gold table, row counts equal).

The service is stopped through the stack manager (`ga4lake stack down --only NAME` does the same) when
the load's plan reaches its first phase (files landed, load branch created, bronze being written), and
ALWAYS started again in a ``finally`` (with every other service the stack runs: an Airflow scheduler
may exit while PostgreSQL is gone), so later tests see a healthy stack. Each test loads into a Nessie
branch and PostgreSQL schema of its own (never main or `gold`); the load runs as a separate `ga4lake`
process, as a user or an Airflow task runs it, so its exit code and stderr are what they would see.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest

from ga4lake.clients.nessie import NessieClient
from ga4lake.clients.spark import branch_catalog
from ga4lake.config import Settings
from ga4lake.errors import ExitCode
from ga4lake.gold.models import GOLD_TABLES
from ga4lake.lake.tables import BRONZE_EVENTS, LOAD_MANIFEST, QUARANTINE, SILVER_EVENTS
from ga4lake.load.plan import open_plans
from ga4lake.load.run import ingest
from ga4lake.sample.cli import main as sample_main
from ga4lake.stack import manager
from tests.integration.conftest import isolated_lake

pytestmark = pytest.mark.integration

LAKE_TABLES = (BRONZE_EVENTS, LOAD_MANIFEST, SILVER_EVENTS, QUARANTINE, *(f"gold.{n}" for n in GOLD_TABLES))
LOAD_TIMEOUT = 420  # s: a load that neither finishes nor fails by then hangs (the test fails)
# the load runs without the parity gate (it needs Trino; test_gold covers it): outages are what is tested
LOAD_ENV = {"GA4LAKE_PARITY_GATE": "0"}


def quiet(_msg: str) -> None:
    pass


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("outage") / "export"
    assert sample_main(["--start", "2020-11-01", "--days", "1", "--scale", "0.05", "--out", str(out)]) == 0
    return out


def lake_counts(spark, settings: Settings) -> dict[str, int]:
    cat = branch_catalog(spark, settings, settings.lake_branch)
    return {t: spark.table(f"{cat}.{t}").count() for t in LAKE_TABLES}


def pg_counts(settings: Settings) -> dict[str, int | None]:
    """Rows per gold table in the settings' PostgreSQL schema (None: the table does not exist)."""
    conn = psycopg2.connect(settings.pg_dsn())
    try:
        with conn.cursor() as cur:
            out: dict[str, int | None] = {}
            for name in GOLD_TABLES:
                cur.execute("SELECT to_regclass(%s)", (f'{settings.pg_gold_schema}."{name}"',))
                if cur.fetchone()[0] is None:
                    out[name] = None
                    continue
                cur.execute(f'SELECT count(*) FROM {settings.pg_gold_schema}."{name}"')
                out[name] = cur.fetchone()[0]
    finally:
        conn.close()
    return out


@pytest.fixture(scope="module")
def clean(lake: Settings, spark, data) -> dict[str, dict]:
    """What a clean load of the data publishes (the module's own branch and schema)."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in LOAD_ENV.items():
            mp.setenv(key, value)
        assert ingest(lake, str(data), progress=quiet).status == "published"
    counts = {"lake": lake_counts(spark, lake), "pg": pg_counts(lake)}
    gold = {t: n for t, n in counts["lake"].items() if t.startswith("gold.")}
    assert counts["lake"][BRONZE_EVENTS] > 0 and all(n > 0 for n in gold.values()), counts
    assert counts["pg"] == {t.removeprefix("gold."): n for t, n in gold.items()}, counts
    return counts


@pytest.fixture
def target(stack: Settings, nessie: NessieClient, request):
    """An empty branch and PostgreSQL schema for one outage test (its load must start from nothing)."""
    with isolated_lake(stack, nessie, f"faults_{request.node.callspec.id}") as settings:
        yield settings


def plans_of(settings: Settings) -> list[dict]:
    folder = settings.state_dir / "loads"
    out = []
    for p in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        with contextlib.suppress(OSError, ValueError):
            plan = json.loads(p.read_text())
            if plan.get("target") == settings.lake_branch:
                out.append(plan)
    return out


def run_load_with_outage(settings: Settings, data: Path, service: str) -> tuple[int, str, float]:
    """`ga4lake ingest` in its own process; ``service`` is stopped as soon as the load's plan exists
    (files landed, branch created). Returns exit code, stderr and the seconds the load ran after the stop.
    The service is started again (with the rest of the stack) whatever happens."""
    env = {
        **os.environ,
        **LOAD_ENV,
        "GA4LAKE_LAKE_BRANCH": settings.lake_branch,
        "GA4LAKE_PG_GOLD_SCHEMA": settings.pg_gold_schema,
    }
    cmd = [sys.executable, "-m", "ga4lake.cli", "ingest", "--from", str(data)]
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    stopped_at = None
    try:
        deadline = time.monotonic() + LOAD_TIMEOUT
        while proc.poll() is None and time.monotonic() < deadline:
            if stopped_at is None and plans_of(settings):
                manager.down(settings, progress=quiet, only=(service,))
                stopped_at = time.monotonic()
            time.sleep(0.1)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            _, err = proc.communicate()
            pytest.fail(
                f"the load hung: still running {LOAD_TIMEOUT}s after it started; stderr:\n{err[-3000:]}"
            )
        _, err = proc.communicate()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        manager.up(settings, progress=quiet)
    assert stopped_at is not None, f"the load ended before {service} could be stopped:\n{err[-3000:]}"
    return proc.returncode, err, time.monotonic() - stopped_at


@pytest.mark.parametrize("service", ["s3", "nessie", "postgres"])
def test_outage_fails_clearly_and_a_rerun_recovers(
    service: str, target: Settings, spark, data: Path, clean: dict, nessie: NessieClient
) -> None:
    t0 = time.monotonic()
    head = nessie.get_reference(target.lake_branch).hash
    rc, err, after_stop = run_load_with_outage(target, data, service)
    failed_in = time.monotonic() - t0

    # fails clearly: exit 4, one line naming the service that is down, no Python traceback
    errors = [line for line in err.splitlines() if line.startswith("ga4lake: error")]
    assert rc == ExitCode.SERVICE_DOWN, f"exit {rc}; stderr:\n{err[-3000:]}"
    assert "Traceback (most recent call last)" not in err, err[-3000:]
    assert len(errors) == 1 and errors[0].startswith(f"ga4lake: error: {service} is not answering"), err[
        -3000:
    ]
    assert err.rstrip().splitlines()[-1] == errors[0]

    # nothing changed where readers look: the target branch, PostgreSQL gold; no load left open
    assert nessie.get_reference(target.lake_branch).hash == head
    assert all(n in (None, 0) for n in pg_counts(target).values())
    plans = plans_of(target)
    assert [p["phase"] for p in plans] == ["failed"], plans
    assert open_plans(target) == []

    # the service is back: a plain re-run publishes exactly what a clean load publishes
    t1 = time.monotonic()
    with pytest.MonkeyPatch.context() as mp:
        for key, value in LOAD_ENV.items():
            mp.setenv(key, value)
        res = ingest(target, str(data), progress=quiet)
    assert res.status == "published" and res.main_before == head
    assert lake_counts(spark, target) == clean["lake"]
    assert pg_counts(target) == clean["pg"]
    print(
        f"\n{service} outage: load failed {after_stop:.1f}s after the stop ({failed_in:.1f}s with restart), "
        f"re-run {time.monotonic() - t1:.1f}s\n{errors[0]}"
    )


def test_the_stack_comes_back_by_itself_after_a_postgresql_restart(stack: Settings) -> None:
    """PostgreSQL restarted under a running stack (a minor-version upgrade, a host reboot of the database):
    every service that keeps state in it is healthy again without `stack up`. Airflow's scheduler and DAG
    processor exit when their database goes away; its supervisor restarts them, so Airflow — same
    process tree, no orphan on its ports — schedules again."""
    services = {s.name: s for s in manager.select(stack, ("postgres", "nessie", "airflow", "superset"))}
    airflow_leader = services["airflow"].pid()
    assert airflow_leader is not None and services["airflow"].healthy()
    try:
        manager.down(stack, progress=quiet, only=("postgres",))
        deadline = time.monotonic() + 60
        while services["airflow"].healthy() and time.monotonic() < deadline:
            time.sleep(1)
        assert not services["airflow"].healthy(), "Airflow still reports healthy without its database"
        time.sleep(10)  # long enough for the scheduler to notice and exit
        manager.up(stack, progress=quiet, only=("postgres",))
        t0 = time.monotonic()
        waiting = {n for n in services if services[n].pid() is not None}
        while waiting and time.monotonic() - t0 < 180:
            waiting = {n for n in waiting if not services[n].healthy()}
            time.sleep(2)
        assert not waiting, f"not healthy 180 s after PostgreSQL came back: {sorted(waiting)}"
        assert services["airflow"].pid() == airflow_leader and not services["airflow"].orphans()
        print(f"\nstack healthy {time.monotonic() - t0:.1f}s after PostgreSQL came back")
    finally:
        manager.up(stack, progress=quiet)
