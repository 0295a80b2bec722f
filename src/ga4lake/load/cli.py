"""``ga4lake load <step>``: one step of a load per process, the way Airflow runs them (one task each).

``ga4lake ingest`` runs every step in one process; these commands split the same steps so that each layer
is its own task (and DAG), resumable from the load's persisted plan. Each command prints one JSON object
on stdout (the last line) for the caller; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from datetime import timedelta

from ga4lake.args import day_arg
from ga4lake.config import load_settings
from ga4lake.errors import GateFailed
from ga4lake.load import STEPS, step
from ga4lake.log import say as _say  # progress lines (stderr; -q hides them)


def _emit(obj: dict) -> int:
    print(json.dumps(obj, default=str), flush=True)
    return 0


def cmd_open(args: argparse.Namespace) -> int:
    """Plan and land a load: the day (plus its restatement window and catch-up) or a range; never blocks main."""
    from ga4lake.load.lock import exclusive
    from ga4lake.load.run import plan_range

    settings = load_settings()
    if args.day:
        return _open_day(args, settings)
    start, end = args.start, args.end
    # the load lock with no other load open (waited for before planning, without holding the lock)
    with exclusive(settings, "ga4lake load open", _say):
        _, todo, kinds, n_files = plan_range(
            settings, args.source, start, end, args.force, _say, app_name="ga4lake-open"
        )
        return _open_todo(settings, todo, kinds, n_files, start, end)


def _open_day(args: argparse.Namespace, settings) -> int:
    """Daily mode: the day, the ``--restatement-days`` before it (new or changed files), and every earlier day
    of the last ``--catchup-days`` whose export arrived but was never loaded (its own run gave up waiting)."""
    from ga4lake.clients.spark import branch_catalog, get_spark
    from ga4lake.lake import arrivals, landing
    from ga4lake.lake.tables import latest_manifest
    from ga4lake.load.lock import exclusive
    from ga4lake.load.run import plan_ingest

    start, end = args.day - timedelta(days=args.restatement_days), args.day
    downloads = settings.state_dir / "staging" / "downloads"
    arrived = arrivals.arrived_days(args.source, settings, start - timedelta(days=args.catchup_days), end)
    if args.day not in arrived:  # the day's export has not arrived (yet): nothing to load, not an error
        return _emit(
            {
                "status": "missing",
                "message": f"no export file for {args.day} in {args.source} yet",
                "start": start,
                "end": end,
            }
        )
    # the load lock with no other load open (waited for before planning, without holding the lock)
    with exclusive(settings, "ga4lake load open", _say):
        spark = get_spark(settings, app_name="ga4lake-open")
        loaded = set(latest_manifest(spark, branch_catalog(spark, settings, settings.lake_branch)))
        late = arrivals.late_days(arrived, loaded, before=start)
        found = landing.discover(args.source, settings, downloads, start, end)
        for day in late:
            found += landing.discover(args.source, settings, downloads, day, day)
        found.sort(key=lambda f: f.shard_date)
        if late:
            _say(
                f"catch-up: {len(late)} earlier day(s) arrived but never loaded: {', '.join(map(str, late))}"
            )
        todo, kinds, n_files = plan_ingest(
            settings, spark, args.source, start, end, args.force, _say, files=found
        )
        return _open_todo(settings, todo, kinds, n_files, start, end, catchup=late)


def _open_todo(settings, todo, kinds, n_files, start, end, catchup=()) -> int:
    from ga4lake.load.run import noop
    from ga4lake.load.steps import open_load

    if not todo:
        noop(settings, n_files, _say)
        return _emit({"status": "noop", "start": start, "end": end})
    plan = open_load(settings, todo, kinds, _say)
    return _emit(
        {
            "status": "opened",
            "load_id": plan.load_id,
            "days": [d.isoformat() for d in plan.days],
            "kinds": kinds,
            "catchup": [d.isoformat() for d in catchup],
        }
    )


def cmd_arrived(args: argparse.Namespace) -> int:
    """One poke of the daily run's sensor: has the day's export arrived, and is the lake free to plan against?

    ``ready`` needs both: planning waits for the previous load to publish anyway, and waiting here (a
    rescheduled sensor) holds no Airflow worker slot, where waiting inside ``load open`` would."""
    from ga4lake.lake import arrivals
    from ga4lake.load.plan import open_plans

    settings = load_settings()
    files = arrivals.arrived_days(args.source, settings, args.day, args.day).get(args.day, [])
    busy = [p.load_id for p in open_plans(settings)] if files else []
    if not files:
        status, message = "waiting", f"no export file for {args.day} in {args.source} yet"
    elif busy:
        status, message = "busy", f"{args.day} has arrived; waiting for open load(s) {', '.join(busy)}"
    else:
        status, message = "ready", f"{args.day} has arrived: {', '.join(files)}"
    _say(message)
    return _emit({"status": status, "day": args.day, "files": files, "open_loads": busy, "message": message})


def cmd_step(args: argparse.Namespace) -> int:
    """One step of :data:`ga4lake.load.STEPS`. A failed audit or parity gate fails the plan for good (a
    retry would fail the same way; the branch is kept) and exits 3, like ``ga4lake ingest``."""
    from ga4lake.clients.spark import get_spark
    from ga4lake.load.lock import load_lock
    from ga4lake.load.plan import LoadPlan, running_step
    from ga4lake.load.steps import run_step

    settings = load_settings()
    plan = LoadPlan.read(settings, args.load_id)
    if args.step == "sync" and plan.phase == "synced":
        return _emit({"status": "synced", "load_id": plan.load_id, "note": "already synced"})
    if args.step != "sync" and plan.phase == step(args.step).done:  # a retry of a finished step: idempotent
        _say(f"{plan.load_id}: {args.step} already done (phase {plan.phase})")
        return _emit(
            {"status": plan.phase, "load_id": plan.load_id, "days": [d.isoformat() for d in plan.days]}
        )
    spark = get_spark(settings, app_name=f"ga4lake-{args.step}")
    out: dict = {"load_id": plan.load_id, "days": [d.isoformat() for d in plan.days]}
    try:
        with running_step(settings, plan):  # the plan names this process while it runs
            # sync takes the load lock: a published load no longer blocks the next load from opening, so
            # its sync would otherwise run beside that load's own sync (same tables, same work folder)
            # and beside `ga4lake sync`/rollback; the plan names this process meanwhile (running_step)
            lock = (
                load_lock(settings, f"ga4lake load sync {plan.load_id}")
                if args.step == "sync"
                else contextlib.nullcontext()
            )
            with lock:
                done = run_step(args.step, spark, settings, plan, slice_days=args.slice_days, progress=_say)
            out.update({k: v for k, v in done.items() if k in ("main_after", "synced")})
    except GateFailed as exc:
        plan.fail(settings, exc)  # final: a retry would fail the same way; the branch is kept
        _emit({**out, "status": "failed", "error": str(exc).splitlines()[-1]})
        raise  # the CLI prints the report and exits ExitCode.GATE_FAILED
    finally:
        spark.stop()
    return _emit({**out, "status": plan.phase})


def cmd_list(args: argparse.Namespace) -> int:
    from ga4lake.load.plan import LoadPlan

    settings = load_settings()
    folder = settings.state_dir / "loads"
    plans = (
        [LoadPlan.read(settings, p.stem) for p in sorted(folder.glob("*.json"))[-args.limit :]]
        if folder.is_dir()
        else []
    )
    if args.format == "json":
        rows = [
            {
                "load_id": p.load_id,
                "phase": p.phase,
                "days": [d.isoformat() for d in p.days],
                "error": p.error,
            }
            for p in plans
        ]
        print(json.dumps(rows))
        return 0
    for plan in plans:
        days = plan.days
        print(f"{plan.load_id}  {plan.phase:<9}  {days[0]}..{days[-1]}  {plan.error[:80]}")
    return 0


def cmd_abort(args: argparse.Namespace) -> int:
    from ga4lake.load.run import abort

    abort(load_settings(), args.load_id, progress=_say)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "load", help="run one step of a load (what each Airflow task does); list or abort loads"
    )
    steps = p.add_subparsers(dest="step", required=True, metavar="STEP")

    o = steps.add_parser("open", help="find new/restated export files, land them, open the load branch")
    o.add_argument("--from", dest="source", required=True, help="directory, file or s3://bucket/prefix")
    o.add_argument(
        "--day", type=day_arg, help="the event date (daily run): loads it and its restatement window"
    )
    o.add_argument("--start", type=day_arg, help="range mode (backfill): first day")
    o.add_argument("--end", type=day_arg, help="range mode (backfill): last day")
    o.add_argument("--restatement-days", type=int, default=3, help="days before --day re-checked (default 3)")
    o.add_argument(
        "--catchup-days",
        type=int,
        default=0,
        help="daily mode: also load days this far before the restatement window that arrived but were "
        "never loaded (default 0; the ingest DAG passes GA4LAKE_INGEST_CATCHUP_DAYS)",
    )
    o.add_argument("--force", action="store_true", help="reprocess days whose files are unchanged too")
    o.set_defaults(func=cmd_open)

    a = steps.add_parser(
        "arrived", help="has the day's export arrived (and no load is open)? what the daily sensor pokes"
    )
    a.add_argument("--from", dest="source", required=True, help="directory, file or s3://bucket/prefix")
    a.add_argument("--day", type=day_arg, required=True, help="the event date to look for")
    a.set_defaults(func=cmd_arrived)

    for name in (s.name for s in STEPS):
        s = steps.add_parser(name, help=f"the {name} step of an open load")
        s.add_argument("load_id")
        s.add_argument("--slice-days", type=int, default=30, help="days per Spark job (default 30)")
        s.set_defaults(func=cmd_step)

    ls = steps.add_parser("list", help="recent loads and their phase")
    ls.add_argument("--limit", type=int, default=20)
    ls.add_argument("--format", choices=["table", "json"], default="table", help="output format")
    ls.set_defaults(func=cmd_list)

    ab = steps.add_parser("abort", help="delete an open or failed load's branch; main is untouched")
    ab.add_argument("load_id")
    ab.set_defaults(func=cmd_abort)
