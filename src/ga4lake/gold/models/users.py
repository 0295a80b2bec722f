"""Users: one row per user_pseudo_id (dbt-ga4 ``dim_ga4__client_keys`` + ``fct_ga4__client_keys``).

Consent-denied events (NULL user_pseudo_id) belong to no user. First-touch device, geo and GA4's
user-scoped ``traffic_source`` come from the user's earliest event (session_start/first_visit
included, as dbt-ga4 §7.1). ``user_id`` is never read: gold holds no PII.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ga4lake.gold.models.channels import channel_of_source
from ga4lake.gold.models.common import DEVICE_GEO_SOURCE_FIELDS, MONEY, money_sum, order_key
from ga4lake.gold.models.sessions import orders

_FIRST_FIELDS = (
    "client_key",
    "stream_id",
    *DEVICE_GEO_SOURCE_FIELDS,
)


def dim_user(prepared: DataFrame) -> DataFrame:
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
        F.col("user_pseudo_id"),
        F.col("first.client_key").alias("client_key"),
        F.col("first.stream_id").alias("stream_id"),
        F.timestamp_micros("first_us").alias("first_seen_ts"),
        F.col("first_seen_date"),
        F.timestamp_micros("last_us").alias("last_seen_ts"),
        F.col("last_seen_date"),
        F.col("first_visit_date"),
        F.col("first_visit_date").isNotNull().alias("is_new_user"),
        F.col("active_days"),
        F.col("sessions"),
        F.col("engaged_sessions"),
        F.col("events"),
        F.col("page_views"),
        F.coalesce(F.col("engagement_time_msec"), F.lit(0).cast("long")).alias("engagement_time_msec"),
        F.col("purchase_events"),
        F.coalesce(F.col("transactions"), F.lit(0).cast("long")).alias("transactions"),
        F.coalesce(F.col("purchase_revenue_in_usd"), F.lit(0).cast(MONEY)).alias("purchase_revenue_in_usd"),
        F.col("first.device_category").alias("first_device_category"),
        F.col("first.device_operating_system").alias("first_device_operating_system"),
        F.col("first.device_browser").alias("first_device_browser"),
        F.col("first.device_language").alias("first_device_language"),
        F.col("first.device_mobile_brand_name").alias("first_device_mobile_brand_name"),
        F.col("first.geo_continent").alias("first_geo_continent"),
        F.col("first.geo_sub_continent").alias("first_geo_sub_continent"),
        F.col("first.geo_country").alias("first_geo_country"),
        F.col("first.geo_region").alias("first_geo_region"),
        F.col("first.geo_city").alias("first_geo_city"),
        F.col("first.user_source").alias("first_user_source"),
        F.col("first.user_medium").alias("first_user_medium"),
        F.col("first.user_campaign").alias("first_user_campaign"),
        channel_of_source(
            F.lower(F.col("first.user_source")),
            F.lower(F.col("first.user_medium")),
            F.lower(F.col("first.user_campaign")),
        ).alias("first_user_default_channel_group"),
    )
