"""Benchmark ``ga4lake sample``: wall time and peak RSS of full runs, as JSON on stdout.

Each run is a fresh child process (so its peak RSS is its own, read with ``os.wait4``) that
generates and writes the whole window to a temporary directory. Defaults are the issue's target:
92 days at scale 1.0, Parquet, 3 runs; target < 180 s and < 2 GB peak RSS on 2 cores.

    python benchmarks/bench_sample.py [--runs 3] [--scale 1.0] [--days 92] [--format parquet] [--measure]

``--measure`` also reads the last run's files back and reports the statistics of docs/sample.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CHILD = """
import json, sys
from ga4lake.sample.cli import SampleOptions, run
from datetime import date
a = json.loads(sys.argv[1])
s = run(SampleOptions(date.fromisoformat(a["start"]), a["days"], a["scale"], a["seed"], a["out"], a["fmt"],
                      False, 0, 0.0, 0.0, 0.0), progress=a["progress"])
s.pop("files")
print(json.dumps(s))
"""
TARGETS = {"events": 4_295_584, "users": 270_154, "sessions": 360_129, "seconds": 180, "peak_rss_mb": 2048}


def one_run(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    spec = {
        "start": args.start,
        "days": args.days,
        "scale": args.scale,
        "seed": args.seed,
        "out": str(out),
        "fmt": args.format,
        "progress": args.progress,
    }
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(spec)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    stdout = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"run failed with exit status {proc.returncode}")
    summary = json.loads(stdout)
    return {
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux reports KiB
        "rows": summary["rows"],
        "users": summary["users"],
        "sessions": summary["sessions"],
        "bytes": sum(p.stat().st_size for p in out.iterdir()),
    }


def measure(out: Path) -> dict[str, Any]:
    """Statistics of the written files (slow: reads everything back)."""
    from ga4lake.sample.readers import read_export
    from ga4lake.sample.stats import slim, summarize

    s = summarize(slim(read_export(p)) for p in sorted(out.iterdir()))
    s.pop("daily_events")
    return s


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--start", default="2020-11-01")
    ap.add_argument("--days", type=int, default=92)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--format", default="parquet", choices=["parquet", "avro", "ndjson"])
    ap.add_argument("--progress", action="store_true", help="show the generator's progress lines")
    ap.add_argument("--measure", action="store_true", help="read the last run back and report statistics")
    args = ap.parse_args()

    runs = []
    work = Path(tempfile.mkdtemp(prefix="ga4lake-bench-"))
    try:
        for i in range(args.runs):
            out = work / f"run{i}"
            runs.append(one_run(args, out))
            print(f"run {i + 1}/{args.runs}: {runs[-1]}", file=sys.stderr, flush=True)
            if i < args.runs - 1:
                shutil.rmtree(out)
        result: dict[str, Any] = {
            "benchmark": "ga4lake sample",
            "params": {k: getattr(args, k) for k in ("start", "days", "scale", "seed", "format")},
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "runs": runs,
            "median_seconds": statistics.median(r["seconds"] for r in runs),
            "max_peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
            "rows_per_second": round(statistics.median(r["rows"] / r["seconds"] for r in runs)),
            "targets_at_scale": {
                k: (v * args.scale if k in ("events", "users", "sessions") else v) for k, v in TARGETS.items()
            },
        }
        if args.measure:
            result["measured"] = measure(work / f"run{args.runs - 1}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, indent=2, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
