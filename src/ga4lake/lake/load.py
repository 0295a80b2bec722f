"""A load, end to end: land → bronze → silver (→ later layers) on its own Nessie branch, audit, publish.

Write–audit–publish: every table of a load is written on a branch named after the load; audits read
the branch back; only when all pass is the branch merged into main (one atomic Nessie merge of every
table) and deleted. A failing audit, an exception or a killed process leaves main untouched and the
branch kept for inspection (``ga4lake branches``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from ga4lake.config import Settings, float_setting, inject_fault, int_setting, setting
from ga4lake.errors import disk_full
from ga4lake.gold import step as gold_step
from ga4lake.gold import sync as gold_sync
from ga4lake.lake import landing
from ga4lake.lake.audit import AuditReport, run_audits
from ga4lake.lake.nessie import Commit, NessieClient
from ga4lake.lake.privacy import bronze_user_id
from ga4lake.lake.silver import build_silver, scan_stats
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
from ga4lake.log import say as _say  # progress lines (stderr; -q hides them)


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
    kinds: dict[str, str] = field(default_factory=dict)  # day -> new | restatement | reprocess | intraday
    # the commit the load's branch was created from: what a step reads as "before this load", so a retried
    # step sees the same prior state however much of its earlier attempt reached the branch
    start_commit: str = ""


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


class LoadBusy(LoadError):
    """A command that needs the stack to itself (no load open, lock free) was refused; nothing changed."""


LOCK_FILE = "load.lock"


def _lock_holder(settings: Settings) -> str:
    p = settings.run_dir / LOCK_FILE
    try:
        return p.read_text().strip() or "another ga4lake process"
    except OSError:
        return "another ga4lake process"


@contextlib.contextmanager
def load_lock(settings: Settings, what: str = "load", same_target: str = "wait") -> Iterator[None]:
    """The stack's one lock for commands that change main or gold (docs/operations.md has the list).

    One per stack (not per target branch): loads are also serialised for the machine's memory. ``what``
    and the target branch name the holder in the lock file, so a waiter says whom it waits for.
    ``same_target="refuse"``: raise :class:`LoadBusy` instead of waiting when the holder works on this
    command's target (a rollback must not run after a load it has not seen); other holders are waited for."""
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(settings.run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _lock_holder(settings)
            if same_target == "refuse" and f" on {settings.lake_branch} (" in holder:
                raise LoadBusy(
                    f"{what} refused: the load lock is held by {holder}; nothing changed "
                    "(retry when it has finished)"
                ) from None
            _say(f"{what}: the load lock is held by {holder}; waiting for it …")
            fcntl.flock(fd, fcntl.LOCK_EX)
        stamp = f"{landing.now_utc():%Y-%m-%d %H:%M:%S}"
        os.ftruncate(fd, 0)
        os.pwrite(
            fd, f"{what} on {settings.lake_branch} (pid {os.getpid()}, since {stamp} UTC)\n".encode(), 0
        )
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextlib.contextmanager
def exclusive(settings: Settings, what: str, progress: Callable[[str], None]) -> Iterator[None]:
    """The load lock with no other load open on the target: wait for open loads *without* the lock (their
    steps, and an abort, may need it), then lock and check again. A new load plans only inside this, so
    it plans against main as the previous load left it."""
    while True:
        wait_for_open_loads(settings, progress)
        with load_lock(settings, what):
            if not open_plans(settings):
                yield
                return


def slices(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), max(1, size)):
        yield items[i : i + size]


def new_load_id(days: list[date]) -> str:
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S%f")[:-3]
    return f"load_{days[0]:%Y%m%d}_{days[-1]:%Y%m%d}_{stamp}"


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


