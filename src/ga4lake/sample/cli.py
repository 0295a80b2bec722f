"""``ga4lake sample``: write a realistic GA4 export, one BigQuery-named file per day.

Argument problems and unusable outputs end with a one-line ``ga4lake sample: error: ...`` on
stderr and a non-zero exit (2 for arguments, 1 for output failures), before any file is written.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
import types
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

from ga4lake.log import bar, say

from .generator import SampleConfig, SampleGenerator
from .quirks import add_late_events, apply_row_quirks
from .writers import FORMATS, s3_client, shard_name, split_s3_url, upload, write_table

PROG = "ga4lake sample"


class UsageError(ValueError):
    """A bad argument value; reported as one line, exit status 2."""


@dataclass(frozen=True)
class SampleOptions:
    """Validated command-line options."""

    start: date
    days: int
    scale: float
    seed: int
    out: str
    fmt: str
    drift: bool
    late_days: int
    duplicates: float
    consent_denied: float
    bad_rows: float


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The subcommand's options; values are validated in ``validate`` so errors stay one line."""
    parser.add_argument("--start", default="2020-11-01", help="first day, YYYY-MM-DD (default 2020-11-01)")
    parser.add_argument("--days", default="92", help="number of daily files (default 92)")
    parser.add_argument("--scale", default="1.0", help="volume multiplier; 1.0 = ~4.3 M events in 92 days")
    parser.add_argument("--seed", default="42", help="random seed (same seed, same rows)")
    parser.add_argument("--out", required=True, help="output directory or s3://bucket/prefix")
    parser.add_argument(
        "--format", default="parquet", dest="fmt", metavar="FORMAT", help="parquet (default), avro or ndjson"
    )
    parser.add_argument("--drift", action="store_true", help="later days carry the newer export fields")
    parser.add_argument("--late-days", default="0", help="re-export the last N days with late events")
    parser.add_argument("--duplicates", default="0", help="share of rows duplicated exactly")
    parser.add_argument("--consent-denied", default="0", help="share of sessions without user/session ids")
    parser.add_argument("--bad-rows", default="0", help="share of rows with malformed values")


