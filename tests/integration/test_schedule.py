"""The daily schedule loads days by itself: runs triggered before their export files exist wait for them,
a day whose run gave up is caught up by a later run, every day lands exactly once, and a changed file inside
the restatement window replaces its day.

Runs are made the way the scheduler makes them (logical date = the event date, no ``conf.day``) through
Airflow's REST API against the stack's real Airflow; they publish to this module's throw-away Nessie branch
and PostgreSQL schema (run conf overrides) and wait seconds instead of hours (run conf)."""

from __future__ import annotations

import os
import shutil
import time
from datetime import date
from pathlib import Path

import psycopg2
import pyarrow.parquet as pq
import pytest

from ga4lake.airflow_client import CHAIN, AirflowClient
from ga4lake.clients.trino import run_sql
from ga4lake.sample.cli import main as sample_main

pytestmark = pytest.mark.integration
INGEST = CHAIN[0]
DAYS = [date(2021, 3, 1), date(2021, 3, 2), date(2021, 3, 3)]
# its run gives up waiting; it is older than D1's restatement window (02-26 … 03-01), so only catch-up loads it
LATE = date(2021, 2, 24)
# a waiting sensor is between pokes or poking; on a loaded machine with 15 s pokes Airflow 3.3 sometimes
# re-queues a rescheduled sensor before it has processed the previous poke's end and counts a retry
# ("task state changed externally"), so up_for_retry is waiting too; what must not happen is an outcome
DONE = {"success", "skipped", "failed", "upstream_failed"}


def sample(out: Path, start: date, days: int, seed: str = "11") -> Path:
    args = ["--start", start.isoformat(), "--days", str(days), "--scale", "0.05", "--seed", seed]
    assert sample_main([*args, "--out", str(out)]) == 0
    return out


def shard(directory: Path, day: date) -> Path:
    return directory / f"events_{day:%Y%m%d}.parquet"


def drop(file: Path, source: Path) -> None:
    """Put an export file into the source the way an export lands: all at once (rename), never half-written."""
    tmp = source / f".{file.name}.part"
    shutil.copyfile(file, tmp)
    os.replace(tmp, source / file.name)


def rows(file: Path) -> int:
    return pq.ParquetFile(file).metadata.num_rows


def lake_counts(lake, sql: str) -> dict[date, int]:
    return {r[0]: int(r[1]) for r in run_sql(lake, sql, ref=lake.lake_branch)[1]}


def bronze_per_day(lake) -> dict[date, int]:
    return lake_counts(lake, "SELECT _shard_date, count(*) FROM bronze.events GROUP BY 1")


def manifest_per_day(lake) -> dict[date, int]:
    """How many loads landed each day (one manifest row per load and day)."""
    return lake_counts(lake, "SELECT shard_date, count(*) FROM bronze.load_manifest GROUP BY 1")


def pg_events(lake, day: date) -> int:
    conn = psycopg2.connect(lake.pg_dsn())
    try:
        with conn.cursor() as cur:
            cur.execute(
                f"SELECT count(*) FROM {lake.pg_gold_schema}.fact_events WHERE event_date = %s", (day,)
            )
            return int(cur.fetchone()[0])
    finally:
        conn.close()


def ti_state(client: AirflowClient, run: dict, task_id: str) -> str | None:
    tis = client.task_instances(INGEST, run["dag_run_id"])
    return next((t["state"] for t in tis if t["task_id"] == task_id), None)


def follow_downstream(client: AirflowClient, run: dict, timeout: float = 1800) -> dict[str, dict]:
    """The silver → gold runs that consumed this ingest run's load, each waited to its end (a layer run may
    carry several loads; it is found by the upstream run it consumed, never by recency). Validation runs one
    at a time after gold; the last test's chain waits for it, and so for every validation before it."""
    out, upstream = {}, (INGEST, run["dag_run_id"])
    for dag_id in CHAIN[1:3]:
        found = client.next_run(dag_id, set(), upstream, timeout=timeout)
        out[dag_id] = client.wait(dag_id, found["dag_run_id"], timeout=timeout)
        upstream = (dag_id, found["dag_run_id"])
    return out


@pytest.fixture(scope="module")
def client(stack) -> AirflowClient:
    return AirflowClient(stack)


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> Path:
    """The GA4 export files as they will arrive: the three days and the late one (generated up front)."""
    out = tmp_path_factory.mktemp("exports")
    sample(out, DAYS[0], len(DAYS))
    sample(out, LATE, 1)
    return out


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("export_prefix")  # empty: nothing has arrived when the runs start


def conf(lake, source: Path, wait_seconds: float) -> dict:
    return {
        "source": str(source),
        "lake_branch": lake.lake_branch,
        "pg_gold_schema": lake.pg_gold_schema,
        "export_poke_seconds": 15,
        "export_wait_seconds": wait_seconds,
        "dbt": False,  # the validation DAG's dbt build is test_airflow's; here parity closes each chain
    }


