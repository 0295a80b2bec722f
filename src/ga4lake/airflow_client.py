"""Drive the stack's Airflow from the command line and tests: trigger a day or a backfill, follow the chain.

``ga4lake airflow run --day D`` (or ``--start A --end B``) triggers the ingest DAG and then follows the
asset-triggered silver → gold → validation runs it causes, printing each layer's outcome and, on failure,
the failing task's log tail. Uses Airflow's public REST API (v2) with the admin from the env file.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from ga4lake.args import day_arg
from ga4lake.config import Settings, load_settings
from ga4lake.errors import Ga4lakeError
from ga4lake.log import track
from ga4lake.stack import airflow as airflow_service

CHAIN = ("ga4lake_ingest", "ga4lake_silver", "ga4lake_gold", "ga4lake_validation")
FINISHED = {"success", "failed"}


class AirflowError(Ga4lakeError, RuntimeError):
    """The Airflow API refused a call or a run failed; the message says which and why."""


@dataclass
class ChainResult:
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)  # dag_id -> dag run
    state: str = "running"  # success | failed | skipped
    failed_dag: str | None = None
    failed_tasks: list[str] = field(default_factory=list)
    log_tail: str = ""
    seconds: float = 0.0


class AirflowClient:
    def __init__(self, settings: Settings) -> None:
        self.base = airflow_service.api_url(settings)
        self.user, self.password = airflow_service.admin(settings)
        self._token: str | None = None

    def _request(self, method: str, path: str, body: dict | None = None) -> Any:
        if self._token is None and not path.startswith("/auth"):
            self._token = self._request(
                "POST", "/auth/token", {"username": self.user, "password": self.password}
            )["access_token"]
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.base}{path}", data=data, method=method)
        req.add_header("Content-Type", "application/json")
        req.add_header("Accept", "application/json")
        if self._token and not path.startswith("/auth"):
            req.add_header("Authorization", f"Bearer {self._token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                payload = resp.read().decode()
        except urllib.error.HTTPError as exc:
            raise AirflowError(
                f"Airflow API {method} {path}: HTTP {exc.code} {exc.read().decode()[:500]}"
            ) from exc
        except urllib.error.URLError as exc:
            raise AirflowError(
                f"Airflow API at {self.base} unreachable ({exc.reason}): start it with `make up`"
            ) from exc
        return json.loads(payload) if payload else {}

    # -- runs -----------------------------------------------------------------------------------------------
    def trigger(self, dag_id: str, conf: dict[str, Any], day: date | None = None) -> dict[str, Any]:
        """A manual run. Its day travels in ``conf.day``, not as the logical date: Airflow keeps logical dates
        unique per DAG, and a day may be re-run (restatement) after its scheduled run."""
        conf = {**conf, **({"day": day.isoformat()} if day else {})}
        body = {
            "conf": conf,
            "logical_date": None,
            "dag_run_id": f"ga4lake__{datetime.now(UTC):%Y%m%dT%H%M%S%f}",
        }
        return self._request("POST", f"/api/v2/dags/{dag_id}/dagRuns", body)

    def trigger_for_date(self, dag_id: str, conf: dict[str, Any], day: date) -> dict[str, Any]:
        """A run for logical date ``day`` 00:00 UTC, the way the daily schedule makes it (the day comes from
        the logical date, not conf). Airflow allows one such run per day and DAG."""
        body = {
            "conf": conf,
            "logical_date": f"{day.isoformat()}T00:00:00Z",
            "dag_run_id": f"ga4lake_daily__{day.isoformat()}__{datetime.now(UTC):%Y%m%dT%H%M%S%f}",
        }
        return self._request("POST", f"/api/v2/dags/{dag_id}/dagRuns", body)

    def delete_run(self, dag_id: str, run_id: str) -> None:
        self._request("DELETE", f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id)}")

    def runs(self, dag_id: str, limit: int = 20) -> list[dict[str, Any]]:
        q = urllib.parse.urlencode({"limit": limit, "order_by": "-run_after"})
        return self._request("GET", f"/api/v2/dags/{dag_id}/dagRuns?{q}")["dag_runs"]

    def run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return self._request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id)}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id)}/taskInstances?limit=200"
        return self._request("GET", path)["task_instances"]

    def task_log(self, dag_id: str, run_id: str, ti: dict[str, Any]) -> str:
        path = (
            f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id)}/taskInstances/"
            f"{urllib.parse.quote(ti['task_id'])}/logs/{max(1, ti.get('try_number') or 1)}?full_content=true"
        )
        if ti.get("map_index", -1) not in (-1, None):
            path += f"&map_index={ti['map_index']}"
        content = self._request("GET", path).get("content", [])
        lines = []
        for entry in content if isinstance(content, list) else [content]:
            if isinstance(entry, dict):  # structured log records: timestamp + event text
                lines.append(f"{str(entry.get('timestamp', ''))[11:19]} {entry.get('event', '')}".strip())
                # "Task failed with exception" carries the exception itself in error_detail, not the text
                for err in entry.get("error_detail") or []:
                    if isinstance(err, dict) and err.get("exc_value"):
                        lines.append(f"  {err.get('exc_type', 'Error')}: {err['exc_value']}")
            else:
                lines.append(str(entry))
        return "\n".join(lines)

    def wait(self, dag_id: str, run_id: str, timeout: float, poll: float = 2.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            run = self.run(dag_id, run_id)
            if run["state"] in FINISHED:
                return run
            if time.monotonic() > deadline:
                raise AirflowError(f"{dag_id} run {run_id} still {run['state']} after {timeout:.0f}s")
            time.sleep(poll)

    def active_runs(self) -> list[tuple[str, str]]:
        """(dag_id, run_id) of every queued or running run of the chain."""
        return [
            (dag_id, r["dag_run_id"])
            for dag_id in CHAIN
            for r in self.runs(dag_id, limit=100)
            if r["state"] in ("queued", "running")
        ]

    def triggered_by(self, dag_id: str, run_id: str) -> set[tuple[str, str]]:
        """(source dag, source run) of the asset events an asset-triggered run consumed."""
        path = f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id)}/upstreamAssetEvents"
        events = self._request("GET", path).get("asset_events", [])
        return {(e.get("source_dag_id"), e.get("source_run_id")) for e in events}

    def next_run(
        self,
        dag_id: str,
        known: set[str],
        source: tuple[str, str],
        timeout: float,
        poll: float = 2.0,
    ) -> dict[str, Any]:
        """The run of ``dag_id`` that consumed the asset event of the upstream run ``source``.

        Matched by source, not by "the newest run": another chain running beside this one (a second
        trigger, a leftover of a killed client) must not be taken for ours."""
        deadline = time.monotonic() + timeout
        others = set(known)
        while time.monotonic() < deadline:
            for r in self.runs(dag_id):
                if r["dag_run_id"] in others:
                    continue
                if source in self.triggered_by(dag_id, r["dag_run_id"]):
                    return r
                others.add(r["dag_run_id"])  # the scheduler attaches consumed events when it creates a run
            time.sleep(poll)
        raise AirflowError(
            f"no {dag_id} run consumed the asset event of {source[0]} run {source[1]} within {timeout:.0f}s "
            "(is the scheduler running?)"
        )

    def run_chain(
        self,
        conf: dict[str, Any],
        logical_date: date | None = None,
        timeout: float = 3600,
        progress=lambda m: print(m, file=sys.stderr, flush=True),
    ) -> ChainResult:
        """Trigger the ingest DAG and follow every layer's run to the end of the chain or the first failure."""
        t0 = time.monotonic()
        known = {dag: {r["dag_run_id"] for r in self.runs(dag, limit=100)} for dag in CHAIN[1:]}
        result = ChainResult()
        run = self.trigger(CHAIN[0], conf, logical_date)
        progress(f"triggered {CHAIN[0]} run {run['dag_run_id']} conf={conf}")
        for i, dag_id in enumerate(track(CHAIN, "airflow", "DAG runs")):
            if i:
                source = (CHAIN[i - 1], run["dag_run_id"])
                run = self.next_run(
                    dag_id, known[dag_id], source, timeout=max(60.0, timeout - (time.monotonic() - t0))
                )
            run = self.wait(dag_id, run["dag_run_id"], timeout=max(60.0, timeout - (time.monotonic() - t0)))
            result.runs[dag_id] = run
            tis = self.task_instances(dag_id, run["dag_run_id"])
            progress(f"  {dag_id:<20} {run['state']:<8} ({time.monotonic() - t0:.1f}s since trigger)")
            if run["state"] == "failed":
                bad = [ti for ti in tis if ti["state"] in ("failed", "upstream_failed")]
                result.state, result.failed_dag = "failed", dag_id
                result.failed_tasks = [ti["task_id"] for ti in bad]
                first = next((ti for ti in bad if ti["state"] == "failed"), None)
                if first:
                    result.log_tail = "\n".join(
                        self.task_log(dag_id, run["dag_run_id"], first).splitlines()[-60:]
                    )
                break
            if i == 0 and not any(ti["task_id"] == "bronze" and ti["state"] == "success" for ti in tis):
                result.state = "skipped"  # nothing new (open_load skipped): no asset event, the chain stops
                break
        else:
            result.state = "success"
        result.seconds = round(time.monotonic() - t0, 1)
        return result


