"""Writers and readers: the same rows as Parquet, Avro and NDJSON read back to identical tables."""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

import fastavro
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ga4lake.sample.generator import SampleConfig, SampleGenerator
from ga4lake.sample.quirks import apply_row_quirks
from ga4lake.sample.readers import ExportReadError, read_export
from ga4lake.sample.schema import EXPORT_SCHEMA
from ga4lake.sample.writers import FORMATS, shard_name, write_table


def layout(schema: pa.Schema) -> list[tuple[str, str]]:
    return [(f.name, str(f.type)) for f in schema]


@pytest.fixture(scope="module")
def days() -> list[pa.Table]:
    """One day of each drift stage (0, 1, 2), with bad rows so odd values round-trip too."""
    gen = SampleGenerator(SampleConfig(date(2020, 11, 1), 3, 0.02, 11, drift=True, consent_denied=0.05))
    return [apply_row_quirks(gen.day(i), 11, gen.date(i), 0.02, 0.0) for i in range(3)]


@pytest.mark.parametrize("stage", [0, 1, 2])
def test_round_trip_all_formats_identical(days: list[pa.Table], stage: int, tmp_path: Path) -> None:
    table = days[stage]
    read = {}
    for fmt in FORMATS:
        path = write_table(table, tmp_path / shard_name(date(2020, 11, 1 + stage), fmt), fmt)
        read[fmt] = read_export(path)
    assert read["parquet"].equals(table)
    assert layout(read["parquet"].schema) == layout(table.schema)
    for fmt in ("avro", "ndjson"):
        assert layout(read[fmt].schema) == layout(table.schema), fmt
        assert read[fmt].equals(table), fmt


def test_ndjson_is_bigquery_style(days: list[pa.Table], tmp_path: Path) -> None:
    path = write_table(days[0], tmp_path / "events_20201101.json", "ndjson")
    first = json.loads(path.read_text().splitlines()[0])
    assert isinstance(first["event_timestamp"], str) and first["event_timestamp"].isdigit()  # INT64 quoted
    assert isinstance(first["stream_id"], str)
    assert "event_previous_timestamp" not in first  # NULL fields are omitted
    assert first["user_properties"] == []  # REPEATED fields are written even when empty
    gz = tmp_path / "events_20201101.json.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert read_export(gz).equals(read_export(path))


def test_avro_is_bigquery_style(days: list[pa.Table], tmp_path: Path) -> None:
    path = write_table(days[0], tmp_path / "events_20201101.avro", "avro")
    with open(path, "rb") as fo:
        schema = fastavro.reader(fo).writer_schema
    fields = {f["name"]: f["type"] for f in schema["fields"]}
    assert fields["event_timestamp"] == ["null", "long"]
    assert fields["event_params"]["type"] == "array"  # REPEATED: not nullable
    assert fields["device"][1]["type"] == "record"


def test_reader_normalises_foreign_layouts(days: list[pa.Table], tmp_path: Path) -> None:
    """Other list child names, missing base columns, NULL lists and unknown fields (kept, typed as found)."""
    table = days[0].slice(0, 50)
    params = table.column("event_params").combine_chunks()
    legacy = pa.list_(pa.field("item", params.type.value_type))
    cols = {n: table.column(n) for n in table.column_names if n not in ("event_dimensions", "app_info")}
    cols["event_params"] = params.cast(legacy)
    cols["user_properties"] = pa.nulls(50, table.schema.field("user_properties").type)
    cols["publisher"] = pa.array([{"ad_format": "banner", "ad_revenue_in_usd": 1.5}] * 50)
    path = tmp_path / "foreign.parquet"
    pq.write_table(pa.table(cols), path)
    out = read_export(path)
    assert out.column_names == EXPORT_SCHEMA.names + ["publisher"]
    assert layout(out.schema)[:23] == layout(EXPORT_SCHEMA)
    assert out.column("event_params").to_pylist() == table.column("event_params").to_pylist()
    assert out.column("app_info").null_count == 50
    assert out.column("user_properties").to_pylist() == [[]] * 50
    assert out.column("publisher").to_pylist()[0] == {"ad_format": "banner", "ad_revenue_in_usd": 1.5}


