"""Layer 2 — silver: flatten, key and contract-check the load's bronze rows (bad rows to quarantine).

Runs when the ingest DAG announces a load (asset ``ga4lake_bronze``); writes on the load's branch only.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task
from ga4lake_dags import BRONZE, DEFAULT_ARGS, SILVER, loads_from, step, step_args


@dag(
    dag_id="ga4lake_silver",
    schedule=[BRONZE],
    start_date=pendulum.datetime(2020, 11, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["ga4lake", "silver"],
    doc_md=__doc__,
)
def ga4lake_silver():
    @task(outlets=[SILVER])
    def silver(*, triggering_asset_events=None, outlet_events=None) -> list[dict]:
        loads = loads_from(triggering_asset_events)
        for load in loads:
            step(step_args("silver", load["load_id"]), load["overrides"])
        outlet_events[SILVER].extra = {"loads": loads}
        return loads

    silver()


ga4lake_silver()