def _noop(settings: Settings, n_files: int, progress: Callable[[str], None], spark=None) -> LoadResult:
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
        (p for p in _read_plans(settings) if p.phase == "published" and p.target == settings.lake_branch),
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
        spark = get_spark(settings, app_name="ga4lake-load")
        todo, kinds, n_files = plan_ingest(settings, spark, source, start, end, force, progress)
        if not todo:
            return _noop(settings, n_files, progress, spark=spark)
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
    try:
        for name, step in (("bronze", write_bronze), ("silver", write_silver), ("gold", write_gold)):
            ts = time.monotonic()
            step(spark, settings, plan, slice_days=slice_days, progress=progress)
            result.seconds[name] = round(time.monotonic() - ts, 1)
        ts = time.monotonic()
        report = publish(spark, settings, plan, progress=progress, seconds=result.seconds)
        result.seconds["audit_publish"] = round(time.monotonic() - ts, 1)
    except BaseException as exc:
        plan.fail(settings, exc)
        raise
    result.report = report
    result.rows = {d: s["rows"] for d, s in plan.staged.items()}
    result.main_after = plan.main_after
    ts = time.monotonic()
    inject_fault("load.published")  # test-only: the process dies between the merge and the sync
    result.synced = sync_load(spark, settings, plan, progress=progress)
    result.seconds["postgres_sync"] = round(time.monotonic() - ts, 1)
    result.seconds["total"] = round(time.monotonic() - t0, 1)
    progress(f"done: {plan.load_id} in {result.seconds['total']}s {result.seconds}")
    return result


# -- the steps of a load, each resumable from its persisted plan (Airflow runs one per task) ---------------

OPEN_PHASES = ("landed", "bronze", "silver", "gold")  # the load branch exists and main is not yet merged


@dataclass
class LoadPlan:
    """A load's state between steps, persisted as ``<state>/loads/<load_id>.json``."""

    load_id: str
    branch: str
    target: str
    main_before: str  # the target's head when the load opened: its branch is created at exactly this commit
    kinds: dict[str, str]
    staged: dict[str, dict]  # day -> StagedFile fields (paths as str, dates iso)
    ingested_at: str
    phase: str = "landed"  # landed → bronze → silver → gold → published → synced | failed
    scopes: dict[str, dict] | None = None
    main_after: str = ""
    error: str = ""
    audit: dict | None = None
    # "cli:<pid>:<start>" when one process runs every step; a scheduler's plan is "steps" between steps and
    # "step:<pid>:<start>" while one runs (see owner_gone)
    owner: str = "steps"

    @property
    def days(self) -> list[date]:
        return sorted(date.fromisoformat(d) for d in self.staged)

    @property
    def start_commit(self) -> str:
        """The commit the load branch starts from (recorded when the load opens). Steps that read earlier
        state of their own output tables (gold's prior dim_user/dim_page) read it pinned here, never at
        the branch's head, which a failed or killed attempt of the same step may already have changed."""
        return self.main_before

    def staged_files(self) -> list[landing.StagedFile]:
        out = []
        for s in self.staged.values():
            out.append(
                landing.StagedFile(
                    **{
                        **s,
                        "shard_date": date.fromisoformat(s["shard_date"]),
                        "staged_path": Path(s["staged_path"]),
                    }
                )
            )
        return sorted(out, key=lambda s: s.shard_date)

    @staticmethod
    def path(settings: Settings, load_id: str) -> Path:
        return settings.state_dir / "loads" / f"{load_id}.json"

    def save(self, settings: Settings) -> None:
        p = self.path(settings, self.load_id)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2, default=str))
        tmp.replace(p)  # atomic: a killed step never leaves half a plan

    @classmethod
    def read(cls, settings: Settings, load_id: str) -> LoadPlan:
        p = cls.path(settings, load_id)
        if not p.is_file():
            raise LoadError(f"unknown load {load_id!r}: no plan at {p}")
        return cls(**json.loads(p.read_text()))

    def expect(self, *phases: str) -> None:
        if self.phase not in phases:
            raise LoadError(
                f"load {self.load_id} is in phase {self.phase!r}; this step needs {' or '.join(phases)}"
            )

    def advance(self, settings: Settings, phase: str) -> None:
        self.phase = phase
        self.save(settings)

    def fail(self, settings: Settings, exc: BaseException) -> None:
        """Record the failure; the branch stays for inspection and no longer blocks later loads."""
        if self.phase in OPEN_PHASES:
            self.phase, self.error = "failed", f"{type(exc).__name__}: {exc}"[:4000]
            self.save(settings)
            shutil.rmtree(settings.state_dir / "staging" / self.load_id, ignore_errors=True)

    def scope_objects(self) -> dict[str, gold_step.Scope]:
        out = {}
        for name, s in (self.scopes or {}).items():
            values = s["values"]
            if values is not None and s.get("dates"):
                values = [date.fromisoformat(v) for v in values]
            out[name] = gold_step.Scope(s["column"], values)
        return out


