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
from typing import Any

from ga4lake.config import REPO_ROOT, Settings, load_settings
from ga4lake.stack import manager
from ga4lake.stack.process import rss_kb
from ga4lake.stack.services import build_services

RESULTS = REPO_ROOT / "benchmarks" / "results.json"
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
    """Peak of (stack services + this process tree) RSS, sampled every second in a thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def total_mb(self) -> float:
        pids = [s.pid() for s in build_services(self.settings, with_spark=True)]
        kb = sum(rss_kb(p) for p in pids if p) + rss_kb(os.getpid())
        return kb / 1024

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, self.total_mb())
            self._stop.wait(1.0)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def fresh_branch(settings: Settings, tag: str) -> Settings:
    from ga4lake.lake.nessie import NO_ANCESTOR, NessieClient

    nessie = NessieClient(settings.nessie_api)
    name = f"bench_{tag}_{uuid.uuid4().hex[:6]}"
    nessie.create_branch(name, "main", NO_ANCESTOR)
    nessie.ensure_namespaces(("bronze", "silver", "gold"), name)
    return dataclasses.replace(settings, lake_branch=name, pg_gold_schema=name)


def drop_branch(settings: Settings) -> None:
    import psycopg2

    from ga4lake.lake.nessie import NessieClient

    NessieClient(settings.nessie_api).delete_branch(settings.lake_branch)
    conn = psycopg2.connect(settings.pg_dsn())
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP SCHEMA IF EXISTS "{settings.pg_gold_schema}" CASCADE')
    conn.close()


def sample_dir(days: int, scale: float, start: str = "2020-11-01") -> Path:
    out = Path(os.environ.get("GA4LAKE_BENCH_DATA", "/tmp/ga4lake-bench")) / f"s{scale}_d{days}_{start}"
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


def bench_day(settings: Settings, runs: int, scale: float) -> dict[str, Any]:
    """One new day through bronze+silver (and every later layer), with 7 trailing days already published."""
    from ga4lake.lake import load

    src = sample_dir(7 + runs, scale)
    lake = fresh_branch(settings, "day")
    times, rows = [], []
    try:
        load.ingest(lake, str(src), end=date(2020, 11, 7), progress=lambda _m: None)
        for i in range(runs):
            day = date(2020, 11, 8) + timedelta(days=i)
            t0 = time.monotonic()
            res = load.ingest(lake, str(src), start=day, end=day, progress=lambda _m: None)
            times.append(time.monotonic() - t0)
            rows.append(sum(res.rows.values()))
    finally:
        drop_branch(lake)
    return {"seconds": summary(times), "rows_per_day": int(statistics.median(rows)), "scale": scale}


def bench_backfill(settings: Settings, runs: int, scale: float, days: int = 92) -> dict[str, Any]:
    from ga4lake.lake import load

    src = sample_dir(days, scale)
    times, peaks, stages = [], [], []
    for _ in range(runs):
        lake = fresh_branch(settings, "backfill")
        try:
            with RssSampler(settings) as sampler:
                t0 = time.monotonic()
                res = load.ingest(lake, str(src), progress=lambda _m: None)
                times.append(time.monotonic() - t0)
            peaks.append(sampler.peak_mb)
            stages.append(res.seconds)
        finally:
            drop_branch(lake)
    return {
        "seconds": summary(times),
        "peak_rss_mb": summary(peaks),
        "days": days,
        "scale": scale,
        "rows": sum(res.rows.values()),
        "stage_seconds_last_run": stages[-1],
    }


# ---------------------------------------------------------------------------------------------
def render(results: dict[str, Any]) -> str:
    m = results.get("machine", {})
    lines = [
        "# Benchmarks",
        "",
        f"Machine: {m.get('cores')} cores, {m.get('memory_gb')} GB RAM, {m.get('cpu')}; Python {m.get('python')}; "
        f"commit {m.get('commit')}; {m.get('date')}. Regenerate with `make bench` (sections: "
        "`python -m ga4lake.bench --only stack,sample,day,backfill --runs N`). Each figure: median (min–max) of N runs.",
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
            "warm stack, 7 trailing days on the branch, Spark session already running; no dbt/parity",
        )
    b = results.get("backfill")
    if b:
        row(
            f"{b['days']}-day backfill → every layer (gold full build) + PostgreSQL sync "
            f"({b['rows']} rows, scale {b['scale']})",
            b["seconds"],
            "s",
            "—",
            f"stages of last run: {b['stage_seconds_last_run']}",
        )
        row("… peak RSS, stack + Spark driver during the backfill", b["peak_rss_mb"], "MB", "< 12 GB")
    lines += ["", "Raw numbers: `benchmarks/results.json`.", ""]
    notes = REPO_ROOT / "benchmarks" / "notes.md"
    if notes.exists():
        lines.append(notes.read_text())
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="ga4lake bench", description=__doc__.splitlines()[0])
    p.add_argument("--only", default="stack,sample,day,backfill")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--scale", type=float, default=1.0)
    args = p.parse_args(argv)
    settings = load_settings()
    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results["machine"] = machine()
    manager.up(settings)
    os.environ.setdefault("GA4LAKE_SPARK_LOG_LEVEL", "ERROR")
    for section in args.only.split(","):
        print(f"bench: {section} …", file=sys.stderr, flush=True)
        t0 = time.monotonic()
        if section == "stack":
            results["stack"] = bench_stack(settings, args.runs)
        elif section == "sample":
            results["sample"] = bench_sample(args.runs)
        elif section == "day":
            results["day"] = bench_day(settings, args.runs, args.scale)
        elif section == "backfill":
            results["backfill"] = bench_backfill(settings, args.runs, args.scale)
        else:
            raise SystemExit(f"unknown section {section!r}")
        print(f"bench: {section} done in {time.monotonic() - t0:.0f}s", file=sys.stderr, flush=True)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2, default=str))
        REPORT.write_text(render(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
