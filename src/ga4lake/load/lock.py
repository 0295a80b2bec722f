"""The stack's one lock for the commands that change main or gold (docs/operations.md has the list)."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator

from ga4lake.config import Settings
from ga4lake.errors import LoadBusy
from ga4lake.lake import landing
from ga4lake.load.plan import open_plans, wait_for_open_loads
from ga4lake.log import say as _say  # progress lines (stderr; -q hides them)

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
