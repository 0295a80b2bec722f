"""Arrow schema of the GA4 BigQuery export, as the public obfuscated sample declares it.

The 23 columns and their nested types follow the sample's published DDL (including its
oddities: ``stream_id`` INT64, ``privacy_info.*_storage`` INT64, an all-INT64
``user_properties``), because the pipeline must ingest exactly that shape. Repeated fields
are Arrow lists whose child is named ``element``: that is what a Parquet round trip yields,
so the declared schema, the written files and the readers all agree byte for byte.

``DRIFT_SCHEMA`` adds the fields that newer exports carry (see docs/ga4-export.md#current-export-schema);
``schema_for_stage`` gives the intermediate step used by ``--drift``.
"""

from __future__ import annotations

import pyarrow as pa

STR = pa.string()
I64 = pa.int64()
F64 = pa.float64()


def list_of(value_type: pa.DataType) -> pa.ListType:
    """A repeated field: BigQuery REPEATED -> Arrow list with a nullable ``element`` child."""
    return pa.list_(pa.field("element", value_type))


def _struct(*fields: tuple[str, pa.DataType]) -> pa.StructType:
    return pa.struct([pa.field(name, typ) for name, typ in fields])


PARAM_VALUE = _struct(("string_value", STR), ("int_value", I64), ("float_value", F64), ("double_value", F64))
EVENT_PARAM = _struct(("key", STR), ("value", PARAM_VALUE))

PRIVACY_INFO = _struct(("analytics_storage", I64), ("ads_storage", I64), ("uses_transient_token", STR))
USER_PROPERTY = _struct(
    ("key", I64),
    (
        "value",
        _struct(
            ("string_value", I64),
            ("int_value", I64),
            ("float_value", I64),
            ("double_value", I64),
            ("set_timestamp_micros", I64),
        ),
    ),
)
USER_LTV = _struct(("revenue", F64), ("currency", STR))

_WEB_INFO_FIELDS: tuple[tuple[str, pa.DataType], ...] = (("browser", STR), ("browser_version", STR))
_DEVICE_FIELDS: tuple[tuple[str, pa.DataType], ...] = (
    ("category", STR),
    ("mobile_brand_name", STR),
    ("mobile_model_name", STR),
    ("mobile_marketing_name", STR),
    ("mobile_os_hardware_model", I64),
    ("operating_system", STR),
    ("operating_system_version", STR),
    ("vendor_id", I64),
    ("advertising_id", I64),
    ("language", STR),
    ("is_limited_ad_tracking", STR),
    ("time_zone_offset_seconds", I64),
)


def device_type(hostname: bool = False) -> pa.StructType:
    """``device``; newer exports add ``web_info.hostname``."""
    web = _WEB_INFO_FIELDS + ((("hostname", STR),) if hostname else ())
    return _struct(*_DEVICE_FIELDS, ("web_info", _struct(*web)))


GEO = _struct(
    ("continent", STR),
    ("sub_continent", STR),
    ("country", STR),
    ("region", STR),
    ("city", STR),
    ("metro", STR),
)
APP_INFO = _struct(
    ("id", STR), ("version", STR), ("install_store", STR), ("firebase_app_id", STR), ("install_source", STR)
)
TRAFFIC_SOURCE = _struct(("medium", STR), ("name", STR), ("source", STR))
EVENT_DIMENSIONS = _struct(("hostname", STR))
ECOMMERCE = _struct(
    ("total_item_quantity", I64),
    ("purchase_revenue_in_usd", F64),
    ("purchase_revenue", F64),
    ("refund_value_in_usd", F64),
    ("refund_value", F64),
    ("shipping_value_in_usd", F64),
    ("shipping_value", F64),
    ("tax_value_in_usd", F64),
    ("tax_value", F64),
    ("unique_items", I64),
    ("transaction_id", STR),
)
ITEM_STRING_FIELDS_HEAD = (
    "item_id",
    "item_name",
    "item_brand",
    "item_variant",
    "item_category",
    "item_category2",
    "item_category3",
    "item_category4",
    "item_category5",
)
ITEM_STRING_FIELDS_TAIL = (
    "coupon",
    "affiliation",
    "location_id",
    "item_list_id",
    "item_list_name",
    "item_list_index",
    "promotion_id",
    "promotion_name",
    "creative_name",
    "creative_slot",
)
_ITEM_FIELDS: tuple[tuple[str, pa.DataType], ...] = (
    *((name, STR) for name in ITEM_STRING_FIELDS_HEAD),
    ("price_in_usd", F64),
    ("price", F64),
    ("quantity", I64),
    ("item_revenue_in_usd", F64),
    ("item_revenue", F64),
    ("item_refund_in_usd", F64),
    ("item_refund", F64),
    *((name, STR) for name in ITEM_STRING_FIELDS_TAIL),
)


