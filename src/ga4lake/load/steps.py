"""The steps of a load, each resumable from its persisted plan: ``ga4lake ingest`` runs them all in one
process, ``ga4lake load <step>`` one per process (one Airflow task each). Their order is
:data:`ga4lake.load.STEPS`; each checks the phase it needs and saves the phase it leaves.

Every step reads what it works on from the plan and hands plain arguments to the layer that does the work:
:mod:`ga4lake.lake.write` (bronze, silver), :mod:`ga4lake.gold.step` (gold), :mod:`ga4lake.gold.sync`
(PostgreSQL), :mod:`ga4lake.validate.parity` (the gate).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict
from datetime import datetime

from ga4lake.clients.nessie import NessieClient
from ga4lake.clients.spark import branch_catalog
from ga4lake.config import Settings, int_setting, setting
from ga4lake.errors import AuditFailed, LoadError, ParityGateFailed, disk_full
from ga4lake.gold import step as gold_step
from ga4lake.gold import sync as gold_sync
from ga4lake.lake import landing
from ga4lake.lake import write as lake_write
from ga4lake.lake.audit import AuditReport, run_audits
from ga4lake.load import step
from ga4lake.load.plan import LoadPlan, new_load_id
from ga4lake.log import say as _say  # progress lines (stderr; -q hides them)


def open_load(
    settings: Settings,
    files: list[landing.ExportDay],
    kinds: dict[str, str],
    progress: Callable[[str], None],
    owner: str = "steps",
) -> LoadPlan:
    """Validate, checksum and land every file, then create the load branch (a bad file leaves nothing)."""
    nessie = NessieClient(settings.nessie_api)
    days = [f.shard_date for f in files]
    load_id = new_load_id(days)
    target = settings.lake_branch
    main_before = nessie.get_reference(target).hash
    staging = settings.state_dir / "staging" / load_id
    ingested_at = landing.now_utc()
    staged: list[landing.StagedFile] = []
    # files are independent: read/validate/upload a few at once (pyarrow and boto3 release the GIL)
    try:
        with ThreadPoolExecutor(max_workers=int_setting("GA4LAKE_LANDING_WORKERS")) as pool:
            futures = [pool.submit(landing.stage, f, settings, staging, load_id, ingested_at) for f in files]
            for i, fut in enumerate(as_completed(futures), 1):
                staged.append(fut.result())  # a bad file raises here, naming itself
                if i % 10 == 0 or i == len(files):
                    progress(f"  landed {i}/{len(files)} day(s)")
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        full = disk_full(exc, staging)  # one line naming the folder instead of pyarrow's traceback
        if full is not None:
            raise full from exc
        raise
    plan = LoadPlan(
        load_id=load_id,
        branch=load_id,
        target=target,
        main_before=main_before,
        kinds=kinds,
        staged={
            s.shard_date.isoformat(): {
                **asdict(s),
                "shard_date": s.shard_date.isoformat(),
                "staged_path": str(s.staged_path),
            }
            for s in staged
        },
        ingested_at=ingested_at.isoformat(),
        owner=owner,
    )
    nessie.create_branch(load_id, target, main_before)
    plan.save(settings)
    progress(f"load {load_id}: {len(days)} day(s) on branch {load_id}")
    return plan


def write_bronze(
    spark, settings: Settings, plan: LoadPlan, slice_days: int = 30, progress: Callable[[str], None] = _say
) -> None:
    """Raw nested rows of the load's days (+ the landing manifest) on the load branch."""
    plan.expect(step("bronze").needs)
    lake_write.write_bronze(
        spark,
        settings,
        branch_catalog(spark, settings, plan.branch),
        plan.load_id,
        plan.staged_files(),
        plan.kinds,
        datetime.fromisoformat(plan.ingested_at),
        slice_days=slice_days,
        progress=progress,
    )
    plan.advance(settings, step("bronze").done)


def write_silver(
    spark, settings: Settings, plan: LoadPlan, slice_days: int = 30, progress: Callable[[str], None] = _say
) -> None:
    """Flattened, contract-checked events and the quarantine for the load's days, read from branch bronze."""
    plan.expect(step("silver").needs)
    cat = branch_catalog(spark, settings, plan.branch)
    lake_write.write_silver(spark, cat, plan.days, slice_days=slice_days, progress=progress)
    plan.advance(settings, step("silver").done)


def write_gold(
    spark, settings: Settings, plan: LoadPlan, slice_days: int = 30, progress: Callable[[str], None] = _say
) -> None:
    """Gold for the load's days on the branch (full build the first time, then incremental deltas).

    Idempotent on the same plan: its inputs are the branch's silver (this load's) and gold as of the
    load's start commit, and every table is written by replacing a scope, so a retry — after a complete
    attempt whose phase was not saved, or after one that died between a DELETE and its append — writes
    exactly what one run writes (tests/integration/test_idempotent.py)."""
    plan.expect(step("gold").needs)
    ts = time.monotonic()
    cat = branch_catalog(spark, settings, plan.branch)
    scopes = gold_step.build_on_branch(
        spark, cat, plan.branch, plan.start_commit, plan.days, plan.kinds, plan.load_id
    )
    plan.scopes = {name: s.to_json() for name, s in scopes.items()}
    progress(
        f"  gold ({'full build' if all(s.full for s in scopes.values()) else 'incremental'}) "
        f"in {time.monotonic() - ts:.1f}s"
    )
    plan.advance(settings, step("gold").done)


