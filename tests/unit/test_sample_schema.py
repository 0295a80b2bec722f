"""The export's declared schema, and generated files carry exactly that schema (nested types included)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ga4lake.sample.cli import main
from ga4lake.sample.generator import SampleConfig, SampleGenerator
from ga4lake.sample.schema import DRIFT_SCHEMA, EXPORT_SCHEMA, schema_for_stage

_PARAM = "struct<key: string, value: struct<string_value: string, int_value: int64, float_value: double, double_value: double>>"  # noqa: E501
_ITEM = (
    "struct<item_id: string, item_name: string, item_brand: string, item_variant: string,"
    " item_category: string, item_category2: string, item_category3: string, item_category4: string,"
    " item_category5: string, price_in_usd: double, price: double, quantity: int64,"
    " item_revenue_in_usd: double, item_revenue: double, item_refund_in_usd: double, item_refund: double,"
    " coupon: string, affiliation: string, location_id: string, item_list_id: string, item_list_name: string,"
    " item_list_index: string, promotion_id: string, promotion_name: string, creative_name: string,"
    " creative_slot: string{extra}>"
)
_DEVICE = (
    "struct<category: string, mobile_brand_name: string, mobile_model_name: string,"
    " mobile_marketing_name: string, mobile_os_hardware_model: int64, operating_system: string,"
    " operating_system_version: string, vendor_id: int64, advertising_id: int64, language: string,"
    " is_limited_ad_tracking: string, time_zone_offset_seconds: int64,"
    " web_info: struct<browser: string, browser_version: string{extra}>>"
)
_USER_PROPERTY = (
    "struct<key: int64, value: struct<string_value: int64, int_value: int64, float_value: int64,"
    " double_value: int64, set_timestamp_micros: int64>>"
)
_ECOMMERCE = (
    "struct<total_item_quantity: int64, purchase_revenue_in_usd: double, purchase_revenue: double,"
    " refund_value_in_usd: double, refund_value: double, shipping_value_in_usd: double,"
    " shipping_value: double, tax_value_in_usd: double, tax_value: double, unique_items: int64,"
    " transaction_id: string>"
)

#: The sample's published DDL (docs/ga4-export.md#schema-of-the-sample) in Arrow notation;
#: repeated -> list<element: ...>.
DECLARED: dict[str, str] = {
    "event_date": "string",
    "event_timestamp": "int64",
    "event_name": "string",
    "event_params": f"list<element: {_PARAM}>",
    "event_previous_timestamp": "int64",
    "event_value_in_usd": "double",
    "event_bundle_sequence_id": "int64",
    "event_server_timestamp_offset": "int64",
    "user_id": "string",
    "user_pseudo_id": "string",
    "privacy_info": "struct<analytics_storage: int64, ads_storage: int64, uses_transient_token: string>",
    "user_properties": f"list<element: {_USER_PROPERTY}>",
    "user_first_touch_timestamp": "int64",
    "user_ltv": "struct<revenue: double, currency: string>",
    "device": _DEVICE.format(extra=""),
    "geo": "struct<continent: string, sub_continent: string, country: string, region: string, city: string, metro: string>",  # noqa: E501
    "app_info": "struct<id: string, version: string, install_store: string, firebase_app_id: string, install_source: string>",  # noqa: E501
    "traffic_source": "struct<medium: string, name: string, source: string>",
    "stream_id": "int64",
    "platform": "string",
    "event_dimensions": "struct<hostname: string>",
    "ecommerce": _ECOMMERCE,
    "items": f"list<element: {_ITEM.format(extra='')}>",
}
DRIFT_TOP = [
    "collected_traffic_source",
    "is_active_user",
    "batch_event_index",
    "batch_page_id",
    "batch_ordering_id",
    "session_traffic_source_last_click",
]


def layout(schema: pa.Schema) -> list[tuple[str, str]]:
    """Name and full nested type of each column (str(type) names list children, unlike ==)."""
    return [(f.name, str(f.type)) for f in schema]


def test_export_schema_is_the_declared_ddl() -> None:
    assert len(EXPORT_SCHEMA) == 23
    assert layout(EXPORT_SCHEMA) == list(DECLARED.items())
    assert all(f.nullable for f in EXPORT_SCHEMA)


def test_drift_schema_appends_newer_fields() -> None:
    assert DRIFT_SCHEMA.names == EXPORT_SCHEMA.names + DRIFT_TOP
    types = dict(layout(DRIFT_SCHEMA))
    assert types["device"] == _DEVICE.format(extra=", hostname: string")
    assert types["items"] == f"list<element: {_ITEM.format(extra=f', item_params: list<element: {_PARAM}>')}>"
    assert types["is_active_user"] == "bool"
    assert layout(schema_for_stage(1))[:23] == layout(DRIFT_SCHEMA)[:23]
    assert len(schema_for_stage(1)) == 23
    with pytest.raises(ValueError):
        schema_for_stage(3)


def test_generated_parquet_has_exactly_the_declared_schema(tmp_path: Path) -> None:
    assert main(["--days", "2", "--scale", "0.01", "--out", str(tmp_path)]) == 0
    files = sorted(tmp_path.iterdir())
    assert [f.name for f in files] == ["events_20201101.parquet", "events_20201102.parquet"]
    for f in files:
        assert layout(pq.read_schema(f)) == list(DECLARED.items())
        assert pq.read_metadata(f).num_rows > 0


def test_generated_tables_match_schema_per_drift_stage() -> None:
    gen = SampleGenerator(SampleConfig(date(2020, 11, 1), 6, 0.01, 7, drift=True))
    assert [gen.drift_stage(i) for i in range(6)] == [0, 0, 1, 1, 2, 2]
    for i in (0, 2, 4):
        assert layout(gen.day(i).schema) == layout(schema_for_stage(gen.drift_stage(i)))
    plain = SampleGenerator(SampleConfig(date(2020, 11, 1), 6, 0.01, 7))
    assert layout(plain.day(5).schema) == layout(EXPORT_SCHEMA)
