"""Shared pieces of the gold models: constants, URL rules, the gclid rule, safe arithmetic, date windows.

Everything here is a pure Column/DataFrame expression over silver's columns (``ga4lake.lake.silver``);
the rules and where they differ from dbt-ga4 are in ``docs/semantics.md`` (cited by heading anchor).
"""

from __future__ import annotations

from datetime import date, timedelta

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ga4lake.gold.models.params import param_columns
from ga4lake.lake.silver import b64md5, col_or_null
from ga4lake.project import (
    DEFAULT_LOOKBACK_DAYS,
    DEFAULT_STRIP_QUERY_PARAMS,
    Param,
    StripQueryParams,
    query_parameter_pattern,
)

#: Events dbt-ga4 leaves out of session attribution and session dimensions
#: (docs/semantics.md#session-start-and-first-visit).
START_EVENTS = ("session_start", "first_visit")

#: dbt-ga4 ``session_attribution_lookback_window_days`` default (docs/semantics.md#last-non-direct-look-back);
#: the value in force is ``attribution.lookback_days`` of ga4lake.yml (docs/configuration.md).
LOOKBACK_DAYS = DEFAULT_LOOKBACK_DAYS

#: Retention is measured for day_n = 0 … RETENTION_DAYS after the first visit.
RETENTION_DAYS = 30

#: A session's events span at most this many *date changes* (one midnight crossing). GA4 sessions end
#: after 30 minutes of inactivity, so only a session running for more than a day would break it; the
#: incremental scopes of the session tables rely on it (docs/gold.md).
MAX_SESSION_SPAN_DAYS = 1

#: event_timestamp may lie up to 26 h outside its event_date (silver's contract), so two sessions whose
#: start *timestamps* are within N days have start *dates* within N + this many days.
TS_DATE_SLACK_DAYS = 3

#: Click-id query parameters stripped from page_location / page_referrer before pages are keyed
#: (dbt-ga4 var ``query_parameter_exclusions``; unset in dbt-ga4 by default — configure the same
#: list there for a page-count parity run). Without it every paid landing is a page of its own.
#: The default of ``urls.strip_query_params`` in ga4lake.yml (docs/configuration.md).
QUERY_PARAMETER_EXCLUSIONS = DEFAULT_STRIP_QUERY_PARAMS

NOT_SET = "(not set)"
DIRECT_SOURCE = "(direct)"
NONE = "(none)"

MONEY = "decimal(18,2)"

#: The device, geo and first-touch (``traffic_source``) columns gold carries from an event to the session,
#: user or event row it describes: one list, so those tables stay consistent.
DEVICE_GEO_SOURCE_FIELDS: tuple[str, ...] = (
    "device_category",
    "device_operating_system",
    "device_browser",
    "device_language",
    "device_mobile_brand_name",
    "geo_continent",
    "geo_sub_continent",
    "geo_country",
    "geo_region",
    "geo_city",
    "user_source",
    "user_medium",
    "user_campaign",
)


def order_key() -> Column:
    """Deterministic event order: timestamp, then event_key (BigQuery's choice among ties is arbitrary)."""
    return F.struct(F.col("event_timestamp_us"), F.col("event_key"))


def money_sum(c: Column) -> Column:
    """Sum as DECIMAL(18,2): exact and independent of the order Spark adds in (full = incremental).
    A value that does not fit (NaN, absurdly large) counts as NULL instead of failing the build."""
    return F.sum(c.try_cast(MONEY)).cast(MONEY)


def ratio(numerator: Column, denominator: Column) -> Column:
    """numerator / denominator as DOUBLE, NULL when the denominator is 0 or NULL (ANSI-safe)."""
    return F.try_divide(numerator.cast("double"), denominator.cast("double"))


def exclude_query_parameters(url: Column, names: StripQueryParams = QUERY_PARAMETER_EXCLUSIONS) -> Column:
    """``url`` without the query parameters ``names`` (a list, or ``"all"``): ``project.query_parameter_pattern``
    (docs/semantics.md#url-cleaning)."""
    pattern = query_parameter_pattern(names)
    if pattern is None:
        return url
    return F.regexp_replace(url, F.lit(pattern[0]), F.lit(pattern[1]))


def page_path(original_url: Column) -> Column:
    """page_path from the *original* URL, with dbt-ga4's backtracking quirk on host-only URLs
    (docs/semantics.md#url-cleaning)."""
    return F.nullif(F.regexp_extract(original_url, r"//[^/]+([^?#]+)", 1), F.lit(""))


def page_hostname(url: Column) -> Column:
    """docs/semantics.md#url-cleaning: strip http(s):// and www., keep up to the first ``/`` or ``:``."""
    return F.nullif(F.regexp_extract(url, r"^(?:https?://)?(?:www\.)?(.+?)(?:[/:]|$)", 1), F.lit(""))


def page_id(cleaned_url: Column) -> Column:
    """Page key: b64md5 of the cleaned URL; events without a URL (NULL or '') share one page_id."""
    return b64md5(F.coalesce(cleaned_url, F.lit("")))