def item_type(item_params: bool = False) -> pa.StructType:
    """One ``items`` element; newer exports add the repeated ``item_params``."""
    extra = (("item_params", list_of(EVENT_PARAM)),) if item_params else ()
    return _struct(*_ITEM_FIELDS, *extra)


COLLECTED_TRAFFIC_SOURCE = _struct(
    *(
        (name, STR)
        for name in (
            "manual_campaign_id",
            "manual_campaign_name",
            "manual_source",
            "manual_medium",
            "manual_term",
            "manual_content",
            "manual_source_platform",
            "manual_creative_format",
            "manual_marketing_tactic",
            "gclid",
            "dclid",
            "srsltid",
        )
    )
)
SESSION_TRAFFIC_SOURCE_LAST_CLICK = _struct(
    (
        "manual_campaign",
        _struct(
            *(
                (name, STR)
                for name in (
                    "campaign_id",
                    "campaign_name",
                    "source",
                    "medium",
                    "term",
                    "content",
                    "source_platform",
                    "creative_format",
                    "marketing_tactic",
                )
            )
        ),
    ),
    (
        "google_ads_campaign",
        _struct(
            *(
                (name, STR)
                for name in (
                    "customer_id",
                    "account_name",
                    "campaign_id",
                    "campaign_name",
                    "ad_group_id",
                    "ad_group_name",
                )
            )
        ),
    ),
    (
        "cross_channel_campaign",
        _struct(
            *(
                (name, STR)
                for name in (
                    "campaign_id",
                    "campaign_name",
                    "source",
                    "medium",
                    "source_platform",
                    "default_channel_group",
                    "primary_channel_group",
                )
            )
        ),
    ),
)

#: Top-level fields newer exports append after ``items`` (drift stage 2).
DRIFT_TOP_LEVEL: tuple[tuple[str, pa.DataType], ...] = (
    ("collected_traffic_source", COLLECTED_TRAFFIC_SOURCE),
    ("is_active_user", pa.bool_()),
    ("batch_event_index", I64),
    ("batch_page_id", I64),
    ("batch_ordering_id", I64),
    ("session_traffic_source_last_click", SESSION_TRAFFIC_SOURCE_LAST_CLICK),
)


def schema_for_stage(stage: int) -> pa.Schema:
    """Schema of a day file at drift ``stage``: 0 = the sample, 1 = nested additions, 2 = all additions."""
    if stage not in (0, 1, 2):
        raise ValueError(f"drift stage must be 0, 1 or 2, got {stage}")
    nested = stage >= 1
    fields: list[tuple[str, pa.DataType]] = [
        ("event_date", STR),
        ("event_timestamp", I64),
        ("event_name", STR),
        ("event_params", list_of(EVENT_PARAM)),
        ("event_previous_timestamp", I64),
        ("event_value_in_usd", F64),
        ("event_bundle_sequence_id", I64),
        ("event_server_timestamp_offset", I64),
        ("user_id", STR),
        ("user_pseudo_id", STR),
        ("privacy_info", PRIVACY_INFO),
        ("user_properties", list_of(USER_PROPERTY)),
        ("user_first_touch_timestamp", I64),
        ("user_ltv", USER_LTV),
        ("device", device_type(hostname=nested)),
        ("geo", GEO),
        ("app_info", APP_INFO),
        ("traffic_source", TRAFFIC_SOURCE),
        ("stream_id", I64),
        ("platform", STR),
        ("event_dimensions", EVENT_DIMENSIONS),
        ("ecommerce", ECOMMERCE),
        ("items", list_of(item_type(item_params=nested))),
    ]
    if stage >= 2:
        fields.extend(DRIFT_TOP_LEVEL)
    return pa.schema([pa.field(name, typ) for name, typ in fields])


#: The sample's schema: 23 columns.
EXPORT_SCHEMA: pa.Schema = schema_for_stage(0)
#: The sample's schema plus every newer field the generator's ``--drift`` switch emits.
DRIFT_SCHEMA: pa.Schema = schema_for_stage(2)