def test_reader_keeps_unknown_ndjson_fields_and_current_export_types(tmp_path: Path) -> None:
    row = {
        "event_date": "20240101",
        "event_timestamp": "1704067200000000",
        "event_name": "page_view",
        "stream_id": "1234567",
        "batch_event_index": "2",
        "privacy_info": {"analytics_storage": "Yes", "ads_storage": "No", "uses_transient_token": "No"},
        "device": {"category": "desktop", "web_info": {"browser": "Chrome", "hostname": "example.com"}},
        "brand_new": {"x": "1"},
    }
    path = tmp_path / "events_20240101.json"
    path.write_text(json.dumps(row) + "\n")
    out = read_export(path).to_pylist()[0]
    assert out["event_timestamp"] == 1704067200000000 and out["stream_id"] == 1234567
    assert out["batch_event_index"] == 2  # a declared newer field gets its declared type
    assert out["device"]["web_info"]["hostname"] == "example.com"
    assert out["privacy_info"]["analytics_storage"] == "Yes"  # newer exports: STRING, kept as such
    assert out["brand_new"] == {"x": "1"}  # undeclared: kept as found
    assert out["event_params"] == [] and out["items"] == []


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("events_1.parquet", b"PAR1 not really parquet", "ArrowInvalid"),
        ("events_1.avro", b"not avro at all", "Error"),
        ("events_1.json", b'{"event_date": "20201101", "event_timestamp": ', "JSON"),
        (
            "events_1.json",
            b'{"event_date":"20201101","event_timestamp":"soon","event_name":"x"}\n',
            "event_timestamp",
        ),
        ("events_1.json", b'{"hello": "world"}\n', "missing column"),
        ("events_1.csv", b"a,b\n", "unsupported file type"),
    ],
)
def test_reader_rejects_corrupt_files(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ExportReadError) as err:
        read_export(path)
    assert err.value.path == str(path)
    assert reason.lower() in str(err.value).lower()


def test_reader_missing_file_and_truncated_parquet(days: list[pa.Table], tmp_path: Path) -> None:
    with pytest.raises(ExportReadError, match="no such file"):
        read_export(tmp_path / "events_20990101.parquet")
    good = write_table(days[0], tmp_path / "events_20201101.parquet", "parquet")
    cut = tmp_path / "events_20201102.parquet"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ExportReadError):
        read_export(cut)


def test_empty_ndjson_file_reads_as_empty_export(tmp_path: Path) -> None:
    path = tmp_path / "events_20201101.json"
    path.write_text("")
    out = read_export(path)
    assert out.num_rows == 0 and layout(out.schema) == layout(EXPORT_SCHEMA)


def test_avro_timestamps_and_named_types_as_bigquery_writes_them(tmp_path: Path) -> None:
    value = {"type": "record", "name": "value", "fields": [{"name": "int_value", "type": ["null", "long"]}]}
    schema = {
        "type": "record",
        "name": "Root",
        "fields": [
            {"name": "event_date", "type": ["null", "string"]},
            {"name": "event_timestamp", "type": ["null", "long"]},
            {"name": "event_name", "type": ["null", "string"]},
            {"name": "exported_at", "type": ["null", {"type": "long", "logicalType": "timestamp-micros"}]},
            {"name": "a", "type": ["null", value]},
            {"name": "b", "type": ["null", "value"]},  # a reference to the named record above
        ],
    }
    row = {
        "event_date": "20201101",
        "event_timestamp": 1604214000000001,
        "event_name": "page_view",
        "exported_at": 1604214000000001,
        "a": {"int_value": 1},
        "b": {"int_value": 2},
    }
    path = tmp_path / "events_20201101.avro"
    with open(path, "wb") as fo:
        fastavro.writer(fo, fastavro.parse_schema(schema), [row])
    out = read_export(path)
    assert out.schema.field("exported_at").type == pa.timestamp("us", tz="UTC")
    assert out.column("exported_at").cast(pa.int64()).to_pylist() == [1604214000000001]
    assert out.column("b").to_pylist() == [{"int_value": 2}]
    assert out.column_names[:23] == EXPORT_SCHEMA.names
