"""Users: one row per user_pseudo_id (dbt-ga4 ``dim_ga4__client_keys`` + ``fct_ga4__client_keys``).

Consent-denied events (NULL user_pseudo_id) belong to no user. First-touch device, geo and GA4's
user-scoped ``traffic_source`` come from the user's earliest event (session_start/first_visit
included, as dbt-ga4; docs/semantics.md#users). ``user_id`` is never read here: dim_user holds no login id (opt-in stitching is ``stitching.py``).

The table is built in two steps, ``user_aggregates`` (per-user partial aggregates) and ``user_rows``
(the published columns), so an append can merge a few days into the prior row (``merge_users``)
instead of re-reading each touched user's whole history.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import TYPE_CHECKING

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ga4lake.gold.models.channels import SOURCE_CATEGORIES, channel_of_source
from ga4lake.gold.models.common import (
    DEVICE_GEO_SOURCE_FIELDS,
    MAX_SESSION_SPAN_DAYS,
    MONEY,
    QUERY_PARAMETER_EXCLUSIONS,
    in_window,
    money_sum,
    order_key,
    prepare,
)
from ga4lake.gold.models.sessions import orders
from ga4lake.gold.models.spec import FullInputs, GoldDelta, TableSpec
from ga4lake.gold.models.windows import dates
from ga4lake.project import StripQueryParams

if TYPE_CHECKING:
    from ga4lake.gold.models.windows import DeltaInputs

_FIRST_FIELDS = (
    "client_key",
    "stream_id",
    *DEVICE_GEO_SOURCE_FIELDS,
)


#: Aggregates of a user's events that add up over disjoint sets of sessions and days (``merge_users``).
_COUNTS = (
    "active_days",
    "sessions",
    "engaged_sessions",
    "events",
    "page_views",
    "engagement_time_msec",
    "purchase_events",
    "transactions",
    "purchase_revenue_in_usd",
)


def user_aggregates(prepared: DataFrame) -> DataFrame:
    """One row per user: the first event's fields (``first`` struct), time and date bounds, counts."""
    known = prepared.where(F.col("user_pseudo_id").isNotNull())
    agg = known.groupBy("user_pseudo_id").agg(
        F.min_by(F.struct(*[F.col(c) for c in _FIRST_FIELDS]), order_key()).alias("first"),
        F.min("event_timestamp_us").alias("first_us"),
        F.max("event_timestamp_us").alias("last_us"),
        F.min("event_date").alias("first_seen_date"),
        F.max("event_date").alias("last_seen_date"),
        F.min(F.when(F.col("event_name") == F.lit("first_visit"), F.col("event_date"))).alias(
            "first_visit_date"
        ),
        F.count_distinct(F.col("event_date")).alias("active_days"),
        F.count_distinct(F.col("session_key")).alias("sessions"),
        F.count_distinct(F.when(F.col("session_engaged") == F.lit(1), F.col("session_key"))).alias(
            "engaged_sessions"
        ),
        F.count(F.lit(1)).alias("events"),
        F.count(F.when(F.col("is_page_view"), F.lit(1))).alias("page_views"),
        F.count(F.when(F.col("is_purchase"), F.lit(1))).alias("purchase_events"),
        F.sum("engagement_time_msec").alias("engagement_time_msec"),
    )
    by_user = (
        orders(known)
        .groupBy("user_pseudo_id")
        .agg(
            F.count(F.lit(1)).alias("transactions"),
            money_sum(F.col("revenue_in_usd")).alias("purchase_revenue_in_usd"),
        )
    )
    u = agg.join(by_user, "user_pseudo_id", "left")
    return u.select(
        *[F.col(c) for c in ("user_pseudo_id", "first", "first_us", "last_us")],
        *[F.col(c) for c in ("first_seen_date", "last_seen_date", "first_visit_date")],
        *[F.col(c) for c in ("active_days", "sessions", "engaged_sessions", "events", "page_views")],
        F.coalesce(F.col("engagement_time_msec"), F.lit(0).cast("long")).alias("engagement_time_msec"),
        F.col("purchase_events"),
        F.coalesce(F.col("transactions"), F.lit(0).cast("long")).alias("transactions"),
        F.coalesce(F.col("purchase_revenue_in_usd"), F.lit(0).cast(MONEY)).alias("purchase_revenue_in_usd"),
    )


