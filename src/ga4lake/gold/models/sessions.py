"""Sessions: one row per session_key (dbt-ga4 ``fct_ga4__sessions`` + ``dim_ga4__sessions`` in one table).

A session is identified by ``session_key`` alone (no date), so one crossing midnight is one row;
consent-denied events (NULL user_pseudo_id or ga_session_id -> NULL session_key) form no session, as
in dbt-ga4's fact models. Metrics cover *all* the session's events (session_start and first_visit
included, as ``fct_ga4__sessions``); landing page, device, geo and traffic source come from the
session's first event that is not session_start/first_visit (as ``dim_ga4__sessions`` and
``stg_ga4__sessions_traffic_sources``), falling back to its first event when it has no other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ga4lake.gold.models.channels import SOURCE_CATEGORIES, default_channel_group, source_category
from ga4lake.gold.models.common import (
    DEVICE_GEO_SOURCE_FIELDS,
    DIRECT_SOURCE,
    MONEY,
    NONE,
    money_sum,
    order_key,
)
from ga4lake.gold.models.spec import FullInputs, GoldDelta, TableSpec
from ga4lake.project import (
    DBT_GA4,
    DEFAULTS,
    GA4_LAST_CLICK,
    ONCE_PER_SESSION,
    AttributionSource,
    Conversions,
    Project,
)

if TYPE_CHECKING:
    from ga4lake.gold.models.windows import DeltaInputs

_FIRST_EVENT_FIELDS = (
    "event_date",
    "page_location",
    "page_path",
    "page_hostname",
    "page_referrer",
    "page_title",
    *DEVICE_GEO_SOURCE_FIELDS,
)
_ATTRIBUTION_FIELDS = ("event_source", "event_medium", "event_campaign", "event_term", "event_content")


def attribution_event(source: AttributionSource = DBT_GA4) -> Column:
    """Aggregate: source/medium/campaign/term/content of the group's first non-direct event that is not
    session_start/first_visit (docs/semantics.md#session-traffic-source), NULL when there is none. Ties
    broken by event_key.

    ``source`` (ga4lake.yml ``attribution.source``): ``ga4_last_click`` takes GA4's own
    ``session_traffic_source_last_click`` source/medium/campaign of the group's first event that carries
    one (term and content NULL: the field has none), and falls back to the rule above for a group
    without it (an export that predates the field, or events GA4 sent without it)."""
    eligible = (
        ~F.col("is_start_event")
        & F.col("event_source").isNotNull()
        & (F.col("event_source") != F.lit(DIRECT_SOURCE))
    )
    dbt_ga4 = F.min_by(F.struct(*[F.col(c) for c in _ATTRIBUTION_FIELDS]), F.when(eligible, order_key()))
    if source != GA4_LAST_CLICK:
        return dbt_ga4
    none = F.lit(None).cast("string")
    last_click = F.min_by(
        F.struct(
            F.col("last_click_source").alias("event_source"),
            F.col("last_click_medium").alias("event_medium"),
            F.col("last_click_campaign").alias("event_campaign"),
            none.alias("event_term"),
            none.alias("event_content"),
        ),
        F.when(F.col("last_click_source").isNotNull(), order_key()),
    )
    return F.coalesce(last_click, dbt_ga4)


def attribution_columns(
    attr: str, prefix: str = "session_", categories: Mapping[str, str] = SOURCE_CATEGORIES
) -> list[Column]:
    """dbt-ga4's session_* columns from an ``attribution_event()`` struct column: the chosen event's
    values (NULL medium/campaign/term/content -> ``(none)``), or (direct)/(none)/Direct without one.
    ``categories``: the source -> category mapping (the project's, ga4lake.yml ``channels``)."""
    a = F.col(attr)
    found = a["event_source"].isNotNull()
    category = source_category(a["event_source"], categories)
    return [
        F.coalesce(a["event_source"], F.lit(DIRECT_SOURCE)).alias(f"{prefix}source"),
        F.coalesce(a["event_medium"], F.lit(NONE)).alias(f"{prefix}medium"),
        F.coalesce(a["event_campaign"], F.lit(NONE)).alias(f"{prefix}campaign"),
        F.coalesce(a["event_term"], F.lit(NONE)).alias(f"{prefix}term"),
        F.coalesce(a["event_content"], F.lit(NONE)).alias(f"{prefix}content"),
        F.coalesce(category, F.lit(NONE)).alias(f"{prefix}source_category"),
        F.when(
            found,
            default_channel_group(a["event_source"], a["event_medium"], category, a["event_campaign"]),
        )
        .otherwise(F.lit("Direct"))
        .alias(f"{prefix}default_channel_group"),
    ]


def orders(prepared: DataFrame) -> DataFrame:
    """One row per (user, session, transaction): a repeated purchase event of the same transaction id
    in a session counts once (its first event's revenue); purchases whose id is NULL or ``(not set)``
    are each their own transaction."""
    return (
        prepared.where(F.col("is_purchase"))
        .groupBy("user_pseudo_id", "session_key", "transaction_key")
        .agg(F.min_by(F.col("purchase_revenue_in_usd"), order_key()).alias("revenue_in_usd"))
    )


def conversion_columns(conversions: Conversions) -> list[str]:
    """fact_sessions' ``<event>_count`` column names, one per conversion event (dbt-ga4's
    ``conversion_events``), in the configured order."""
    return [f"{e}_count" for e in conversions.events]


def conversion_counts(conversions: Conversions) -> list[Column]:
    """Aggregates: per conversion event, its events in the group (``once_per_event``) or 1 when the group
    has any (``once_per_session``); 0 when none, so the column is never NULL."""
    out = []
    for event, column in zip(conversions.events, conversion_columns(conversions), strict=True):
        n = F.count(F.when(F.col("event_name") == F.lit(event), F.lit(1)))
        value = F.least(n, F.lit(1).cast("long")) if conversions.counting == ONCE_PER_SESSION else n
        out.append(value.alias(column))
    return out


def session_base(prepared: DataFrame, project: Project = DEFAULTS) -> DataFrame:
    """Every session aggregate the session-grained tables need (one groupBy over the events).

    ``project``: its source -> category mapping sets the session's channel, its conversion events add
    the ``<event>_count`` columns (ga4lake.yml ``channels`` and ``conversions``)."""
    conversions = conversion_columns(project.conversions)
    first = F.min_by(
        F.struct(*[F.col(c) for c in _FIRST_EVENT_FIELDS]),
        F.struct(F.col("is_start_event"), F.col("event_timestamp_us"), F.col("event_key")),
    )
    exit_page = F.max_by(
        F.struct(F.col("page_location"), F.col("page_path")), F.when(F.col("is_page_view"), order_key())
    )
    agg = (
        prepared.where(F.col("session_key").isNotNull())
        .groupBy("session_key", "client_key", "user_pseudo_id", "stream_id", "session_id")
        .agg(
            F.min("session_number").alias("session_number"),
            F.min("event_date").alias("session_start_date"),
            F.max("event_date").alias("session_end_date"),
            F.min("event_timestamp_us").alias("start_us"),
            F.max("event_timestamp_us").alias("end_us"),
            F.count(F.lit(1)).alias("event_count"),
            F.count(F.when(~F.col("is_start_event"), F.lit(1))).alias("non_start_event_count"),
            F.count(F.when(F.col("is_page_view"), F.lit(1))).alias("page_view_count"),
            F.max("session_engaged").alias("max_session_engaged"),
            F.sum("engagement_time_msec").alias("engagement_time_msec"),
            F.count(F.when(F.col("is_purchase"), F.lit(1))).alias("purchase_events"),
            money_sum(F.col("event_value_in_usd")).alias("event_value_in_usd"),
            first.alias("first"),
            exit_page.alias("exit"),
            attribution_event(project.attribution.source).alias("attr"),
            *conversion_counts(project.conversions),
        )
    )
    by_session = (
        orders(prepared)
        .where(F.col("session_key").isNotNull())
        .groupBy("session_key")
        .agg(
            F.count(F.lit(1)).alias("transactions"),
            money_sum(F.col("revenue_in_usd")).alias("purchase_revenue_in_usd"),
        )
    )
    s = agg.join(by_session, "session_key", "left")
    return s.select(
        F.col("session_key"),
        F.col("client_key"),
        F.col("user_pseudo_id"),
        F.col("stream_id"),
        F.col("session_id"),
        F.col("session_number"),
        (F.col("session_number") == F.lit(1)).alias("is_first_session"),
        F.col("session_start_date"),
        F.col("session_end_date"),
        F.timestamp_micros("start_us").alias("session_start_ts"),
        F.timestamp_micros("end_us").alias("session_end_ts"),
        F.col("start_us"),
        ((F.col("end_us") - F.col("start_us")).cast("double") / F.lit(1e6)).alias("duration_seconds"),
        F.col("event_count"),
        F.col("non_start_event_count"),
        F.col("page_view_count"),
        F.coalesce(F.col("max_session_engaged") == F.lit(1), F.lit(False)).alias("is_engaged"),
        F.coalesce(F.col("engagement_time_msec"), F.lit(0).cast("long")).alias("engagement_time_msec"),
        F.col("first.page_location").alias("landing_page_location"),
        F.col("first.page_path").alias("landing_page_path"),
        F.col("first.page_hostname").alias("landing_page_hostname"),
        F.col("first.page_title").alias("landing_page_title"),
        F.col("first.page_referrer").alias("landing_page_referrer"),
        F.col("exit.page_location").alias("exit_page_location"),
        F.col("exit.page_path").alias("exit_page_path"),
        F.col("purchase_events"),
        F.coalesce(F.col("transactions"), F.lit(0).cast("long")).alias("transactions"),
        F.coalesce(F.col("purchase_revenue_in_usd"), F.lit(0).cast(MONEY)).alias("purchase_revenue_in_usd"),
        F.col("event_value_in_usd"),
        F.col("first.device_category").alias("device_category"),
        F.col("first.device_operating_system").alias("device_operating_system"),
        F.col("first.device_browser").alias("device_browser"),
        F.col("first.device_language").alias("device_language"),
        F.col("first.device_mobile_brand_name").alias("device_mobile_brand_name"),
        F.col("first.geo_continent").alias("geo_continent"),
        F.col("first.geo_sub_continent").alias("geo_sub_continent"),
        F.col("first.geo_country").alias("geo_country"),
        F.col("first.geo_region").alias("geo_region"),
        F.col("first.geo_city").alias("geo_city"),
        F.col("first.user_source").alias("user_source"),
        F.col("first.user_medium").alias("user_medium"),
        F.col("first.user_campaign").alias("user_campaign"),
        *attribution_columns("attr", categories=project.channels.source_categories),
        *[F.col(c) for c in conversions],
    )


FACT_SESSIONS_COLUMNS = (
    "session_key",
    "client_key",
    "user_pseudo_id",
    "stream_id",
    "session_id",
    "session_number",
    "is_first_session",
    "session_start_date",
    "session_end_date",
    "session_start_ts",
    "session_end_ts",
    "duration_seconds",
    "event_count",
    "page_view_count",
    "is_engaged",
    "engagement_time_msec",
    "landing_page_location",
    "landing_page_path",
    "landing_page_hostname",
    "landing_page_title",
    "landing_page_referrer",
    "exit_page_location",
    "exit_page_path",
    "purchase_events",
    "transactions",
    "purchase_revenue_in_usd",
    "event_value_in_usd",
    *DEVICE_GEO_SOURCE_FIELDS,
    "session_source",
    "session_medium",
    "session_campaign",
    "session_term",
    "session_content",
    "session_source_category",
    "session_default_channel_group",
)


def fact_sessions_columns(project: Project = DEFAULTS) -> list[str]:
    """fact_sessions' columns: the fixed ones, then one ``<event>_count`` per conversion event."""
    return [*FACT_SESSIONS_COLUMNS, *conversion_columns(project.conversions)]


def fact_sessions(prepared: DataFrame, project: Project = DEFAULTS) -> DataFrame:
    return session_base(prepared, project).select(*[F.col(c) for c in fact_sessions_columns(project)])


def _full(f: FullInputs) -> DataFrame:
    return f.sessions.select(*[F.col(c) for c in fact_sessions_columns(f.project)])


def _delta(d: DeltaInputs) -> GoldDelta:
    """Sessions starting the day before .. the day after a touched day (a session spans two dates)."""
    rows = d.s_base.select(*[F.col(c) for c in fact_sessions_columns(d.project)])
    return GoldDelta(rows, "session_start_date", d.dates("session_start_date", d.s_days))


TABLES = (
    TableSpec(
        "fact_sessions",
        ("session_key",),
        "session_start_date",
        "one row per session, midnight-crossing sessions once (fct_ga4__sessions + dim_ga4__sessions)",
        scope_column="session_start_date",
        full=_full,
        delta=_delta,
    ),
)
