"""Run inside the Airflow virtualenv: load airflow/dags into a DagBag and write what it found as JSON.

``BundleDagBag`` is what Airflow's DAG processor and task runner parse with: it puts the bundle (the DAG
folder) on ``sys.path``, which is how the DAG files import their shared module ``ga4lake_dags``.
"""

import json
import sys
from pathlib import Path

from airflow.dag_processing.dagbag import BundleDagBag

folder = Path(sys.argv[1])
bag = BundleDagBag(dag_folder=folder, bundle_path=folder, bundle_name="dags-folder")
out: dict = {
    "errors": {k: v[-3000:] for k, v in bag.import_errors.items()},
    "parsed": sorted(stat.file for stat in bag.dagbag_stats),  # the files the DAG processor would parse
    "dags": {},
}
for dag_id, dag in bag.dags.items():
    out["dags"][dag_id] = {
        "tasks": sorted(dag.task_ids),
        "timetable": type(dag.timetable).__name__,
        "schedule_assets": sorted(
            getattr(o, "name", "?")
            for o in getattr(getattr(dag.timetable, "asset_condition", None), "objects", ())
        ),
        "edges": sorted(f"{t.task_id}>{d}" for t in dag.tasks for d in t.downstream_task_ids),
        "outlets": sorted(
            f"{t.task_id}:{o.name}" for t in dag.tasks for o in t.outlets if hasattr(o, "name")
        ),
        "trigger_rules": {
            t.task_id: rule
            for t in dag.tasks
            if (rule := getattr(t.trigger_rule, "value", str(t.trigger_rule))) != "all_success"
        },
        "retries": sorted({t.retries for t in dag.tasks}),
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        # which Airflow connection each task uses: Cosmos' dbt profile mapping, a task's conn-id argument
        "connections": {
            t.task_id: conn
            for t in dag.tasks
            if (
                conn := getattr(
                    getattr(getattr(t, "profile_config", None), "profile_mapping", None), "conn_id", None
                )
                or next(
                    (v for k, v in (getattr(t, "op_kwargs", None) or {}).items() if k.endswith("conn_id")),
                    None,
                )
            )
        },
        "sensors": {
            t.task_id: {"mode": t.mode, "soft_fail": t.soft_fail} for t in dag.tasks if hasattr(t, "poke")
        },
    }
with open(sys.argv[2], "w") as fh:
    json.dump(out, fh, indent=1)