def user_rows(agg: DataFrame, categories: Mapping[str, str] = SOURCE_CATEGORIES) -> DataFrame:
    """``user_aggregates`` -> dim_user's published columns (``categories``: the source -> category
    mapping behind the first-touch channel, ga4lake.yml ``channels``)."""
    return agg.select(
        F.col("user_pseudo_id"),
        F.col("first.client_key").alias("client_key"),
        F.col("first.stream_id").alias("stream_id"),
        F.timestamp_micros("first_us").alias("first_seen_ts"),
        F.col("first_seen_date"),
        F.timestamp_micros("last_us").alias("last_seen_ts"),
        F.col("last_seen_date"),
        F.col("first_visit_date"),
        F.col("first_visit_date").isNotNull().alias("is_new_user"),
        *[F.col(c) for c in _COUNTS],
        *[F.col(f"first.{f}").alias(f"first_{f}") for f in DEVICE_GEO_SOURCE_FIELDS],
        channel_of_source(
            F.lower(F.col("first.user_source")),
            F.lower(F.col("first.user_medium")),
            F.lower(F.col("first.user_campaign")),
            categories,
        ).alias("first_user_default_channel_group"),
    )


def dim_user(prepared: DataFrame, categories: Mapping[str, str] = SOURCE_CATEGORIES) -> DataFrame:
    return user_rows(user_aggregates(prepared), categories)


def _aggregates_of_rows(users: DataFrame) -> DataFrame:
    """dim_user rows back to ``user_aggregates`` columns (the inverse of ``user_rows``)."""
    first = F.struct(
        F.col("client_key"),
        F.col("stream_id"),
        *[F.col(f"first_{f}").alias(f) for f in DEVICE_GEO_SOURCE_FIELDS],
    )
    return users.select(
        F.col("user_pseudo_id"),
        first.alias("first"),
        F.unix_micros("first_seen_ts").alias("first_us"),
        F.unix_micros("last_seen_ts").alias("last_us"),
        *[F.col(c) for c in ("first_seen_date", "last_seen_date", "first_visit_date", *_COUNTS)],
    )


def merge_users(
    prior: DataFrame,
    with_new: DataFrame,
    context: DataFrame,
    categories: Mapping[str, str] = SOURCE_CATEGORIES,
) -> DataFrame:
    """dim_user rows of the users in ``with_new`` after new days arrive, without their older history.

    ``prior``: dim_user before the new days. ``with_new``: ``user_aggregates`` of the new days' events
    plus ``context``; ``context``: ``user_aggregates`` of the older events that share a session or an
    order with a new event (the halves of midnight-crossing sessions). Counts are prior + with_new −
    context: distinct sessions, orders and days of the new events that the prior row already holds are
    in ``context`` too, so nothing is counted twice. Bounds are the min/max of prior and with_new; the
    first-touch fields come from whichever side has the earlier first event (the full build breaks a
    tie of equal timestamps by event_key, which dim_user does not keep: on a tie the prior side wins).
    """
    p = _aggregates_of_rows(prior).alias("p")
    w = with_new.alias("w")
    c = context.alias("c")
    joined = w.join(p, "user_pseudo_id", "left").join(c, "user_pseudo_id", "left")
    w_first = F.col("p.first_us").isNull() | (F.col("w.first_us") < F.col("p.first_us"))

    def count(name: str) -> Column:
        total = (
            F.col(f"w.{name}")
            + F.coalesce(F.col(f"p.{name}"), F.lit(0))
            - F.coalesce(F.col(f"c.{name}"), F.lit(0))
        )
        return (total.cast(MONEY) if name == "purchase_revenue_in_usd" else total.cast("long")).alias(name)

    merged = joined.select(
        F.col("user_pseudo_id"),
        F.when(w_first, F.col("w.first")).otherwise(F.col("p.first")).alias("first"),
        F.least(F.col("w.first_us"), F.col("p.first_us")).alias("first_us"),
        F.greatest(F.col("w.last_us"), F.col("p.last_us")).alias("last_us"),
        F.least(F.col("w.first_seen_date"), F.col("p.first_seen_date")).alias("first_seen_date"),
        F.greatest(F.col("w.last_seen_date"), F.col("p.last_seen_date")).alias("last_seen_date"),
        F.least(F.col("w.first_visit_date"), F.col("p.first_visit_date")).alias("first_visit_date"),
        *[count(n) for n in _COUNTS],
    )
    return user_rows(merged, categories)


