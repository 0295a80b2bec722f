"""The Airflow DAGs load without import errors and are wired as designed (no services needed).

The DagBag is built inside the Airflow virtualenv (its own SQLAlchemy 2 / Airflow 3 environment) by
``dagbag_probe.py``; this test reads what it found.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

import ga4lake
from ga4lake.config import REPO_ROOT
from tests.unit.airflow_venv import run_probe

PROBE = Path(__file__).with_name("dagbag_probe.py")


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory) -> dict:
    return run_probe(PROBE, tmp_path_factory.mktemp("dagbag"))


def test_no_import_errors(dagbag):
    assert dagbag["errors"] == {}


def test_shared_module_is_imported_not_parsed_as_a_dag_file(dagbag):
    # `.airflowignore` keeps ga4lake_dags.py (no DAG of its own) out of the DAG processor's file list
    assert (REPO_ROOT / "airflow" / "dags" / "ga4lake_dags.py").is_file()
    assert dagbag["parsed"] == [
        "ga4lake_gold.py",
        "ga4lake_ingest.py",
        "ga4lake_silver.py",
        "ga4lake_validation.py",
    ]


def test_every_package_module_loads_in_the_main_venv():
    """Airflow-only code lives beside the DAGs (airflow/dags/ga4lake_dags.py), never in the package."""
    names = [
        m.name
        for m in pkgutil.walk_packages(ga4lake.__path__, "ga4lake.")
        if not m.name.endswith("__main__")  # `python -m` entry points run on import
    ]
    failed = {}
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            failed[name] = repr(exc)
    assert len(names) > 50 and failed == {}


def test_one_dag_per_layer(dagbag):
    assert set(dagbag["dags"]) == {"ga4lake_ingest", "ga4lake_silver", "ga4lake_gold", "ga4lake_validation"}


def test_layers_are_chained_by_assets_not_sensors(dagbag):
    d = dagbag["dags"]
    assert d["ga4lake_ingest"]["timetable"] == "CronDataIntervalTimetable"  # logical date = event date
    assert d["ga4lake_ingest"]["catchup"] is False
    assert d["ga4lake_ingest"]["outlets"] == ["bronze:ga4lake_bronze"]
    assert d["ga4lake_silver"]["schedule_assets"] == ["ga4lake_bronze"]
    assert d["ga4lake_silver"]["outlets"] == ["silver:ga4lake_silver"]
    assert d["ga4lake_gold"]["schedule_assets"] == ["ga4lake_silver"]
    assert d["ga4lake_gold"]["outlets"] == ["sync_postgres:ga4lake_gold"]
    assert d["ga4lake_validation"]["schedule_assets"] == ["ga4lake_gold"]
    assert d["ga4lake_validation"]["outlets"] == ["parity:ga4lake_validated"]
    for dag_id, dag in d.items():  # the layers wait on assets; only ingest waits, for the export file
        assert dag["sensors"] == ({} if dag_id != "ga4lake_ingest" else dag["sensors"])


def test_daily_run_waits_for_its_export_without_holding_a_slot(dagbag):
    ingest = dagbag["dags"]["ga4lake_ingest"]
    # reschedule mode: no worker slot between pokes; a timeout fails the run, never skips it
    assert ingest["sensors"] == {"wait_for_export": {"mode": "reschedule", "soft_fail": False}}
    assert "wait_for_export>open_load" in ingest["edges"]
    assert ingest["max_active_runs"] > 1  # a day waiting for its export does not hold back the next days


def test_task_order_within_layers(dagbag):
    d = dagbag["dags"]
    assert d["ga4lake_ingest"]["edges"] == ["open_load>bronze", "wait_for_export>open_load"]
    assert d["ga4lake_gold"]["edges"] == [
        "audit_and_publish>sync_postgres",
        "gold>audit_and_publish",
        "loads>gold",
    ]
    assert all(r >= 1 for dag in d.values() for r in dag["retries"])  # idempotent steps: retries are safe


def test_every_dbt_model_and_source_test_is_a_task(dagbag):
    tasks = dagbag["dags"]["ga4lake_validation"]["tasks"]
    models = sorted(p.stem for p in (REPO_ROOT / "dbt" / "models" / "insights").glob("*.sql"))
    for model in models:
        assert f"dbt.{model}.run" in tasks and f"dbt.{model}.test" in tasks
    for table in ("fact_events", "fact_sessions", "dim_user", "agg_funnel_daily", "agg_retention_daily"):
        assert f"dbt.gold_{table}.test" in tasks
    edges = dagbag["dags"]["ga4lake_validation"]["edges"]
    # parity runs after the dbt tests; the scope task feeds the gate that starts (or skips) the dbt group
    assert "scope>build_dbt" in edges and "scope>parity" in edges
    assert any(e.startswith("build_dbt>dbt.") for e in edges)
    assert not any(e.startswith("scope>dbt.") for e in edges)
    assert any(e.endswith(">parity") and e.startswith("dbt.") for e in edges)


def test_a_load_without_dbt_skips_the_dbt_group_and_still_runs_parity(dagbag):
    rules = dagbag["dags"]["ga4lake_validation"]["trigger_rules"]
    # skipped dbt tasks let parity through, a failed or upstream-failed one does not
    assert rules.get("parity") == "none_failed_min_one_success"
    # no dbt task overrides the default rule, so the gate's skip reaches every one of them
    assert not any(t.startswith("dbt.") for t in rules)


def test_tasks_reach_services_through_the_stacks_connections(dagbag):
    conns = dagbag["dags"]["ga4lake_validation"]["connections"]
    dbt_tasks = [t for t in dagbag["dags"]["ga4lake_validation"]["tasks"] if t.startswith("dbt.")]
    # every task that runs dbt (models, tests; a source without freshness is an empty task) has Cosmos'
    # profile mapping of ga4lake_postgres; parity's Trino is ga4lake_trino
    runs_dbt = [t for t in dbt_tasks if t.endswith((".run", ".test"))]
    assert len(runs_dbt) >= 20 and all(conns.get(t) == "ga4lake_postgres" for t in runs_dbt)
    assert {conns[t] for t in dbt_tasks if t in conns} == {"ga4lake_postgres"}
    assert conns["parity"] == "ga4lake_trino"
