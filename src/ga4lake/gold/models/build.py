"""The gold build: every table's spec collected from its module, full build, incremental build, apply_delta.

Each model module describes its own tables (``TABLES``: key, partition, scope column, full and incremental
build; see spec.py); this module only puts them in one ordered registry and runs them.

Incremental contract: for every table, ``apply_delta(full(old events), incremental(new events, T))``
equals ``full(new events)`` row for row, where T are the days whose silver rows were (re)written.
Each table's scope is a set of values of one column; everything in scope is recomputed from exactly
the events that can influence it, so scopes are conservative but never miss a row (docs/gold.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ga4lake.gold.models import events as event_tables
from ga4lake.gold.models import (
    funnel,
    items,
    pages,
    retention,
    session_days,
    sessions,
    traffic_sources,
    users,
)
from ga4lake.gold.models.common import prepare
from ga4lake.gold.models.sessions import session_base
from ga4lake.gold.models.spec import FullInputs, GoldDelta, TableSpec
from ga4lake.gold.models.users import dim_user_delta
from ga4lake.gold.models.windows import DeltaInputs, dates
from ga4lake.project import DEFAULTS, Project

__all__ = [
    "GOLD_TABLES",
    "PRIOR_TABLES",
    "GoldDelta",
    "TableSpec",
    "apply_delta",
    "build_gold",
    "build_gold_incremental",
    "dim_user_delta",
    "write_order",
]

# the order tables are written and synced in (facts first, then dimensions and aggregates)
_MODULES = (event_tables, sessions, session_days, users, pages, traffic_sources, funnel, retention, items)

GOLD_TABLES: dict[str, TableSpec] = {spec.name: spec for module in _MODULES for spec in module.TABLES}


def build_gold(
    events: DataFrame,
    keep: Callable[[DataFrame], DataFrame] = lambda df: df,
    project: Project = DEFAULTS,
) -> dict[str, DataFrame]:
    """Full build of every gold table from all silver events (lazy DataFrames, nothing is computed).

    ``keep``: applied to the session aggregate three tables share (the caller may persist it, so the
    expensive per-session aggregation over every event runs once instead of three times).
    ``project``: the ga4lake.yml configuration (its defaults when not given). It is read at the edge that
    starts a build (``ga4lake.gold.step``); the transforms below only receive its values as arguments."""
    prepared = prepare(events, project.urls.strip_query_params, project.params.event)
    inputs = FullInputs(prepared, keep(session_base(prepared, project)), project)
    return {name: spec.full(inputs) for name, spec in GOLD_TABLES.items()}


def build_gold_incremental(
    events: DataFrame,
    touched_days: list[date],
    *,
    prior: Mapping[str, DataFrame],
    only_new_days: bool = False,
    project: Project = DEFAULTS,
) -> dict[str, GoldDelta]:
    """Deltas that bring a gold build of the previous silver up to date with ``events``.

    ``touched_days``: days whose silver rows this load (re)wrote. ``only_new_days=True`` is a promise
    that none of them had silver rows before (a plain append): dim_user can then be scoped to the
    users active on those days; otherwise a restated day may have removed a user's only recent events,
    which no key set derived from the new events can find, so dim_user is rebuilt whole.
    ``prior``: the gold ``dim_page`` and ``dim_user`` built from the previous silver (PRIOR_TABLES, read
    before this load replaces them). They say which pages and cohort members existed before the first
    touched day without scanning every earlier event, so a late day reads no more history than an early one.
    ``project``: as in build_gold; a delta must be built with the rules of the build it updates, or the
    rows it replaces and the rows it keeps follow different rules (docs/configuration.md).
    """
    t = sorted(set(touched_days))
    if not t:
        return _empty_deltas(events, project)
    inputs = DeltaInputs(events, t, prior, only_new_days, project)
    return {name: spec.delta(inputs) for name, spec in GOLD_TABLES.items()}


def _empty_deltas(events: DataFrame, project: Project) -> dict[str, GoldDelta]:
    """Deltas that change nothing, for a load that touched no day.

    The writer still gets one delta per table with the table's schema and an empty scope, so it needs no
    special case; the schemas come from a full build over no events, which Spark plans without a job."""
    spark = events.sparkSession
    shapes = build_gold(events.where(F.lit(False)), project=project)
    return {
        name: GoldDelta(
            spark.createDataFrame([], shapes[name].schema),
            spec.scope_column,
            dates(events, spec.scope_column, []),
        )
        for name, spec in GOLD_TABLES.items()
    }


# the tables ``prior`` holds. Every delta must see them as they were before the load — dim_user's own delta
# merges into the very rows it replaces — so a writer reads them at the snapshot the load started from
# (ga4lake.gold.step), and also writes them last (write_order)
PRIOR_TABLES = ("dim_page", "dim_user")


def write_order() -> list[str]:
    """Gold tables in an order where no delta reads a ``prior`` table this load already replaced."""
    return [n for n in GOLD_TABLES if n not in PRIOR_TABLES] + list(PRIOR_TABLES)


def apply_delta(old: DataFrame, delta: GoldDelta) -> DataFrame:
    """Reference semantics of a delta: drop old rows whose ``column`` is in scope, add ``rows``."""
    scope = delta.values.select(delta.column).distinct()
    kept = old.join(scope, delta.column, "left_anti").select(*[F.col(c) for c in old.columns])
    return kept.unionByName(delta.rows)