def publish(
    spark,
    settings: Settings,
    plan: LoadPlan,
    parity: bool | None = None,
    progress: Callable[[str], None] = _say,
    seconds: dict[str, float] | None = None,
) -> AuditReport:
    """Audit the branch (and gate on parity of its gold vs the dbt-ga4 reference), then merge it atomically.

    ``seconds`` (a load's timings) receives the gate's own duration as ``parity_gate``."""
    plan.expect(step("publish").needs)
    cat = branch_catalog(spark, settings, plan.branch)
    report = run_audits(spark, cat, plan.load_id, {s.shard_date: s.rows for s in plan.staged_files()})
    plan.audit = report.as_dict()
    audits_dir = settings.state_dir / "audits"
    audits_dir.mkdir(parents=True, exist_ok=True)
    (audits_dir / f"{plan.load_id}.json").write_text(json.dumps(report.as_dict(), indent=2))
    if not report.passed:
        raise AuditFailed(report, plan.branch)
    progress(report.render())
    if parity if parity is not None else setting("GA4LAKE_PARITY_GATE") != "0":
        gate = parity_gate(settings, plan, progress)
        if seconds is not None:
            seconds["parity_gate"] = gate
    nessie = NessieClient(settings.nessie_api)
    days = plan.days
    props = {
        "ga4lake.load_id": plan.load_id,
        "ga4lake.days": f"{days[0]}..{days[-1]}",
        "ga4lake.rows": str(sum(s["rows"] for s in plan.staged.values())),
        "ga4lake.kinds": json.dumps(plan.kinds, sort_keys=True),
    }
    head = nessie.merge(
        plan.branch,
        plan.target,
        message=f"ga4lake {plan.load_id}: publish {days[0]}..{days[-1]}",
        properties=props,
    )
    nessie.delete_branch(plan.branch)
    shutil.rmtree(settings.state_dir / "staging" / plan.load_id, ignore_errors=True)
    plan.main_after = head.hash
    plan.advance(settings, step("publish").done)
    progress(f"published {plan.load_id} to {plan.target} ({plan.main_before[:12]} -> {head.hash[:12]})")
    return report


def parity_gate(settings: Settings, plan: LoadPlan, progress: Callable[[str], None]) -> float:
    """Row-count parity of the branch's gold tables against the reference logic, over the load's days;
    returns its seconds."""
    from ga4lake.validate.parity import format_report, run_parity

    ts = time.monotonic()
    days = plan.days
    report = run_parity(settings, days[0], days[-1], gold_source="lake", store=False, branch=plan.branch)
    if not report.passed:
        raise ParityGateFailed(
            f"{format_report(report)}\n\nload {plan.load_id} NOT published: gold differs from the dbt-ga4 "
            f"reference by more than {report.threshold_pct} %; main is unchanged; branch {plan.branch} kept"
        )
    worst = max((abs(r.delta_pct) for r in report.rows if r.delta_pct is not None), default=0.0)
    elapsed = round(time.monotonic() - ts, 1)
    progress(f"  parity gate on {plan.branch}: {len(report.rows)} tables, max |Δ| {worst:.3f} % ({elapsed}s)")
    return elapsed


def sync_load(
    spark, settings: Settings, plan: LoadPlan, progress: Callable[[str], None] = _say
) -> dict[str, int]:
    """Copy what the load changed in gold from the (merged) lake branch into PostgreSQL."""
    plan.expect(step("sync").needs, step("sync").done)
    try:
        synced = gold_sync.sync(
            spark, settings, plan.scope_objects(), previous_commit=plan.main_before, progress=progress
        )
    except Exception as exc:
        raise LoadError(
            f"{plan.load_id} is published on {plan.target}, but the PostgreSQL sync failed: {exc}. "
            "Re-run `ga4lake sync` (it re-syncs what is missing)."
        ) from exc
    plan.advance(settings, step("sync").done)
    return synced


def run_step(
    name: str,
    spark,
    settings: Settings,
    plan: LoadPlan,
    slice_days: int = 30,
    progress: Callable[[str], None] = _say,
    seconds: dict[str, float] | None = None,
) -> dict[str, object]:
    """Run step ``name`` (one of :data:`ga4lake.load.STEPS`) on ``plan``; returns what the step adds to its
    result (publish: its audit report and the target's new head; sync: rows per table in PostgreSQL). ``seconds`` receives the
    step's duration under its timing key (and the parity gate's)."""
    ts = time.monotonic()
    out: dict[str, object] = {}
    if name == "bronze":
        write_bronze(spark, settings, plan, slice_days=slice_days, progress=progress)
    elif name == "silver":
        write_silver(spark, settings, plan, slice_days=slice_days, progress=progress)
    elif name == "gold":
        write_gold(spark, settings, plan, slice_days=slice_days, progress=progress)
    elif name == "publish":
        out["report"] = publish(spark, settings, plan, progress=progress, seconds=seconds)
        out["main_after"] = plan.main_after
    elif name == "sync":
        out["synced"] = sync_load(spark, settings, plan, progress=progress)
    else:
        raise KeyError(f"no load step {name!r}")
    if seconds is not None:
        seconds[step(name).timing] = round(time.monotonic() - ts, 1)
    return out
