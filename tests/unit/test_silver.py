"""Silver semantics on tiny export rows: dbt-ga4 keys, contract, de-duplication, param extraction."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, date, datetime

import pyarrow as pa
import pytest

from ga4lake.lake.silver import build_silver, scan_stats
from ga4lake.sample.schema import EXPORT_SCHEMA

DAY = date(2020, 11, 1)
T0 = 1_604_217_600_000_000  # 2020-11-01T08:00:00Z in µs


def b64md5(text: str) -> str:
    return base64.b64encode(hashlib.md5(text.encode()).digest()).decode()


def param(key: str, s: str | None = None, i: int | None = None, d: float | None = None) -> dict:
    return {"key": key, "value": {"string_value": s, "int_value": i, "float_value": None, "double_value": d}}


def event(
    name: str = "page_view", user: str | None = "u1", sid: int | None = 111, ts: int = T0, **kw
) -> dict:
    params = [param("ga_session_id", i=sid)] if sid is not None else []
    params += kw.pop(
        "params", [param("page_location", s="https://shop.example/home"), param("source", s="Google")]
    )
    row = {f.name: None for f in EXPORT_SCHEMA}
    row.update(
        event_date="20201101",
        event_timestamp=ts,
        event_name=name,
        event_params=params,
        user_pseudo_id=user,
        stream_id=42,
        platform="WEB",
        user_properties=[],
        items=[],
    )
    row.update(kw)
    return row


def bronze(spark, rows: list[dict]):
    table = pa.Table.from_pylist(rows, schema=EXPORT_SCHEMA)
    n = table.num_rows
    for name, arr in {
        "_rescued_data": pa.nulls(n, pa.string()),
        "_shard_date": pa.array([DAY] * n, pa.date32()),
        "_source_file": pa.array(["events_20201101.parquet"] * n),
        "_checksum": pa.array(["c"] * n),
        "_load_id": pa.array(["load_t"] * n),
        "_ingested_at": pa.array([datetime(2026, 1, 1, tzinfo=UTC)] * n, pa.timestamp("us", tz="UTC")),
    }.items():
        table = table.append_column(name, arr)
    return spark.createDataFrame(table)


def test_keys_follow_dbt_ga4_exactly(spark):
    out = build_silver(bronze(spark, [event()])).events.collect()[0]
    client_key = b64md5("u1" + "42")
    assert out.client_key == client_key
    assert out.session_key == b64md5(client_key + "111")
    assert out.session_partition_key == out.session_key + "2020-11-01"
    assert out.event_key and len(out.event_key) == 24
    assert out.event_source == "google"  # lower-cased like dbt-ga4
    assert out.page_location == "https://shop.example/home" and out.session_id == 111


def test_consent_denied_rows_are_kept_with_null_keys(spark):
    out = build_silver(bronze(spark, [event(user=None, sid=None)]))
    row = out.events.collect()[0]
    assert row.client_key is None and row.session_key is None and row.event_key is not None
    assert out.quarantine.count() == 0


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"event_date": "2020-11-01"}, "event_date_format"),
        ({"event_date": "20201102"}, "event_date_mismatch"),
        ({"event_timestamp": T0 - 3 * 86_400_000_000}, "timestamp_out_of_day"),
        ({"event_timestamp": None}, "null_timestamp"),
        ({"event_name": None}, "null_event_name"),
        ({"user_pseudo_id": ""}, "empty_user_pseudo_id"),
        ({"params": [param("ga_session_id", s="111")]}, "session_id_not_int"),
        ({"params": [param("page_location", s="a"), param("page_location", s="b")]}, "duplicate_param_key"),
        ({"event_value_in_usd": -1.0}, "negative_value"),
        ({"platform": "FRIDGE"}, "unknown_platform"),
    ],
)
def test_contract_quarantines_with_reason_and_raw_row(spark, change, reason):
    rows = [event(ts=T0 + 1), event(**change)]
    out = build_silver(bronze(spark, rows))
    q = out.quarantine.collect()
    assert len(q) == 1 and q[0].reason.startswith(reason) and reason in q[0].reasons[0]
    assert '"event_name"' in q[0].raw_row
    assert out.events.count() == 1


def test_duplicates_are_dropped_and_counted(spark):
    same = event()
    reordered = event(
        params=[param("source", s="Google"), param("page_location", s="https://shop.example/home")]
    )
    other = event(ts=T0 + 5)
    out = build_silver(bronze(spark, [same, dict(same), reordered, other])).events
    rows = {r.event_timestamp_us: r.duplicates_dropped for r in out.collect()}
    # params in another order are the same event (dbt-ga4 sorts params by key before comparing)
    assert rows == {T0: 2, T0 + 5: 0}


def test_other_params_are_kept_typed(spark):
    ev = event(params=[param("page_location", s="x"), param("custom_dim", s="blue"), param("custom_n", i=7)])
    row = build_silver(bronze(spark, [ev])).events.collect()[0]
    assert row.params_other["custom_dim"]["string_value"] == "blue"
    assert row.params_other["custom_n"]["int_value"] == 7
    assert "page_location" not in row.params_other


def test_scan_stats_drives_the_same_deduplication(spark):
    """The loader's path (stats first, candidates as a list) equals the self-contained one."""
    same = event()
    rows = [same, dict(same), event(ts=T0 + 5), event(platform="FRIDGE")]
    b = bronze(spark, rows)
    stats = scan_stats(b).first()
    assert stats.bad_rows == 1 and len(stats.dup_hashes) == 1
    via_stats = build_silver(b, list(stats.dup_hashes)).events
    self_found = build_silver(b).events
    pick = ["event_key", "duplicates_dropped"]
    assert sorted(via_stats.select(pick).collect()) == sorted(self_found.select(pick).collect())
    assert {r.duplicates_dropped for r in via_stats.collect()} == {0, 1}


def test_no_candidates_plans_deduplication_away(spark):
    b = bronze(spark, [event(), event(ts=T0 + 5)])
    assert scan_stats(b).first().dup_hashes == []
    plan = build_silver(b, []).events._jdf.queryExecution().optimizedPlan().toString()
    assert "Window" not in plan and "Join" not in plan
    assert build_silver(b, []).events.count() == 2
