"""``ga4lake load <step>``: one step of a load per process, the way Airflow runs them (one task each).

``ga4lake ingest`` runs every step in one process; these commands split the same steps so that each layer
is its own task (and DAG), resumable from the load's persisted plan. Each command prints one JSON object
on stdout (the last line) for the caller; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta

from ga4lake.args import day_arg
from ga4lake.config import load_settings

STEPS = ("bronze", "silver", "gold", "publish", "sync")


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _emit(obj: dict) -> int:
    print(json.dumps(obj, default=str), flush=True)
    return 0


def cmd_open(args: argparse.Namespace) -> int:
    """Plan and land a load: the day (plus its restatement window) or a range; never blocks main."""
    from ga4lake.lake import landing, load
    from ga4lake.lake.spark import get_spark

    settings = load_settings()
    if args.day:
        start, end = args.day - timedelta(days=args.restatement_days), args.day
    else:
        start, end = args.start, args.end
    # the load lock with no other load open (waited for before planning, without holding the lock)
    with load.exclusive(settings, "ga4lake load open", _say):
        try:
            found = landing.discover(
                args.source, settings, settings.state_dir / "staging" / "downloads", start, end
            )
        except landing.LandingError as exc:
            if args.day:  # the day's export has not arrived (yet): nothing to load, not an error
                return _emit({"status": "missing", "message": str(exc), "start": start, "end": end})
            raise
        if args.day and not any(f.shard_date == args.day for f in found):
            return _emit(
                {"status": "missing", "message": f"no export file for {args.day} in {args.source} yet"}
            )
        spark = get_spark(settings, app_name="ga4lake-open")
        todo, kinds, n_files = load.plan_ingest(
            settings, spark, args.source, start, end, args.force, _say, files=found
        )
        if not todo:
            load._noop(settings, n_files, _say)
            return _emit({"status": "noop", "start": start, "end": end})
        plan = load.open_load(settings, todo, kinds, _say)
    return _emit(
        {
            "status": "opened",
            "load_id": plan.load_id,
            "days": [d.isoformat() for d in plan.days],
            "kinds": kinds,
        }
    )


def cmd_step(args: argparse.Namespace) -> int:
    from ga4lake.lake import load
    from ga4lake.lake.spark import get_spark

    settings = load_settings()
    plan = load.LoadPlan.read(settings, args.load_id)
    if args.step == "sync" and plan.phase == "synced":
        return _emit({"status": "synced", "load_id": plan.load_id, "note": "already synced"})
    done_after = {"bronze": "bronze", "silver": "silver", "gold": "gold", "publish": "published"}
    if plan.phase == done_after.get(args.step):  # a retry of a step that already finished: idempotent
        _say(f"{plan.load_id}: {args.step} already done (phase {plan.phase})")
        return _emit(
            {"status": plan.phase, "load_id": plan.load_id, "days": [d.isoformat() for d in plan.days]}
        )
    spark = get_spark(settings, app_name=f"ga4lake-{args.step}")
    out: dict = {"load_id": plan.load_id, "days": [d.isoformat() for d in plan.days]}
    try:
        with load.running_step(settings, plan):  # the plan names this process while it runs
            if args.step == "bronze":
                load.write_bronze(spark, settings, plan, slice_days=args.slice_days, progress=_say)
            elif args.step == "silver":
                load.write_silver(spark, settings, plan, slice_days=args.slice_days, progress=_say)
            elif args.step == "gold":
                load.write_gold(spark, settings, plan, progress=_say)
            elif args.step == "publish":
                load.publish(spark, settings, plan, progress=_say)
                out["main_after"] = plan.main_after
            else:
                out["synced"] = load.sync_load(spark, settings, plan, progress=_say)
    except (load.AuditFailed, load.ParityGateFailed) as exc:
        plan.fail(settings, exc)  # final: a retry would fail the same way; the branch is kept
        print(f"ga4lake: {exc}", file=sys.stderr)
        _emit({**out, "status": "failed", "error": str(exc).splitlines()[-1]})
        return 3
    finally:
        spark.stop()
    return _emit({**out, "status": plan.phase})


def cmd_list(args: argparse.Namespace) -> int:
    from ga4lake.lake import load

    settings = load_settings()
    folder = settings.state_dir / "loads"
    plans = sorted(folder.glob("*.json"))[-args.limit :] if folder.is_dir() else []
    for p in plans:
        plan = load.LoadPlan.read(settings, p.stem)
        days = plan.days
        print(f"{plan.load_id}  {plan.phase:<9}  {days[0]}..{days[-1]}  {plan.error[:80]}")
    return 0


def cmd_abort(args: argparse.Namespace) -> int:
    from ga4lake.lake import load

    load.abort(load_settings(), args.load_id, progress=_say)
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
    o.add_argument("--force", action="store_true", help="reprocess days whose files are unchanged too")
    o.set_defaults(func=cmd_open)

    for name in STEPS:
        s = steps.add_parser(name, help=f"the {name} step of an open load")
        s.add_argument("load_id")
        s.add_argument("--slice-days", type=int, default=30, help="days per Spark job (default 30)")
        s.set_defaults(func=cmd_step)

    ls = steps.add_parser("list", help="recent loads and their phase")
    ls.add_argument("--limit", type=int, default=20)
    ls.set_defaults(func=cmd_list)

    ab = steps.add_parser("abort", help="delete an open or failed load's branch; main is untouched")
    ab.add_argument("load_id")
    ab.set_defaults(func=cmd_abort)