def _process_start(pid: int) -> str | None:
    """The process's start time (clock ticks after boot, /proc/<pid>/stat field 22); None if it is gone.
    With the pid it names one process: a reused pid has another start time."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None if Path("/proc/self/stat").exists() else ("?" if _alive(pid) else None)
    return stat.rsplit(")", 1)[1].split()[19]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_owner(kind: str, pid: int | None = None) -> str:
    """``<kind>:<pid>:<start>``: who runs a plan's steps right now (``cli`` = every step, ``step`` = one)."""
    pid = os.getpid() if pid is None else pid
    return f"{kind}:{pid}:{_process_start(pid) or '?'}"


def _owner_process_alive(owner: str) -> bool | None:
    """For ``cli:``/``step:`` owners: is that very process still running? None for other owners."""
    kind, _, rest = owner.partition(":")
    if kind not in ("cli", "step") or not rest:
        return None
    pid_s, _, start = rest.partition(":")
    now = _process_start(int(pid_s))
    return now is not None and (not start or start == "?" or now == start)


def idle_limit() -> float:
    """Seconds a scheduler-run plan may sit with no step running before its owner counts as gone."""
    return float_setting("GA4LAKE_LOAD_IDLE_SECONDS")


def owner_gone(settings: Settings, plan: LoadPlan) -> str | None:
    """Why the plan's owner is gone (None while it may still finish the load).

    * ``cli:<pid>:<start>`` (``ga4lake ingest``/``run``, every step in one process): gone when that process
      is (pid and start time, so a reused pid does not keep a dead load open).
    * scheduler-run plans (Airflow: one ``ga4lake load <step>`` process per task): while a step runs, the
      plan names it (``step:<pid>:<start>``) and the plan lives as long as it does; between steps (owner
      ``steps``, or a step killed without clean-up) it is gone once the plan file has not changed for
      ``GA4LAKE_LOAD_IDLE_SECONDS`` (default 600 s, well above Airflow's retry delay and asset hand-over):
      the task exhausted its retries, or the run was stopped."""
    alive = _owner_process_alive(plan.owner)
    if plan.owner.startswith("cli:"):
        return None if alive else f"process {plan.owner.split(':')[1]} (ga4lake ingest/run) died"
    if alive:
        return None
    try:
        idle = time.time() - plan.path(settings, plan.load_id).stat().st_mtime
    except OSError:
        return None
    if idle <= idle_limit():
        return None
    return (
        f"no step has run for {idle / 60:.0f} min (> GA4LAKE_LOAD_IDLE_SECONDS={idle_limit():.0f}): "
        "its Airflow task exhausted its retries, or the run or process was stopped"
    )


def _read_plans(settings: Settings) -> list[LoadPlan]:
    folder = settings.state_dir / "loads"
    out = []
    for p in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            out.append(LoadPlan(**json.loads(p.read_text())))
        except (OSError, ValueError, TypeError):
            continue  # being replaced right now, or not a plan
    return out


