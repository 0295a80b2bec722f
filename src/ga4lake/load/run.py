"""A whole load in one process (``ga4lake ingest``, ``ga4lake run``): plan which days, then every step of
:data:`ga4lake.load.STEPS` with one Spark session; and the recoveries around it (finish a sync that never
ran, abort an open load).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from ga4lake.clients.nessie import NessieClient
from ga4lake.clients.spark import branch_catalog, get_spark
from ga4lake.config import Settings, inject_fault
from ga4lake.errors import LoadBusy, LoadError
from ga4lake.lake import landing
from ga4lake.lake.audit import AuditReport
from ga4lake.lake.tables import latest_manifest
from ga4lake.load import OPEN_PHASES, STEPS
from ga4lake.load.lock import exclusive, load_lock
from ga4lake.load.plan import LoadPlan, owner_alive, process_owner, read_plans
from ga4lake.load.steps import open_load, run_step, sync_load
from ga4lake.log import say as _say  # progress lines (stderr; -q hides them)


@dataclass
class LoadResult:
    load_id: str
    status: str  # published | noop
    days: list[date] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)  # day -> new | restatement | reprocess | intraday
    rows: dict[str, int] = field(default_factory=dict)
    main_before: str = ""
    main_after: str = ""
    report: AuditReport | None = None
    synced: dict[str, int] = field(default_factory=dict)  # gold table -> rows in Postgres after the sync
    seconds: dict[str, float] = field(default_factory=dict)


def plan_ingest(
    settings: Settings,
    spark,
    source: str,
    start: date | None,
    end: date | None,
    force: bool,
    progress: Callable[[str], None],
    files: list[landing.ExportDay] | None = None,
) -> tuple[list[landing.ExportDay], dict[str, str], int]:
    """Which export days to load: new days, restated days (checksum of the day's files changed) and, with
    ``force``, the rest. A day loaded only from intraday files is provisional (kind ``intraday``) until
    its daily table arrives; intraday files never replace a day loaded from its daily table.
    ``files``: already discovered (the caller looked first), else discovered here."""
    if files is None:
        files = landing.discover(
            source, settings, settings.state_dir / "staging" / "downloads", start, end, note=progress
        )
    n_parts = sum(len(f.parts) for f in files)
    progress(
        f"found {len(files)} export day(s), {n_parts} file(s), in {source} "
        f"({files[0].shard_date} … {files[-1].shard_date})"
    )
    landed = latest_manifest(spark, branch_catalog(spark, settings, settings.lake_branch))
    todo, kinds = [], {}
    for f in files:
        day = f.shard_date.isoformat()
        previous = landed.get(f.shard_date)
        was_intraday = previous is not None and landing.kind_of_names(previous["file_name"].split(",")) == (
            landing.INTRADAY
        )
        if previous is not None and f.kind == landing.INTRADAY and not was_intraday:
            progress(f"{day}: intraday file(s) ignored, the day is loaded from its daily export: {f.name}")
            continue
        if previous is None:
            kinds[day] = "intraday" if f.kind == landing.INTRADAY else "new"
        elif previous["sha256"] != landing.day_sha256(f):
            kinds[day] = "intraday" if f.kind == landing.INTRADAY else "restatement"
        elif force:
            kinds[day] = "reprocess"
        else:
            continue
        todo.append(f)
    restated = sorted(d for d, k in kinds.items() if k == "restatement")
    if restated:
        progress(f"restatement of {len(restated)} day(s): {', '.join(restated)}")
    provisional = sorted(d for d, k in kinds.items() if k == "intraday")
    if provisional:
        progress(
            f"provisional (intraday) day(s), replaced when the daily table arrives: {', '.join(provisional)}"
        )
    return todo, kinds, len(files)


def plan_range(
    settings: Settings,
    source: str,
    start: date | None,
    end: date | None,
    force: bool,
    progress: Callable[[str], None],
    app_name: str,
):
    """The front half of a load over a range, shared by ``ga4lake ingest`` and ``ga4lake load open``:
    a Spark session, then :func:`plan_ingest`. Called under :func:`ga4lake.load.lock.exclusive`.
    Returns (spark, export days to load, day -> kind, export days found)."""
    spark = get_spark(settings, app_name=app_name)
    todo, kinds, n_files = plan_ingest(settings, spark, source, start, end, force, progress)
    return spark, todo, kinds, n_files


def noop(settings: Settings, n_files: int, progress: Callable[[str], None], spark=None) -> LoadResult:
    """Nothing new to load. With ``spark`` (the one-process ``ingest``) it also finishes the PostgreSQL sync
    of loads that published without it; Airflow's next sync step or ``ga4lake sync`` does that otherwise."""
    head = NessieClient(settings.nessie_api).get_reference(settings.lake_branch).hash
    progress(f"nothing to do: all {n_files} day(s) already landed with identical checksums")
    result = LoadResult(load_id="", status="noop", main_before=head, main_after=head)
    if spark is not None:
        result.synced = finish_unsynced(settings, spark, progress)
    return result


def finish_unsynced(settings: Settings, spark, progress: Callable[[str], None] = _say) -> dict[str, int]:
    """Sync PostgreSQL for loads that published but whose sync never ran (PostgreSQL was down, the process
    died after the merge). Called under the load lock by a re-run that finds nothing new to load, so
    re-running the same command is all it takes to recover; a load that does have new days converges in
    its own sync (a table whose ``_sync_state`` is not the load's base is re-synced in full).

    Syncing the newest such load brings every table to main's head; the older ones are then synced too."""
    pending = sorted(
        (p for p in read_plans(settings) if p.phase == "published" and p.target == settings.lake_branch),
        key=lambda p: p.ingested_at,
    )
    if not pending:
        return {}
    names = ", ".join(p.load_id for p in pending)
    progress(f"published but never synced to PostgreSQL: {names}; syncing now")
    synced = sync_load(spark, settings, pending[-1], progress=progress)
    for p in pending[:-1]:
        p.advance(settings, "synced")
    return synced


def ingest(
    settings: Settings,
    source: str,
    start: date | None = None,
    end: date | None = None,
    force: bool = False,
    slice_days: int = 30,
    progress: Callable[[str], None] = _say,
) -> LoadResult:
    """Land export files from ``source`` and process the days that are new or restated, in one process."""
    with exclusive(settings, "ga4lake ingest", progress):
        t0 = time.monotonic()
        spark, todo, kinds, n_files = plan_range(
            settings, source, start, end, force, progress, "ga4lake-load"
        )
        if not todo:
            return noop(settings, n_files, progress, spark=spark)
        return _process(settings, spark, todo, kinds, slice_days, progress, t0)


def landed_files(settings: Settings, spark, start: date, end: date) -> list[landing.ExportDay]:
    """The landed originals of [start, end] (from the manifest on the lake branch), downloaded for reuse."""
    main_cat = branch_catalog(spark, settings, settings.lake_branch)
    landed = {d: m for d, m in latest_manifest(spark, main_cat).items() if start <= d <= end}
    if not landed:
        raise LoadError(f"no landed days between {start} and {end} on {settings.lake_branch} (ingest first)")
    client = landing.s3_client(settings)
    download = settings.state_dir / "staging" / "downloads"
    download.mkdir(parents=True, exist_ok=True)
    files = []
    for d, m in sorted(landed.items()):
        parts = []
        for name, uri in landing.landed_parts(m["file_name"], m["landing_uri"]):
            bucket, key = landing.split_s3(uri)
            local = download / name
            client.download_file(bucket, key, str(local))
            parts.append(landing.ExportPart(name, local, uri))
        kind = landing.kind_of_names(p.name for p in parts)
        files.append(landing.ExportDay(d, kind, tuple(parts)))
    return files


def rerun(
    settings: Settings, start: date, end: date, slice_days: int = 30, progress: Callable[[str], None] = _say
) -> LoadResult:
    """Reprocess days already landed (from their landed originals), through every layer."""
    with exclusive(settings, "ga4lake run", progress):
        t0 = time.monotonic()
        spark = get_spark(settings, app_name="ga4lake-run")
        files = landed_files(settings, spark, start, end)
        kinds = {f.shard_date.isoformat(): "reprocess" for f in files}
        progress(f"reprocessing {len(files)} landed day(s) {files[0].shard_date} … {files[-1].shard_date}")
        return _process(settings, spark, files, kinds, slice_days, progress, t0)


def _process(
    settings: Settings,
    spark,
    files: list[landing.ExportDay],
    kinds: dict[str, str],
    slice_days: int,
    progress: Callable[[str], None],
    t0: float,
) -> LoadResult:
    """Every step of a load in this process (one Spark session); Airflow runs the same steps as tasks."""
    plan = open_load(settings, files, kinds, progress, owner=process_owner("cli"))
    result = LoadResult(
        load_id=plan.load_id, status="published", days=plan.days, kinds=kinds, main_before=plan.main_before
    )
    result.seconds["landing"] = round(time.monotonic() - t0, 1)
    *to_publish, sync = STEPS  # every step up to the merge fails the plan; a failed sync leaves it published
    try:
        for s in to_publish:
            out = run_step(s.name, spark, settings, plan, slice_days, progress, result.seconds)
    except BaseException as exc:
        plan.fail(settings, exc)
        raise
    result.report = out["report"]  # type: ignore[assignment]
    result.rows = {d: s["rows"] for d, s in plan.staged.items()}
    result.main_after = plan.main_after
    inject_fault("load.published")  # test-only: the process dies between the merge and the sync
    result.synced = run_step(sync.name, spark, settings, plan, progress=progress, seconds=result.seconds)[
        "synced"
    ]  # type: ignore[assignment]
    result.seconds["total"] = round(time.monotonic() - t0, 1)
    progress(f"done: {plan.load_id} in {result.seconds['total']}s {result.seconds}")
    return result


def abort(settings: Settings, load_id: str, progress: Callable[[str], None] = _say) -> None:
    """Give up an open load: delete its branch (main never saw it) and its staging files.

    Takes the load lock; refuses while a step of the load is running (its process is alive)."""
    with load_lock(settings, f"ga4lake load abort {load_id}"):
        plan = LoadPlan.read(settings, load_id)
        plan.expect(*OPEN_PHASES, "failed")
        if plan.phase in OPEN_PHASES and owner_alive(plan.owner):
            raise LoadBusy(
                f"abort refused: load {load_id} is being run right now by {plan.owner.rsplit(':', 1)[0]} "
                "(stop that process or Airflow task first); nothing changed"
            )
        nessie = NessieClient(settings.nessie_api)
        if nessie.has_reference(plan.branch):
            nessie.delete_branch(plan.branch)
        shutil.rmtree(settings.state_dir / "staging" / load_id, ignore_errors=True)
        plan.phase, plan.error = "aborted", plan.error or "aborted by user"
        plan.save(settings)
    progress(f"aborted {load_id}: branch deleted, {plan.target} untouched")