@pytest.fixture(scope="module")
def week(client, lake, source, exports):
    """Daily runs for LATE and D1..D3 triggered before any file exists; LATE's run gives up (30 s); then the
    files land and the waiting runs go on by themselves. Returns what was observed along the way."""
    for day in [LATE, *DAYS]:  # a logical date is unique per DAG: clear what an earlier session left
        q = f"logical_date_gte={day}T00:00:00Z&logical_date_lte={day}T00:00:00Z"
        for r in client._request("GET", f"/api/v2/dags/{INGEST}/dagRuns?{q}")["dag_runs"]:
            client.delete_run(INGEST, r["dag_run_id"])
    late_run = client.trigger_for_date(INGEST, conf(lake, source, wait_seconds=30), LATE)
    runs = [client.trigger_for_date(INGEST, conf(lake, source, wait_seconds=1800), d) for d in DAYS]
    late_run = client.wait(INGEST, late_run["dag_run_id"], timeout=600)
    # LATE gave up after 30 s; the others have been waiting at least as long: look at them now
    before = {
        d.isoformat(): {
            "run": client.run(INGEST, r["dag_run_id"])["state"],
            "wait_for_export": ti_state(client, r, "wait_for_export"),
            "open_load": ti_state(client, r, "open_load"),
        }
        for d, r in zip(DAYS, runs, strict=True)
    }
    for day in [LATE, *DAYS]:
        drop(shard(exports, day), source)
    t0 = time.monotonic()
    finished = [client.wait(INGEST, r["dag_run_id"], timeout=1800) for r in runs]
    seconds = time.monotonic() - t0
    downstream = [
        follow_downstream(client, r) if ti_state(client, r, "bronze") == "success" else {} for r in finished
    ]
    print(f"all days in {seconds:.0f}s after the files landed; before: {before}")
    return {"late": late_run, "before": before, "runs": finished, "downstream": downstream}


def test_runs_wait_for_their_export_instead_of_skipping(week):
    for day, seen in week["before"].items():
        assert seen["run"] in ("queued", "running"), (day, seen)
        assert seen["wait_for_export"] not in DONE, (day, seen)  # not success, not skipped
        assert seen["open_load"] is None, (day, seen)  # nothing was planned before the file came


def test_a_day_that_never_arrives_fails_clearly(week, client):
    late = week["late"]
    assert late["state"] == "failed"
    tis = {t["task_id"]: t for t in client.task_instances(INGEST, late["dag_run_id"])}
    assert tis["wait_for_export"]["state"] == "failed"
    assert tis["open_load"]["state"] == "upstream_failed"
    log = client.task_log(INGEST, late["dag_run_id"], tis["wait_for_export"])
    assert f"no export file for {LATE}" in log and "gave up after" in log


def test_every_day_lands_exactly_once_including_the_caught_up_one(week, lake, exports):
    assert [r["state"] for r in week["runs"]] == ["success"] * len(DAYS)
    for layers in week["downstream"]:
        assert all(r["state"] == "success" for r in layers.values()), layers
    assert any(week["downstream"])  # at least one run carried a load through every layer
    # one load per day (the late day included, by catch-up), however the waiting runs interleaved
    assert manifest_per_day(lake) == {d: 1 for d in [LATE, *DAYS]}
    assert bronze_per_day(lake) == {d: rows(shard(exports, d)) for d in [LATE, *DAYS]}
    assert all(pg_events(lake, d) > 0 for d in [LATE, *DAYS])  # and through gold into PostgreSQL


def test_changed_file_in_the_window_replaces_its_day(week, client, lake, source, exports, tmp_path):
    assert [r["state"] for r in week["runs"]] == ["success"] * len(DAYS)
    before = bronze_per_day(lake)
    pg_before = pg_events(lake, DAYS[1])
    restated = shard(sample(tmp_path / "restated", DAYS[1], 1, seed="99"), DAYS[1])
    assert rows(restated) != before[DAYS[1]]
    drop(restated, source)  # GA4 rewrites D2 within 72 h
    res = client.run_chain({**conf(lake, source, 600), "day": DAYS[2].isoformat()}, timeout=1800)
    assert res.state == "success", f"{res.failed_dag} {res.failed_tasks}\n{res.log_tail}"
    # D3's re-check found only D2 changed: D2 holds exactly the new file's rows, every other day is untouched
    after = bronze_per_day(lake)
    assert after == {**before, DAYS[1]: rows(restated)}
    assert manifest_per_day(lake) == {**{d: 1 for d in [LATE, *DAYS]}, DAYS[1]: 2}
    kinds = run_sql(
        lake,
        "SELECT kind FROM bronze.load_manifest WHERE shard_date = DATE '2021-03-02' ORDER BY landed_at",
        ref=lake.lake_branch,
    )[1]
    assert [k[0] for k in kinds] == ["new", "restatement"]
    assert pg_events(lake, DAYS[1]) != pg_before  # the restated day reached PostgreSQL gold
