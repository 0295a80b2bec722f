"""One logging setup for every command: progress on stderr, ``--quiet``/``--verbose``, no colours in pipes.

Every module reports progress through :func:`say` (logger ``ga4lake``). Results stay on stdout, so a
script piping a command's JSON output sees only the result. On a terminal the lines go through ``rich``
(time column, colours); when stderr is a pipe or a file (Airflow task logs, CI) the lines are the plain
messages.

Stdlib only unless a terminal asks for ``rich``: the installer imports this before any virtualenv exists.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

LOGGER = logging.getLogger("ga4lake")
QUIET, NORMAL, VERBOSE = -1, 0, 1
_LEVELS = {QUIET: logging.WARNING, NORMAL: logging.INFO, VERBOSE: logging.DEBUG}
_state: dict[str, int | None] = {"verbosity": None}
T = TypeVar("T")
_console: dict[str, Any] = {"stderr": None}  # the rich Console of the log lines, shared with progress bars


class _CurrentStderr(logging.StreamHandler):
    """A handler writing to whatever ``sys.stderr`` is *now* (pytest's capture, a redirected stream)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):  # noqa: D401 - the property StreamHandler.emit reads
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def _is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def setup(verbosity: int = NORMAL, fancy: bool | None = None) -> None:
    """(Re)configure the ``ga4lake`` logger. ``fancy`` defaults to "stderr is a terminal and rich exists"."""
    verbosity = max(QUIET, min(VERBOSE, verbosity))
    if fancy is None:
        fancy = _is_terminal()
    handler: logging.Handler | None = None
    if fancy:
        try:
            from rich.console import Console
            from rich.logging import RichHandler

            console = Console(stderr=True)
            handler = RichHandler(
                console=console,
                show_path=False,
                show_level=False,
                markup=False,
                log_time_format="%H:%M:%S",
            )
            _console["stderr"] = console
        except ImportError:  # rich is in the main virtualenv, not in the installer's bare Python
            fancy = False
    if not fancy:
        _console["stderr"] = None
    if handler is None:
        handler = _CurrentStderr()
        handler.setFormatter(logging.Formatter("%(message)s"))
    for old in list(LOGGER.handlers):
        LOGGER.removeHandler(old)
    LOGGER.addHandler(handler)
    LOGGER.setLevel(_LEVELS[verbosity])
    LOGGER.propagate = False
    _state["verbosity"] = verbosity


def _ensure() -> None:
    if _state["verbosity"] is None:  # used as a library or before the CLI parsed its flags
        setup(NORMAL)


def say(msg: str) -> None:
    """A progress line (hidden by ``--quiet``)."""
    _ensure()
    LOGGER.info(msg)


def detail(msg: str) -> None:
    """A line only ``--verbose`` shows."""
    _ensure()
    LOGGER.debug(msg)


def warn(msg: str) -> None:
    """Shown even with ``--quiet``."""
    _ensure()
    LOGGER.warning(msg)


def verbosity() -> int:
    _ensure()
    return int(_state["verbosity"])  # type: ignore[arg-type]


def _stdout_is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


@contextmanager
def bar(total: int, label: str, unit: str = "") -> Iterator[Callable[..., None]]:
    """A progress bar for work of ``total`` units; yields ``advance(n=1)``.

    Drawn only where a person watches: log lines on a terminal (rich), stdout a terminal too (a command
    whose result is piped draws none), not ``--quiet``, and more than one unit of work. Everywhere else
    ``advance`` does nothing and the :func:`say` lines are the record, so Airflow logs and CI output stay
    plain text. The bar shares the log lines' console: lines scroll above it, it disappears when done.
    """
    _ensure()
    console = _console["stderr"]
    if console is None or total <= 1 or verbosity() == QUIET or not _stdout_is_terminal():
        yield lambda n=1: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    label_col, unit_col = (
        TextColumn(t, markup=False) for t in (label, unit)
    )  # "[install]" is text, not markup
    columns = (label_col, BarColumn(), MofNCompleteColumn(), unit_col, TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(label, total=total)
        yield lambda n=1: progress.advance(task, n)


def track(items: Sequence[T], label: str, unit: str = "") -> Iterator[T]:
    """``items`` one by one under a :func:`bar` that advances as each is done (same rules for drawing)."""
    with bar(len(items), label, unit) as advance:
        for item in items:
            yield item
            advance()
