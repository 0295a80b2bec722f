"""Pages: ``dim_page`` (one row per page_id) and ``agg_page_daily`` (dbt-ga4 ``fct_ga4__pages`` grain:
event_date × stream_id × cleaned page_location over page_view events).

A page is its URL after the click-id parameters are stripped (``common.QUERY_PARAMETER_EXCLUSIONS``);
page_view events without a URL form one page (page_location NULL), as dbt-ga4 groups them.
Every ``dim_page`` attribute comes from the page's *first* view, so a page's row never changes once
seen — which is what makes its incremental scope (pages first seen on or after a touched day) exact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ga4lake.gold.models.common import order_key, page_id
from ga4lake.gold.models.spec import GoldDelta, TableSpec, day_local, from_prepared

if TYPE_CHECKING:
    from ga4lake.gold.models.windows import DeltaInputs


def dim_page(prepared: DataFrame) -> DataFrame:
    first = F.min_by(
        F.struct(
            F.col("page_location"),
            F.col("page_hostname"),
            F.col("page_path"),
            F.col("page_title"),
            F.col("content_group"),
            F.col("page_type"),
            F.col("stream_id"),
            F.col("event_date"),
            F.col("event_ts"),
        ),
        order_key(),
    )
    agg = prepared.where(F.col("is_page_view")).groupBy("page_id").agg(first.alias("f"))
    return agg.select(
        F.col("page_id"),
        F.nullif(F.col("f.page_location"), F.lit("")).alias("page_location"),
        F.col("f.page_hostname").alias("page_hostname"),
        F.col("f.page_path").alias("page_path"),
        F.col("f.page_title").alias("page_title"),
        F.col("f.content_group").alias("content_group"),
        F.col("f.page_type").alias("page_type"),
        F.col("f.stream_id").alias("first_seen_stream_id"),
        F.col("f.event_date").alias("first_seen_date"),
        F.col("f.event_ts").alias("first_seen_ts"),
    )


def agg_page_daily(prepared: DataFrame) -> DataFrame:
    """Page views, sessions, users, entrances, scrolls and engagement per date × page × stream.

    Engagement follows dbt-ga4's crediting (a page_view's engagement_time_msec belongs to the page it
    was referred from, any other event's to its own page) but is summed per *date*, so a day's rows
    depend on that day's events only (dbt-ga4 sums per session across dates, docs/semantics.md#pages).
    """
    keys = ["event_date", "page_id", "stream_id"]
    views = (
        prepared.where(F.col("is_page_view"))
        .groupBy(*keys)
        .agg(
            F.max(F.nullif(F.col("page_location"), F.lit(""))).alias("page_location"),
            F.count(F.lit(1)).alias("page_views"),
            F.count_distinct(F.col("session_key")).alias("sessions"),
            F.count_distinct(F.col("user_pseudo_id")).alias("users"),
            F.count(F.when(F.col("session_number") == F.lit(1), F.lit(1))).alias("new_user_page_views"),
            F.sum("entrances").alias("entrances"),
        )
    )
    credited = F.when(F.col("is_page_view"), F.col("page_referrer")).otherwise(F.col("page_location"))
    engagement = (
        prepared.where(F.col("engagement_time_msec").isNotNull() & (F.coalesce(credited, F.lit("")) != ""))
        .groupBy(F.col("event_date"), page_id(credited).alias("page_id"), F.col("stream_id"))
        .agg(F.sum("engagement_time_msec").alias("engagement_time_msec"))
    )
    scrolls = (
        prepared.where(
            (F.col("event_name") == F.lit("scroll")) & (F.coalesce(F.col("page_location"), F.lit("")) != "")
        )
        .groupBy(*keys)
        .agg(F.count(F.lit(1)).alias("scroll_events"))
    )
    joined = views.join(engagement, keys, "left").join(scrolls, keys, "left")
    return joined.select(
        F.col("event_date"),
        F.col("page_id"),
        F.col("stream_id"),
        F.col("page_location"),
        F.col("page_views"),
        F.col("sessions"),
        F.col("users"),
        F.col("new_user_page_views"),
        F.coalesce(F.col("entrances"), F.lit(0).cast("long")).alias("entrances"),
        F.coalesce(F.col("scroll_events"), F.lit(0).cast("long")).alias("scroll_events"),
        F.coalesce(F.col("engagement_time_msec"), F.lit(0).cast("long")).alias("engagement_time_msec"),
    )


def _dim_page_delta(d: DeltaInputs) -> GoldDelta:
    """A page's row holds the attributes of its first view, so only pages first seen on or after the
    first touched day can change; the prior dim_page says which were seen before."""
    later = d.window(d.t_lo)
    seen_before = d.prior["dim_page"].where(F.col("first_seen_date") < F.lit(d.t_lo)).select("page_id")
    return GoldDelta(
        dim_page(later).join(seen_before, "page_id", "left_anti"),
        "first_seen_date",
        d.dates_up_to_data("first_seen_date", d.t_lo, d.t_hi),
    )


TABLES = (
    TableSpec(
        "dim_page",
        ("page_id",),
        None,
        "one row per page (cleaned URL), attributes of its first view",
        scope_column="first_seen_date",
        full=from_prepared(dim_page),
        delta=_dim_page_delta,
    ),
    TableSpec(
        "agg_page_daily",
        ("event_date", "page_id", "stream_id"),
        "event_date",
        "page views, sessions, users, entrances, engagement per day and page (fct_ga4__pages)",
        scope_column="event_date",
        full=from_prepared(agg_page_daily),
        delta=day_local(agg_page_daily),
    ),
)
