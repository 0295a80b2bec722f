"""The event windows incremental deltas read, computed once per load and shared between tables.

T = the touched days (sorted), t₀/t₁ its first/last day. Day-local tables read only T's events; the
session-grained tables read sessions starting the day before .. the day after T (a session spans at
most two dates), with a further day of events on each side so those sessions are whole. The windows are
lazy DataFrames built on first use, so a table that does not need one costs nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ga4lake.gold.models.common import MAX_SESSION_SPAN_DAYS, days_between, in_window, prepare
from ga4lake.gold.models.sessions import session_base
from ga4lake.project import DEFAULTS, Project


def dates(events: DataFrame, column: str, days: Iterable[date]) -> DataFrame:
    """A one-column DataFrame of ``days`` named ``column`` (a delta's scope values)."""
    return events.sparkSession.createDataFrame([(d,) for d in sorted(set(days))], f"{column} date")


@dataclass
class DeltaInputs:
    """One load's view of silver for the deltas: all events, the touched days, the prior gold and the
    project configuration (ga4lake.yml)."""

    events: DataFrame
    t: list[date]
    prior: Mapping[str, DataFrame]
    only_new_days: bool = False
    project: Project = DEFAULTS

    def prepare(self, events: DataFrame) -> DataFrame:
        """``common.prepare`` with the project's URL rule and promoted params (every delta prepares its
        events this way)."""
        return prepare(events, self.project.urls.strip_query_params, self.project.params.event)

    @property
    def t_lo(self) -> date:
        return self.t[0]

    @property
    def t_hi(self) -> date:
        return self.t[-1]

    @property
    def span(self) -> timedelta:
        return timedelta(days=MAX_SESSION_SPAN_DAYS)

    def dates(self, column: str, days: Iterable[date]) -> DataFrame:
        return dates(self.events, column, days)

    def touched(self, column: str) -> DataFrame:
        """The touched days as a scope of ``column`` (day-local tables)."""
        return self.dates(column, self.t)

    def dates_up_to_data(self, column: str, lo: date, at_least: date) -> DataFrame:
        """Every date from ``lo`` to the later of ``at_least`` and the last event_date (lazy)."""
        last = self.events.where(in_window(lo)).agg(F.max("event_date").alias("m"))
        return last.select(
            F.explode(F.sequence(F.lit(lo), F.greatest(F.col("m"), F.lit(at_least)))).alias(column)
        )

    def window(self, lo: date | None, hi: date | None = None) -> DataFrame:
        """Prepared events dated in [lo, hi]."""
        return self.prepare(self.events.where(in_window(lo, hi)))

    @cached_property
    def day_events(self) -> DataFrame:
        """Prepared events of the touched days (day-local tables)."""
        return self.prepare(self.events.where(F.col("event_date").isin(*self.t)))

    @property
    def s_lo(self) -> date:
        return self.t_lo - self.span

    @property
    def s_hi(self) -> date:
        return self.t_hi + self.span

    @cached_property
    def s_window(self) -> DataFrame:
        """Prepared events around the session range (sessions starting in [s_lo, s_hi] are whole)."""
        return self.window(self.s_lo - self.span, self.s_hi + self.span)

    @cached_property
    def s_base(self) -> DataFrame:
        """The per-session aggregate of the sessions starting in [s_lo, s_hi]."""
        return session_base(self.s_window, self.project).where(
            in_window(self.s_lo, self.s_hi, "session_start_date")
        )

    @property
    def s_days(self) -> list[date]:
        return days_between(self.s_lo, self.s_hi)
