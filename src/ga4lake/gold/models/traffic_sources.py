"""Traffic sources: per-session attribution with last-non-direct look-back, and a daily performance
aggregate by source / medium / campaign / channel.

``dim_traffic_source`` = dbt-ga4 ``stg_ga4__sessions_traffic_sources`` (one row per session that has
an event other than session_start/first_visit; first non-direct event wins, gclid rule applied at
event level) plus the ``last_non_direct_*`` columns of
``stg_ga4__sessions_traffic_sources_last_non_direct_daily`` computed per *session* instead of per
session-day: a direct session inherits the latest non-direct session of the same client_key that
started within the look-back window (ga4lake.yml ``attribution.lookback_days``, 30 days by default;
peers with the same start included).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from ga4lake.gold.models.common import (
    DIRECT_SOURCE,
    LOOKBACK_DAYS,
    NONE,
    TS_DATE_SLACK_DAYS,
    days_between,
    in_window,
    money_sum,
    ratio,
)
from ga4lake.gold.models.sessions import session_base
from ga4lake.gold.models.spec import FullInputs, GoldDelta, TableSpec

if TYPE_CHECKING:
    from ga4lake.gold.models.windows import DeltaInputs

_US_PER_DAY = 86_400 * 1_000_000
_LND_FIELDS = ("source", "medium", "campaign", "term", "content", "source_category", "default_channel_group")


def dim_traffic_source(sessions: DataFrame, lookback_days: int = LOOKBACK_DAYS) -> DataFrame:
    """``sessions`` = ``session_base`` output (any superset of the look-back context is fine);
    ``lookback_days`` = ga4lake.yml ``attribution.lookback_days``."""
    s = sessions.where(F.col("non_start_event_count") > 0)
    is_direct = F.col("session_source") == F.lit(DIRECT_SOURCE)
    candidate = F.when(
        ~is_direct,
        F.struct(
            F.col("start_us"),
            F.col("session_key"),
            *[F.col(f"session_{f}").alias(f) for f in _LND_FIELDS],
        ),
    )
    # max over (start_us, session_key, ...) = the latest non-direct session in the window; the key
    # breaks ties between sessions starting in the same microsecond deterministically
    w = (
        Window.partitionBy("client_key")
        .orderBy("start_us")
        .rangeBetween(-lookback_days * _US_PER_DAY, Window.currentRow)
    )
    with_lnd = s.select("*", F.when(~is_direct, candidate).otherwise(F.max(candidate).over(w)).alias("lnd"))
    defaults = {"source": DIRECT_SOURCE, "default_channel_group": "Direct"}
    return with_lnd.select(
        F.col("session_key"),
        F.col("client_key"),
        F.col("user_pseudo_id"),
        F.col("stream_id"),
        F.col("session_start_date"),
        F.col("session_start_ts"),
        F.col("session_source").alias("source"),
        F.col("session_medium").alias("medium"),
        F.col("session_campaign").alias("campaign"),
        F.col("session_term").alias("term"),
        F.col("session_content").alias("content"),
        F.col("session_source_category").alias("source_category"),
        F.col("session_default_channel_group").alias("default_channel_group"),
        is_direct.alias("is_direct"),
        F.col("lnd.session_key").alias("last_non_direct_session_key"),
        *[
            F.coalesce(F.col(f"lnd.{f}"), F.lit(defaults.get(f, NONE))).alias(f"last_non_direct_{f}")
            for f in _LND_FIELDS
        ],
    )


def agg_traffic_source_daily(sessions: DataFrame) -> DataFrame:
    """Sessions by start date × session source/medium/campaign/channel (the session's own attribution,
    not last-non-direct; sessions made only of session_start/first_visit count as (direct))."""
    agg = sessions.groupBy(
        F.col("session_start_date").alias("event_date"),
        F.col("session_source").alias("source"),
        F.col("session_medium").alias("medium"),
        F.col("session_campaign").alias("campaign"),
        F.col("session_default_channel_group").alias("default_channel_group"),
    ).agg(
        F.count(F.lit(1)).alias("sessions"),
        F.countDistinct("user_pseudo_id").alias("users"),
        F.count(F.when(F.col("is_first_session"), F.lit(1))).alias("new_user_sessions"),
        F.count(F.when(F.col("is_engaged"), F.lit(1))).alias("engaged_sessions"),
        F.sum("page_view_count").alias("page_views"),
        F.sum("engagement_time_msec").alias("engagement_time_msec"),
        F.sum("purchase_events").alias("purchase_events"),
        F.sum("transactions").alias("transactions"),
        money_sum(F.col("purchase_revenue_in_usd")).alias("purchase_revenue_in_usd"),
        F.count(F.when(F.col("purchase_events") > 0, F.lit(1))).alias("sessions_with_purchase"),
    )
    return agg.select(
        "*",
        ratio(F.col("sessions_with_purchase"), F.col("sessions")).alias("conversion_rate"),
        ratio(F.col("engaged_sessions"), F.col("sessions")).alias("engagement_rate"),
    )


def _dim_delta(d: DeltaInputs) -> GoldDelta:
    """Last-non-direct: later sessions of the same client within the look-back inherit from changed
    ones, so the scope reaches the look-back (ga4lake.yml) past the session range; the look-back never
    leaves a client_key, so only clients active in the scope need their context sessions."""
    lookback_days = d.project.attribution.lookback_days
    reach = timedelta(days=lookback_days + TS_DATE_SLACK_DAYS)
    slack = timedelta(days=TS_DATE_SLACK_DAYS)
    d_lo, d_hi = d.s_lo, d.s_hi + reach
    ctx_lo, ctx_hi = d_lo - reach, d_hi + slack
    clients = (
        d.events.where(in_window(d_lo, d_hi + d.span) & F.col("session_key").isNotNull())
        .select("client_key")
        .distinct()
    )
    ctx_events = d.events.where(in_window(ctx_lo - d.span, ctx_hi + d.span)).join(
        clients, "client_key", "left_semi"
    )
    ctx = session_base(d.prepare(ctx_events), d.project).where(
        in_window(ctx_lo, ctx_hi, "session_start_date")
    )
    return GoldDelta(
        dim_traffic_source(ctx, lookback_days).where(in_window(d_lo, d_hi, "session_start_date")),
        "session_start_date",
        d.dates("session_start_date", days_between(d_lo, d_hi)),
    )


def _agg_delta(d: DeltaInputs) -> GoldDelta:
    """A session's own attribution, dated at its start: the session range, from whole sessions."""
    return GoldDelta(agg_traffic_source_daily(d.s_base), "event_date", d.dates("event_date", d.s_days))


def _dim_full(f: FullInputs) -> DataFrame:
    return dim_traffic_source(f.sessions, f.project.attribution.lookback_days)


def _agg_full(f: FullInputs) -> DataFrame:
    return agg_traffic_source_daily(f.sessions)


TABLES = (
    TableSpec(
        "dim_traffic_source",
        ("session_key",),
        "session_start_date",
        "session attribution + last-non-direct look-back, 30 days by default (stg_ga4__sessions_traffic_sources)",
        scope_column="session_start_date",
        full=_dim_full,
        delta=_dim_delta,
    ),
    TableSpec(
        "agg_traffic_source_daily",
        ("event_date", "source", "medium", "campaign", "default_channel_group"),
        "event_date",
        "sessions, users, engagement, purchases, revenue per day and session traffic source",
        scope_column="event_date",
        full=_agg_full,
        delta=_agg_delta,
    ),
)
