"""Layer 4 — validation: dbt build on the synced gold (one Airflow task per dbt node, via Cosmos), then
the Trino parity check against the dbt-ga4 reference logic; |Δ| > threshold on any table fails the run.

Runs when the gold DAG announces a synced load. dbt connects through the Airflow connection
``ga4lake_postgres`` (Cosmos profile mapping), parity's Trino queries through ``ga4lake_trino`` (the
Trino provider's hook); a secrets backend holding those ids replaces the stack's.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task
from cosmos import DbtTaskGroup, ExecutionConfig, ProjectConfig, RenderConfig
from cosmos.constants import LoadMode, SourceRenderingBehavior, TestBehavior
from ga4lake_dags import (
    DEFAULT_ARGS,
    GOLD,
    TRINO_CONN_ID,
    VALIDATED,
    dbt_executable,
    dbt_manifest,
    dbt_profile,
    dbt_task_env,
    loads_from,
    parity_check,
)

from ga4lake.config import REPO_ROOT, setting

XCOM = "ti.xcom_pull(task_ids='scope')"


@dag(
    dag_id="ga4lake_validation",
    schedule=[GOLD],
    start_date=pendulum.datetime(2020, 11, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["ga4lake", "validation", "dbt"],
    doc_md=__doc__,
)
def ga4lake_validation():
    @task
    def scope(*, triggering_asset_events=None) -> dict:
        """Which days and which PostgreSQL gold schema the loads touched."""
        loads = loads_from(triggering_asset_events)
        days = sorted(d for load in loads for d in load["days"])
        over = loads[-1]["overrides"]
        return {
            "start": days[0],
            "end": days[-1],
            "overrides": over,
            "env": dbt_task_env(over),
            # loads opened before this key existed carry no flag: they build
            "dbt": any(load.get("dbt", True) for load in loads),
        }

    @task.short_circuit(ignore_downstream_trigger_rules=False)
    def build_dbt(scope: dict) -> bool:
        """Whether the loads asked for the dbt build (run conf ``dbt``, default true). False skips the dbt
        tasks; parity still runs (its trigger rule lets skipped dbt tasks through, never failed ones)."""
        return bool(scope["dbt"])

    env_keys = dbt_task_env().keys()
    dbt = DbtTaskGroup(
        group_id="dbt",
        project_config=ProjectConfig(
            dbt_project_path=REPO_ROOT / "dbt", manifest_path=dbt_manifest(), project_name="ga4lake"
        ),
        profile_config=dbt_profile(),
        execution_config=ExecutionConfig(dbt_executable_path=dbt_executable()),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            # after_each (default): every model and every source's test set is its own task;
            # after_all: one test task for everything (fewer dbt processes on a small machine)
            test_behavior=TestBehavior(setting("GA4LAKE_COSMOS_TEST_BEHAVIOR")),
            source_rendering_behavior=SourceRenderingBehavior.ALL,
        ),
        operator_args={
            "install_deps": False,
            # the run's gold schema (a test's throw-away schema, or gold) comes from the scope task
            "env": {k: "{{ " + XCOM + "['env']['" + k + "'] }}" for k in env_keys},
            "vars": {"ga4lake_freshness_as_of": "{{ " + XCOM + "['end'] }}"},
        },
    )

    @task(outlets=[VALIDATED], trigger_rule="none_failed_min_one_success")
    def parity(scope: dict, trino_conn_id: str) -> dict:
        """Row-count parity of every gold table in PostgreSQL against the reference, over the loads' days
        (its Trino queries through the ``trino_conn_id`` connection)."""
        return parity_check(scope["start"], scope["end"], scope["overrides"], trino_conn_id)

    s = scope()
    build_dbt(s) >> dbt >> parity(s, trino_conn_id=TRINO_CONN_ID)


ga4lake_validation()
