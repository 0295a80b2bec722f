"""What a gold table is, in one place per table: each model module ends with the ``TABLES`` it defines.

A :class:`TableSpec` carries everything the writer, the sync and the docs need to know of one table —
its key, its lake partition, the column its incremental scope is expressed in, how to build it from all
events, and how to rebuild just the part a load touched. ``build.py`` only collects the specs; adding a
table means writing its module (transform + spec), its dbt source file and its parity reference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame

from ga4lake.project import DEFAULTS, Project

if TYPE_CHECKING:  # the windows import the session model; the specs only read their attributes
    from ga4lake.gold.models.windows import DeltaInputs


@dataclass(frozen=True)
class GoldDelta:
    """Replace every existing row whose ``column`` is in ``values`` by ``rows`` (all inside the scope)."""

    rows: DataFrame
    column: str
    values: DataFrame


@dataclass(frozen=True)
class FullInputs:
    """What a full build reads: the prepared events, the per-session aggregate three tables share
    (computed once; the writer may persist it), and the project configuration (ga4lake.yml) whose
    values the specs hand to their transforms as plain arguments."""

    prepared: DataFrame
    sessions: DataFrame
    project: Project = DEFAULTS


@dataclass(frozen=True)
class TableSpec:
    """One gold table: key, partition, scope column, description, full build and incremental build.

    ``delta`` returns the rows that replace the table's scope after the touched days changed; the
    contract (docs/gold.md#incremental-correctness) is ``apply_delta(full(old), delta(new)) == full(new)``.
    """

    name: str
    keys: tuple[str, ...]
    partition_col: str | None
    description: str
    scope_column: str
    full: Callable[[FullInputs], DataFrame]
    delta: Callable[[DeltaInputs], GoldDelta]


def from_prepared(build: Callable[[DataFrame], DataFrame]) -> Callable[[FullInputs], DataFrame]:
    """A full build that reads the prepared events only."""
    return lambda f: build(f.prepared)


def day_local(
    build: Callable[[DataFrame], DataFrame], column: str = "event_date"
) -> Callable[[DeltaInputs], GoldDelta]:
    """A table whose rows of a day depend on that day's events only: the touched days are rebuilt from
    their own events, and their dates are the scope."""
    return lambda d: GoldDelta(build(d.day_events), column, d.touched(column))
