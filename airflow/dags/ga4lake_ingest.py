"""Layer 1 — ingest → bronze: wait for the day's GA4 export, then land it (plus its restatement window and
any late day) on a load branch.

Scheduled daily; the logical date is the GA4 event date (data interval = that day, UTC), so the run for D
fires at D+1 00:00 — before GA4 has written D's table. ``wait_for_export`` waits for D's export file in
the source (reschedule-mode sensor: a poke every ``GA4LAKE_EXPORT_POKE_SECONDS``, no worker slot held in
between) and for the previous load to publish; after ``GA4LAKE_EXPORT_WAIT_HOURS`` (default 36) the run
**fails**, naming the day. ``open_load`` then plans, against the lake's manifest: D and the 3 days before
it when new or changed (GA4 rewrites a day up to 72 h later), plus every day of the
``GA4LAKE_INGEST_CATCHUP_DAYS`` before that whose file arrived but was never loaded (its own run gave up
waiting). A day already loaded with the same checksum is never reloaded, so each day is loaded once
however the runs interleave. Nothing new: ``open_load`` is skipped and nothing downstream runs.

A backfill is one run in the lake's range mode: trigger with conf ``{"start": "...", "end": "..."}``
(``ga4lake airflow run --start … --end …``); it does not wait. A run's conf may set
``export_poke_seconds`` / ``export_wait_seconds`` / ``catchup_days`` (tests wait seconds, not hours), and
``dbt: false`` to skip the validation DAG's dbt build for its load (parity still runs).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task
from airflow.sdk.exceptions import AirflowSkipException
from airflow.timetables.interval import CronDataIntervalTimetable
from ga4lake_dags import BRONZE, DEFAULT_ARGS, ExportSensor, step, step_args

from ga4lake.orchestrate import daily_schedule, export_source, overrides, run_dbt, window


@dag(
    dag_id="ga4lake_ingest",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2020, 11, 1, tz="UTC"),
    catchup=False,
    # runs waiting for a late export must not hold back the next days' runs (a waiting sensor holds no
    # worker slot); loads still open one at a time (`load open` takes the lake's load lock and plans only
    # after the previous load published)
    max_active_runs=8,
    default_args=DEFAULT_ARGS,
    tags=["ga4lake", "bronze"],
    doc_md=__doc__,
)
def ga4lake_ingest():
    wait = ExportSensor(task_id="wait_for_export")

    @task
    def open_load(**context) -> dict:
        """Find new/restated/late export files, validate and land them, open the load's Nessie branch."""
        conf = context["dag_run"].conf or {}
        logical = context.get("logical_date")
        w = window(conf, logical.date() if logical else None, daily_schedule(conf).catchup_days)
        # a bad run conf (schema name, dbt flag) fails here, before any load is opened
        over, dbt = overrides(conf), run_dbt(conf)
        args = ["load", "open", "--from", export_source(conf), *w.cli_args()]
        if conf.get("force"):
            args.append("--force")
        result = step(args, over)
        if result["status"] != "opened":
            raise AirflowSkipException(result.get("message") or "nothing new or restated: main unchanged")
        return {
            "load_id": result["load_id"],
            "days": result["days"],
            "overrides": over,
            "dbt": dbt,  # the validation DAG's dbt build (run conf ``dbt``, default true)
        }

    # an opened load's bronze goes before another run's open_load, which would only wait for it
    @task(outlets=[BRONZE], priority_weight=100, weight_rule="absolute")
    def bronze(load: dict, *, outlet_events=None) -> dict:
        """Raw nested rows of the load's days on its branch; announces the load to the silver DAG."""
        step(step_args("bronze", load["load_id"]), load["overrides"])
        outlet_events[BRONZE].extra = {"loads": [load]}
        return load

    opened = open_load()
    wait >> opened
    bronze(opened)


ga4lake_ingest()
