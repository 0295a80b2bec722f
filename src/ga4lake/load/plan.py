"""A load's plan — the one record of a load between its steps — and who may still finish it.

The plan (``<state>/loads/<load_id>.json``) carries the load id, its days and their kinds, the target
branch it publishes to, the commit it started from and, after gold, the scopes the PostgreSQL sync
replaces. Every step reads it, checks its phase, and saves the next phase (:mod:`ga4lake.load` lists them).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path

from ga4lake.config import Settings, float_setting
from ga4lake.errors import LoadError
from ga4lake.gold.step import Scope
from ga4lake.lake import landing
from ga4lake.load import OPEN_PHASES
from ga4lake.log import say as _say  # progress lines (stderr; -q hides them)
from ga4lake.stack.process import pid_alive, proc_start_ticks

__all__ = ["OPEN_PHASES", "LoadPlan"]


def new_load_id(days: list[date]) -> str:
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S%f")[:-3]
    return f"load_{days[0]:%Y%m%d}_{days[-1]:%Y%m%d}_{stamp}"


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

    def scope_objects(self) -> dict[str, Scope]:
        """The scopes gold wrote (what the PostgreSQL sync replaces), back from the plan's JSON."""
        return {name: Scope.from_json(s) for name, s in (self.scopes or {}).items()}


def _process_start(pid: int) -> str | None:
    """The process's start time (clock ticks after boot, /proc/<pid>/stat field 22); None if it is gone.
    With the pid it names one process: a reused pid has another start time. Without /proc: "?" while
    the pid is alive."""
    ticks = proc_start_ticks(pid)
    if ticks is not None:
        return str(ticks)
    return None if Path("/proc/self/stat").exists() else ("?" if pid_alive(pid) else None)


def process_owner(kind: str, pid: int | None = None) -> str:
    """``<kind>:<pid>:<start>``: who runs a plan's steps right now (``cli`` = every step, ``step`` = one)."""
    pid = os.getpid() if pid is None else pid
    return f"{kind}:{pid}:{_process_start(pid) or '?'}"


def owner_alive(owner: str) -> bool | None:
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
    alive = owner_alive(plan.owner)
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


def read_plans(settings: Settings) -> list[LoadPlan]:
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
    for p in read_plans(settings):
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
    for p in read_plans(settings):
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
