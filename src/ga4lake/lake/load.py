"""A load, end to end: land → bronze → silver (→ later layers) on its own Nessie branch, audit, publish.

Write–audit–publish: every table of a load is written on a branch named after the load; audits read
the branch back; only when all pass is the branch merged into main (one atomic Nessie merge of every
table) and deleted. A failing audit, an exception or a killed process leaves main untouched and the
branch kept for inspection (``ga4lake branches``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date, datetime

from ga4lake.config import Settings
from ga4lake.gold import step as gold_step
from ga4lake.gold import sync as gold_sync
from ga4lake.lake import landing
from ga4lake.lake.audit import AuditReport, run_audits
from ga4lake.lake.nessie import Commit, NessieClient
from ga4lake.lake.silver import build_silver
from ga4lake.lake.spark import branch_catalog, get_spark
from ga4lake.lake.tables import (
    BRONZE_EVENTS,
    LOAD_MANIFEST,
    MANIFEST_DDL,
    QUARANTINE,
    SILVER_EVENTS,
    ensure_manifest,
    latest_manifest,
    replace_days,
)

LANDING_WORKERS = int(os.environ.get("GA4LAKE_LANDING_WORKERS", "3"))


class LoadError(RuntimeError):
    """The load could not run; main is unchanged."""


class AuditFailed(LoadError):
    def __init__(self, report: AuditReport, branch: str) -> None:
        self.report = report
        self.branch = branch
        super().__init__(
            f"{report.render()}\n\nload {report.load_id} NOT published: main is unchanged; "
            f"branch {branch} is kept for inspection (ga4lake sql ... --ref {branch})"
        )


@dataclass
class LoadContext:
    """What later layers (gold, Postgres sync) get when they run inside a load."""

    spark: object
    settings: Settings
    load_id: str
    branch: str
    catalog: str
    days: list[date]
    kinds: dict[str, str] = field(default_factory=dict)  # day -> new | restatement | reprocess


@dataclass
class LoadResult:
    load_id: str
    status: str  # published | noop
    days: list[date] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)  # day -> new | restatement | reprocess
    rows: dict[str, int] = field(default_factory=dict)
    main_before: str = ""
    main_after: str = ""
    report: AuditReport | None = None
    synced: dict[str, int] = field(default_factory=dict)  # gold table -> rows in Postgres after the sync
    seconds: dict[str, float] = field(default_factory=dict)


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@contextlib.contextmanager
def load_lock(settings: Settings) -> Iterator[None]:
    """One load at a time per stack (Airflow may try to run two)."""
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.run_dir / "load.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _say("another load is running; waiting for it to finish …")
            fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def slices(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), max(1, size)):
        yield items[i : i + size]


def new_load_id(days: list[date]) -> str:
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S%f")[:-3]
    return f"load_{days[0]:%Y%m%d}_{days[-1]:%Y%m%d}_{stamp}"


def ingest(
    settings: Settings,
    source: str,
    start: date | None = None,
    end: date | None = None,
    force: bool = False,
    slice_days: int = 30,
    progress: Callable[[str], None] = _say,
) -> LoadResult:
    """Land export files from ``source`` and process the days that are new or restated."""
    with load_lock(settings):
        t0 = time.monotonic()
        download = settings.state_dir / "staging" / "downloads"
        files = landing.discover(source, settings, download, start, end)
        progress(
            f"found {len(files)} export file(s) in {source} ({files[0].shard_date} … {files[-1].shard_date})"
        )
        spark = get_spark(settings, app_name="ga4lake-load")
        landed = latest_manifest(spark, branch_catalog(spark, settings, settings.lake_branch))
        todo, kinds = [], {}
        for f in files:
            previous = landed.get(f.shard_date)
            if previous is None:
                kinds[f.shard_date.isoformat()] = "new"
            elif previous["sha256"] != landing.sha256_of(f.local_path):
                kinds[f.shard_date.isoformat()] = "restatement"
            elif force:
                kinds[f.shard_date.isoformat()] = "reprocess"
            else:
                continue
            todo.append(f)
        if not todo:
            head = NessieClient(settings.nessie_api).get_reference(settings.lake_branch).hash
            progress(f"nothing to do: all {len(files)} file(s) already landed with identical checksums")
            return LoadResult(load_id="", status="noop", main_before=head, main_after=head)
        restated = sorted(d for d, k in kinds.items() if k == "restatement")
        if restated:
            progress(f"restatement of {len(restated)} day(s): {', '.join(restated)}")
        return _process(settings, spark, todo, kinds, slice_days, progress, t0)


def rerun(
    settings: Settings, start: date, end: date, slice_days: int = 30, progress: Callable[[str], None] = _say
) -> LoadResult:
    """Reprocess days already landed (from their landed originals), through every layer."""
    with load_lock(settings):
        t0 = time.monotonic()
        spark = get_spark(settings, app_name="ga4lake-run")
        main_cat = branch_catalog(spark, settings, settings.lake_branch)
        landed = {d: m for d, m in latest_manifest(spark, main_cat).items() if start <= d <= end}
        if not landed:
            raise LoadError(
                f"no landed days between {start} and {end} on {settings.lake_branch} (ingest first)"
            )
        client = landing.s3_client(settings)
        download = settings.state_dir / "staging" / "downloads"
        download.mkdir(parents=True, exist_ok=True)
        files = []
        for d, m in sorted(landed.items()):
            bucket, key = landing.split_s3(m["landing_uri"])
            local = download / m["file_name"]
            client.download_file(bucket, key, str(local))
            files.append(landing.ExportFile(d, m["file_name"], local, m["landing_uri"]))
        kinds = {f.shard_date.isoformat(): "reprocess" for f in files}
        progress(f"reprocessing {len(files)} landed day(s) {files[0].shard_date} … {files[-1].shard_date}")
        return _process(settings, spark, files, kinds, slice_days, progress, t0)


def _process(
    settings: Settings,
    spark,
    files: list[landing.ExportFile],
    kinds: dict[str, str],
    slice_days: int,
    progress: Callable[[str], None],
    t0: float,
) -> LoadResult:
    nessie = NessieClient(settings.nessie_api)
    days = [f.shard_date for f in files]
    load_id = new_load_id(days)
    branch = load_id
    target = settings.lake_branch
    main_before = nessie.get_reference(target).hash
    # validate every file before the branch exists: a bad file must not leave anything behind
    staging = settings.state_dir / "staging" / load_id
    ingested_at = landing.now_utc()
    staged: list[landing.StagedFile] = []
    # files are independent: read/validate/upload a few at once (pyarrow and boto3 release the GIL)
    try:
        with ThreadPoolExecutor(max_workers=LANDING_WORKERS) as pool:
            futures = [pool.submit(landing.stage, f, settings, staging, load_id, ingested_at) for f in files]
            for i, fut in enumerate(as_completed(futures), 1):
                staged.append(fut.result())  # a bad file raises here, naming itself
                if i % 10 == 0 or i == len(files):
                    progress(f"  landed {i}/{len(files)} file(s)")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    staged.sort(key=lambda s: s.shard_date)
    result = LoadResult(load_id=load_id, status="published", days=days, kinds=kinds, main_before=main_before)
    result.seconds["landing"] = round(time.monotonic() - t0, 1)

    nessie.create_branch(branch, target, main_before)
    cat = branch_catalog(spark, settings, branch)
    progress(f"load {load_id}: {len(days)} day(s) on branch {branch}")
    ensure_manifest(spark, cat)
    t1 = time.monotonic()
    for part in slices(staged, slice_days):
        part_days = [s.shard_date for s in part]
        ts = time.monotonic()
        bronze_in = spark.read.option("mergeSchema", "true").parquet(*[str(s.staged_path) for s in part])
        replace_days(bronze_in, f"{cat}.{BRONZE_EVENTS}", "_shard_date", part_days)
        from pyspark.sql import functions as F

        bronze = spark.table(f"{cat}.{BRONZE_EVENTS}").where(F.col("_shard_date").isin(part_days))
        silver = build_silver(bronze)
        replace_days(silver.events, f"{cat}.{SILVER_EVENTS}", "event_date", part_days)
        replace_days(silver.quarantine, f"{cat}.{QUARANTINE}", "event_date", part_days)
        manifest_rows = [
            (
                load_id,
                s.shard_date,
                s.name,
                s.source_uri,
                s.landing_uri,
                s.sha256,
                s.size_bytes,
                s.rows,
                s.rescued_rows,
                s.format,
                kinds[s.shard_date.isoformat()],
                ingested_at.replace(tzinfo=None),
            )
            for s in part
        ]
        spark.createDataFrame(manifest_rows, MANIFEST_DDL).writeTo(f"{cat}.{LOAD_MANIFEST}").append()
        progress(
            f"  bronze+silver {part_days[0]} … {part_days[-1]} ({len(part_days)} day(s)) "
            f"in {time.monotonic() - ts:.1f}s"
        )
    result.seconds["bronze_silver"] = round(time.monotonic() - t1, 1)

    ctx = LoadContext(spark, settings, load_id, branch, cat, days, kinds)
    ts = time.monotonic()
    scopes = gold_step.build_on_branch(ctx)
    result.seconds["gold"] = round(time.monotonic() - ts, 1)
    progress(
        f"  gold ({'full build' if all(s.full for s in scopes.values()) else 'incremental'}) "
        f"in {result.seconds['gold']}s"
    )

    t2 = time.monotonic()
    report = run_audits(spark, cat, load_id, {s.shard_date: s.rows for s in staged})
    result.seconds["audit"] = round(time.monotonic() - t2, 1)
    result.report = report
    audits_dir = settings.state_dir / "audits"
    audits_dir.mkdir(parents=True, exist_ok=True)
    (audits_dir / f"{load_id}.json").write_text(json.dumps(report.as_dict(), indent=2))
    if not report.passed:
        raise AuditFailed(report, branch)
    progress(report.render())

    result.rows = {s.shard_date.isoformat(): s.rows for s in staged}
    props = {
        "ga4lake.load_id": load_id,
        "ga4lake.days": f"{days[0]}..{days[-1]}",
        "ga4lake.rows": str(sum(s.rows for s in staged)),
        "ga4lake.kinds": json.dumps(kinds, sort_keys=True),
    }
    head = nessie.merge(
        branch, target, message=f"ga4lake {load_id}: publish {days[0]}..{days[-1]}", properties=props
    )
    nessie.delete_branch(branch)
    shutil.rmtree(staging, ignore_errors=True)
    result.main_after = head.hash
    progress(f"published {load_id} to {target} ({main_before[:12]} -> {head.hash[:12]})")
    ts = time.monotonic()
    try:
        result.synced = gold_sync.sync(
            spark, settings, scopes, previous_commit=main_before, progress=progress
        )
    except Exception as exc:
        raise LoadError(
            f"{load_id} is published on {target}, but the PostgreSQL sync failed: {exc}. "
            "Re-run `ga4lake sync` (it re-syncs what is missing)."
        ) from exc
    result.seconds["postgres_sync"] = round(time.monotonic() - ts, 1)
    result.seconds["total"] = round(time.monotonic() - t0, 1)
    progress(f"done: {load_id} in {result.seconds['total']}s {result.seconds}")
    return result


def rollback(settings: Settings, to: str, progress: Callable[[str], None] = _say) -> list[Commit]:
    """Reset main to an earlier commit (hash or hash prefix, or an ISO timestamp); returns what was undone."""
    nessie = NessieClient(settings.nessie_api)
    target_branch = settings.lake_branch
    log = nessie.log(target_branch, limit=2000)
    target = None
    try:
        ts = datetime.fromisoformat(to.replace("Z", "+00:00"))
        if ts.tzinfo is None:
            from datetime import UTC

            ts = ts.replace(tzinfo=UTC)
        target = next(
            (c for c in log if datetime.fromisoformat(c.commit_time[:26].rstrip("Z") + "+00:00") <= ts), None
        )
    except ValueError:
        matches = [c for c in log if c.hash.startswith(to)]
        if len(matches) > 1:
            raise LoadError(f"commit prefix {to!r} is ambiguous on {target_branch}") from None
        target = matches[0] if matches else None
    if target is None:
        raise LoadError(f"no commit on {target_branch} matches {to!r} (see `ga4lake history`)")
    undone = [c for c in log[: log.index(target)]]
    if not undone:
        progress(f"{target_branch} is already at {target.hash[:12]}: nothing to undo")
        return []
    nessie.assign(target_branch, target.hash)
    for c in undone:
        progress(
            f"  undid {c.hash[:12]} {c.properties.get('ga4lake.load_id', '')} {c.message.splitlines()[0][:70]}"
        )
    progress(
        f"{target_branch} reset to {target.hash[:12]} ({target.commit_time}); {len(undone)} commit(s) undone"
    )
    return undone