def open_plans(settings: Settings) -> list[LoadPlan]:
    """Loads whose branch is open (written, not yet published or failed) on this stack's lake branch.

    A plan whose owner is gone (:func:`owner_gone`) is failed here, with the reason, so it blocks nothing:
    its branch is kept for inspection (``ga4lake load abort <id>`` deletes it)."""
    out = []
    for p in _read_plans(settings):
        if p.phase not in OPEN_PHASES or p.target != settings.lake_branch:
            continue
        if owner_gone(settings, p) and _fail_if_gone(settings, p.load_id):
            continue
        out.append(p)
    return out


def _fail_if_gone(settings: Settings, load_id: str) -> bool:
    """Fail an open plan whose owner is gone, checked again under the plan's lock (a step may have just
    claimed it); True if it was failed."""
    with _plan_lock(settings, load_id):
        p = LoadPlan.read(settings, load_id)
        why = owner_gone(settings, p) if p.phase in OPEN_PHASES else None
        if not why:
            return False
        msg = (
            f"interrupted: owner gone during phase {p.phase}: {why}; failed automatically by pid {os.getpid()} at "
            f"{landing.now_utc():%Y-%m-%d %H:%M:%S} UTC; branch {p.branch} kept "
            f"(`ga4lake load abort {p.load_id}` deletes it)"
        )
        p.fail(settings, RuntimeError(msg))
    _say(f"load {load_id}: {msg}")
    return True


def active_plans(settings: Settings) -> list[LoadPlan]:
    """Open loads, plus published loads whose PostgreSQL sync may still run (their owner is not gone):
    what a rollback must not race with."""
    out = open_plans(settings)
    for p in _read_plans(settings):
        if p.phase == "published" and p.target == settings.lake_branch and not owner_gone(settings, p):
            out.append(p)
    return out


@contextlib.contextmanager
def _plan_lock(settings: Settings, load_id: str) -> Iterator[None]:
    """Serialises a step claiming a plan with a waiter failing it as gone (a short lock per plan)."""
    folder = settings.state_dir / "loads"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{load_id}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


@contextlib.contextmanager
def running_step(settings: Settings, plan: LoadPlan) -> Iterator[None]:
    """Mark ``plan`` as run by this process for the length of one step (``ga4lake load <step>``): a waiter
    then knows the load is alive however long the step takes, and that it is gone if this process is."""
    with _plan_lock(settings, plan.load_id):
        on_disk = LoadPlan.read(settings, plan.load_id)
        if on_disk.phase != plan.phase:  # failed as gone (or aborted) since this step read it
            raise LoadError(f"load {plan.load_id} is now {on_disk.phase}: {on_disk.error}")
        plan.owner = process_owner("step")
        plan.save(settings)
    try:
        yield
    finally:
        if plan.phase not in ("failed", "aborted", "rolled_back"):
            plan.owner = "steps"  # between steps: the idle rule applies (a retry may follow)
            plan.save(settings)


def wait_for_open_loads(
    settings: Settings, progress: Callable[[str], None], timeout: float | None = None
) -> None:
    """Loads publish in order: a new one waits until no other load's branch is open on the same target."""
    timeout = float_setting("GA4LAKE_LOAD_WAIT_SECONDS") if timeout is None else timeout
    deadline = time.monotonic() + timeout
    while True:
        busy = open_plans(settings)
        if not busy:
            return
        if time.monotonic() > deadline:
            names = ", ".join(f"{p.load_id} ({p.phase})" for p in busy)
            raise LoadError(
                f"load(s) still open on {settings.lake_branch}: {names}; finish them or `ga4lake load abort ID`"
            )
        progress(f"waiting for open load {busy[0].load_id} (phase {busy[0].phase}) …")
        time.sleep(5)


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
    plan.expect("landed")
    cat = branch_catalog(spark, settings, plan.branch)
    ensure_manifest(spark, cat)
    ingested_at = datetime.fromisoformat(plan.ingested_at)
    for part in slices(plan.staged_files(), slice_days):
        part_days = [s.shard_date for s in part]
        ts = time.monotonic()
        bronze_in = spark.read.option("mergeSchema", "true").parquet(*[str(s.staged_path) for s in part])
        bronze_in = bronze_user_id(bronze_in, settings)  # GA4LAKE_PII_USER_ID: hash | drop | keep
        replace_days(bronze_in, f"{cat}.{BRONZE_EVENTS}", "_shard_date", part_days)
        manifest_rows = [
            (
                plan.load_id,
                s.shard_date,
                s.name,
                s.source_uri,
                s.landing_uri,
                s.sha256,
                s.size_bytes,
                s.rows,
                s.rescued_rows,
                s.format,
                plan.kinds[s.shard_date.isoformat()],
                ingested_at.replace(tzinfo=None),
            )
            for s in part
        ]
        # a retried step must not list a file twice
        day_list = ", ".join(f"DATE '{d}'" for d in part_days)
        spark.sql(
            f"DELETE FROM {cat}.{LOAD_MANIFEST} WHERE load_id = '{plan.load_id}' AND shard_date IN ({day_list})"
        )
        spark.createDataFrame(manifest_rows, MANIFEST_DDL).writeTo(f"{cat}.{LOAD_MANIFEST}").append()
        progress(
            f"  bronze {part_days[0]} … {part_days[-1]} ({len(part_days)} day(s)) in {time.monotonic() - ts:.1f}s"
        )
    plan.advance(settings, "bronze")


