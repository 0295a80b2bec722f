"""Quirk switches: each is off by default and does exactly its one thing when on."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from ga4lake.sample.cli import main
from ga4lake.sample.generator import SampleConfig, SampleGenerator
from ga4lake.sample.quirks import BAD_KINDS, add_bad_rows, add_duplicates
from ga4lake.sample.stats import param

DAY = date(2020, 11, 3)


@pytest.fixture(scope="module")
def base() -> pa.Table:
    return SampleGenerator(SampleConfig(date(2020, 11, 1), 3, 0.05, 5)).day(2)


def test_defaults_are_clean(base: pa.Table) -> None:
    assert base.column("user_pseudo_id").null_count == 0
    assert base.column("event_server_timestamp_offset").null_count == base.num_rows
    assert pc.all(pc.equal(base.column("event_date"), "20201103")).as_py()
    assert set(base.column("platform").to_pylist()) == {"WEB", "IOS", "ANDROID"}  # web and app streams
    assert param(base, "ga_session_id", "int_value").null_count == 0
    keys = set(
        zip(
            *(base.column(c).to_pylist() for c in ("user_pseudo_id", "event_timestamp", "event_name")),
            strict=True,
        )
    )
    assert len(keys) == base.num_rows  # sample: no duplicate (user_pseudo_id, event_timestamp, event_name)


def test_duplicates_are_exact_adjacent_copies(base: pa.Table) -> None:
    out = add_duplicates(base, 0.05, 5, DAY)
    extra = out.num_rows - base.num_rows
    assert 0.035 * base.num_rows < extra < 0.065 * base.num_rows
    rows = out.to_pylist()
    dup_pairs = sum(1 for a, b in zip(rows, rows[1:], strict=False) if a == b)
    assert dup_pairs == extra
    assert add_duplicates(base, 0.0, 5, DAY) is base


def _defects(table: pa.Table) -> dict[str, np.ndarray]:
    """What a data contract on the export would flag, per kind."""
    date_ = table.column("event_date").to_numpy(zero_copy_only=False)
    ts = table.column("event_timestamp")
    sid_str = param(table, "ga_session_id", "string_value").is_valid().to_numpy(zero_copy_only=False)
    keys = table.column("event_params").to_pylist()
    value = pc.fill_null(table.column("event_value_in_usd"), 0).to_numpy()
    return {
        "event_date_format": date_ == "2020-11-03",
        "event_date_mismatch": date_ == "20201102",
        "timestamp_out_of_day": pc.fill_null(pc.less(ts, 1604300000000000), False).to_numpy(
            zero_copy_only=False
        ),
        "null_timestamp": ts.is_null().to_numpy(zero_copy_only=False),
        "null_event_name": table.column("event_name").is_null().to_numpy(zero_copy_only=False),
        "empty_user_pseudo_id": pc.fill_null(pc.equal(table.column("user_pseudo_id"), ""), False).to_numpy(
            zero_copy_only=False
        ),
        "session_id_as_string": sid_str,
        "duplicate_param_key": np.array([[p["key"] for p in ps].count("ga_session_id") > 1 for ps in keys]),
        "negative_value": value < 0,
        "unknown_platform": pc.invert(
            pc.is_in(table.column("platform"), pa.array(["WEB", "IOS", "ANDROID"]))
        ).to_numpy(zero_copy_only=False),
    }


def test_bad_rows_inject_every_kind_at_the_rate(base: pa.Table) -> None:
    assert not any(v.any() for v in _defects(base).values())
    out = add_bad_rows(base, 0.05, 5, DAY)
    assert out.num_rows == base.num_rows
    assert out.schema.equals(base.schema)
    defects = _defects(out)
    for kind in BAD_KINDS:
        assert defects[kind].sum() > 0, kind
    any_bad = np.logical_or.reduce([defects[k] for k in BAD_KINDS])
    assert 0.035 < any_bad.mean() < 0.065


def test_consent_denied_sessions_lose_ids() -> None:
    cfg = dict(start=date(2020, 11, 1), days=3, scale=0.05, seed=5)
    plain = SampleGenerator(SampleConfig(**cfg)).day(2)
    denied = SampleGenerator(SampleConfig(**cfg, consent_denied=0.2)).day(2)
    assert denied.num_rows == plain.num_rows  # same events, fewer identifiers
    no_user = denied.column("user_pseudo_id").is_null().to_numpy(zero_copy_only=False)
    assert 0.12 < no_user.mean() < 0.28
    sid = param(denied, "ga_session_id", "int_value").is_null().to_numpy(zero_copy_only=False)
    assert np.array_equal(sid, no_user)
    assert denied.column("user_first_touch_timestamp").null_count == no_user.sum()


def test_drift_only_changes_schema_of_later_days(tmp_path: Path) -> None:
    assert main(["--days", "3", "--scale", "0.01", "--drift", "--out", str(tmp_path / "d")]) == 0
    assert main(["--days", "3", "--scale", "0.01", "--out", str(tmp_path / "p")]) == 0
    drift = [pq.read_table(tmp_path / "d" / f"events_2020110{i}.parquet") for i in (1, 2, 3)]
    plain = [pq.read_table(tmp_path / "p" / f"events_2020110{i}.parquet") for i in (1, 2, 3)]
    assert drift[0].equals(plain[0])
    assert drift[1].num_columns == 23 and "hostname" in str(drift[1].schema.field("device").type)
    assert "item_params" in str(drift[1].schema.field("items").type)
    assert drift[2].num_columns == 29
    assert drift[2].column("collected_traffic_source").null_count < drift[2].num_rows
    assert drift[2].column("batch_page_id").null_count == 0
    assert drift[2].column("is_active_user").null_count == 0
    for d, p in zip(drift, plain, strict=True):
        assert d.select(["event_timestamp", "event_name", "user_pseudo_id"]).equals(
            p.select(["event_timestamp", "event_name", "user_pseudo_id"])
        )


def test_late_days_restate_only_the_last_days(tmp_path: Path) -> None:
    assert main(["--days", "4", "--scale", "0.03", "--out", str(tmp_path / "a")]) == 0
    assert main(["--days", "4", "--scale", "0.03", "--late-days", "2", "--out", str(tmp_path / "b")]) == 0
    for i in (1, 2):
        name = f"events_2020110{i}.parquet"
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    for i in (3, 4):
        name = f"events_2020110{i}.parquet"
        first, restated = pq.read_table(tmp_path / "a" / name), pq.read_table(tmp_path / "b" / name)
        assert restated.num_rows > first.num_rows
        assert restated.slice(0, first.num_rows).equals(first)  # a superset: late rows appended
        late = restated.slice(first.num_rows)
        assert late.column("event_server_timestamp_offset").null_count == 0
        assert pc.all(pc.equal(late.column("event_date"), f"2020110{i}")).as_py()
        assert set(late.column("event_name").to_pylist()) <= {"page_view", "user_engagement", "scroll"}
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == [
        f"events_2020110{i}.parquet" for i in range(1, 5)
    ]
