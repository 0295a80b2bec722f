"""The Superset dashboard as code: `ga4lake dashboard refresh|import|check|timing|video`.

The bundle lives in ``superset/bundle`` and is imported by the Superset service on every start
(``superset/bootstrap.py`` in Superset's virtualenv); this package is the main-venv side: re-import on
demand, and the browser checks, timing and demo video (Playwright driving Debian's chromium).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

from ga4lake.clients.postgres import connect as pg_connect
from ga4lake.config import REPO_ROOT, load_settings

DOCS_SCREENSHOT = REPO_ROOT / "docs" / "images" / "dashboard.png"  # shown in docs/superset.md


class DashboardError(RuntimeError):
    """The dashboard or its data is not usable; the message says what to run or which chart failed."""


def _require_superset():
    from ga4lake.errors import StackError
    from ga4lake.stack import superset

    settings = load_settings()
    if not superset.service(settings).healthy():
        raise StackError(
            f"superset is not running on port {settings.ports.superset}: start it with "
            "`GA4LAKE_UI_SERVICES=superset ga4lake stack up` (or add superset to GA4LAKE_UI_SERVICES)"
        )
    return settings


def pg_rows(settings, sql: str, params: tuple = (), database: str | None = None) -> list[tuple]:
    """One query on the stack's PostgreSQL as its superuser (gold database unless named)."""
    conn = pg_connect(settings, database)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        conn.close()


def refresh_models(settings):
    """Rebuild the insight models the dashboard reads (dbt build of models/insights, with their tests).

    ``ga4lake validate`` does this too; this is the quick path after a ``ga4lake sync``. Fails with a
    clear message when gold in PostgreSQL is empty (nothing loaded yet)."""
    import psycopg2

    from ga4lake.validate import dbt

    try:
        ((sessions,),) = pg_rows(settings, f"SELECT count(*) FROM {settings.pg_gold_schema}.fact_sessions")
    except psycopg2.Error as exc:
        raise DashboardError(
            f"gold is not synced to PostgreSQL ({exc.pgerror or exc}): run `make demo` first"
        ) from exc
    if not sessions:
        raise DashboardError(
            f"{settings.pg_gold_schema}.fact_sessions is empty: load data first (`make demo`)"
        )
    target = settings.state_dir / "superset" / "dbt-target"
    summary = dbt.build(settings, select="path:models/insights", target_path=target)
    if not summary.ok:
        failures = "; ".join(f"{f.name}: {f.message}" for f in summary.failures) or summary.output_tail
        raise DashboardError(f"dbt build of the insight models failed: {failures}")
    return summary


def cmd_refresh(args: argparse.Namespace) -> int:
    print(refresh_models(load_settings()).line())
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from ga4lake.stack import superset

    print(superset.bootstrap(load_settings(), "import").strip().splitlines()[-1])
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    import shutil

    from ga4lake.dashboard import browser

    run, differences = browser.check(_require_superset(), Path(args.screenshot) if args.screenshot else None)
    print(browser.summary(run))
    problems = run.problems()
    for p in problems:
        print(f"FAILED chart {p}", file=sys.stderr)
    for d in differences:
        print(f"DIFFERS from gold: {d}", file=sys.stderr)
    print(
        f"{len(run.charts)} charts drawn in {run.seconds:.2f}s; "
        f"{'page data equals gold' if not differences else f'{len(differences)} differences from gold'}; "
        f"screenshot {run.screenshot}",
        file=sys.stderr,
    )
    failed = bool(problems or differences or not run.charts)
    if args.docs and run.screenshot is not None and not failed:
        DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(run.screenshot, DOCS_SCREENSHOT)
        print(f"copied to {DOCS_SCREENSHOT.relative_to(REPO_ROOT)}", file=sys.stderr)
    return 1 if failed else 0


def cmd_timing(args: argparse.Namespace) -> int:
    from ga4lake.dashboard import browser

    load_before = os.getloadavg()[0]
    runs = browser.timing(_require_superset(), args.runs)
    seconds = [r.seconds for r in runs]
    for i, r in enumerate(runs, 1):
        last = max(r.charts, key=lambda c: c.finished_ms or 0).name
        print(
            f"run {i}: {r.seconds:.2f}s to {len(r.charts)} charts drawn, the last {last!r} ({r.requests} data requests)"
        )
    print(
        f"dashboard render: median {statistics.median(seconds):.2f}s, min {min(seconds):.2f}s, "
        f"max {max(seconds):.2f}s over {len(seconds)} runs (target < 5 s; "
        f"load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after on {os.cpu_count()} cores)"
    )
    problems = [p for r in runs for p in r.problems()]
    for p in problems:
        print(f"FAILED chart {p}", file=sys.stderr)
    return 1 if problems else 0


def cmd_video(args: argparse.Namespace) -> int:
    from ga4lake.dashboard import browser

    out = browser.record_walkthrough(_require_superset(), Path(args.out) if args.out else None)
    print(f"walkthrough video: {out} ({out.stat().st_size // 1024} KiB)")
    return 0


def _clean_errors(func):
    """Print a DashboardError as one line (as the CLI does for stack errors), exit code 2."""

    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except DashboardError as exc:
            print(f"ga4lake: error: {exc}", file=sys.stderr)
            return 2

    return run


def register(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("dashboard", help="Superset dashboard: re-import, browser check, timing, demo video")
    dsub = d.add_subparsers(dest="dashboard_command", required=True, metavar="ACTION")
    r = dsub.add_parser("refresh", help="rebuild the insight models the dashboard reads (dbt, with tests)")
    r.set_defaults(func=_clean_errors(cmd_refresh))
    i = dsub.add_parser("import", help="import superset/bundle into the running Superset (idempotent)")
    i.set_defaults(func=_clean_errors(cmd_import))
    c = dsub.add_parser(
        "check",
        help="open the dashboard in headless chromium; fail on a chart error or a value that differs from gold",
    )
    c.add_argument("--screenshot", help="PNG path (default build/dashboard.png)")
    c.add_argument(
        "--docs",
        action="store_true",
        help=f"when the check passes, refresh {DOCS_SCREENSHOT.relative_to(REPO_ROOT)}",
    )
    c.set_defaults(func=_clean_errors(cmd_check))
    t = dsub.add_parser("timing", help="seconds from opening the dashboard to every chart drawn to the end")
    t.add_argument("--runs", type=int, default=3)
    t.set_defaults(func=_clean_errors(cmd_timing))
    v = dsub.add_parser("video", help="record a short walkthrough (default build/dashboard-walkthrough.webm)")
    v.add_argument("--out")
    v.set_defaults(func=_clean_errors(cmd_video))
