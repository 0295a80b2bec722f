"""Session days: one row per session_partition_key = session × event_date (dbt-ga4
``fct_ga4__sessions_daily``, plus the day's own traffic source as
``stg_ga4__sessions_traffic_sources_daily``).

Kept for parity with dbt-ga4's daily models, which split a session crossing midnight into one
partition per date. Every value depends on that day's events only, so a day's rows can be rebuilt
from that day alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ga4lake.gold.models.channels import SOURCE_CATEGORIES
from ga4lake.gold.models.common import money_sum
from ga4lake.gold.models.sessions import attribution_columns, attribution_event
from ga4lake.gold.models.spec import FullInputs, GoldDelta, TableSpec
from ga4lake.project import DBT_GA4, AttributionSource

if TYPE_CHECKING:
    from ga4lake.gold.models.windows import DeltaInputs


def fact_session_days(
    prepared: DataFrame,
    categories: Mapping[str, str] = SOURCE_CATEGORIES,
    attribution_source: AttributionSource = DBT_GA4,
) -> DataFrame:
    """``categories``: the source -> category mapping behind the channel (ga4lake.yml ``channels``);
    ``attribution_source``: which rule picks the day's source (``attribution.source``)."""
    agg = (
        prepared.where(F.col("session_key").isNotNull())
        .groupBy("session_partition_key", "session_key", "client_key", "user_pseudo_id", "stream_id")
        .agg(
            F.min("event_date").alias("session_partition_date"),
            F.min("event_timestamp_us").alias("start_us"),
            F.max("event_timestamp_us").alias("end_us"),
            F.min("session_number").alias("session_number"),
            F.count(F.lit(1)).alias("event_count"),
            F.count(F.when(F.col("is_page_view"), F.lit(1))).alias("page_view_count"),
            F.max("session_engaged").alias("max_session_engaged"),
            F.sum("engagement_time_msec").alias("engagement_time_msec"),
            money_sum(F.col("event_value_in_usd")).alias("event_value_in_usd"),
            F.count(F.when(F.col("is_purchase"), F.lit(1))).alias("purchase_events"),
            F.count(F.when(~F.col("is_start_event"), F.lit(1))).alias("non_start_event_count"),
            attribution_event(attribution_source).alias("attr"),
        )
    )
    return agg.select(
        F.col("session_partition_key"),
        F.col("session_key"),
        F.col("client_key"),
        F.col("user_pseudo_id"),
        F.col("stream_id"),
        F.col("session_partition_date"),
        F.timestamp_micros("start_us").alias("session_partition_start_ts"),
        F.timestamp_micros("end_us").alias("session_partition_end_ts"),
        F.col("session_number"),
        F.col("event_count"),
        F.col("page_view_count"),
        F.coalesce(F.col("max_session_engaged"), F.lit(0).cast("long")).alias("session_engaged"),
        F.col("engagement_time_msec"),
        F.col("event_value_in_usd"),
        F.col("purchase_events"),
        (F.col("non_start_event_count") > 0).alias("has_non_start_events"),
        *attribution_columns("attr", categories=categories),
    )


def _full(f: FullInputs) -> DataFrame:
    return fact_session_days(f.prepared, f.project.channels.source_categories, f.project.attribution.source)


def _delta(d: DeltaInputs) -> GoldDelta:
    """Every value depends on its day's events only: the touched days from their own events."""
    rows = fact_session_days(d.day_events, d.project.channels.source_categories, d.project.attribution.source)
    return GoldDelta(rows, "session_partition_date", d.touched("session_partition_date"))


TABLES = (
    TableSpec(
        "fact_session_days",
        ("session_partition_key",),
        "session_partition_date",
        "one row per session x event_date (fct_ga4__sessions_daily)",
        scope_column="session_partition_date",
        full=_full,
        delta=_delta,
    ),
)
