"""Run a probe script inside the Airflow virtualenv (Airflow 3 / SQLAlchemy 2 live only there) with the
stack's Airflow environment and a throw-away SQLite metadata DB, and read the JSON it writes."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from ga4lake.config import REPO_ROOT, load_settings
from ga4lake.stack.airflow import airflow_env


def run_probe(probe: Path, tmp: Path, extra_env: dict[str, str] | None = None) -> dict:
    settings = load_settings()
    python = settings.venvs_dir / "airflow" / "bin" / "python"
    assert python.exists(), f"Airflow virtualenv missing at {python}: run `make install`"
    env = {
        **os.environ,
        **airflow_env(settings),
        # parsing needs no running service: a throw-away SQLite metadata DB is enough
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp / 'airflow.db'}",
        "AIRFLOW_HOME": str(tmp),
        **(extra_env or {}),
    }
    out = tmp / "probe.json"
    proc = subprocess.run(
        [str(python), str(probe), str(REPO_ROOT / "airflow" / "dags"), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())
