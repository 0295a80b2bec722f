"""Silver: one row per de-duplicated, contract-checked event, with dbt-ga4 keys and typed columns.

Pure DataFrame -> DataFrame functions (no catalogs, no I/O). Semantics follow dbt-ga4's
``base_ga4__events`` / ``stg_ga4__events`` (docs/semantics.md#keys, docs/semantics.md#de-duplication):

* keys: ``client_key = b64md5(user_pseudo_id ‖ stream_id)``, ``session_key = b64md5(client_key ‖ session_id)``,
  ``session_partition_key = session_key ‖ event_date``, ``event_key = b64md5(concat_skip_nulls(...))``;
* de-duplication on (date, stream, user, session, cleaned name, timestamp, params sorted by key);
* the standard params as typed columns, every other param kept in typed maps (nothing lost).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, DataType, DoubleType, LongType, StringType, StructType

from ga4lake.lake.contract import violations

# params extracted into their own columns: key -> (value field, column name, type)
STANDARD_PARAMS: dict[str, tuple[str, str]] = {
    "ga_session_id": ("int_value", "session_id"),
    "ga_session_number": ("int_value", "session_number"),
    "page_location": ("string_value", "page_location"),
    "page_referrer": ("string_value", "page_referrer"),
    "page_title": ("string_value", "page_title"),
    "engagement_time_msec": ("int_value", "engagement_time_msec"),
    "entrances": ("int_value", "entrances"),
    "source": ("string_value", "event_source"),
    "medium": ("string_value", "event_medium"),
    "campaign": ("string_value", "event_campaign"),
    "term": ("string_value", "event_term"),
    "content": ("string_value", "event_content"),
    "gclid": ("string_value", "gclid"),
    "transaction_id": ("string_value", "param_transaction_id"),
    "value": ("double_value", "event_value"),
    "currency": ("string_value", "currency"),
    "page_type": ("string_value", "page_type"),
    "content_group": ("string_value", "content_group"),
    "percent_scrolled": ("int_value", "percent_scrolled"),
    "search_term": ("string_value", "search_term"),
    "link_url": ("string_value", "link_url"),
    "link_domain": ("string_value", "link_domain"),
    "outbound": ("string_value", "outbound"),
    "promotion_name": ("string_value", "promotion_name"),
    "creative_name": ("string_value", "creative_name"),
}
_SESSION_ENGAGED = "session_engaged"  # int 1/0 or string '1' (dbt-ga4 rule)
_LOWERED = {"event_source", "event_medium", "event_campaign", "event_term", "event_content"}

METADATA_COLUMNS = ("_source_file", "_checksum", "_load_id", "_ingested_at")


@dataclass(frozen=True)
class SilverResult:
    events: DataFrame
    quarantine: DataFrame


def b64md5(c: Column) -> Column:
    """Base64 of the raw 16-byte MD5 (BigQuery's TO_BASE64(MD5(x))); NULL in, NULL out."""
    return F.base64(F.unhex(F.md5(c)))


def has_path(schema: StructType, path: str) -> bool:
    node: DataType = schema
    for part in path.split("."):
        if not isinstance(node, StructType) or part not in node.fieldNames():
            return False
        node = node[part].dataType
    return True


def col_or_null(df: DataFrame, path: str, dtype: DataType | None = None) -> Column:
    """A (possibly nested) column, or a typed NULL when this export predates the field (drift)."""
    return F.col(path) if has_path(df.schema, path) else F.lit(None).cast(dtype or StringType())


def clean_event_name(c: Column) -> Column:
    return F.lower(F.regexp_replace(F.trim(c), " ", "_"))


def _param_map() -> Column:
    # mapKeyDedupPolicy=LAST_WIN is set on the session; rows with repeated keys are quarantined anyway
    return F.map_from_arrays(F.col("event_params.key"), F.col("event_params.value"))


def contract_split(bronze: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(valid rows, quarantined rows with reasons and the raw row as JSON)."""
    checked = with_param_map(bronze).select("*", violations().alias("_violations"))
    bad = checked.where(F.col("_violations") != F.lit(""))
    raw_cols = [c for c in bronze.columns if c not in METADATA_COLUMNS and not c.startswith("_")]
    quarantine = bad.select(
        F.col("_load_id").alias("load_id"),
        F.col("_shard_date").alias("event_date"),
        F.col("_source_file").alias("source_file"),
        F.col("_violations").alias("reason"),
        F.split(F.col("_violations"), "; ").alias("reasons"),
        F.to_json(F.struct(*[F.col(c) for c in raw_cols]), {"ignoreNullFields": "false"}).alias("raw_row"),
        F.col("_rescued_data").alias("rescued_data"),
        F.col("_ingested_at").alias("quarantined_at"),
    )
    return checked.where(F.col("_violations") == F.lit("")).drop("_violations"), quarantine


def with_param_map(df: DataFrame) -> DataFrame:
    """Add ``_params`` (key -> value struct) once: higher-order functions are interpreted, not code-generated,
    so building the map once per row instead of once per extracted param is what keeps silver fast."""
    return df.select("*", _param_map().alias("_params")) if "_params" not in df.columns else df


def fingerprint(*cols: Column) -> Column:
    """A 96-bit fingerprint of values (two independent native hashes plus NULL markers).

    Stands in for the JSON text of event_params in keys: BigQuery's exact JSON cannot be reproduced
    anyway (only uniqueness matters, docs/semantics.md#keys), and serialising nested params to JSON
    for every event is the single most expensive step of silver."""
    nulls = F.concat_ws("", *[F.when(c.isNull(), F.lit("n")).otherwise(F.lit("v")) for c in cols])
    return F.concat_ws(":", F.xxhash64(*cols).cast("string"), F.hash(*cols).cast("string"), nulls)


def _dedup_fields() -> list[Column]:
    """dbt-ga4's duplicate group: (date, stream, user, session, cleaned name, timestamp, params sorted by key)."""
    return [
        F.col("_shard_date"),
        F.col("stream_id"),
        F.col("user_pseudo_id"),
        F.col("_params")["ga_session_id"]["int_value"],
        clean_event_name(F.col("event_name")),
        F.col("event_timestamp"),
        F.sort_array("event_params"),
    ]


def dedup_key() -> Column:
    """The exact duplicate-group key (96-bit fingerprint of the dbt-ga4 fields)."""
    return fingerprint(*_dedup_fields())


def dedup_hash() -> Column:
    """A 64-bit hash of the same fields: equal groups always hash equal, so grouping on it finds every
    duplicate *candidate* with a narrow, cheap shuffle (a rare collision only adds a candidate that the
    exact key then tells apart)."""
    return F.xxhash64(*_dedup_fields())


def with_dedup_hash(df: DataFrame) -> DataFrame:
    df = with_param_map(df)
    return df.select("*", dedup_hash().alias("_dedup_hash")) if "_dedup_hash" not in df.columns else df


def duplicate_candidates(valid: DataFrame) -> DataFrame:
    """``_dedup_hash`` values shared by more than one valid row."""
    return (
        with_dedup_hash(valid)
        .groupBy("_dedup_hash")
        .agg(F.count(F.lit(1)).alias("_n"))
        .where(F.col("_n") > 1)
        .select("_dedup_hash")
    )


def scan_stats(bronze: DataFrame) -> DataFrame:
    """One row for a load slice: ``bad_rows`` (contract violations) and ``dup_hashes`` (duplicate candidates).

    One narrow pass the loader collects first, so the wide pass that writes silver knows both answers:
    no candidates -> de-duplication plans away entirely (the common case), no bad rows -> no quarantine scan."""
    checked = with_dedup_hash(bronze).select(
        F.col("_dedup_hash"), (violations() != F.lit("")).cast("long").alias("_bad")
    )
    per_hash = checked.groupBy("_dedup_hash").agg(
        F.sum(F.lit(1) - F.col("_bad")).alias("_valid"), F.sum("_bad").alias("_bad")
    )
    return per_hash.agg(
        F.coalesce(F.sum("_bad"), F.lit(0)).cast("long").alias("bad_rows"),
        F.collect_list(F.when(F.col("_valid") > 1, F.col("_dedup_hash"))).alias("dup_hashes"),
    )


def deduplicate(valid: DataFrame, candidates: list[int] | None = None) -> DataFrame:
    """Keep one row per dbt-ga4 duplicate group, counting what was dropped in ``_duplicates_dropped``.

    Duplicates are rare: only rows whose hash is a candidate go through the exact key and a window; every
    other row passes untouched and wide rows are never shuffled. ``candidates``: the duplicate hashes when
    the caller already knows them (:func:`scan_stats`) — an empty list plans de-duplication away entirely;
    ``None``: found here with a narrow aggregation and a broadcast join."""
    keyed = with_dedup_hash(valid)
    out_cols = [c for c in keyed.columns if c != "_dedup_hash"]
    if candidates is None:
        found = F.broadcast(duplicate_candidates(keyed))
        singles = keyed.join(found, "_dedup_hash", "left_anti")
        maybe = keyed.join(found, "_dedup_hash", "left_semi")
    else:
        is_candidate = F.col("_dedup_hash").isin(candidates) if candidates else F.lit(False)
        singles = keyed.where(~is_candidate)
        maybe = keyed.where(is_candidate)
    singles = singles.select(*out_cols, F.lit(0).cast("long").alias("_duplicates_dropped"))
    if candidates == []:
        return singles
    group = Window.partitionBy("_dedup_key")
    ranked = group.orderBy(F.col("_source_file"), F.col("_ingested_at"), F.col("event_key_raw"))
    repeated = (
        maybe.select(
            "*",
            dedup_key().alias("_dedup_key"),
            F.to_json(F.struct(*[F.col(c) for c in valid.columns])).alias("event_key_raw"),
        )
        .select(
            "*", F.row_number().over(ranked).alias("_dup_rank"), F.count(F.lit(1)).over(group).alias("_n")
        )
        .where(F.col("_dup_rank") == 1)
        .select(*out_cols, (F.col("_n") - 1).cast("long").alias("_duplicates_dropped"))
    )
    return singles.unionByName(repeated)


# the export's columns silver flattens or drops (plus work columns): any other column is a newer export
# field and passes through unchanged (drift)
_KNOWN_COLUMNS = frozenset(
    {
        "event_date",
        "event_timestamp",
        "event_name",
        "event_params",
        "event_previous_timestamp",
        "event_value_in_usd",
        "event_bundle_sequence_id",
        "event_server_timestamp_offset",
        "user_id",
        "user_pseudo_id",
        "privacy_info",
        "user_properties",
        "user_first_touch_timestamp",
        "user_ltv",
        "device",
        "geo",
        "app_info",
        "traffic_source",
        "stream_id",
        "platform",
        "event_dimensions",
        "ecommerce",
        "items",
        "collected_traffic_source",
        "is_active_user",
        "batch_event_index",
        "batch_page_id",
        "batch_ordering_id",
        "session_traffic_source_last_click",
        "_shard_date",
        "_rescued_data",
        "_duplicates_dropped",
        "_params",
        "_dedup_key",
        "_dedup_hash",
        *METADATA_COLUMNS,
    }
)


def _key_columns() -> list[Column]:
    """The dbt-ga4 keys, the event's date, time and cleaned name, and its page_view/purchase flags."""
    params = F.col("_params")
    client_key = b64md5(F.concat(F.col("user_pseudo_id"), F.col("stream_id").cast("string")))
    session_id = params["ga_session_id"]["int_value"]
    session_key = b64md5(F.concat(client_key, session_id.cast("string")))
    event_name = clean_event_name(F.col("event_name"))
    event_key = b64md5(
        F.concat_ws(
            "",
            client_key,
            session_id.cast("string"),
            event_name,
            F.col("event_timestamp").cast("string"),
            fingerprint(F.col("event_params")),
        )
    )
    event_date = F.col("_shard_date")
    return [
        event_key.alias("event_key"),
        session_key.alias("session_key"),
        F.concat(session_key, event_date.cast("string")).alias("session_partition_key"),
        client_key.alias("client_key"),
        event_date.alias("event_date"),
        F.timestamp_micros("event_timestamp").alias("event_ts"),
        F.col("event_timestamp").alias("event_timestamp_us"),
        event_name.alias("event_name"),
        F.col("user_pseudo_id"),
        F.col("stream_id").cast("string").alias("stream_id"),
        F.col("platform"),
        F.col("user_first_touch_timestamp").alias("user_first_touch_timestamp_us"),
        (event_name == F.lit("page_view")).cast("int").alias("is_page_view"),
        (event_name == F.lit("purchase")).cast("int").alias("is_purchase"),
    ]


def _param_columns() -> list[Column]:
    """The standard params as typed columns, ``session_engaged``, and every other param in a typed map."""
    params = F.col("_params")
    std: list[Column] = []
    for key, (field, name) in STANDARD_PARAMS.items():
        value = params[key][field]
        if field == "double_value":  # GA4 sends `value` as double, float or int depending on the tag
            value = F.coalesce(
                params[key]["double_value"],
                params[key]["float_value"],
                params[key]["int_value"].cast(DoubleType()),
            )
        std.append((F.lower(value) if name in _LOWERED else value).alias(name))
    engaged = F.coalesce(
        params[_SESSION_ENGAGED]["int_value"],
        F.when(params[_SESSION_ENGAGED]["string_value"] == F.lit("1"), F.lit(1).cast(LongType())),
    ).alias("session_engaged")
    # every non-standard param, typed (string/int/float/double value struct): nothing is lost
    others = F.map_filter("_params", lambda k, _v: ~k.isin(*STANDARD_PARAMS, _SESSION_ENGAGED))
    return [*std, engaged, others.alias("params_other")]


def _event_device_geo_columns() -> list[Column]:
    """Event, privacy, lifetime value, device and geo fields, flattened."""
    return [
        F.col("event_previous_timestamp").alias("event_previous_timestamp_us"),
        F.col("event_value_in_usd"),
        F.col("event_bundle_sequence_id"),
        F.col("event_server_timestamp_offset"),
        F.col("privacy_info.analytics_storage").alias("privacy_analytics_storage"),
        F.col("privacy_info.ads_storage").alias("privacy_ads_storage"),
        F.col("privacy_info.uses_transient_token").alias("privacy_uses_transient_token"),
        F.col("user_ltv.revenue").alias("user_ltv_revenue"),
        F.col("user_ltv.currency").alias("user_ltv_currency"),
        F.col("device.category").alias("device_category"),
        F.col("device.mobile_brand_name").alias("device_mobile_brand_name"),
        F.col("device.mobile_model_name").alias("device_mobile_model_name"),
        F.col("device.operating_system").alias("device_operating_system"),
        F.col("device.operating_system_version").alias("device_operating_system_version"),
        F.col("device.language").alias("device_language"),
        F.col("device.web_info.browser").alias("device_browser"),
        F.col("device.web_info.browser_version").alias("device_browser_version"),
    ]


def _drifting_columns(df: DataFrame) -> list[Column]:
    """Hostname, geo, traffic sources and batch fields; the newer export fields are typed NULLs on an
    export that predates them (:func:`col_or_null`)."""

    def c(path: str, dtype: DataType | None = None) -> Column:
        return col_or_null(df, path, dtype)

    return [
        c("device.web_info.hostname").alias("device_web_hostname"),
        F.col("geo.continent").alias("geo_continent"),
        F.col("geo.sub_continent").alias("geo_sub_continent"),
        F.col("geo.country").alias("geo_country"),
        F.col("geo.region").alias("geo_region"),
        F.col("geo.city").alias("geo_city"),
        F.col("geo.metro").alias("geo_metro"),
        F.col("traffic_source.source").alias("user_source"),
        F.col("traffic_source.medium").alias("user_medium"),
        F.col("traffic_source.name").alias("user_campaign"),
        c("collected_traffic_source.manual_source").alias("collected_source"),
        c("collected_traffic_source.manual_medium").alias("collected_medium"),
        c("collected_traffic_source.manual_campaign_name").alias("collected_campaign"),
        c("collected_traffic_source.gclid").alias("collected_gclid"),
        c("session_traffic_source_last_click.manual_campaign.source").alias("last_click_source"),
        c("session_traffic_source_last_click.manual_campaign.medium").alias("last_click_medium"),
        c("session_traffic_source_last_click.manual_campaign.campaign_name").alias("last_click_campaign"),
        c("is_active_user", BooleanType()).alias("is_active_user"),
        c("batch_event_index", LongType()).alias("batch_event_index"),
        c("batch_page_id", LongType()).alias("batch_page_id"),
        c("batch_ordering_id", LongType()).alias("batch_ordering_id"),
    ]


def _ecommerce_columns() -> list[Column]:
    """The event's ecommerce fields and its items (kept nested; gold explodes them)."""
    return [
        F.col("ecommerce.transaction_id").alias("transaction_id"),
        F.col("ecommerce.purchase_revenue").alias("purchase_revenue"),
        F.col("ecommerce.purchase_revenue_in_usd").alias("purchase_revenue_in_usd"),
        F.col("ecommerce.total_item_quantity").alias("total_item_quantity"),
        F.col("ecommerce.unique_items").alias("unique_items"),
        F.col("ecommerce.shipping_value_in_usd").alias("shipping_value_in_usd"),
        F.col("ecommerce.tax_value_in_usd").alias("tax_value_in_usd"),
        F.col("ecommerce.refund_value_in_usd").alias("refund_value_in_usd"),
        F.col("items"),
        F.when(F.col("items").isNull(), F.lit(0)).otherwise(F.size("items")).alias("item_count"),
    ]


def _lineage_columns() -> list[Column]:
    """Where the row came from: dropped duplicates, source file, load, ingestion time."""
    return [
        F.col("_duplicates_dropped").alias("duplicates_dropped"),
        F.col("_source_file").alias("source_file"),
        F.col("_load_id").alias("load_id"),
        F.col("_ingested_at").alias("ingested_at"),
    ]


def to_silver_columns(df: DataFrame) -> DataFrame:
    """Flatten a de-duplicated bronze frame into silver's typed columns, in silver's column order."""
    df = with_param_map(df)
    passthrough = [F.col(c) for c in df.columns if c not in _KNOWN_COLUMNS]  # unknown new fields (drift)
    return df.select(
        *_key_columns(),
        *_param_columns(),
        *_event_device_geo_columns(),
        *_drifting_columns(df),
        *_ecommerce_columns(),
        *passthrough,
        *_lineage_columns(),
    )


def build_silver(bronze: DataFrame, candidates: list[int] | None = None) -> SilverResult:
    """bronze (one load slice) -> silver events + quarantine (``candidates``: see :func:`deduplicate`)."""
    valid, quarantine = contract_split(bronze)
    return SilverResult(events=to_silver_columns(deduplicate(valid, candidates)), quarantine=quarantine)