def conf_from_args(args: argparse.Namespace, settings: Settings) -> tuple[dict[str, Any], date | None]:
    conf: dict[str, Any] = {}
    # a non-default lake branch / gold schema (tests, benchmarks) travels with the run
    if settings.lake_branch != "main":
        conf["lake_branch"] = settings.lake_branch
    if settings.pg_gold_schema != "gold":
        conf["pg_gold_schema"] = settings.pg_gold_schema
    if args.source:
        conf["source"] = args.source
    if args.force:
        conf["force"] = True
    if args.no_dbt:
        conf["dbt"] = False
    if args.action == "backfill" and not (args.start and args.end):
        raise AirflowError("`ga4lake airflow backfill` needs --start and --end (one run over the range)")
    if args.start or args.end:
        if not (args.start and args.end):
            raise AirflowError("a backfill needs both --start and --end")
        conf.update({"start": args.start.isoformat(), "end": args.end.isoformat()})
        return conf, None
    if not args.day:
        raise AirflowError("say which day (--day) or range (--start/--end) to run")
    return conf, args.day


def cmd_run(args: argparse.Namespace) -> int:
    settings = load_settings()
    conf, logical = conf_from_args(args, settings)
    result = AirflowClient(settings).run_chain(conf, logical, timeout=args.timeout)
    if result.state == "failed":
        print(
            f"ga4lake: Airflow run failed in {result.failed_dag} at {', '.join(result.failed_tasks)}\n"
            f"{result.log_tail}",
            file=sys.stderr,
        )
        return 1
    print(
        json.dumps(
            {
                "state": result.state,
                "seconds": result.seconds,
                "runs": {k: v["dag_run_id"] for k, v in result.runs.items()},
            }
        )
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "airflow", help="trigger the daily chain or a backfill in the stack's Airflow and follow it"
    )
    p.add_argument(
        "action",
        choices=["run", "backfill"],
        help="run: trigger ingest and follow silver → gold → validation; "
        "backfill: the same for --start..--end in one run (range mode)",
    )
    p.add_argument("--day", type=day_arg, help="the event date (loads it and its restatement window)")
    p.add_argument("--start", type=day_arg, help="backfill: first day (one run in the lake's range mode)")
    p.add_argument("--end", type=day_arg, help="backfill: last day")
    p.add_argument(
        "--from", dest="source", help="export source (default GA4LAKE_EXPORT_SOURCE / s3://<bucket>/exports/)"
    )
    p.add_argument("--force", action="store_true", help="reprocess days whose files are unchanged too")
    p.add_argument(
        "--no-dbt",
        action="store_true",
        help="skip the validation DAG's dbt build for this load (its parity check still runs)",
    )
    p.add_argument("--timeout", type=float, default=7200, help="seconds to wait for the whole chain")
    p.set_defaults(func=cmd_run)