def write_silver(
    spark, settings: Settings, plan: LoadPlan, slice_days: int = 30, progress: Callable[[str], None] = _say
) -> None:
    """Flattened, contract-checked events and the quarantine for the load's days, read from branch bronze."""
    from pyspark.sql import functions as F

    plan.expect("bronze")
    cat = branch_catalog(spark, settings, plan.branch)
    for part_days in slices(plan.days, slice_days):
        ts = time.monotonic()
        bronze = spark.table(f"{cat}.{BRONZE_EVENTS}").where(F.col("_shard_date").isin(part_days))
        stats = scan_stats(bronze).first()
        # a few duplicate hashes become a literal filter; a mass duplication (a file loaded twice) a join
        candidates = list(stats.dup_hashes) if len(stats.dup_hashes) <= 10_000 else None
        silver = build_silver(bronze, candidates)
        replace_days(silver.events, f"{cat}.{SILVER_EVENTS}", "event_date", part_days)
        # no bad rows: the quarantine's days are still replaced (a restated day may have had some)
        quarantine = silver.quarantine if stats.bad_rows else silver.quarantine.limit(0)
        replace_days(quarantine, f"{cat}.{QUARANTINE}", "event_date", part_days)
        progress(
            f"  silver {part_days[0]} … {part_days[-1]} ({len(part_days)} day(s), {stats.bad_rows} quarantined, "
            f"{len(stats.dup_hashes)} duplicate group(s)) in {time.monotonic() - ts:.1f}s"
        )
    plan.advance(settings, "silver")


def write_gold(
    spark, settings: Settings, plan: LoadPlan, slice_days: int = 30, progress: Callable[[str], None] = _say
) -> None:
    """Gold for the load's days on the branch (full build the first time, then incremental deltas).

    Idempotent on the same plan: its inputs are the branch's silver (this load's) and gold as of the
    load's start commit, and every table is written by replacing a scope, so a retry — after a complete
    attempt whose phase was not saved, or after one that died between a DELETE and its append — writes
    exactly what one run writes (tests/integration/test_idempotent.py)."""
    plan.expect("silver")
    ts = time.monotonic()
    cat = branch_catalog(spark, settings, plan.branch)
    ctx = LoadContext(
        spark, settings, plan.load_id, plan.branch, cat, plan.days, plan.kinds, start_commit=plan.start_commit
    )
    scopes = gold_step.build_on_branch(ctx)
    plan.scopes = {
        name: {
            "column": s.column,
            "values": None
            if s.values is None
            else [v.isoformat() if isinstance(v, date) else v for v in s.values],
            "dates": bool(s.values) and isinstance(s.values[0], date),
        }
        for name, s in scopes.items()
    }
    progress(
        f"  gold ({'full build' if all(s.full for s in scopes.values()) else 'incremental'}) "
        f"in {time.monotonic() - ts:.1f}s"
    )
    plan.advance(settings, "gold")


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
    plan.expect("gold")
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
    plan.advance(settings, "published")
    progress(f"published {plan.load_id} to {plan.target} ({plan.main_before[:12]} -> {head.hash[:12]})")
    return report


