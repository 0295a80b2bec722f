"""The `ga4lake` command line: one entry point, one subcommand per job."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ga4lake import __version__
from ga4lake.config import ConfigError, load_settings
from ga4lake.stack.process import StackError


def _print_table(rows: list[dict[str, object]], out=sys.stdout) -> None:
    if not rows:
        print("(no rows)", file=out)
        return
    cols = list(rows[0].keys())
    width = {c: max(len(str(c)), *(len(_cell(r.get(c))) for r in rows)) for c in cols}
    print("  ".join(str(c).ljust(width[c]) for c in cols), file=out)
    print("  ".join("-" * width[c] for c in cols), file=out)
    for r in rows:
        print("  ".join(_cell(r.get(c)).ljust(width[c]) for c in cols), file=out)


def _cell(v: object) -> str:
    return "NULL" if v is None else str(v)


# ---- stack -------------------------------------------------------------------------------------
def cmd_stack(args: argparse.Namespace) -> int:
    from ga4lake.stack import manager

    settings = load_settings()
    if args.action == "up":
        timings = manager.up(settings, with_spark=True if args.spark else None)
        print(f"stack up in {sum(timings.values()):.1f}s (state: {settings.state_dir})", file=sys.stderr)
    elif args.action == "down":
        manager.down(settings)
    else:
        rows = manager.status_rows(settings)
        _print_table(rows)
        total = sum(int(r["rss_mb"]) for r in rows)  # type: ignore[call-overload]
        print(f"total RSS: {total} MB")
        return 0 if all(r["health"] != "unhealthy" for r in rows) else 1
    return 0


def cmd_install(args: argparse.Namespace) -> int:
    from ga4lake.stack import install

    return install.main(["--minio"] if args.minio else [])


def cmd_smoke(args: argparse.Namespace) -> int:
    from ga4lake.stack import smoke

    return smoke.main(["--rows", str(args.rows)] + (["--json"] if args.json else []))


# ---- sql ---------------------------------------------------------------------------------------
def cmd_sql(args: argparse.Namespace) -> int:
    from ga4lake.query import format_result, run_sql

    settings = load_settings()
    columns, rows = run_sql(settings, args.query, ref=args.ref, catalog=args.catalog, schema=args.schema)
    sys.stdout.write(format_result(columns, rows, args.format))
    return 0


# ---- nessie branches ---------------------------------------------------------------------------
def cmd_branches(args: argparse.Namespace) -> int:
    from ga4lake.lake.nessie import NessieClient

    client = NessieClient(load_settings().nessie_api)
    rows = [
        {"name": r.name, "type": r.type, "hash": r.hash[:12]}
        for r in client.list_references()
        if args.all or r.name != client.default_branch()
    ]
    _print_table(rows)
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from ga4lake.lake.nessie import NessieClient

    client = NessieClient(load_settings().nessie_api)
    rows = [
        {
            "commit": c.hash[:12],
            "time": c.commit_time,
            "load_id": c.properties.get("ga4lake.load_id", ""),
            "message": c.message.splitlines()[0][:80] if c.message else "",
        }
        for c in client.log(args.ref, limit=args.limit)
    ]
    _print_table(rows)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ga4lake", description=__doc__)
    p.add_argument("--version", action="version", version=f"ga4lake {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("stack", help="start, stop or inspect the native services")
    s.add_argument("action", choices=["up", "down", "status"])
    s.add_argument("--spark", action="store_true", help="also start the Spark standalone master and worker")
    s.set_defaults(func=cmd_stack)

    i = sub.add_parser("install", help="install everything the stack needs (idempotent, cached)")
    i.add_argument("--minio", action="store_true", help="also build the MinIO server")
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

    b = sub.add_parser("branches", help="list Nessie branches kept for inspection")
    b.add_argument("--all", action="store_true", help="include the default branch")
    b.set_defaults(func=cmd_branches)

    h = sub.add_parser("history", help="show the Nessie commit log of a branch (default main)")
    h.add_argument("--ref", default="main")
    h.add_argument("--limit", type=int, default=20)
    h.set_defaults(func=cmd_history)

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
    from ga4lake.lake.nessie import NessieError

    expected: tuple[type[BaseException], ...] = (StackError, ConfigError, NessieError)
    try:
        from trino.exceptions import TrinoQueryError

        expected += (TrinoQueryError,)
    except ImportError:
        pass
    try:
        return int(args.func(args) or 0)
    except expected as exc:
        print(f"ga4lake: error: {getattr(exc, 'message', None) or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ga4lake: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
