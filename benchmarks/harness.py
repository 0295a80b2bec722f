"""`make bench` / `ga4lake bench`: measure the stack and the pipeline on the real services.

Every figure is the median of several runs (min/max kept), written to benchmarks/results.json and
rendered into BENCHMARKS.md together with the machine and the commit. Sections can be run alone
(`--only stack,sample,day,backfill`); results of sections not run are kept from the previous file.
Loads publish to throw-away Nessie branches, so benchmarks never touch the lake's main.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any

from ga4lake.config import REPO_ROOT, Settings, load_settings, setting
from ga4lake.log import track
from ga4lake.stack import manager
from ga4lake.stack.process import footprint_by_root
from ga4lake.stack.services import build_services

RESULTS = REPO_ROOT / "benchmarks" / "results.json"
CONNECT_SECTIONS = {"scale", "dashboard"}  # run in Spark Connect: after every local-Spark section
REPORT = REPO_ROOT / "BENCHMARKS.md"


def summary(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 2),
        "min": round(min(values), 2),
        "max": round(max(values), 2),
        "runs": len(values),
    }


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((ln.split(":", 1)[1].strip() for ln in cpuinfo if ln.startswith("model name")), "")
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    mem_kb = next(int(ln.split()[1]) for ln in meminfo if ln.startswith("MemTotal"))
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "commit": commit,
        "date": time.strftime("%Y-%m-%d"),
    }


class RssSampler:
    """Peak of (stack services + this process tree) memory, sampled every second in a thread. PSS, not RSS:
    RSS counts the pages forked workers share once per worker (a 92-day backfill summed to 27.7 GB of RSS
    on a 23.5 GB machine)."""

    def __init__(self, settings: Settings, include_self: bool = True) -> None:
        """``include_self``: count this process tree too (work it runs itself: CLI loads). Off when the work
        runs in the stack (Airflow): an idle JVM left by an earlier section here is not the work's memory."""
        self.settings = settings
        self.include_self = include_self
        self.peak_mb = 0.0
        self.peak_by_service: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> tuple[float, dict[str, float]]:
        """(total MB, MB per service tree); the total counts each process once, wherever started."""
        running = {s.name: s.pid() for s in build_services(self.settings, with_spark=True)}
        pids = {name: pid for name, pid in running.items() if pid}
        roots = list(pids.values()) + ([os.getpid()] if self.include_self else [])
        kb = footprint_by_root(*roots)  # services first: started by this process, they are theirs
        return sum(kb.values()) / 1024, {name: round(kb[pid] / 1024) for name, pid in pids.items()}

    def _run(self) -> None:
        while not self._stop.is_set():
            total, per_service = self.sample()
            if total > self.peak_mb:
                self.peak_mb, self.peak_by_service = total, per_service
            self._stop.wait(1.0)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def fresh_branch(settings: Settings, tag: str) -> Settings:
    from ga4lake.clients.nessie import NO_ANCESTOR, NessieClient

    nessie = NessieClient(settings.nessie_api)
    name = f"bench_{tag}_{uuid.uuid4().hex[:6]}"
    nessie.create_branch(name, "main", NO_ANCESTOR)
    nessie.ensure_namespaces(("bronze", "silver", "gold"), name)
    return dataclasses.replace(settings, lake_branch=name, pg_gold_schema=name)


def drop_branch(settings: Settings) -> None:
    from ga4lake.clients.nessie import NessieClient
    from ga4lake.clients.postgres import connect, insights_schema

    NessieClient(settings.nessie_api).delete_branch(settings.lake_branch)
    conn = connect(settings)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP SCHEMA IF EXISTS "{settings.pg_gold_schema}" CASCADE')
        # the dbt insight models built over it (dashboard section)
        cur.execute(f'DROP SCHEMA IF EXISTS "{insights_schema(settings.pg_gold_schema)}" CASCADE')
    conn.close()


