"""Daily retention: cohort_date × day_n (0 … 30).

A user's cohort is the date of their ``first_visit`` event (the first one, if GA4 sent several);
users without a first_visit in the data (acquired before the export starts) belong to no cohort, so
cohorts are new users, as GA4's cohort reports count them. A cohort member *returns on day n* when they
start a new session on cohort_date + n (ga4lake.yml ``retention.return_on: session_start``, the default:
a session's start date is the date of its first event, so a first session running past midnight is not
a D1 return), or, with ``return_on: any_event``, when they have any event that day. Day 0 is the cohort
size under both. "On or after day n" counts
members active on any day in [n, 30] (bounded, so a cohort's rows are final 30 days after it).
Rows exist only for days already observed (cohort_date + day_n <= the last event_date in the data),
so a young cohort has no misleading zeros.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from ga4lake.gold.models.common import RETENTION_DAYS, ratio
from ga4lake.gold.models.spec import FullInputs, GoldDelta, TableSpec
from ga4lake.project import DEFAULT_RETURN_ON, ReturnOn

if TYPE_CHECKING:
    from ga4lake.gold.models.windows import DeltaInputs


def cohort_members(prepared: DataFrame) -> DataFrame:
    """(user_pseudo_id, cohort_date): the date of each user's first first_visit event."""
    return (
        prepared.where((F.col("event_name") == F.lit("first_visit")) & F.col("user_pseudo_id").isNotNull())
        .groupBy("user_pseudo_id")
        .agg(F.min("event_date").alias("cohort_date"))
    )


def activity(prepared: DataFrame, return_on: ReturnOn = DEFAULT_RETURN_ON) -> DataFrame:
    """Distinct (user_pseudo_id, event_date) on which a user counts as active.

    ``session_start``: the start date of each of the user's sessions (the date of the session's first
    event, as fact_sessions.session_start_date); events without a session start nothing. ``any_event``:
    every date with any event of the user."""
    users = prepared.where(F.col("user_pseudo_id").isNotNull())
    if return_on == "any_event":
        return users.select(F.col("user_pseudo_id"), F.col("event_date")).distinct()
    return (
        users.where(F.col("session_key").isNotNull())
        .groupBy("session_key", "user_pseudo_id")
        .agg(F.min("event_date").alias("event_date"))
        .select(F.col("user_pseudo_id"), F.col("event_date"))
        .distinct()
    )


def retention(members: DataFrame, active: DataFrame, last_date: DataFrame) -> DataFrame:
    """Retention rows from cohort members, their active days and a one-row ``last_date`` frame."""
    # every member is active on day 0 (its first_visit), even when that event has no session
    day0 = members.select(F.col("cohort_date"), F.col("user_pseudo_id"), F.lit(0).alias("day_n"))
    days = (
        members.join(active, "user_pseudo_id")
        .select(
            F.col("cohort_date"),
            F.col("user_pseudo_id"),
            F.date_diff(F.col("event_date"), F.col("cohort_date")).alias("day_n"),
        )
        .where((F.col("day_n") >= 0) & (F.col("day_n") <= RETENTION_DAYS))
        .unionByName(day0)
        .distinct()
    )
    returning = days.groupBy("cohort_date", "day_n").agg(
        F.count_distinct("user_pseudo_id").alias("returning")
    )
    last_day = (
        days.groupBy("cohort_date", "user_pseudo_id")
        .agg(F.max("day_n").alias("day_n"))
        .groupBy("cohort_date", "day_n")
        .agg(F.count(F.lit(1)).alias("last_active_here"))
    )
    sizes = members.groupBy("cohort_date").agg(F.count(F.lit(1)).alias("cohort_users"))
    grid = (
        sizes.crossJoin(last_date)
        .select(
            F.col("cohort_date"),
            F.col("cohort_users"),
            F.col("last_date"),
            F.explode(F.sequence(F.lit(0), F.lit(RETENTION_DAYS))).alias("day_n"),
        )
        .where(F.date_add(F.col("cohort_date"), F.col("day_n")) <= F.col("last_date"))
    )
    joined = grid.join(returning, ["cohort_date", "day_n"], "left").join(
        last_day, ["cohort_date", "day_n"], "left"
    )
    # members active on some day >= n = members whose last active day (within 30) is >= n
    later = (
        Window.partitionBy("cohort_date")
        .orderBy(F.col("day_n").desc())
        .rowsBetween(Window.unboundedPreceding, Window.currentRow)
    )
    on_or_after = F.sum(F.coalesce(F.col("last_active_here"), F.lit(0).cast("long"))).over(later)
    returning_n = F.coalesce(F.col("returning"), F.lit(0).cast("long"))
    out = joined.select(
        F.col("cohort_date"),
        F.col("day_n").cast("int").alias("day_n"),
        F.date_add(F.col("cohort_date"), F.col("day_n")).alias("activity_date"),
        F.col("cohort_users"),
        returning_n.alias("returning_users"),
        on_or_after.alias("returning_users_on_or_after"),
    )
    return out.select(
        F.col("cohort_date"),
        F.col("day_n"),
        F.col("activity_date"),
        F.col("cohort_users"),
        F.col("returning_users"),
        ratio(F.col("returning_users"), F.col("cohort_users")).alias("retention_rate"),
        F.col("returning_users_on_or_after"),
        ratio(F.col("returning_users_on_or_after"), F.col("cohort_users")).alias(
            "retention_rate_on_or_after"
        ),
        (F.col("day_n") == F.lit(1)).alias("is_d1"),
        (F.col("day_n") == F.lit(7)).alias("is_d7"),
    )


def agg_retention_daily(prepared: DataFrame, return_on: ReturnOn = DEFAULT_RETURN_ON) -> DataFrame:
    last_date = prepared.agg(F.max("event_date").alias("last_date"))
    return retention(cohort_members(prepared), activity(prepared, return_on), last_date)


def _full(f: FullInputs) -> DataFrame:
    return agg_retention_daily(f.prepared, f.project.retention.return_on)


def _delta(d: DeltaInputs) -> GoldDelta:
    """Cohorts whose 30-day window contains a touched day, or that a user can move into. A cohort is
    the date of the first first_visit, which is dim_user.first_visit_date exactly: the prior dim_user
    says who belongs to an earlier cohort without reading its events."""
    r_lo = d.t_lo - timedelta(days=RETENTION_DAYS)
    r_window = d.window(r_lo)
    earlier_cohorts = (
        d.prior["dim_user"].where(F.col("first_visit_date") < F.lit(r_lo)).select("user_pseudo_id")
    )
    members = cohort_members(r_window).join(earlier_cohorts, "user_pseudo_id", "left_anti")
    last_date = r_window.agg(F.max("event_date").alias("last_date"))
    return GoldDelta(
        retention(members, activity(r_window, d.project.retention.return_on), last_date),
        "cohort_date",
        d.dates_up_to_data("cohort_date", r_lo, d.t_hi),
    )


TABLES = (
    TableSpec(
        "agg_retention_daily",
        ("cohort_date", "day_n"),
        "cohort_date",
        "first-visit cohorts x day 0..30: returning users, rates on and on-or-after day n",
        scope_column="cohort_date",
        full=_full,
        delta=_delta,
    ),
)