class ParityGateFailed(LoadError):
    """Gold on the load branch differs from the dbt-ga4 reference by more than the threshold."""


def parity_gate(settings: Settings, plan: LoadPlan, progress: Callable[[str], None]) -> float:
    """Row-count parity of the branch's gold tables against the reference logic, over the load's days;
    returns its seconds."""
    from ga4lake.validate.parity import format_report, run_parity

    ts = time.monotonic()
    days = plan.days
    on_branch = dataclasses.replace(settings, lake_branch=plan.branch)
    report = run_parity(on_branch, days[0], days[-1], gold_source="lake", store=False)
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
    plan.expect("published", "synced")
    try:
        synced = gold_sync.sync(
            spark, settings, plan.scope_objects(), previous_commit=plan.main_before, progress=progress
        )
    except Exception as exc:
        raise LoadError(
            f"{plan.load_id} is published on {plan.target}, but the PostgreSQL sync failed: {exc}. "
            "Re-run `ga4lake sync` (it re-syncs what is missing)."
        ) from exc
    plan.advance(settings, "synced")
    return synced


def abort(settings: Settings, load_id: str, progress: Callable[[str], None] = _say) -> None:
    """Give up an open load: delete its branch (main never saw it) and its staging files.

    Takes the load lock; refuses while a step of the load is running (its process is alive)."""
    with load_lock(settings, f"ga4lake load abort {load_id}"):
        plan = LoadPlan.read(settings, load_id)
        plan.expect(*OPEN_PHASES, "failed")
        if plan.phase in OPEN_PHASES and _owner_process_alive(plan.owner):
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


@dataclass
class RollbackResult:
    """What a rollback undid (or, with ``dry_run``, would undo), newest commit first."""

    branch: str
    head_before: str
    target: Commit
    undone: list[Commit]
    dry_run: bool = False
    synced: dict[str, int] = field(default_factory=dict)  # gold table -> rows in PostgreSQL after


def describe_commit(c: Commit) -> str:
    """One line per undone commit: hash, time, load id, days, message."""
    load_id = c.properties.get("ga4lake.load_id", "-")
    days = c.properties.get("ga4lake.days", "-")
    first = c.message.splitlines()[0][:70] if c.message else ""
    return f"{c.hash[:12]}  {c.commit_time[:19]}  {load_id}  days {days}  {first}"


def _find_commit(log: list[Commit], to: str, branch: str) -> Commit:
    """``to``: a commit hash or hash prefix on ``branch``, or an ISO time (the last commit at or before it)."""
    try:
        ts = datetime.fromisoformat(to.replace("Z", "+00:00"))
    except ValueError:
        matches = [c for c in log if c.hash.startswith(to)]
        if len(matches) > 1:
            raise LoadError(f"commit prefix {to!r} is ambiguous on {branch}") from None
        target = matches[0] if matches else None
    else:
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=UTC)
        target = next(
            (c for c in log if datetime.fromisoformat(c.commit_time[:26].rstrip("Z") + "+00:00") <= ts), None
        )
    if target is None:
        raise LoadError(f"no commit on {branch} matches {to!r} (see `ga4lake history`)")
    return target


def _empty_postgres_gold(settings: Settings, names: list[str]) -> None:
    """The restored commit predates gold: its PostgreSQL copy is emptied, so it still equals the lake."""
    conn = gold_sync.connect(settings)
    try:
        gold_sync.ensure_schema(conn, settings)
        with conn, conn.cursor() as cur:
            for name in names:
                cur.execute("SELECT to_regclass(%s)", (f'{settings.pg_gold_schema}."{name}"',))
                if cur.fetchone()[0] is not None:
                    cur.execute(f'TRUNCATE {settings.pg_gold_schema}."{name}"')
            cur.execute(
                f"DELETE FROM {settings.pg_gold_schema}._sync_state WHERE table_name = ANY(%s)", (names,)
            )
    finally:
        conn.close()


