"""What Airflow's DAG files call: run one ``ga4lake`` step in the main virtualenv and return its result.

Stdlib only — the Airflow virtualenv imports it, and Spark, boto3 and trino live in the main one. Each task
is a subprocess of the main venv's ``ga4lake`` CLI: its progress streams into the task log, its last stdout
line (JSON) becomes the task's return value, and a non-zero exit fails the task with the step's own
message. Overrides (lake branch, PostgreSQL gold schema, export source) travel with the run so a test or a
second environment never touches main.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from ga4lake.config import REPO_ROOT, load_env, load_settings
from ga4lake.sqlident import check_identifier

log = logging.getLogger("ga4lake")

# run conf / asset-event keys a run may override -> the environment variable each one sets
OVERRIDES = {
    "lake_branch": "GA4LAKE_LAKE_BRANCH",
    "pg_gold_schema": "GA4LAKE_PG_GOLD_SCHEMA",
}
RESTATEMENT_DAYS = 3


class StepFailed(RuntimeError):
    """A ga4lake step exited non-zero; the message is the step's own error (audit report, parity table)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Window:
    """What an ingest run loads: one event date plus its restatement window, or a range (backfill)."""

    day: date | None
    start: date | None
    end: date | None
    catchup_days: int = 0  # daily mode: how far before the restatement window late arrivals are caught up

    def cli_args(self) -> list[str]:
        if self.day:
            return [
                "--day",
                self.day.isoformat(),
                "--restatement-days",
                str(RESTATEMENT_DAYS),
                "--catchup-days",
                str(self.catchup_days),
            ]
        return ["--start", self.start.isoformat(), "--end", self.end.isoformat()]  # type: ignore[union-attr]


@dataclass(frozen=True)
class DailySchedule:
    """How a daily run waits for its day's export and how far back it catches up late days.

    From ``GA4LAKE_EXPORT_POKE_SECONDS`` / ``GA4LAKE_EXPORT_WAIT_HOURS`` / ``GA4LAKE_INGEST_CATCHUP_DAYS``;
    a run's conf may override each (``export_poke_seconds``, ``export_wait_seconds``, ``catchup_days``) —
    tests wait seconds, not hours."""

    poke_seconds: float
    wait_seconds: float
    catchup_days: int


def daily_schedule(conf: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> DailySchedule:
    conf = conf or {}
    env = load_env() if env is None else env
    try:
        poke = float(conf.get("export_poke_seconds") or env.get("GA4LAKE_EXPORT_POKE_SECONDS") or 300)
        wait = float(
            conf.get("export_wait_seconds") or float(env.get("GA4LAKE_EXPORT_WAIT_HOURS") or 36) * 3600
        )
        catchup = int(conf.get("catchup_days", env.get("GA4LAKE_INGEST_CATCHUP_DAYS") or 31))
    except ValueError as exc:
        raise ValueError(f"export wait settings must be numbers: {exc}") from exc
    if poke <= 0 or wait <= 0 or catchup < 0:
        raise ValueError(
            f"export wait settings out of range: poke {poke}s, wait {wait}s, catch-up {catchup} d"
        )
    return DailySchedule(poke, wait, catchup)


def run_dbt(conf: dict[str, Any] | None) -> bool:
    """Whether the validation DAG runs its dbt build for this run's load: run conf ``dbt``, default true.
    A team whose dbt project is built by its own scheduler, or a re-run that only needs the lake and
    PostgreSQL gold, sets it false; the dbt tasks are then skipped and the parity check still runs."""
    value = (conf or {}).get("dbt", True)
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"run conf dbt must be true or false, not {value!r}")


def window(conf: dict[str, Any] | None, logical_day: date | None, catchup_days: int = 0) -> Window:
    """Range mode when the run's conf has start/end (a backfill), else the run's logical date."""
    conf = conf or {}
    start, end = conf.get("start"), conf.get("end")
    if start or end:
        if not (start and end):
            raise ValueError("a backfill run needs both conf.start and conf.end (YYYY-MM-DD)")
        s, e = date.fromisoformat(str(start)), date.fromisoformat(str(end))
        if s > e:
            raise ValueError(f"conf.start {s} is after conf.end {e}")
        return Window(None, s, e)
    if conf.get("day"):
        return Window(date.fromisoformat(str(conf["day"])), None, None, catchup_days)
    if logical_day is None:
        raise ValueError("no logical date and no conf.day/start/end: nothing to load")
    return Window(logical_day, None, None, catchup_days)


def export_source(conf: dict[str, Any] | None = None) -> str:
    """Where GA4 export files arrive: the run's conf.source, else GA4LAKE_EXPORT_SOURCE, else s3://<bucket>/exports/."""
    if conf and conf.get("source"):
        return str(conf["source"])
    env = load_env()
    return env.get("GA4LAKE_EXPORT_SOURCE") or f"s3://{env.get('GA4LAKE_S3_BUCKET', 'ga4lake')}/exports/"


def overrides(conf: dict[str, Any] | None) -> dict[str, str]:
    """The run's overrides; a schema name that is not a plain identifier fails the task here, before any
    step pastes it into SQL."""
    over = {k: str(v) for k, v in (conf or {}).items() if k in OVERRIDES and v}
    if "pg_gold_schema" in over:
        check_identifier(over["pg_gold_schema"], "run conf pg_gold_schema")
    return over


def ga4lake_bin() -> Path:
    return load_settings().venvs_dir / "main" / "bin" / "ga4lake"


def run_step(args: list[str], over: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``ga4lake <args>`` with the run's overrides; stream its progress; return its JSON result."""
    env = {**os.environ, **{OVERRIDES[k]: v for k, v in (over or {}).items()}}
    # the main venv's packages, but this checkout's ga4lake (the one whose DAGs Airflow runs), not whatever
    # checkout the venv's editable install points at (a second worktree runs its own code)
    env["PYTHONPATH"] = str(REPO_ROOT / "src")
    cmd = [str(ga4lake_bin()), *args]
    log.info("$ %s %s", " ".join(cmd), f"(overrides {over})" if over else "")
    proc = subprocess.Popen(
        cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    tail: list[str] = []
    assert proc.stderr is not None and proc.stdout is not None
    for line in proc.stderr:  # progress, as it happens, into the task log
        line = line.rstrip()
        if "WARN" in line and "NativeCodeLoader" in line:
            continue
        log.info("%s", line)
        tail = (tail + [line])[-40:]
    out = proc.stdout.read()
    code = proc.wait()
    result: dict[str, Any] = {}
    lines = [ln for ln in out.splitlines() if ln.strip()]
    if lines:
        try:
            result = json.loads(lines[-1])
        except json.JSONDecodeError:
            result = {"output": out[-2000:]}
    if code != 0:
        why = next((ln for ln in reversed(tail) if ln.startswith("ga4lake")), tail[-1] if tail else "")
        raise StepFailed(f"`ga4lake {' '.join(args)}` exited {code}: {why}\n" + "\n".join(tail[-25:]), code)
    return result


def dbt_env(over: dict[str, str] | None = None) -> dict[str, str]:
    """What Cosmos' dbt subprocesses need: the same keys and insights-schema rule as ``ga4lake validate``."""
    from ga4lake.validate.dbt import dbt_env as validate_dbt_env  # stdlib-only module

    s = load_settings()
    return validate_dbt_env(s, (over or {}).get("pg_gold_schema") or s.pg_gold_schema, base={})


if __name__ == "__main__":  # `python -m ga4lake.orchestrate load open ...` for debugging a task by hand
    print(json.dumps(run_step(sys.argv[1:]), indent=2))
