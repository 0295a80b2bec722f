"""Layer 3 — gold + PostgreSQL sync: build gold on the load branch, audit, gate on parity, publish, sync.

Runs when silver announces a load. ``publish`` is the write–audit–publish gate: reconciliation and key
audits plus row-count parity of the branch's gold against the dbt-ga4 reference; any failure fails the run
for good (no retry), leaves Nessie main untouched and keeps the branch. Only then one atomic merge to main,
and the changed gold rows are copied into PostgreSQL.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task
from ga4lake_dags import DEFAULT_ARGS, GOLD, SILVER, loads_from, step, step_args


@dag(
    dag_id="ga4lake_gold",
    schedule=[SILVER],
    start_date=pendulum.datetime(2020, 11, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["ga4lake", "gold"],
    doc_md=__doc__,
)
def ga4lake_gold():
    @task
    def loads(*, triggering_asset_events=None) -> list[dict]:
        return loads_from(triggering_asset_events)

    @task
    def gold(loads: list[dict]) -> list[dict]:
        for load in loads:
            step(step_args("gold", load["load_id"]), load["overrides"])
        return loads

    @task
    def audit_and_publish(loads: list[dict]) -> list[dict]:
        for load in loads:
            step(step_args("publish", load["load_id"]), load["overrides"])
        return loads

    @task(outlets=[GOLD])
    def sync_postgres(loads: list[dict], *, outlet_events=None) -> list[dict]:
        for load in loads:
            load["synced"] = step(step_args("sync", load["load_id"]), load["overrides"]).get("synced", {})
        outlet_events[GOLD].extra = {"loads": loads}
        return loads

    sync_postgres(audit_and_publish(gold(loads())))


ga4lake_gold()
