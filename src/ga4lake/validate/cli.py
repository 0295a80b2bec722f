"""``ga4lake validate``: gold parity against dbt-ga4's logic (Trino) plus the dbt tests, in one report.

Exit status: 0 when every parity delta is within the threshold and dbt passed (tests, and freshness of
the PostgreSQL gold against the lake); 1 otherwise; 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from typing import Any

from ga4lake.args import day_arg
from ga4lake.log import say as _say  # progress lines (stderr; -q hides them)

_day = day_arg


def _threshold(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from exc
    if value < 0:
        raise argparse.ArgumentTypeError("the threshold is a percentage >= 0")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--start", type=_day, default=None, help="first event date (default: first day in bronze)"
    )
    parser.add_argument(
        "--end", type=_day, default=None, help="last event date (default: last day in bronze)"
    )
    parser.add_argument(
        "--threshold",
        type=_threshold,
        default=None,
        help="allowed |Δ| in percent per table (default 0.5, or GA4LAKE_PARITY_THRESHOLD_PCT)",
    )
    parser.add_argument("--skip-dbt", action="store_true", help="parity only: do not run dbt")
    parser.add_argument("--skip-parity", action="store_true", help="dbt only: do not run the Trino parity")
    parser.add_argument(
        "--docs", action="store_true", help="also run `dbt docs generate` (lineage artifacts)"
    )
    parser.add_argument(
        "--models",
        default=None,
        help="comma-separated parity models or gold tables (default: all), e.g. fact_sessions,dim_user",
    )
    parser.add_argument("--no-store", action="store_true", help="do not append the run to parity_results")
    parser.add_argument(
        "--format",
        choices=["table", "json"],
        default="table",
        help="json: one JSON object on stdout (status, problems, parity rows, dbt summaries); progress on stderr",
    )


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``validate`` subcommand to the main CLI; its handler is ``args.func(args) -> int``."""
    parser = subparsers.add_parser(
        "validate",
        help="check gold: row-count parity with dbt-ga4's logic (Trino) and the dbt tests (PostgreSQL)",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    add_arguments(parser)
    parser.set_defaults(func=run_args)
    return parser


def parity_json(report: Any) -> dict[str, Any]:
    """A parity report for scripts: the run, its window and one object per check."""
    return {
        "run_id": report.run_id,
        "start": report.start.isoformat(),
        "end": report.end.isoformat(),
        "threshold_pct": report.threshold_pct,
        "passed": not report.failed,
        "checks": [
            {
                "model": r.model,
                "gold_table": r.gold_table,
                "reference": r.reference_rows,
                "gold": r.gold_rows,
                "delta_pct": r.delta_pct,
                "passed": r.passed,
                "error": r.error,
            }
            for r in report.rows
        ],
    }


def dbt_json(summary: Any) -> dict[str, Any]:
    """A dbt summary for scripts: counts by status and the failing nodes."""
    return {
        "command": summary.command,
        "ok": summary.ok,
        "seconds": round(summary.seconds, 1),
        "tests": dict(summary.tests),
        "counts": dict(summary.counts),
        "failures": [{"node": f.name, "status": f.status, "message": f.message} for f in summary.failures],
    }


def run_args(args: argparse.Namespace) -> int:
    from ga4lake.config import load_settings
    from ga4lake.validate import dbt, parity

    fmt = getattr(args, "format", "table")
    result: dict[str, Any] = {"parity": None, "dbt": []}

    def emit(text: str) -> None:  # human output; in json mode it goes to stderr beside the progress
        (sys.stderr if fmt == "json" else sys.stdout).write(text)

    settings = load_settings()
    if args.start and args.end and args.start > args.end:
        _say(f"ga4lake validate: --start {args.start} is after --end {args.end}")
        return 2
    problems: list[str] = []
    lake_last: date | None = None
    try:
        lake_first, lake_last = parity.lake_date_range(settings)
    except Exception as exc:  # the lake is empty or Trino is down: parity cannot run, dbt still can
        lake_first = None
        _say(f"ga4lake validate: cannot read the lake's date range: {exc}")

    if not args.skip_parity:
        if lake_first is None or lake_last is None:
            problems.append("parity: the lake's bronze could not be read")
        else:
            models = [m.strip() for m in args.models.split(",") if m.strip()] if args.models else None
            try:
                report = parity.run_parity(
                    settings,
                    args.start or lake_first,
                    args.end or lake_last,
                    args.threshold,
                    models,
                    store=not args.no_store,
                    progress=_say,
                )
            except ValueError as exc:
                _say(f"ga4lake validate: {exc}")
                return 2
            except Exception as exc:  # PostgreSQL or Trino unreachable: report it, still run dbt
                emit(f"parity: ERROR {type(exc).__name__}: {str(exc).strip().splitlines()[0][:300]}\n")
                problems.append("parity could not run")
            else:
                result["parity"] = parity_json(report)
                emit(parity.format_report(report))
                if report.failed:
                    problems.append(f"parity: {', '.join(r.gold_table for r in report.failed)}")

    if not args.skip_dbt:
        _say("dbt build ...")
        summary = dbt.build(settings)
        emit(dbt.format_summary(summary))
        result["dbt"].append(dbt_json(summary))
        if not summary.ok:
            problems.append(f"dbt build: {len(summary.failures)} failing node(s)")
        _say("dbt source freshness ...")
        fresh = dbt.source_freshness(settings, as_of=lake_last.isoformat() if lake_last else None)
        emit(dbt.format_summary(fresh))
        result["dbt"].append(dbt_json(fresh))
        if not fresh.ok:
            problems.append("dbt source freshness: gold in PostgreSQL lags the lake")
        if args.docs:
            _say("dbt docs generate ...")
            docs = dbt.docs_generate(settings)
            emit(dbt.format_summary(docs))
            result["dbt"].append(dbt_json(docs))
            if not docs.ok:
                problems.append("dbt docs generate failed")

    if fmt == "json":
        print(json.dumps({"status": "failed" if problems else "passed", "problems": problems, **result}))
    elif problems:
        print(f"validate: FAILED — {'; '.join(problems)}")
    else:
        print("validate: passed")
    return 1 if problems else 0
