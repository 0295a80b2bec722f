"""Layer 1 — ingest → bronze: land the day's GA4 export (plus its restatement window) on a load branch.

Scheduled daily; the logical date is the GA4 event date (data interval = that day, UTC). Each run also
re-checks the previous 3 days and reloads those whose export file changed (GA4 restates up to 72 h).
A backfill is one run in the lake's range mode: trigger with conf ``{"start": "...", "end": "..."}``
(``ga4lake airflow backfill``). Nothing new (or the day's export not there yet) skips the run.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task
from airflow.sdk.exceptions import AirflowSkipException
from airflow.timetables.interval import CronDataIntervalTimetable

from ga4lake.dags import BRONZE, DEFAULT_ARGS, step
from ga4lake.orchestrate import export_source, overrides, window


@dag(
    dag_id="ga4lake_ingest",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2020, 11, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["ga4lake", "bronze"],
    doc_md=__doc__,
)
def ga4lake_ingest():
    @task
    def open_load(**context) -> dict:
        """Find new/restated export files, validate and land them, open the load's Nessie branch."""
        conf = context["dag_run"].conf or {}
        logical = context.get("logical_date")
        w = window(conf, logical.date() if logical else None)
        args = ["load", "open", "--from", export_source(conf), *w.cli_args()]
        if conf.get("force"):
            args.append("--force")
        result = step(args, overrides(conf))
        if result["status"] != "opened":
            raise AirflowSkipException(result.get("message") or "nothing new or restated: main unchanged")
        return {"load_id": result["load_id"], "days": result["days"], "overrides": overrides(conf)}

    @task(outlets=[BRONZE])
    def bronze(load: dict, *, outlet_events=None) -> dict:
        """Raw nested rows of the load's days on its branch; announces the load to the silver DAG."""
        step(["load", "bronze", load["load_id"]], load["overrides"])
        outlet_events[BRONZE].extra = {"loads": [load]}
        return load

    bronze(open_load())


ga4lake_ingest()