def _one_line_errors(parser: argparse.ArgumentParser) -> None:
    def error(self: argparse.ArgumentParser, message: str) -> NoReturn:
        print(f"{PROG}: error: {message}", file=sys.stderr)
        raise SystemExit(2)

    parser.error = types.MethodType(error, parser)  # type: ignore[method-assign]


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``sample`` subcommand to the main CLI; its handler is ``args.func(args) -> int``."""
    parser = subparsers.add_parser(
        "sample",
        help="generate a GA4 BigQuery export sample (Parquet, Avro or NDJSON), one file per day",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    add_arguments(parser)
    _one_line_errors(parser)
    parser.set_defaults(func=run_args)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point: ``python -m ga4lake.sample.cli --out DIR ...``."""
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0] if __doc__ else None)
    add_arguments(parser)
    _one_line_errors(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else 2
    return run_args(args)


def _number(
    name: str,
    raw: str,
    kind: type,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
) -> Any:
    try:
        value = kind(raw)
    except (TypeError, ValueError):
        raise UsageError(
            f"{name} must be {'an integer' if kind is int else 'a number'}, got {raw!r}"
        ) from None
    if kind is float and not math.isfinite(value):
        raise UsageError(f"{name} must be finite, got {raw!r}")
    if low is not None and (value <= low if low_open else value < low):
        raise UsageError(f"{name} must be {'>' if low_open else '>='} {low:g}, got {raw}")
    if high is not None and value > high:
        raise UsageError(f"{name} must be <= {high:g}, got {raw}")
    return value


def validate(args: argparse.Namespace) -> SampleOptions:
    """Check every option; raise ``UsageError`` naming the first problem."""
    try:
        start = date.fromisoformat(args.start)
    except ValueError:
        raise UsageError(f"--start must be a date YYYY-MM-DD, got {args.start!r}") from None
    days = _number("--days", args.days, int)
    if days < 1:
        raise UsageError(f"--days must be >= 1 (got {days}): the date range is empty")
    scale = _number("--scale", args.scale, float, 0.0, low_open=True)
    seed = _number("--seed", args.seed, int, 0)
    fmt = args.fmt.lower()
    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, got {args.fmt!r}")
    late = _number("--late-days", args.late_days, int, 0, days)
    rates = {
        k: _number(f"--{k.replace('_', '-')}", getattr(args, k), float, 0.0, 1.0)
        for k in ("duplicates", "consent_denied", "bad_rows")
    }
    if not args.out:
        raise UsageError("--out must not be empty")
    return SampleOptions(start, days, scale, seed, args.out, fmt, bool(args.drift), late, **rates)


def _check_local_out(out: Path) -> None:
    """Fail early (one line) if ``out`` cannot hold the files."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".ga4lake-probe-"):
            pass
    except OSError as exc:
        raise OSError(f"output directory {out} is not writable: {exc.strerror or exc}") from exc


def run(opts: SampleOptions, progress: bool = True) -> dict[str, Any]:
    """Generate and write every day, with progress on stderr; returns days, rows, seconds, files."""
    t0 = time.perf_counter()
    s3 = opts.out.startswith("s3://")
    if s3:
        bucket, prefix = split_s3_url(opts.out)
        client = s3_client()
        staging_dir = tempfile.TemporaryDirectory(prefix="ga4lake-sample-")
        local = Path(staging_dir.name)
    else:
        local = Path(opts.out)
        _check_local_out(local)
    gen = SampleGenerator(
        SampleConfig(opts.start, opts.days, opts.scale, opts.seed, opts.drift, opts.consent_denied)
    )
    rows_by_day: dict[int, int] = {}
    files: list[str] = []

    def emit(i: int, late: bool) -> None:
        day = gen.date(i)
        t = time.perf_counter()
        table = apply_row_quirks(gen.day(i), opts.seed, day, opts.bad_rows, opts.duplicates)
        if late:
            table = add_late_events(table, opts.seed, day, int(gen.plan.bounds[i + 1]))
        path = write_table(
            table,
            local / shard_name(day, opts.fmt),
            opts.fmt,
            sync_marker=f"ga4lake{opts.seed:x}{day:%Y%m%d}".encode()[:16],
        )
        target = str(path)
        if s3:
            target = upload(client, path, bucket, prefix)
            path.unlink()
        files.append(target)
        if progress:
            what = "re-export" if late else "day"
            say(
                f"{PROG}: {what} {i + 1:>3}/{opts.days} {day}  {table.num_rows:>9,} rows  "
                f"{time.perf_counter() - t:5.2f}s"
            )
        rows_by_day[i] = table.num_rows  # a re-export replaces the day's file

    with bar(opts.days + opts.late_days if progress else 0, f"{PROG}: days", "files") as advance:
        for i in range(opts.days):
            emit(i, late=False)
            advance()
        for i in range(opts.days - opts.late_days, opts.days):
            emit(i, late=True)
            advance()
    rows = sum(rows_by_day.values())
    seconds = time.perf_counter() - t0
    if s3:
        staging_dir.cleanup()
    summary = {
        "days": opts.days,
        "rows": rows,
        "seconds": round(seconds, 2),
        "files": files,
        "users": int(gen.plan.user_first_touch.size),
        "sessions": gen.plan.n_sessions,
    }
    if progress:
        re = f" (+{opts.late_days} re-exported)" if opts.late_days else ""
        say(f"{PROG}: wrote {opts.days} days{re}, {rows:,} rows in {seconds:.1f} s to {opts.out}")
    return summary


def run_args(args: argparse.Namespace) -> int:
    """Handler behind ``ga4lake sample``: 0 on success, 2 for bad arguments, 1 for failures."""
    try:
        opts = validate(args)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    try:
        run(opts)
    except OSError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # boto3/botocore errors and the like: still one line
        print(f"{PROG}: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
