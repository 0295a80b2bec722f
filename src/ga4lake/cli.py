"""The `ga4lake` command line: one entry point, one subcommand per job."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from ga4lake import __version__
from ga4lake.args import day_arg
from ga4lake.config import ConfigError, load_settings
from ga4lake.errors import ExitCode, UserError, exit_code, service_down_message


def _print_table(rows: Sequence[Mapping[str, object]], out: TextIO = sys.stdout) -> None:
    if not rows:
        print("(no rows)", file=out)
        return
    cols = list(rows[0].keys())
    width = {c: max(len(str(c)), *(len(_cell(r.get(c))) for r in rows)) for c in cols}
    print("  ".join(str(c).ljust(width[c]) for c in cols), file=out)
    print("  ".join("-" * width[c] for c in cols), file=out)
    for r in rows:
        print("  ".join(_cell(r.get(c)).ljust(width[c]) for c in cols), file=out)


def _print_rows(rows: Sequence[Mapping[str, object]], fmt: str) -> None:
    """A table for people, or one JSON array for scripts (``--format json``)."""
    if fmt == "json":
        print(json.dumps(rows, default=str))
    else:
        _print_table(rows)


def _format_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=["table", "json"], default="table", help="output format")


def _cell(v: object) -> str:
    return "NULL" if v is None else str(v)


# ---- stack -------------------------------------------------------------------------------------
def cmd_stack(args: argparse.Namespace) -> int:
    from ga4lake.stack import manager

    settings = load_settings()
    if args.action == "up":
        timings = manager.up(settings, with_spark=True if args.spark else None, only=tuple(args.only or ()))
        print(f"stack up in {sum(timings.values()):.1f}s (state: {settings.state_dir})", file=sys.stderr)
    elif args.action == "down":
        manager.down(settings, only=tuple(args.only or ()))
    elif args.action in ("serve", "probe"):
        if not args.service:
            raise UserError(f"`ga4lake stack {args.action}` needs the service name, e.g. postgres")
        (svc,) = manager.select(settings, (args.service,))
        if args.action == "probe":  # a container's healthcheck: the native health probe
            return 0 if svc.healthy() else 1
        from ga4lake.stack.compose import serve

        return serve(settings, svc)
    else:
        rows = manager.status_rows(settings)
        _print_rows(rows, args.format)
        if args.format == "table":
            total = sum(int(r["rss_mb"]) for r in rows)  # type: ignore[call-overload]
            print(f"total RSS: {total} MB")
        return 0 if all(r["health"] != "unhealthy" for r in rows) else 1
    return 0


def cmd_install(args: argparse.Namespace) -> int:
    from ga4lake.stack import install

    argv = ["--minio"] if args.minio else []
    if args.only:
        argv += ["--only", *args.only]
    return install.main(argv)


def cmd_smoke(args: argparse.Namespace) -> int:
    from ga4lake.stack import smoke

    return smoke.main(["--rows", str(args.rows)] + (["--json"] if args.json else []))


# ---- sql ---------------------------------------------------------------------------------------
def cmd_sql(args: argparse.Namespace) -> int:
    from ga4lake.clients.trino import format_result, run_sql

    settings = load_settings()
    columns, rows = run_sql(settings, args.query, ref=args.ref, catalog=args.catalog, schema=args.schema)
    sys.stdout.write(format_result(columns, rows, args.format))
    return 0


# ---- lake loads ----------------------------------------------------------------------------------
_day = day_arg


def _load_summary(result) -> int:
    if result.status == "noop":
        print("nothing to do (main unchanged)")
        return 0
    print(
        f"published {result.load_id}: {len(result.days)} day(s), {sum(result.rows.values())} rows, "
        f"main {result.main_before[:12]} -> {result.main_after[:12]}; seconds {result.seconds}"
    )
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    """A failed audit or parity gate exits 3 (GateFailed, mapped in main like every expected failure)."""
    from ga4lake.load.run import ingest

    settings = load_settings()
    return _load_summary(
        ingest(settings, args.source, args.start, args.end, force=args.force, slice_days=args.slice_days)
    )


def cmd_run(args: argparse.Namespace) -> int:
    from ga4lake.load.run import rerun

    settings = load_settings()
    return _load_summary(rerun(settings, args.start, args.end, slice_days=args.slice_days))


def cmd_erase(args: argparse.Namespace) -> int:
    from ga4lake.load.erase import erase_user, render

    result = erase_user(load_settings(), args.user_pseudo_id, dry_run=args.dry_run)
    print(render(result, args.user_pseudo_id))
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    from ga4lake.clients.spark import get_spark
    from ga4lake.gold.sync import sync
    from ga4lake.load.lock import load_lock

    settings = load_settings()
    with load_lock(settings, "ga4lake sync"):  # not while a load or rollback changes main or gold
        counts = sync(get_spark(settings, app_name="ga4lake-sync"), settings)
    _print_rows([{"table": k, "rows_in_postgres": v} for k, v in counts.items()], args.format)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from ga4lake.report import build_report, render

    report = build_report(load_settings(), args.start, args.end)
    if args.html or args.svg:
        from ga4lake.report_html import report_html, report_svg

        for path, text in ((args.html, report_html), (args.svg, report_svg)):
            if path:
                out = Path(path)
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(text(report), encoding="utf-8")
                print(f"wrote {out}", file=sys.stderr)
    if args.format == "json":
        print(json.dumps(dataclasses.asdict(report), default=str))
    else:
        print(render(report))
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    """Exit 0: done (or nothing to undo, or the dry run); 5: refused, a load is open or holds the lock;
    4: Nessie or PostgreSQL down; 2: any other error (bad --to)."""
    from ga4lake.load.rollback import describe_commit, rollback

    settings = load_settings()
    res = rollback(settings, args.to, dry_run=args.dry_run)
    verb = "would undo" if res.dry_run else "undid"
    print(
        f"{verb} {len(res.undone)} commit(s) on {res.branch}: {res.head_before[:12]} -> {res.target.hash[:12]}"
    )
    for c in res.undone:
        print(f"  {describe_commit(c)}")
    if res.synced:
        print(f"PostgreSQL {settings.pg_gold_schema} re-synced from {res.target.hash[:12]}:")
        _print_table([{"table": k, "rows_in_postgres": v} for k, v in res.synced.items()])
    if res.undone and not res.dry_run:
        print(f"the undone commits stay readable: ga4lake sql ... --ref {res.head_before}")
    return 0


def cmd_maintain(args: argparse.Namespace) -> int:
    from ga4lake.load.maintain import maintain

    maintain(load_settings(), retention_days=args.retention_days, dry_run=args.dry_run, progress=print)
    return 0


# ---- nessie branches ---------------------------------------------------------------------------
def cmd_branches(args: argparse.Namespace) -> int:
    from ga4lake.clients.nessie import NessieClient

    settings = load_settings()
    client = NessieClient(settings.nessie_api)
    rows = [
        {"name": r.name, "type": r.type, "hash": r.hash[:12]}
        for r in client.list_references()
        if args.all or r.name != settings.lake_branch
    ]
    _print_rows(rows, args.format)
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from ga4lake.clients.nessie import NessieClient

    settings = load_settings()
    client = NessieClient(settings.nessie_api)
    rows = [
        {
            "commit": c.hash[:12],
            "time": c.commit_time,
            "load_id": c.properties.get("ga4lake.load_id", ""),
            "message": c.message.splitlines()[0][:80] if c.message else "",
        }
        for c in client.log(args.ref or settings.lake_branch, limit=args.limit)
    ]
    _print_rows(rows, args.format)
    return 0


def cmd_tables(args: argparse.Namespace) -> int:
    """Every table on a reference with its current snapshot's counters, from Iceberg metadata (pyiceberg:
    no JVM, no Trino)."""
    from ga4lake.clients.iceberg import IcebergReader

    reader = IcebergReader(load_settings(), args.ref)
    _print_rows([t.row() for t in reader.summaries()], args.format)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """The harness lives in the checkout's benchmarks/, beside its results, not in the installed package."""
    import subprocess

    from ga4lake.config import REPO_ROOT

    if not (REPO_ROOT / "benchmarks" / "harness.py").is_file():
        raise UserError(f"ga4lake bench runs from a checkout: {REPO_ROOT / 'benchmarks'} not found")
    argv = ["--only", args.only, "--runs", str(args.runs), "--scale", str(args.scale)]
    return subprocess.call([sys.executable, "-m", "benchmarks.harness", *argv], cwd=REPO_ROOT)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ga4lake", description=__doc__)
    p.add_argument("--version", action="version", version=f"ga4lake {__version__}")
    noise = p.add_mutually_exclusive_group()
    noise.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors on stderr")
    noise.add_argument("-v", "--verbose", action="store_true", help="also detail lines on stderr")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("stack", help="start, stop or inspect the native services")
    s.add_argument("action", choices=["up", "down", "status", "serve", "probe"])
    s.add_argument(
        "service",
        nargs="?",
        help="serve: run this one service in the foreground (a compose container); probe: its health check",
    )
    s.add_argument("--spark", action="store_true", help="also start the Spark standalone master and worker")
    s.add_argument(
        "--only",
        nargs="+",
        metavar="SERVICE",
        help="up/down: just these services (postgres s3 nessie trino spark-connect airflow superset …)",
    )
    _format_arg(s)
    s.set_defaults(func=cmd_stack)

    i = sub.add_parser("install", help="install everything the stack needs (idempotent, cached)")
    i.add_argument("--minio", action="store_true", help="also build the MinIO server")
    i.add_argument(
        "--only",
        nargs="+",
        metavar="STEP",
        help="run only these install steps (system venv dbt jars java25 seaweedfs airflow superset minio)",
    )
    i.set_defaults(func=cmd_install)

    sm = sub.add_parser("smoke", help="run the stack smoke flow (branch, write, merge, read, time travel)")
    sm.add_argument("--rows", type=int, default=1000)
    sm.add_argument("--json", action="store_true")
    sm.set_defaults(func=cmd_smoke)

    q = sub.add_parser("sql", help="run a SQL query on the stack's Trino")
    q.add_argument("query")
    q.add_argument("--format", choices=["table", "csv", "json"], default="table")
    q.add_argument("--ref", help="Nessie branch, tag or commit hash to read lake tables at (default: main)")
    q.add_argument("--catalog", default="iceberg")
    q.add_argument("--schema", default=None)
    q.set_defaults(func=cmd_sql)

    ing = sub.add_parser("ingest", help="land export files and load new/restated days through every layer")
    ing.add_argument("--from", dest="source", required=True, help="directory, file or s3://bucket/prefix")
    ing.add_argument("--start", type=_day)
    ing.add_argument("--end", type=_day)
    ing.add_argument("--force", action="store_true", help="reprocess days whose files are unchanged too")
    ing.add_argument(
        "--slice-days", type=int, default=30, help="days per Spark job in range mode (default 30)"
    )
    ing.set_defaults(func=cmd_ingest)

    rr = sub.add_parser("run", help="reprocess days already landed, through every layer")
    rr.add_argument("--start", type=_day, required=True)
    rr.add_argument("--end", type=_day, required=True)
    rr.add_argument("--slice-days", type=int, default=30)
    rr.set_defaults(func=cmd_run)

    sy = sub.add_parser("sync", help="re-sync every gold table from the lake's main into PostgreSQL")
    _format_arg(sy)
    sy.set_defaults(func=cmd_sync)

    er = sub.add_parser(
        "erase",
        help="erase one user_pseudo_id from bronze, silver, quarantine, gold and PostgreSQL (docs/privacy.md)",
    )
    er.add_argument("--user-pseudo-id", required=True, help="the user_pseudo_id of the erasure request")
    er.add_argument("--dry-run", action="store_true", help="count what would be removed; change nothing")
    er.set_defaults(func=cmd_erase)

    rp = sub.add_parser("report", help="headline insights from gold: funnel, D1/D7 retention, top sources")
    rp.add_argument("--start", type=_day)
    rp.add_argument("--end", type=_day)
    rp.add_argument(
        "--html", metavar="PATH", help="also write a self-contained HTML report (inline SVG charts)"
    )
    rp.add_argument("--svg", metavar="PATH", help="also write the funnel and retention charts as one SVG")
    _format_arg(rp)
    rp.set_defaults(func=cmd_report)

    rb = sub.add_parser(
        "rollback",
        help="reset main to an earlier commit or time and re-sync PostgreSQL gold (exit 5: a load is open)",
    )
    rb.add_argument(
        "--to", required=True, help="commit hash (or prefix) or ISO timestamp, e.g. 2020-11-05T10:00Z"
    )
    rb.add_argument("--dry-run", action="store_true", help="print what would be undone; change nothing")
    rb.set_defaults(func=cmd_rollback)

    mt = sub.add_parser(
        "maintain",
        help="housekeeping that keeps history readable: stale staging, Trino ref_ catalogs, table properties",
    )
    mt.add_argument(
        "--retention-days",
        type=int,
        default=None,
        help="days of history to keep readable (default GA4LAKE_HISTORY_RETENTION_DAYS)",
    )
    mt.add_argument(
        "--dry-run", action="store_true", help="print what would be removed or set; change nothing"
    )
    mt.set_defaults(func=cmd_maintain)

    b = sub.add_parser("branches", help="list Nessie branches kept for inspection")
    b.add_argument("--all", action="store_true", help="include the default branch")
    _format_arg(b)
    b.set_defaults(func=cmd_branches)

    h = sub.add_parser("history", help="show the Nessie commit log of a branch (default main)")
    h.add_argument("--ref", default=None, help="branch (default: GA4LAKE_LAKE_BRANCH, i.e. main)")
    h.add_argument("--limit", type=int, default=20)
    _format_arg(h)
    h.set_defaults(func=cmd_history)

    tb = sub.add_parser(
        "tables", help="list a reference's lake tables with rows, files and last snapshot (no Spark)"
    )
    tb.add_argument(
        "--ref",
        default=None,
        help="branch, tag, branch@hash or a commit hash of main (default: GA4LAKE_LAKE_BRANCH)",
    )
    _format_arg(tb)
    tb.set_defaults(func=cmd_tables)

    bn = sub.add_parser("bench", help="run the benchmarks and rewrite BENCHMARKS.md")
    bn.add_argument("--only", default="stack,sample,day,backfill")
    bn.add_argument("--runs", type=int, default=3)
    bn.add_argument("--scale", type=float, default=1.0)
    bn.set_defaults(func=cmd_bench)

    from ga4lake.validate.cli import register as register_validate

    register_validate(sub)

    from ga4lake.dashboard import register as register_dashboard

    register_dashboard(sub)

    from ga4lake.load.cli import register as register_load

    register_load(sub)

    from ga4lake.airflow_client import register as register_airflow

    register_airflow(sub)

    try:
        from ga4lake import sample
    except ImportError:  # generator not installed in this build
        sample = None  # type: ignore[assignment]
    if sample is not None and hasattr(sample, "register"):
        sample.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from ga4lake import log

    log.setup(log.VERBOSE if args.verbose else log.QUIET if args.quiet else log.NORMAL)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("ga4lake: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # errors.exit_code decides; an unexpected failure keeps its traceback
        code = exit_code(exc)
        if code is None:
            raise
        if code == ExitCode.SERVICE_DOWN:
            return _service_down(exc)
        if code in (ExitCode.GATE_FAILED, ExitCode.BUSY):  # the audit report / parity table, or the holder
            print(f"ga4lake: {exc}", file=sys.stderr)
        else:
            print(f"ga4lake: error: {getattr(exc, 'message', None) or exc}", file=sys.stderr)
        return code


def _service_down(exc: BaseException) -> int:
    try:
        ports = load_settings().ports
    except ConfigError:  # pragma: no cover - the command loaded settings before it failed
        raise exc from None
    print(f"ga4lake: error: {service_down_message(exc, ports)}", file=sys.stderr)
    return ExitCode.SERVICE_DOWN


if __name__ == "__main__":
    raise SystemExit(main())