def rollback(
    settings: Settings,
    to: str,
    dry_run: bool = False,
    spark=None,
    progress: Callable[[str], None] = _say,
) -> RollbackResult:
    """Reset the lake branch (main) to an earlier commit and re-sync PostgreSQL gold from it.

    Safe against loads: it takes the load lock and refuses (:class:`LoadBusy`, nothing changed) while a
    command on the same target holds it, or any load is open or published but not yet synced — a load
    built on the commits being undone must not publish on top of the reset. After the reset every gold table is
    fully re-synced (``ga4lake sync``), so PostgreSQL, dbt's insights and Superset follow the lake.
    ``dry_run``: resolve and report what would be undone, change nothing."""
    from ga4lake.gold.models import GOLD_TABLES

    branch = settings.lake_branch
    with load_lock(settings, f"ga4lake rollback --to {to}", same_target="refuse"):
        busy = active_plans(settings)
        if busy:
            names = ", ".join(f"{p.load_id} ({p.phase}, {p.owner})" for p in busy)
            raise LoadBusy(
                f"rollback refused: load(s) not finished on {branch}: {names}; let them publish and sync "
                "(or `ga4lake load abort ID` an open one), then roll back; nothing changed"
            )
        nessie = NessieClient(settings.nessie_api)
        log = nessie.log(branch, limit=2000)
        target = _find_commit(log, to, branch)
        undone = log[: log.index(target)]
        result = RollbackResult(branch, log[0].hash if log else "", target, undone, dry_run)
        if not undone:
            progress(f"{branch} is already at {target.hash[:12]}: nothing to undo")
            return result
        verb = "would undo" if dry_run else "undoing"
        for c in undone:
            progress(f"  {verb} {describe_commit(c)}")
        keys = set(nessie.contents_keys(f"{branch}@{target.hash}"))
        missing = [n for n in GOLD_TABLES if f"gold.{n}" not in keys]
        if missing and len(missing) < len(GOLD_TABLES):
            raise LoadError(
                f"commit {target.hash[:12]} has only part of gold (missing {', '.join(missing)}); "
                "roll back to a commit a load published; nothing changed"
            )
        if dry_run:
            progress(
                f"dry run: {branch} would be reset {result.head_before[:12]} -> {target.hash[:12]} "
                f"({len(undone)} commit(s)) and PostgreSQL {settings.pg_gold_schema} re-synced; nothing changed"
            )
            return result
        nessie.assign(branch, target.hash)
        undone_ids = {c.properties.get("ga4lake.load_id") for c in undone} - {None}
        for p in _read_plans(settings):
            if p.load_id in undone_ids and p.target == branch:
                p.phase = "rolled_back"
                p.error = f"rolled back: {branch} reset to {target.hash[:12]} at {landing.now_utc():%Y-%m-%d %H:%M:%S} UTC"
                p.save(settings)
        progress(
            f"{branch} reset {result.head_before[:12]} -> {target.hash[:12]} ({target.commit_time}); "
            f"{len(undone)} commit(s) undone; re-syncing PostgreSQL {settings.pg_gold_schema} …"
        )
        try:
            if missing:
                _empty_postgres_gold(settings, list(GOLD_TABLES))
                result.synced = dict.fromkeys(GOLD_TABLES, 0)
            else:
                spark = spark or get_spark(settings, app_name="ga4lake-rollback")
                result.synced = gold_sync.sync(spark, settings, progress=progress)
        except Exception as exc:
            raise LoadError(
                f"{branch} was reset to {target.hash[:12]}, but the PostgreSQL re-sync failed: {exc}. "
                "Run `ga4lake sync` to finish it."
            ) from exc
    return result