def preflight(settings: Settings) -> IO[str]:
    """Refuse to measure beside other pipeline work, then drop what a killed bench left behind; returns
    the lock file, to be held open while measuring.

    A chain still running (a killed bench's, a daily run) takes the CPU the figures are about; two
    benches at once measure each other. Leftover bench_* branches and schemas are only garbage."""
    import fcntl

    from ga4lake.airflow_client import AirflowClient
    from ga4lake.clients.nessie import NessieClient

    lock = (settings.state_dir / "bench.lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise SystemExit("bench: another bench is running on this stack (var/bench.lock)") from None
    active = AirflowClient(settings).active_runs() if "airflow" in settings.ui_services else []
    if active:
        names = ", ".join(f"{dag}/{run}" for dag, run in active)
        raise SystemExit(
            f"bench: Airflow runs still active ({names}); wait for them or mark them failed in the UI "
            f"(http://127.0.0.1:{settings.ports.airflow}) before measuring"
        )
    for ref in NessieClient(settings.nessie_api).list_references():
        if ref.name.startswith("bench_"):
            print(f"bench: dropping leftover branch and schema {ref.name}", file=sys.stderr, flush=True)
            drop_branch(dataclasses.replace(settings, lake_branch=ref.name, pg_gold_schema=ref.name))
    return lock


def sample_dir(days: int, scale: float, start: str = "2020-11-01") -> Path:
    out = Path(setting("GA4LAKE_BENCH_DATA")) / f"s{scale}_d{days}_{start}"
    if not (out / f"events_{(date.fromisoformat(start) + timedelta(days=days - 1)):%Y%m%d}.parquet").exists():
        from ga4lake.sample.cli import main as sample_main

        assert (
            sample_main(["--start", start, "--days", str(days), "--scale", str(scale), "--out", str(out)])
            == 0
        )
    return out


# ---------------------------------------------------------------------------------------------
def bench_stack(settings: Settings, runs: int) -> dict[str, Any]:
    warm_up, idle = [], {}
    for _ in range(runs):
        manager.down(settings, progress=lambda _m: None)
        t0 = time.monotonic()
        manager.up(settings, progress=lambda _m: None)
        warm_up.append(time.monotonic() - t0)
    time.sleep(20)  # let JVMs settle after start-up
    for row in manager.status_rows(settings):
        if row["health"] == "healthy":
            idle[str(row["service"])] = int(row["rss_mb"])  # type: ignore[call-overload]
    return {"warm_up_seconds": summary(warm_up), "idle_rss_mb": idle, "idle_rss_total_mb": sum(idle.values())}


def bench_sample(runs: int) -> dict[str, Any]:
    res = subprocess.run(
        [sys.executable, str(REPO_ROOT / "benchmarks" / "bench_sample.py"), "--runs", str(runs)],
        capture_output=True,
        text=True,
        check=True,
    )
    runs_ = json.loads(res.stdout)["runs"]
    return {
        "seconds": summary([r["seconds"] for r in runs_]),
        "peak_rss_mb": summary([r["peak_rss_mb"] for r in runs_]),
        "rows": runs_[0].get("rows"),
    }


def ingest_day(lake: Settings, src: Path, day: date) -> tuple[float, int, dict[str, float]]:
    """One day through `ga4lake ingest`: (seconds, rows, seconds per step incl. the parity gate)."""
    from ga4lake.load.run import ingest

    def sync_lines(msg: str) -> None:  # per-table sync times go to the bench log: the profile of that step
        if msg.startswith("  sync "):
            print(f"bench: {day}{msg}", file=sys.stderr, flush=True)

    t0 = time.monotonic()
    res = ingest(lake, str(src), start=day, end=day, progress=sync_lines)
    seconds = time.monotonic() - t0
    steps = {k: v for k, v in res.seconds.items() if k != "total"}
    return seconds, sum(res.rows.values()), steps


def step_medians(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: round(statistics.median(r.get(k, 0.0) for r in runs), 1) for k in (runs[0] if runs else {})}


def _days_after(
    settings: Settings, tag: str, base_days: int, runs: int, scale: float
) -> tuple[list[float], list[int], list[dict[str, float]]]:
    """Publish ``base_days`` days (one CLI range load) on a throw-away branch, then measure ``runs`` new
    days after them one by one with ``ingest_day``: (seconds, rows, seconds per step) per day."""
    from ga4lake.load.run import ingest

    src = sample_dir(base_days + runs, scale)
    last = date(2020, 11, 1) + timedelta(days=base_days - 1)
    lake = fresh_branch(settings, tag)
    times, rows, steps = [], [], []
    try:
        ingest(lake, str(src), end=last, progress=lambda _m: None)
        for k in range(runs):
            seconds, n, per_step = ingest_day(lake, src, last + timedelta(days=k + 1))
            times.append(seconds)
            rows.append(n)
            steps.append(per_step)
    finally:
        drop_branch(lake)
    return times, rows, steps


def bench_day(settings: Settings, runs: int, scale: float) -> dict[str, Any]:
    """One new day through bronze+silver (and every later layer), with 7 trailing days already published."""
    times, rows, steps = _days_after(settings, "day", 7, runs, scale)
    return {
        "seconds": summary(times),
        "rows_per_day": int(statistics.median(rows)),
        "scale": scale,
        "steps_median": step_medians(steps),
    }


def _validate(lake: Settings, day: date) -> None:
    """dbt build on the branch's PostgreSQL gold + Trino parity of the day: what "validated" means."""
    from ga4lake.validate import dbt as dbt_runner
    from ga4lake.validate.parity import run_parity

    result = dbt_runner.build(lake)
    assert result.ok, dbt_runner.format_summary(result)
    report = run_parity(lake, day, day, store=False)
    assert report.passed, [r for r in report.rows if not r.passed]


def _layer_seconds(client, chain) -> dict[str, float]:
    """Seconds per task of one Airflow chain (dbt tasks summarised: count and median)."""
    out: dict[str, float] = {}
    for dag_id, run in chain.runs.items():
        layer = dag_id.removeprefix("ga4lake_")
        tis = client.task_instances(dag_id, run["dag_run_id"])
        dbt = [ti["duration"] or 0 for ti in tis if ti["task_id"].startswith("dbt.")]
        out.update(
            {
                f"{layer}.{ti['task_id']}": round(ti["duration"] or 0, 1)
                for ti in tis
                if ti not in dbt and not ti["task_id"].startswith("dbt.")
            }
        )
        if dbt:
            out[f"{layer}.dbt_tasks"] = len(dbt)
            out[f"{layer}.dbt_task_seconds_median"] = round(statistics.median(dbt), 1)
        if run.get("start_date") and run.get("end_date"):
            from datetime import datetime as dt

            span = dt.fromisoformat(run["end_date"]) - dt.fromisoformat(run["start_date"])
            out[f"{layer}.run_seconds"] = round(span.total_seconds(), 1)
    return out


def bench_freshness(settings: Settings, runs: int, scale: float) -> dict[str, Any]:
    """One new day from landing to validated gold in PostgreSQL (dbt + parity included), warm stack:
    through the CLI (one process) and through Airflow (one task per step, DAGs chained by assets)."""
    from ga4lake.airflow_client import AirflowClient
    from ga4lake.load.run import ingest

    src = sample_dir(7 + 2 * runs, scale)
    lake = fresh_branch(settings, "fresh")
    cli, flow, layers = [], [], {}
    client = AirflowClient(settings)
    try:
        ingest(lake, str(src), end=date(2020, 11, 7), progress=lambda _m: None)
        for i in range(runs):
            day = date(2020, 11, 8) + timedelta(days=i)
            t0 = time.monotonic()
            ingest(lake, str(src), start=day, end=day, progress=lambda _m: None)
            _validate(lake, day)
            cli.append(time.monotonic() - t0)
        for i in range(runs):
            day = date(2020, 11, 8) + timedelta(days=runs + i)
            conf = {
                "source": str(src),
                "lake_branch": lake.lake_branch,
                "pg_gold_schema": lake.pg_gold_schema,
            }
            chain = client.run_chain(conf, day, timeout=1800, progress=lambda _m: None)
            assert chain.state == "success", f"{chain.failed_dag} {chain.failed_tasks}\n{chain.log_tail}"
            flow.append(chain.seconds)
            layers = _layer_seconds(client, chain)
    finally:
        drop_branch(lake)
    return {
        "cli_seconds": summary(cli),
        "airflow_seconds": summary(flow),
        "airflow_layers_last_run": layers,
        "scale": scale,
    }


def bench_backfill(settings: Settings, runs: int, scale: float, days: int = 92) -> dict[str, Any]:
    """The sample's days in one Airflow range-mode run through every layer (validation included)."""
    from ga4lake.airflow_client import AirflowClient

    src = sample_dir(days, scale)
    first, last = date(2020, 11, 1), date(2020, 11, 1) + timedelta(days=days - 1)
    client = AirflowClient(settings)
    times, peaks, layers = [], [], {}
    peak_by_service: dict[str, float] = {}
    for _ in range(runs):
        lake = fresh_branch(settings, "backfill")
        try:
            conf = {
                "source": str(src),
                "lake_branch": lake.lake_branch,
                "pg_gold_schema": lake.pg_gold_schema,
                "start": first.isoformat(),
                "end": last.isoformat(),
            }
            with RssSampler(settings, include_self=False) as sampler:  # the backfill runs in Airflow tasks
                chain = client.run_chain(conf, None, timeout=7200, progress=lambda _m: None)
            assert chain.state == "success", f"{chain.failed_dag} {chain.failed_tasks}\n{chain.log_tail}"
            times.append(chain.seconds)
            peaks.append(sampler.peak_mb)
            peak_by_service = sampler.peak_by_service
            layers = _layer_seconds(client, chain)
        finally:
            drop_branch(lake)
    return {
        "seconds": summary(times),
        "peak_rss_mb": summary(peaks),
        "peak_by_service_last_run_mb": peak_by_service,
        "days": days,
        "scale": scale,
        "layers_last_run": layers,
    }


def bench_late(settings: Settings, runs: int, scale: float, days: int = 92) -> dict[str, Any]:
    """Incremental cost: new days 93.. after the sample's 92 days are published (one CLI range load),
    each measured like section `day` (whose day 8 is the reference of the ratio)."""
    times, _rows, steps = _days_after(settings, "late", days, runs, scale)
    return {"seconds": summary(times), "days": days, "scale": scale, "steps_median": step_medians(steps)}


def bench_scale(settings: Settings, runs: int, days: int = 14) -> dict[str, Any]:
    """The same days at scale 1 and 4 (4x the events per day) through every layer (CLI range mode).

    The loads run in the stack's Spark Connect server, as Airflow's do, and memory is sampled over the
    stack only: a local Spark JVM here would be a second Spark beside that (idle) server."""
    from ga4lake.clients.spark import get_spark
    from ga4lake.load.run import ingest

    _use_spark_connect(settings)
    get_spark(settings)  # the remote session every load below reuses

    out: dict[str, Any] = {"days": days}
    for scale in (1.0, 4.0):
        src = sample_dir(days, scale, start="2020-12-01")
        times, peaks, rows, peak_by_service = [], [], 0, {}
        for _ in range(runs):
            lake = fresh_branch(settings, f"scale{int(scale)}")
            try:
                with RssSampler(settings, include_self=False) as sampler:
                    t0 = time.monotonic()
                    res = ingest(lake, str(src), progress=lambda _m: None)
                    times.append(time.monotonic() - t0)
                peaks.append(sampler.peak_mb)
                peak_by_service = sampler.peak_by_service
                rows = sum(res.rows.values())
            finally:
                drop_branch(lake)
        out[f"scale{int(scale)}"] = {
            "seconds": summary(times),
            "peak_rss_mb": summary(peaks),
            "peak_by_service_last_run_mb": peak_by_service,
            "rows": rows,
        }
    out["ratio"] = round(out["scale4"]["seconds"]["median"] / out["scale1"]["seconds"]["median"], 2)
    out["engine"] = "spark-connect"
    return out


def _dashboard_timing(s: Settings, runs: int, refresh: bool = True) -> dict[str, Any]:
    """`ga4lake dashboard timing` over the gold of ``s``: its insight models rebuilt, the bundle imported
    pointing at them, one warm-up open (the first open after an import saves each chart's query
    context), then ``runs`` opens, each timed from navigation to every chart drawn to the end."""
    from ga4lake.dashboard import browser, pg_rows, refresh_models
    from ga4lake.stack import superset

    if refresh:
        refresh_models(s)
    superset.bootstrap(s, "import")
    ((days, sessions),) = pg_rows(
        s, f"SELECT count(DISTINCT session_start_date), count(*) FROM {s.pg_gold_schema}.fact_sessions"
    )
    browser.timing(s, 1)
    load_before = os.getloadavg()[0]
    timed = browser.timing(s, runs)
    return {
        "days": days,
        "sessions": sessions,
        "seconds": summary([r.seconds for r in timed]),
        "charts": len(timed[-1].charts),
        "data_requests": timed[-1].requests,
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def private_state(lake: Settings, root: Path) -> Settings:
    """``lake`` with its own state directory ``root`` (load lock, plans, staging, audits) for a bench load
    onto a throw-away branch: a long load there must not hold the stack's load lock, which every other
    load on the shared stack waits for. The PII key is pinned to the stack's, so bronze hashes as ever."""
    from ga4lake.lake.privacy import pii_key

    salt = lake.pii_salt or (pii_key(lake).decode() if lake.pii_user_id == "hash" else "")
    return dataclasses.replace(lake, state_dir=root, pii_salt=salt)


def dashboard_scales(text: str) -> tuple[int, ...]:
    """``--dashboard-scales`` ("1,4", "4"): which of the section's two measures to take, in that order."""
    scales = tuple(int(x) for x in text.split(",") if x.strip())
    if not scales or not set(scales) <= {1, 4}:
        raise SystemExit(f"bench: --dashboard-scales takes 1 and/or 4 (e.g. 1,4), got {text!r}")
    return tuple(sorted(set(scales)))


def merge_dashboard(previous: dict[str, Any] | None, measured: dict[str, Any]) -> dict[str, Any]:
    """The dashboard results after a run: the scales just measured replace theirs, the others are kept."""
    return {**(previous or {}), **measured}


def bench_dashboard(
    settings: Settings, runs: int, scale4_days: int = 14, scales: tuple[int, ...] = (1, 4)
) -> dict[str, Any]:
    """The Superset dashboard's render time over the 92-day demo in gold (scale 1, `make demo` first)
    and over ``scale4_days`` days at scale 4, loaded (Spark Connect, as the scale section) into a
    throw-away branch and schema that the bundle points at while it is measured. The scale-4 load keeps
    its lock and work files in a private state directory (``private_state``)."""
    import tempfile

    from ga4lake.load.run import ingest
    from ga4lake.stack import superset

    out: dict[str, Any] = {}
    if 1 in scales:
        out["scale1"] = _dashboard_timing(settings, runs)
    if 4 in scales and scale4_days:
        _use_spark_connect(settings)
        lake = fresh_branch(settings, "dash4")
        try:
            with tempfile.TemporaryDirectory(prefix="ga4lake-bench-dash4-") as root:
                t0 = time.monotonic()
                res = ingest(
                    private_state(lake, Path(root)),
                    str(sample_dir(scale4_days, 4.0, start="2020-12-01")),
                    progress=lambda _m: None,
                )
                load_seconds = round(time.monotonic() - t0, 1)
            out["scale4"] = {
                **_dashboard_timing(lake, runs),
                "load_seconds": load_seconds,
                "rows": sum(res.rows.values()),
            }
        finally:
            superset.bootstrap(settings, "import")  # the dashboard reads gold's insights again
            drop_branch(lake)
    return out


def _use_spark_connect(settings: Settings) -> None:
    """Point this process's get_spark() at the stack's Spark Connect server (a process holding a local
    SparkContext cannot open a remote session: stop it first; sections needing local Spark run earlier)."""
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    if SparkSession._instantiatedSession is not None:
        SparkSession._instantiatedSession.stop()
    if SparkContext._active_spark_context is not None:
        SparkContext._active_spark_context.stop()
    os.environ["GA4LAKE_SPARK_REMOTE"] = f"sc://127.0.0.1:{settings.ports.spark_connect}"


def bench_duckdb(runs: int, scale: float, days: int = 92) -> dict[str, Any]:
    """Embedded lower bound: sessions, daily funnel and retention by DuckDB straight from the export files."""
    import duckdb

    src = sample_dir(days, scale)
    sql = (
        (REPO_ROOT / "benchmarks" / "duckdb_gold.sql")
        .read_text()
        .replace("{files}", str(src / "events_*.parquet"))
    )
    statements = [
        s
        for s in sql.split(";")
        if "".join(ln for ln in s.splitlines() if not ln.strip().startswith("--")).strip()
    ]
    times, answer = [], None
    for _ in range(runs):
        con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")
        t0 = time.monotonic()
        for statement in statements:
            answer = con.execute(statement).fetchall()
        times.append(time.monotonic() - t0)
        con.close()
    return {"seconds": summary(times), "answer": answer, "days": days, "scale": scale}


def measured_at(m: dict[str, Any]) -> dict[str, Any]:
    return {"commit": m.get("commit"), "date": m.get("date")}


def _figure_groups(results: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The units a run measures or keeps: each section, except the dashboard's two scales, which
    ``--dashboard-scales`` measures apart."""
    out: list[tuple[str, dict[str, Any]]] = []
    for name, section in results.items():
        if name == "machine" or not isinstance(section, dict):
            continue
        if name == "dashboard":
            out += [(f"dashboard {k}", v) for k, v in section.items() if isinstance(v, dict)]
        else:
            out.append((name, section))
    return out


def keep_measured_at(results: dict[str, Any]) -> None:
    """Sections not re-run keep their figures, so each keeps the commit and date it was measured at (taken
    from the previous run's machine record when it has none yet): the header must not date old figures."""
    before = measured_at(results.get("machine", {}))
    for _name, figures in _figure_groups(results):
        figures.setdefault("measured", before)


def stamp_measured(results: dict[str, Any], section: str, measured: dict[str, Any]) -> None:
    """Record the commit and date of a section just measured (the dashboard: of the scales it measured)."""
    at = measured_at(results["machine"])
    targets = [results["dashboard"][k] for k in measured] if section == "dashboard" else [results[section]]
    for figures in targets:
        figures["measured"] = at


def measured_line(results: dict[str, Any]) -> str:
    """ "commit X (date): sections …; commit Y (date): …", newest first."""
    groups: dict[tuple[str, str], list[str]] = {}
    for name, figures in _figure_groups(results):
        at = figures.get("measured") or measured_at(results.get("machine", {}))
        groups.setdefault((str(at.get("date")), str(at.get("commit"))), []).append(name)
    return "; ".join(
        f"commit {commit} ({day}): {', '.join(names)}"
        for (day, commit), names in sorted(groups.items(), reverse=True)
    )


# ---------------------------------------------------------------------------------------------
def render(results: dict[str, Any]) -> str:
    m = results.get("machine", {})
    lines = [
        "# Benchmarks",
        "",
        f"Machine: {m.get('cores')} cores, {m.get('memory_gb')} GB RAM, {m.get('cpu')}; Python {m.get('python')}. "
        f"Measured at {measured_line(results)}. Regenerate with `make bench` (sections: "
        "`python -m benchmarks.harness --only stack,sample,day,freshness,duckdb,late,backfill,scale,dashboard --runs N "
        "[--backfill-runs N --scale-runs N --scale-days D --dashboard-scale4-days D --dashboard-scales 1,4]`). Each figure: median (min–max) of the runs column.",
        "",
        "| what | median | min–max | runs | target | notes |",
        "|---|---|---|---|---|---|",
    ]

    def row(what: str, s: dict | None, unit: str, target: str, notes: str = "") -> None:
        if s:
            lines.append(
                f"| {what} | {s['median']} {unit} | {s['min']}–{s['max']} | {s['runs']} | {target} | {notes} |"
            )

    st = results.get("stack")
    if st:
        row("warm `make up` (stack stopped, everything installed)", st["warm_up_seconds"], "s", "< 90 s")
        idle = ", ".join(f"{k} {v} MB" for k, v in st["idle_rss_mb"].items())
        lines.append(f"| idle RSS, whole stack | {st['idle_rss_total_mb']} MB | | 1 | < 6 GB | {idle} |")
    sa = results.get("sample")
    if sa:
        s = sa.get("seconds") or {}
        r = sa.get("peak_rss_mb") or {}
        if isinstance(s, dict) and "median" in s:
            row("`ga4lake sample` 92 days, scale 1.0 (4.3 M events)", s, "s", "< 180 s")
            row("… peak RSS of the generator", r, "MB", "< 2048 MB")
    d = results.get("day")
    if d:
        row(
            f"one new day → bronze, silver, gold (incremental), audits, merge, PostgreSQL sync "
            f"({d['rows_per_day']} rows, scale {d['scale']})",
            d["seconds"],
            "s",
            "—",
            "warm stack, 7 trailing days on the branch, Spark session already running; parity gate included, no dbt"
            + (f"; median s per step: {d['steps_median']}" if d.get("steps_median") else ""),
        )
    f = results.get("freshness")
    if f:
        row(
            f"freshness, CLI: one new day landed → validated gold in PostgreSQL (dbt build + parity), scale {f['scale']}",
            f["cli_seconds"],
            "s",
            "≤ 60 s",
            "one process, Spark session already running",
        )
        row(
            "freshness, Airflow: the same through the 4 asset-chained DAGs (trigger → parity done)",
            f["airflow_seconds"],
            "s",
            "≤ 120 s",
            f"tasks of last run: {f['airflow_layers_last_run']}",
        )
    b = results.get("backfill")
    if b:
        row(
            f"{b['days']}-day backfill through Airflow (one range-mode run: every layer, parity gate, sync, dbt, parity), "
            f"scale {b['scale']}",
            b["seconds"],
            "s",
            "≤ 480 s",
            f"tasks of last run: {b.get('layers_last_run') or b.get('stage_seconds_last_run')}",
        )
        row(
            "… peak RSS, whole stack + Spark + Airflow tasks during the backfill",
            b["peak_rss_mb"],
            "MB",
            "≤ 12 GB",
            f"per service tree at the peak of the last run (MB): {b.get('peak_by_service_last_run_mb') or '—'}",
        )
    late = results.get("late")
    if late:
        row(
            f"one new day after the {late['days']} days (same measure as the one-day row)",
            late["seconds"],
            "s",
            "—",
            f"median s per step: {late['steps_median']}",
        )
        if d:
            # a ratio of two commits' figures would mislead
            same = d.get("measured") == late.get("measured")
            ratio = round(late["seconds"]["median"] / d["seconds"]["median"], 2) if same else "—"
            note = (
                "medians of the two rows above"
                if same
                else ("the two rows above come from different commits: re-run `--only day,late`")
            )
            lines.append(f"| incremental cost: late day ÷ day 8 | {ratio} | | | ≤ 1.25 | {note} |")
    sc = results.get("scale")
    if sc:
        row(
            f"{sc['days']}-day load, scale 1 ({sc['scale1']['rows']} rows), CLI on {sc.get('engine', 'local Spark')}",
            sc["scale1"]["seconds"],
            "s",
            "—",
        )
        row(
            f"{sc['days']}-day load, scale 4 ({sc['scale4']['rows']} rows), CLI on {sc.get('engine', 'local Spark')}",
            sc["scale4"]["seconds"],
            "s",
            "—",
        )
        if sc["scale4"].get("peak_rss_mb"):  # dropped from results when a sampler fault made it wrong
            row(
                "… peak RSS at scale 4, whole stack",
                sc["scale4"]["peak_rss_mb"],
                "MB",
                "≤ 12 GB",
                f"per service tree at the peak of the last run (MB): {sc['scale4'].get('peak_by_service_last_run_mb') or '—'}",
            )
        else:
            lines.append("| … peak RSS at scale 4 | not measured | | | ≤ 12 GB | see benchmarks/notes.md |")
        lines.append(f"| scale ratio: scale 4 ÷ scale 1 | {sc['ratio']} | | | ≤ 4.5 | medians |")
    db = results.get("dashboard")
    if db:
        for key, scale in (("scale1", 1), ("scale4", 4)):
            r = db.get(key)
            if r:
                row(
                    f"dashboard render, {r['days']} days at scale {scale} ({r['sessions']} sessions): "
                    "open → every chart drawn to the end",
                    r["seconds"],
                    "s",
                    "< 5 s" if scale == 1 else "—",
                    f"headless chromium 1600 px, logged in, browser cache warm, no result cache; {r['charts']} "
                    f"charts, {r['data_requests']} data requests; load average {r['load_average'][0]} before, "
                    f"{r['load_average'][1]} after",
                )
    dk = results.get("duckdb")
    if dk:
        row(
            f"DuckDB lower bound: sessions + daily funnel + retention from the {dk['days']} export files",
            dk["seconds"],
            "s",
            "—",
            f"answer (sessions, funnel days, retention cells) {dk['answer']}",
        )
        gold = (b or {}).get("layers_last_run", {}).get("gold.gold")
        if gold:
            lines.append(
                f"| Spark gold step ÷ DuckDB | {round(gold / dk['seconds']['median'], 1)} | | | — | "
                f"gold task of the backfill {gold} s (10 tables, Iceberg writes on a branch) |"
            )
    lines += ["", "Raw numbers: `benchmarks/results.json`.", ""]
    notes = REPO_ROOT / "benchmarks" / "notes.md"
    if notes.exists():
        lines.append(notes.read_text())
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="ga4lake bench", description=__doc__.splitlines()[0])
    p.add_argument("--only", default="stack,sample,day,freshness,duckdb,late,backfill,scale,dashboard")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument(
        "--backfill-runs", type=int, default=3, help="runs of the 92-day backfill (about 15 min each)"
    )
    p.add_argument("--scale-runs", type=int, default=3, help="runs of each scale in the scale section")
    p.add_argument("--scale-days", type=int, default=14, help="days loaded at scale 1 and at scale 4")
    p.add_argument(
        "--dashboard-scale4-days", type=int, default=14, help="days at scale 4 for the dashboard (0: skip)"
    )
    p.add_argument(
        "--dashboard-scales",
        default="1,4",
        help="which dashboard measures to take: 1 (92-day demo in gold), 4 (scale-4 days), or 1,4",
    )
    p.add_argument("--scale", type=float, default=1.0)
    args = p.parse_args(argv)
    settings = load_settings()
    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    keep_measured_at(results)
    results["machine"] = machine()
    manager.up(settings)
    lock = preflight(settings)  # noqa: F841 — held (open) until the process exits
    os.environ.setdefault("GA4LAKE_SPARK_LOG_LEVEL", "ERROR")
    sections = args.only.split(",")
    connect = [i for i, name in enumerate(sections) if name in CONNECT_SECTIONS]
    if connect and not set(sections[connect[0] :]) <= CONNECT_SECTIONS:
        raise SystemExit(
            "bench: `scale` and `dashboard` must be the last sections (they move this process to Spark Connect)"
        )
    for section in track(sections, "bench", "sections"):
        print(f"bench: {section} …", file=sys.stderr, flush=True)
        t0 = time.monotonic()
        measured: dict[str, Any] = {}  # the dashboard's scales measured by this run
        if section == "stack":
            results["stack"] = bench_stack(settings, args.runs)
        elif section == "sample":
            results["sample"] = bench_sample(args.runs)
        elif section == "day":
            results["day"] = bench_day(settings, args.runs, args.scale)
        elif section == "backfill":
            results["backfill"] = bench_backfill(settings, args.backfill_runs, args.scale)
        elif section == "late":
            results["late"] = bench_late(settings, args.runs, args.scale)
        elif section == "freshness":
            results["freshness"] = bench_freshness(settings, args.runs, args.scale)
        elif section == "scale":
            results["scale"] = bench_scale(settings, args.scale_runs, args.scale_days)
        elif section == "dashboard":
            measured = bench_dashboard(
                settings, args.runs, args.dashboard_scale4_days, dashboard_scales(args.dashboard_scales)
            )
            results["dashboard"] = merge_dashboard(results.get("dashboard"), measured)
        elif section == "duckdb":
            results["duckdb"] = bench_duckdb(args.runs, args.scale)
        else:
            raise SystemExit(f"unknown section {section!r}")
        print(f"bench: {section} done in {time.monotonic() - t0:.0f}s", file=sys.stderr, flush=True)
        stamp_measured(results, section, measured)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2, default=str))
        REPORT.write_text(render(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
