"""Every step of a load can be re-run on the same plan (an Airflow retry) and writes exactly what one run
writes — including gold after a run that died between dim_user's DELETE and its append.

A step that was killed after its writes but before its phase was saved is retried from the same plan:
the test reproduces that by putting the plan's phase back and running the step again. Tables are
compared row for row (``exceptAll`` both ways) with the branch as the first run left it (read at that
Nessie commit), and after publishing with a full rebuild of gold from the same silver.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ga4lake.clients.nessie import NessieClient
from ga4lake.clients.spark import branch_catalog
from ga4lake.gold.models import GOLD_TABLES, build_gold
from ga4lake.lake.tables import BRONZE_EVENTS, LOAD_MANIFEST, QUARANTINE, SILVER_EVENTS
from ga4lake.load.plan import LoadPlan
from ga4lake.load.run import plan_ingest
from ga4lake.load.steps import open_load, publish, write_bronze, write_gold, write_silver
from ga4lake.sample.cli import main as sample_main

pytestmark = pytest.mark.integration

DAY3 = date(2020, 11, 3)
LAYER_TABLES = (BRONZE_EVENTS, LOAD_MANIFEST, SILVER_EVENTS, QUARANTINE)
GOLD = tuple(f"gold.{n}" for n in GOLD_TABLES)
# exceptAll compares the flat columns (nested arrays/maps of bronze and silver cannot be set-compared)
FLAT = ("string", "int", "bigint", "double", "float", "decimal", "date", "timestamp", "boolean")


def quiet(_msg: str) -> None:
    pass


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("idem") / "export"
    args = ["--start", "2020-11-01", "--days", "3", "--scale", "0.05", "--seed", "7", "--out", str(out)]
    assert sample_main([*args, "--duplicates", "0.005"]) == 0
    return out


@pytest.fixture(scope="module")
def state(lake, spark, data) -> dict:
    """Days 1-2 published; a load of day 3 opened and its steps run once (not yet published).

    The steps run as Airflow's tasks run them (no stack-wide load lock: the module's branch is its own;
    no parity gate or PostgreSQL sync: test_gold covers those)."""
    for start, end in ((None, date(2020, 11, 2)), (DAY3, DAY3)):
        todo, kinds, _ = plan_ingest(lake, spark, str(data), start, end, False, quiet)
        assert set(kinds.values()) == {"new"}
        plan = open_load(lake, todo, kinds, quiet)
        for step in (write_bronze, write_silver, write_gold):
            step(spark, lake, plan, progress=quiet)
        if end != DAY3:
            publish(spark, lake, plan, parity=False, progress=quiet)
    assert plan.days == [DAY3]
    first = NessieClient(lake.nessie_api).get_reference(plan.branch).hash
    return {"plan": plan, "first": first, "cat": branch_catalog(spark, lake, plan.branch)}


def columns(spark, table: str) -> list[str]:
    return [f.name for f in spark.table(table).schema.fields if f.dataType.simpleString().startswith(FLAT)]


def assert_same_rows(spark, actual: str, expected: str, what: str) -> None:
    cols = columns(spark, actual)
    a = spark.table(actual).select(*cols)
    e = spark.table(expected).select(*cols)
    only_actual, only_expected = a.exceptAll(e).count(), e.exceptAll(a).count()
    assert (only_actual, only_expected) == (0, 0), (
        f"{what}: {only_actual} row(s) only after the re-run, {only_expected} only after the first run"
    )


def assert_branch_as_first_run(spark, st: dict, tables: tuple[str, ...], what: str) -> None:
    cat, branch, first = st["cat"], st["plan"].branch, st["first"]
    for t in tables:
        ns, name = t.split(".")
        assert_same_rows(spark, f"{cat}.{t}", f"{cat}.{ns}.`{name}@{branch}#{first}`", f"{what}: {t}")


def rerun(spark, settings, plan: LoadPlan, step: str) -> None:
    """The step's task died after writing, before saving its phase: Airflow retries it on the plan."""
    before = {"bronze": "landed", "silver": "bronze", "gold": "silver"}[step]
    plan.phase = before
    plan.save(settings)
    {"bronze": write_bronze, "silver": write_silver, "gold": write_gold}[step](
        spark, settings, plan, progress=quiet
    )
    assert plan.phase == step


def test_gold_rerun_writes_what_one_run_wrote(lake, spark, state):
    rerun(spark, lake, state["plan"], "gold")
    assert_branch_as_first_run(spark, state, GOLD, "gold re-run")


def test_bronze_silver_gold_rerun_write_what_one_run_wrote(lake, spark, state):
    plan = state["plan"]
    for step in ("bronze", "silver", "gold"):
        rerun(spark, lake, plan, step)
    assert_branch_as_first_run(spark, state, LAYER_TABLES + GOLD, "bronze+silver+gold re-run")
    cat = state["cat"]
    bronze_day3 = spark.table(f"{cat}.{BRONZE_EVENTS}").where(f"_shard_date = DATE '{DAY3}'").count()
    assert bronze_day3 == plan.staged[DAY3.isoformat()]["rows"]
    manifest = spark.table(f"{cat}.{LOAD_MANIFEST}").where(f"load_id = '{plan.load_id}'").count()
    assert manifest == 1


def test_gold_rerun_after_failure_between_delete_and_append(lake, spark, state, monkeypatch):
    plan, cat = state["plan"], state["cat"]
    users_before = spark.table(f"{cat}.gold.dim_user").count()
    plan.phase = "silver"
    plan.save(lake)
    monkeypatch.setenv("GA4LAKE_FAULT_AFTER", "gold.delete.dim_user")
    with pytest.raises(RuntimeError, match="injected fault after gold.delete.dim_user"):
        write_gold(spark, lake, plan, progress=quiet)
    assert plan.phase == "silver"
    # the fault hit between the DELETE and the append: dim_user lost the rows of this load's users
    assert spark.table(f"{cat}.gold.dim_user").count() < users_before
    monkeypatch.delenv("GA4LAKE_FAULT_AFTER")
    write_gold(spark, lake, plan, progress=quiet)
    assert plan.phase == "gold"
    assert_branch_as_first_run(spark, state, GOLD, "gold re-run after a failed run")


def test_published_gold_equals_full_rebuild(lake, spark, state):
    plan = state["plan"]
    publish(spark, lake, plan, parity=False, progress=quiet)
    cat = branch_catalog(spark, lake, lake.lake_branch)
    full = build_gold(spark.table(f"{cat}.{SILVER_EVENTS}"))
    assert spark.table(f"{cat}.gold.fact_events").where(f"event_date = DATE '{DAY3}'").count() > 0
    for name, expected in full.items():
        actual = spark.table(f"{cat}.gold.{name}").select(*expected.columns)
        assert actual.exceptAll(expected).count() == 0, f"{name}: rows only in the re-run incremental table"
        assert expected.exceptAll(actual).count() == 0, f"{name}: rows only in the full rebuild"
    sessions = spark.table(f"{cat}.gold.fact_sessions").count()
    assert sessions == full["fact_sessions"].count()