def gclid_fixed(original_url: Column) -> tuple[Column, Column, Column]:
    """dbt-ga4 "detect_gclid" (docs/semantics.md#gclid-rule): a ``gclid`` in the URL makes NULL/organic
    traffic google / cpc."""
    has = F.coalesce(original_url.contains("gclid"), F.lit(False))
    src, med, camp = F.col("event_source"), F.col("event_medium"), F.col("event_campaign")
    source = F.when(has & src.isNull(), F.lit("google")).otherwise(src)
    medium = F.when(has & (med.isNull() | (med == F.lit("organic"))), F.lit("cpc")).otherwise(med)
    campaign = F.when(has & (camp.isNull() | camp.isin("organic", "(organic)")), F.lit("(cpc)")).otherwise(
        camp
    )
    return source, medium, campaign


def transaction_key() -> Column:
    """The transaction a purchase event belongs to: its real id, or the event itself when the id is
    NULL or ``(not set)`` (each such purchase counts as its own order)."""
    tid = F.coalesce(F.col("transaction_id"), F.col("param_transaction_id"))
    real = tid.isNotNull() & (tid != F.lit(NOT_SET))
    return F.when(real, F.concat(F.lit("t:"), tid)).otherwise(F.concat(F.lit("e:"), F.col("event_key")))


def consent_denied() -> Column:
    """Consent mode: GA4 exports a cookieless ping (consent denied) with NULL ``user_pseudo_id`` — and so
    NULL ``client_key`` (docs/semantics.md#consent-denied-events). Never NULL itself, so analysts can count
    these events explicitly instead of inferring them from NULL keys."""
    return F.col("user_pseudo_id").isNull()


def prepare(
    events: DataFrame,
    strip_query_params: StripQueryParams = QUERY_PARAMETER_EXCLUSIONS,
    event_params: tuple[Param, ...] = (),
) -> DataFrame:
    """Silver events -> the columns every gold model reads, with dbt-ga4's event-level derivations:
    URLs without the ``strip_query_params`` (ga4lake.yml ``urls.strip_query_params``),
    page_path/hostname/page_id, gclid-fixed source/medium/campaign, and one typed ``param_<name>`` per
    promoted event param (ga4lake.yml ``params.event``; none by default)."""
    original = F.col("page_location")
    cleaned = exclude_query_parameters(original, strip_query_params)
    source, medium, campaign = gclid_fixed(original)
    return events.select(
        F.col("event_key"),
        F.col("event_date"),
        F.col("event_ts"),
        F.col("event_timestamp_us"),
        F.col("event_name"),
        F.col("stream_id"),
        F.col("platform"),
        F.col("user_pseudo_id"),
        F.col("client_key"),
        consent_denied().alias("consent_denied"),
        F.col("session_key"),
        F.col("session_partition_key"),
        F.col("session_id"),
        F.col("session_number"),
        F.col("event_name").isin(*START_EVENTS).alias("is_start_event"),
        (F.col("event_name") == F.lit("page_view")).alias("is_page_view"),
        (F.col("event_name") == F.lit("purchase")).alias("is_purchase"),
        page_id(cleaned).alias("page_id"),
        cleaned.alias("page_location"),
        page_path(original).alias("page_path"),
        page_hostname(cleaned).alias("page_hostname"),
        exclude_query_parameters(F.col("page_referrer"), strip_query_params).alias("page_referrer"),
        F.col("page_title"),
        F.col("content_group"),
        F.col("page_type"),
        F.col("engagement_time_msec"),
        F.col("session_engaged"),
        F.col("entrances"),
        F.col("percent_scrolled"),
        F.col("search_term"),
        F.col("link_url"),
        F.col("link_domain"),
        F.col("outbound"),
        source.alias("event_source"),
        medium.alias("event_medium"),
        campaign.alias("event_campaign"),
        F.col("event_term"),
        F.col("event_content"),
        # GA4's own session attribution (ga4lake.yml attribution.source: ga4_last_click); silver has the
        # columns (NULL before the export added the field), a frame without them reads NULL too
        F.lower(col_or_null(events, "last_click_source")).alias("last_click_source"),
        F.lower(col_or_null(events, "last_click_medium")).alias("last_click_medium"),
        F.lower(col_or_null(events, "last_click_campaign")).alias("last_click_campaign"),
        F.col("gclid"),
        F.col("event_value"),
        F.col("currency"),
        F.col("event_value_in_usd"),
        F.coalesce(F.col("transaction_id"), F.col("param_transaction_id")).alias("transaction_id"),
        transaction_key().alias("transaction_key"),
        F.col("purchase_revenue"),
        F.col("purchase_revenue_in_usd"),
        F.col("tax_value_in_usd"),
        F.col("total_item_quantity"),
        F.col("item_count"),
        F.col("items"),
        F.col("device_category"),
        F.col("device_operating_system"),
        F.col("device_browser"),
        F.col("device_language"),
        F.col("device_mobile_brand_name"),
        F.col("geo_continent"),
        F.col("geo_sub_continent"),
        F.col("geo_country"),
        F.col("geo_region"),
        F.col("geo_city"),
        F.col("user_source"),
        F.col("user_medium"),
        F.col("user_campaign"),
        *param_columns(event_params),
    )


# -- date windows -------------------------------------------------------------------------------------


def days_between(lo: date, hi: date) -> list[date]:
    return [lo + timedelta(days=i) for i in range((hi - lo).days + 1)]


def in_window(lo: date | None = None, hi: date | None = None, column: str = "event_date") -> Column:
    """Filter on a date column with Python literals, so Spark/Iceberg prune partitions."""
    cond = F.lit(True)
    if lo is not None:
        cond = cond & (F.col(column) >= F.lit(lo))
    if hi is not None:
        cond = cond & (F.col(column) <= F.lit(hi))
    return cond
