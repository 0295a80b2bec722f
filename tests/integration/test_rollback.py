"""Rollback on the real stack: a bad published load is undone on the lake *and* in PostgreSQL gold, a dry
run changes nothing, a rollback refuses while a load is open, and a load whose owner is gone is failed
automatically so the next ingest proceeds (docs/operations.md).

The module's `lake` fixture branch plays main, with its own PostgreSQL schema: nothing here touches the
stack's main or `gold`."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import psycopg2
import pytest
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ga4lake.cli import main as cli
from ga4lake.clients.spark import branch_catalog
from ga4lake.gold.models import GOLD_TABLES
from ga4lake.load.plan import LoadPlan, idle_limit, process_owner
from ga4lake.load.rollback import rollback
from ga4lake.load.run import ingest
from ga4lake.sample.cli import main as sample_main

pytestmark = pytest.mark.integration
NUMERIC = (T.LongType, T.IntegerType, T.ShortType, T.DoubleType, T.FloatType, T.DecimalType)


def sample(out: Path, start: str, days: int, seed: int) -> Path:
    args = ["--start", start, "--days", str(days), "--scale", "0.05", "--seed", str(seed), "--out", str(out)]
    assert sample_main(args) == 0
    return out


@pytest.fixture(scope="module")
def iso(lake, tmp_path_factory):
    """The module's lake with its own state directory: its load lock and plans are this module's alone, so
    what is tested (waiting, refusing, failing stale plans) does not depend on other test runs sharing the
    stack (and the fake plans below never show in the stack's `ga4lake load list`)."""
    return dataclasses.replace(lake, state_dir=tmp_path_factory.mktemp("state"))


@pytest.fixture(scope="module")
def good(iso, tmp_path_factory) -> Path:
    """Three good days; the module first loads two of them."""
    src = sample(tmp_path_factory.mktemp("rollback") / "good", "2020-11-01", 3, seed=7)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GA4LAKE_PARITY_GATE", "0")
        res = ingest(iso, str(src), end=date(2020, 11, 2))
    assert res.status == "published" and len(res.days) == 2
    return src


@pytest.fixture(autouse=True)
def _env(iso, monkeypatch):
    """The CLI reads its settings from the environment: point it at the module's branch and schema. The
    parity gate has its own tests (test_lake, test_gold); here it would only add minutes per load."""
    monkeypatch.setenv("GA4LAKE_LAKE_BRANCH", iso.lake_branch)
    monkeypatch.setenv("GA4LAKE_PG_GOLD_SCHEMA", iso.pg_gold_schema)
    monkeypatch.setenv("GA4LAKE_STATE_DIR", str(iso.state_dir))
    monkeypatch.setenv("GA4LAKE_PARITY_GATE", "0")


INTEGRAL = (T.LongType, T.IntegerType, T.ShortType)
MOD = 1_000_003  # integer columns are summed modulo this: 64-bit hash keys would overflow a plain sum


def _numeric(schema: T.StructType) -> list[tuple[str, bool]]:
    """(column, integral) for every numeric column."""
    return [
        (f.name, isinstance(f.dataType, INTEGRAL)) for f in schema.fields if isinstance(f.dataType, NUMERIC)
    ]


def lake_fingerprint(spark, settings) -> dict[str, tuple]:
    """Per gold table on the lake branch's head: row count and the sum of every numeric column."""
    cat = branch_catalog(spark, settings, settings.lake_branch)
    out = {}
    for name in GOLD_TABLES:
        df = spark.table(f"{cat}.gold.{name}")
        cols = _numeric(df.schema)
        sums = [F.sum(F.col(c) % MOD if integral else F.col(c)) for c, integral in cols]
        row = df.agg(F.count(F.lit(1)), *sums).first()
        out[name] = (row[0], *[_num(v) for v in row[1:]])
    return out


def pg_fingerprint(spark, settings) -> dict[str, tuple]:
    """The same figures from the PostgreSQL gold schema (columns named by the lake's schema)."""
    cat = branch_catalog(spark, settings, settings.lake_branch)
    conn = psycopg2.connect(settings.pg_dsn())
    out = {}
    try:
        with conn.cursor() as cur:
            for name in GOLD_TABLES:
                cols = _numeric(spark.table(f"{cat}.gold.{name}").schema)
                sums = "".join(
                    f', sum("{c}" % {MOD})' if integral else f', sum("{c}")' for c, integral in cols
                )
                cur.execute(f'SELECT count(*){sums} FROM {settings.pg_gold_schema}."{name}"')
                row = cur.fetchone()
                out[name] = (row[0], *[_num(v) for v in row[1:]])
    finally:
        conn.close()
    return out


def _num(v) -> float:
    return float(v) if isinstance(v, Decimal | float) else (0.0 if v is None else float(v))


def assert_same(got: dict[str, tuple], want: dict[str, tuple]) -> None:
    assert got.keys() == want.keys()
    for name in want:
        assert got[name][0] == want[name][0], f"{name}: {got[name][0]} rows, expected {want[name][0]}"
        assert got[name][1:] == pytest.approx(want[name][1:], rel=1e-9, abs=1e-6), name


def head(nessie, settings) -> str:
    return nessie.get_reference(settings.lake_branch).hash


def test_a_bad_load_is_rolled_back_on_the_lake_and_in_postgres(iso, nessie, spark, good, tmp_path, capsys):
    restored = head(nessie, iso)
    before = lake_fingerprint(spark, iso)
    assert_same(pg_fingerprint(spark, iso), before)  # the first load synced

    # a "bad" restatement that passes the audits: day 2 re-exported by another seed
    bad = ingest(iso, str(sample(tmp_path / "bad", "2020-11-02", 1, seed=99)))
    assert bad.status == "published" and bad.kinds == {"2020-11-02": "restatement"}
    published = head(nessie, iso)
    after_bad = pg_fingerprint(spark, iso)
    assert after_bad != before and after_bad["fact_sessions"] != before["fact_sessions"]

    # --dry-run: says what it would undo, changes nothing
    assert cli(["rollback", "--to", restored[:16], "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would undo 1 commit(s)" in out and bad.load_id in out and "2020-11-02..2020-11-02" in out
    assert head(nessie, iso) == published
    assert_same(pg_fingerprint(spark, iso), after_bad)
    assert LoadPlan.read(iso, bad.load_id).phase == "synced"

    res = rollback(iso, restored[:16], spark=spark)
    assert [c.properties.get("ga4lake.load_id") for c in res.undone] == [bad.load_id]
    assert res.head_before == published and head(nessie, iso) == restored
    lake_now = lake_fingerprint(spark, iso)
    assert_same(lake_now, before)  # the lake at the restored commit …
    assert_same(pg_fingerprint(spark, iso), lake_now)  # … and PostgreSQL equals it
    assert res.synced == {name: fp[0] for name, fp in before.items()}
    assert LoadPlan.read(iso, bad.load_id).phase == "rolled_back"

    # nothing left to undo
    assert cli(["rollback", "--to", restored[:16]]) == 0
    assert "undid 0 commit(s)" in capsys.readouterr().out


def fake_plan(settings, load_id: str, phase: str, owner: str) -> LoadPlan:
    p = LoadPlan(
        load_id=load_id,
        branch=load_id,
        target=settings.lake_branch,
        main_before="",
        kinds={"2020-11-03": "new"},
        staged={"2020-11-03": {"shard_date": "2020-11-03"}},
        ingested_at="2020-11-04T00:00:00+00:00",
        phase=phase,
        owner=owner,
    )
    p.save(settings)
    return p


def test_rollback_refuses_while_a_load_is_open_or_not_yet_synced(iso, nessie, good, capsys):
    log = nessie.log(iso.lake_branch, limit=10)
    current, earlier = log[0].hash, log[1].hash
    tag = f"{time.time_ns()}"
    for phase in ("silver", "published"):  # open; published but its sync still to run
        p = fake_plan(iso, f"load_20201103_20201103_refuse{phase}{tag}", phase, process_owner("cli"))
        try:
            assert cli(["rollback", "--to", earlier[:16]]) == 5
            err = capsys.readouterr().err
            assert "rollback refused" in err and p.load_id in err and "nothing changed" in err
            assert head(nessie, iso) == current
        finally:
            LoadPlan.path(iso, p.load_id).unlink()


def test_a_load_whose_owner_is_gone_is_failed_and_the_next_ingest_proceeds(
    iso, nessie, spark, good, monkeypatch
):
    monkeypatch.setenv("GA4LAKE_LOAD_WAIT_SECONDS", "60")  # a wait for the stale plans would fail the test
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    tag = f"{time.time_ns()}"
    cli_plan = fake_plan(iso, f"load_20201103_20201103_dead{tag}", "silver", f"cli:{int(dead.stdout)}:1")
    idle_plan = fake_plan(iso, f"load_20201103_20201103_idle{tag}", "gold", "steps")
    old = time.time() - idle_limit() - 60  # its Airflow task gave up over 11 minutes ago
    os.utime(LoadPlan.path(iso, idle_plan.load_id), (old, old))

    try:
        res = ingest(iso, str(good))  # day 3 is new; waiting for the stale plans would raise
        assert res.status == "published" and res.kinds == {"2020-11-03": "new"}
        for p, why in ((cli_plan, "died"), (idle_plan, "exhausted its retries")):
            back = LoadPlan.read(iso, p.load_id)
            assert back.phase == "failed" and "owner gone" in back.error and why in back.error
    finally:
        for p in (cli_plan, idle_plan):
            LoadPlan.path(iso, p.load_id).unlink(missing_ok=True)
    # the incremental sync after the rollback's full re-sync still leaves PostgreSQL equal to the lake
    assert_same(pg_fingerprint(spark, iso), lake_fingerprint(spark, iso))
