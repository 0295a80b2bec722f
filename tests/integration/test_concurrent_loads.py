"""Two loads of overlapping days at once: an Airflow backfill of D1..D3 through the stack's real Airflow and,
while its load is open, a CLI ``ga4lake ingest`` of D2..D4 (a subprocess, as a user runs it).

The lock discipline of docs/operations.md decides the outcome: the CLI waits for the open Airflow load
(without the load lock, so the Airflow steps can finish), then plans against main as that load left it —
D2 and D3 are already there with identical checksums, so it loads D4 alone. Both finish successfully; each
day is landed once, silver holds exactly the export's events per day, gold (dim_user and retention
included) equals a full rebuild from silver row for row, and PostgreSQL gold equals the lake.

Both publish to this module's throw-away Nessie branch and PostgreSQL schema (run conf for Airflow,
environment for the CLI); they share the stack's state directory, where the load lock and plans live.
A second test covers the hole found while writing the first: a published Airflow load's ``ga4lake load
sync`` step took no lock, so it could run beside the next load's sync (same PostgreSQL tables, same CSV
work folder); it runs on a lake and state directory of its own, so the shared lock cannot delay it."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import quote

import psycopg2
import pyarrow.parquet as pq
import pytest

from ga4lake.airflow_client import CHAIN, AirflowClient
from ga4lake.clients.spark import branch_catalog
from ga4lake.config import REPO_ROOT
from ga4lake.gold.models import GOLD_TABLES, build_gold
from ga4lake.lake.tables import LOAD_MANIFEST, QUARANTINE, SILVER_EVENTS
from ga4lake.load import OPEN_PHASES
from ga4lake.load.lock import load_lock
from ga4lake.load.plan import LoadPlan, read_plans
from ga4lake.load.run import ingest
from ga4lake.sample.cli import main as sample_main
from tests.integration.test_rollback import assert_same, lake_fingerprint, pg_fingerprint

pytestmark = pytest.mark.integration
D1 = date(2020, 11, 10)
DAYS = [D1 + timedelta(days=i) for i in range(4)]
AIRFLOW_DAYS, CLI_DAYS = DAYS[:3], DAYS[1:]


def cli_env(settings, **extra: str) -> dict[str, str]:
    """``ga4lake`` as a user runs it against this module's branch and schema (this checkout's code)."""
    return {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT / "src"),
        "GA4LAKE_LAKE_BRANCH": settings.lake_branch,
        "GA4LAKE_PG_GOLD_SCHEMA": settings.pg_gold_schema,
        "GA4LAKE_STATE_DIR": str(settings.state_dir),
        "GA4LAKE_PARITY_GATE": "0",  # the gate has its own tests (test_lake, test_gold); here it adds minutes
        **extra,
    }


def ga4lake(*args: str) -> list[str]:
    return [sys.executable, "-m", "ga4lake.cli", *args]


def plans_on(settings) -> list[LoadPlan]:
    return [p for p in read_plans(settings) if p.target == settings.lake_branch]


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("concurrent") / "export"
    args = ["--start", D1.isoformat(), "--days", str(len(DAYS)), "--scale", "0.05", "--seed", "5"]
    assert sample_main([*args, "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def both(lake, exports, stack, tmp_path_factory) -> dict:
    """Trigger the Airflow backfill; once its load is open on the module's branch, start the CLI ingest;
    wait for both. (Other loads on the shared stack may hold the load lock first: then both wait longer.)"""
    client = AirflowClient(stack)
    conf = {
        "source": str(exports),
        "lake_branch": lake.lake_branch,
        "pg_gold_schema": lake.pg_gold_schema,
        "start": AIRFLOW_DAYS[0].isoformat(),
        "end": AIRFLOW_DAYS[-1].isoformat(),
        "dbt": False,  # the validation DAG's dbt build is test_airflow's; parity still closes the chain
    }
    log = tmp_path_factory.mktemp("cli") / "ingest.log"
    chain: dict = {}

    def follow() -> None:
        try:
            chain["result"] = client.run_chain(conf, None, timeout=3600, progress=print)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            chain["error"] = exc

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    cli = None
    try:
        deadline = time.monotonic() + 2400
        while not plans_on(lake):  # the Airflow run's open_load has landed D1..D3 and opened its branch
            assert thread.is_alive(), f"the Airflow chain ended before its load opened: {chain}"
            assert time.monotonic() < deadline, "the Airflow run did not open its load within 40 min"
            time.sleep(1)
        (airflow_plan,) = plans_on(lake)
        phase_at_cli_start = airflow_plan.phase
        with open(log, "w") as fh:
            args = ["ingest", "--from", str(exports), "--start", CLI_DAYS[0].isoformat()]
            cli = subprocess.Popen(
                ga4lake(*args, "--end", CLI_DAYS[-1].isoformat()),
                env=cli_env(lake),
                cwd=REPO_ROOT,
                stdout=fh,
                stderr=subprocess.STDOUT,
            )
            rc = cli.wait(timeout=3600)
        thread.join(timeout=3600)
        if "error" in chain:
            raise chain["error"]
    finally:
        if cli is not None and cli.poll() is None:
            cli.terminate()
        if thread.is_alive():  # stop our runs: the module's branch is deleted after the tests
            for dag_id, run_id in client.active_runs():
                if (client.run(dag_id, run_id).get("conf") or {}).get("lake_branch") == lake.lake_branch:
                    client._request(
                        "PATCH", f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id)}", {"state": "failed"}
                    )
    return {
        "airflow": chain["result"],
        "airflow_load": airflow_plan.load_id,
        "phase_at_cli_start": phase_at_cli_start,
        "cli_rc": rc,
        "cli_log": log.read_text(),
    }


def test_both_loads_succeed_and_the_cli_waits_for_the_open_airflow_load(lake, both):
    res, out = both["airflow"], both["cli_log"]
    assert res.state == "success", f"{res.failed_dag} {res.failed_tasks}\n{res.log_tail}"
    assert list(res.runs) == list(CHAIN)
    assert both["cli_rc"] == 0, out
    # the CLI started while the Airflow load was open, and waited for it instead of planning beside it
    assert both["phase_at_cli_start"] in OPEN_PHASES
    assert f"waiting for open load {both['airflow_load']}" in out, out
    # it planned after the Airflow load published: D2 and D3 were there with the same checksums
    assert "published load_" in out and "1 day(s)" in out, out
    by_id = {p.load_id: p for p in plans_on(lake)}
    assert len(by_id) == 2, sorted(by_id)
    airflow_plan = by_id.pop(both["airflow_load"])
    (cli_plan,) = by_id.values()
    assert airflow_plan.days == AIRFLOW_DAYS and airflow_plan.phase == "synced"
    assert cli_plan.days == [DAYS[-1]] and cli_plan.kinds == {DAYS[-1].isoformat(): "new"}
    assert cli_plan.phase == "synced"
    assert cli_plan.main_before == airflow_plan.main_after  # it built on the Airflow load's publish


def test_each_day_is_loaded_once_with_the_exports_events(lake, spark, exports, both):
    assert both["cli_rc"] == 0 and both["airflow"].state == "success"
    cat = branch_catalog(spark, lake, lake.lake_branch)
    manifest = {
        r[0]: (r[1], r[2])
        for r in spark.table(f"{cat}.{LOAD_MANIFEST}")
        .groupBy("shard_date")
        .agg({"*": "count", "rows": "sum"})
        .collect()
    }
    exported = {d: pq.ParquetFile(exports / f"events_{d:%Y%m%d}.parquet").metadata.num_rows for d in DAYS}
    assert manifest == {d: (1, exported[d]) for d in DAYS}
    silver = dict(spark.table(f"{cat}.{SILVER_EVENTS}").groupBy("event_date").count().collect())
    quarantined = spark.table(f"{cat}.{QUARANTINE}").count()
    assert quarantined == 0
    assert silver == exported


def test_gold_equals_a_full_rebuild_and_postgres_equals_the_lake(lake, spark, both):
    assert both["cli_rc"] == 0 and both["airflow"].state == "success"
    cat = branch_catalog(spark, lake, lake.lake_branch)
    full = build_gold(spark.table(f"{cat}.{SILVER_EVENTS}"))
    assert set(full) == set(GOLD_TABLES)
    for name, expected in full.items():
        actual = spark.table(f"{cat}.gold.{name}").select(*expected.columns)
        only_actual, only_full = actual.exceptAll(expected).count(), expected.exceptAll(actual).count()
        assert (only_actual, only_full) == (0, 0), (
            f"{name}: {only_actual} row(s) only in the incremental table, {only_full} only in the full rebuild"
        )
    assert spark.table(f"{cat}.gold.dim_user").count() > 0
    assert spark.table(f"{cat}.gold.agg_retention_daily").count() > 0
    assert_same(pg_fingerprint(spark, lake), lake_fingerprint(spark, lake))


@pytest.fixture()
def solo(lake, nessie, exports, tmp_path, monkeypatch):
    """A lake of its own (branch, PostgreSQL schema and state directory, so its load lock is this test's
    alone) with D1 published by `ga4lake ingest`, and its plan put back to ``published``: as if the load's
    Airflow sync task had not run yet."""
    from ga4lake.clients.nessie import NO_ANCESTOR

    settings = dataclasses.replace(
        lake,
        lake_branch=f"{lake.lake_branch}_sync",
        pg_gold_schema=f"{lake.pg_gold_schema}_sync",
        state_dir=tmp_path / "state",
    )
    nessie.create_branch(settings.lake_branch, "main", NO_ANCESTOR)
    nessie.ensure_namespaces(("bronze", "silver", "gold"), settings.lake_branch)
    monkeypatch.setenv("GA4LAKE_PARITY_GATE", "0")
    try:
        res = ingest(settings, str(exports), end=D1, progress=lambda _m: None)
        assert res.status == "published" and res.days == [D1]
        plan = LoadPlan.read(settings, res.load_id)
        assert plan.phase == "synced"
        plan.phase = "published"
        plan.save(settings)
        yield settings, plan
    finally:
        nessie.delete_branch(settings.lake_branch)
        conn = psycopg2.connect(settings.pg_dsn())
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"DROP SCHEMA IF EXISTS {settings.pg_gold_schema} CASCADE")
        conn.close()


def test_a_load_sync_step_waits_for_the_load_lock(spark, solo, tmp_path):
    """``ga4lake load sync`` (Airflow's sync_postgres task) runs after its load published, when the next
    load may already hold the lock: it waits for the lock (naming the holder), then syncs."""
    settings, plan = solo
    log = tmp_path / "sync.log"
    with load_lock(settings, "test_concurrent_loads"), open(log, "w") as fh:
        step = subprocess.Popen(
            ga4lake("load", "sync", plan.load_id),
            env=cli_env(settings),
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=fh,
        )
        deadline = time.monotonic() + 300
        while "waiting for it" not in log.read_text():
            assert step.poll() is None, f"the sync step did not wait for the lock:\n{log.read_text()}"
            assert time.monotonic() < deadline, "no 'waiting for it' from the sync step within 300 s"
            time.sleep(0.5)
        assert "test_concurrent_loads" in log.read_text()  # it names whom it waits for
        time.sleep(3)
        assert step.poll() is None  # still waiting while the lock is held
        assert LoadPlan.read(settings, plan.load_id).phase == "published"
    out, _ = step.communicate(timeout=600)
    assert step.returncode == 0, log.read_text()
    assert json.loads(out.decode().strip().splitlines()[-1])["status"] == "synced"
    assert LoadPlan.read(settings, plan.load_id).phase == "synced"
    assert_same(pg_fingerprint(spark, settings), lake_fingerprint(spark, settings))
