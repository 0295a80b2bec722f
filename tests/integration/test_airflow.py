"""The pipeline driven by the stack's real Airflow: one day through every layer's DAG, a restatement, and a
day whose audit fails. Runs are triggered through Airflow's REST API and followed across the asset-chained
DAGs; they publish to this module's throw-away Nessie branch and PostgreSQL schema (run conf overrides)."""

from __future__ import annotations

from pathlib import Path

import psycopg2
import pyarrow.parquet as pq
import pytest

from ga4lake.airflow_client import CHAIN, AirflowClient
from ga4lake.sample.cli import main as sample_main

pytestmark = pytest.mark.integration
DAY = "2020-11-05"


def sample(out: Path, start: str, days: int, *extra: str, seed: str = "11") -> Path:
    rc = sample_main(
        ["--start", start, "--days", str(days), "--scale", "0.05", "--seed", seed, "--out", str(out), *extra]
    )
    assert rc == 0
    return out


def pg(lake, sql: str) -> list[tuple]:
    conn = psycopg2.connect(lake.pg_dsn())
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def client(stack) -> AirflowClient:
    return AirflowClient(stack)


def conf(lake, source: Path) -> dict:
    return {"source": str(source), "lake_branch": lake.lake_branch, "pg_gold_schema": lake.pg_gold_schema}


def run(client: AirflowClient, lake, source: Path, day: str, **extra):
    from datetime import date

    return client.run_chain(
        {**conf(lake, source), **extra}, date.fromisoformat(day), timeout=1500, progress=print
    )


@pytest.fixture(scope="module")
def first_day(client, lake, nessie, tmp_path_factory):
    src = sample(tmp_path_factory.mktemp("af_day"), DAY, 1)
    main_before = nessie.get_reference("main").hash
    result = run(client, lake, src, DAY)
    return src, result, main_before


def tasks(client: AirflowClient, result, dag_id: str) -> list[dict]:
    return client.task_instances(dag_id, result.runs[dag_id]["dag_run_id"])


def test_one_day_runs_every_layer_dbt_and_parity(first_day, client, lake, nessie):
    src, result, main_before = first_day
    assert result.state == "success", f"{result.failed_dag} {result.failed_tasks}\n{result.log_tail}"
    assert list(result.runs) == list(CHAIN)  # ingest → silver → gold → validation, chained by assets
    # each layer's run is the one our upstream run's asset event triggered, not merely the newest one
    for upstream, dag_id in zip(CHAIN, CHAIN[1:], strict=False):
        source = (upstream, result.runs[upstream]["dag_run_id"])
        assert source in client.triggered_by(dag_id, result.runs[dag_id]["dag_run_id"])
    # the day's rows are in PostgreSQL gold, as many events as the export had (sample has no duplicates)
    exported = pq.read_table(next(src.glob("events_*.parquet"))).num_rows
    events = pg(
        lake, f"SELECT count(*) FROM {lake.pg_gold_schema}.fact_events WHERE event_date = DATE '{DAY}'"
    )
    assert events[0][0] > 0.95 * exported
    sessions = pg(
        lake,
        f"SELECT count(*) FROM {lake.pg_gold_schema}.fact_sessions WHERE session_start_date = DATE '{DAY}'",
    )
    assert sessions[0][0] > 0
    funnel = pg(
        lake, f"SELECT count(*) FROM {lake.pg_gold_schema}.agg_funnel_daily WHERE event_date = DATE '{DAY}'"
    )
    assert funnel[0][0] > 0
    # the validation DAG ran parity and stored it; every table within the threshold
    parity = pg(
        lake,
        f"SELECT count(*), bool_and(passed) FROM {lake.pg_gold_schema}.parity_results "
        f"WHERE start_date = DATE '{DAY}' AND end_date = DATE '{DAY}'",
    )
    assert parity[0][0] >= 10 and parity[0][1] is True
    # every dbt node ran as its own Airflow task and succeeded
    tis = tasks(client, result, "ga4lake_validation")
    dbt_tasks = [t for t in tis if t["task_id"].startswith("dbt.")]
    assert len(dbt_tasks) >= 20 and all(t["state"] == "success" for t in dbt_tasks)
    # the test branch got the publish; the real main did not move
    assert nessie.get_reference("main").hash == main_before


def test_rerun_with_unchanged_export_is_skipped(first_day, client, lake, nessie):
    src, result, _ = first_day
    assert result.state == "success"
    head = nessie.get_reference(lake.lake_branch).hash
    again = run(client, lake, src, DAY)
    assert again.state == "skipped" and list(again.runs) == ["ga4lake_ingest"]
    assert nessie.get_reference(lake.lake_branch).hash == head


def test_restated_export_is_reprocessed_with_right_counts(first_day, client, lake, tmp_path):
    src, result, _ = first_day
    assert result.state == "success"
    # GA4 re-exports the day: same date, different content (another seed → other rows)
    restated = sample(tmp_path / "restated", DAY, 1, seed="99")
    rows = pq.read_table(next(restated.glob("events_*.parquet"))).num_rows
    # run conf dbt=false (the first day built dbt): the validation DAG skips its dbt group, parity still runs
    res = run(client, lake, restated, DAY, dbt=False)
    assert res.state == "success", f"{res.failed_dag} {res.failed_tasks}\n{res.log_tail}"
    states = {t["task_id"]: t["state"] for t in tasks(client, res, "ga4lake_validation")}
    assert states["build_dbt"] == "success" and states["parity"] == "success", states
    dbt_states = {state for task_id, state in states.items() if task_id.startswith("dbt.")}
    assert dbt_states == {"skipped"}, states
    day_events = pg(
        lake,
        f"SELECT count(*) FROM {lake.pg_gold_schema}.fact_events WHERE event_date = DATE '{DAY}'",
    )
    assert abs(day_events[0][0] - rows) <= 0.05 * rows  # the day now holds the restated rows, not both
    assert day_events[0][0] < 1.5 * rows


def test_failed_audit_fails_the_run_and_main_is_unchanged(first_day, client, lake, nessie, tmp_path):
    bad = sample(tmp_path / "consent", "2020-11-20", 1, "--consent-denied", "1")
    head = nessie.get_reference(lake.lake_branch).hash
    res = run(client, lake, bad, "2020-11-20", dbt=False)
    assert res.state == "failed"
    assert res.failed_dag == "ga4lake_gold" and "audit_and_publish" in res.failed_tasks
    assert "null_client_key_ratio" in res.log_tail and "NOT published" in res.log_tail
    assert nessie.get_reference(lake.lake_branch).hash == head  # the target branch never saw the load
    # no retry burnt on a data failure: the task failed on its first try
    ti = next(t for t in tasks(client, res, "ga4lake_gold") if t["task_id"] == "audit_and_publish")
    assert ti["try_number"] == 1
    bad_day = pg(
        lake, f"SELECT count(*) FROM {lake.pg_gold_schema}.fact_events WHERE event_date = DATE '2020-11-20'"
    )
    assert bad_day[0][0] == 0  # nothing synced for the bad day