def dim_user_delta(
    events: DataFrame,
    touched_days: list[date],
    *,
    only_new_days: bool = False,
    prior: DataFrame | None = None,
    strip_query_params: StripQueryParams = QUERY_PARAMETER_EXCLUSIONS,
    categories: Mapping[str, str] = SOURCE_CATEGORIES,
) -> GoldDelta:
    """dim_user's delta (see build_gold_incremental): totals and last-seen span the whole history.

    ``only_new_days`` (needs ``prior``, the dim_user before the load): the users active on the new days,
    merged into their prior rows (``merge_users``). The only older events read are those sharing a
    session with a new event (sessions cross at most MAX_SESSION_SPAN_DAYS date changes, so they lie next
    to the new days) or a sessionless order's transaction id, so the cost does not grow with history."""
    if only_new_days:
        if prior is None:
            raise ValueError("dim_user_delta(only_new_days=True) needs the prior dim_user")
        return _merged_user_delta(events, touched_days, prior, strip_query_params, categories)
    all_days = events.select(F.col("event_date").alias("first_seen_date")).union(
        dates(events, "first_seen_date", touched_days)
    )
    rows = dim_user(prepare(events, strip_query_params), categories)
    return GoldDelta(rows, "first_seen_date", all_days.distinct())


def _merged_user_delta(
    events: DataFrame,
    touched_days: list[date],
    prior: DataFrame,
    strip_query_params: StripQueryParams,
    categories: Mapping[str, str],
) -> GoldDelta:
    def prep(df: DataFrame) -> DataFrame:
        return prepare(df, strip_query_params)

    t = sorted(set(touched_days))
    span = timedelta(days=MAX_SESSION_SPAN_DAYS)
    known = events.where(F.col("user_pseudo_id").isNotNull())
    new = known.where(F.col("event_date").isin(*t))
    older = known.where(~F.col("event_date").isin(*t))
    new_sessions = new.where(F.col("session_key").isNotNull()).select("session_key").distinct()
    session_halves = older.where(in_window(t[0] - span, t[-1] + span)).join(
        new_sessions, "session_key", "left_semi"
    )
    sessionless = F.col("session_key").isNull() & (F.col("event_name") == F.lit("purchase"))
    order_keys = ["user_pseudo_id", "transaction_key"]
    new_orders = prep(new.where(sessionless)).select(*order_keys).distinct()
    same_orders = prep(older.where(sessionless)).join(new_orders, order_keys, "left_semi")
    context = prep(session_halves).unionByName(same_orders)
    with_new = user_aggregates(prep(new).unionByName(context))
    rows = merge_users(prior, with_new, user_aggregates(context), categories)
    touched_users = new.select("user_pseudo_id").distinct()
    return GoldDelta(rows, "user_pseudo_id", touched_users)


def _delta(d: DeltaInputs) -> GoldDelta:
    return dim_user_delta(
        d.events,
        d.t,
        only_new_days=d.only_new_days,
        prior=d.prior["dim_user"],
        strip_query_params=d.project.urls.strip_query_params,
        categories=d.project.channels.source_categories,
    )


def _full(f: FullInputs) -> DataFrame:
    return dim_user(f.prepared, f.project.channels.source_categories)


TABLES = (
    TableSpec(
        "dim_user",
        ("user_pseudo_id",),
        None,
        "one row per user_pseudo_id: first/last seen, first touch, totals (dim/fct_ga4__client_keys)",
        scope_column="first_seen_date",
        full=_full,
        delta=_delta,
    ),
)
