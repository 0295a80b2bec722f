"""What the daily run's sensor and catch-up see in an export source: days by file name, nothing downloaded."""

from __future__ import annotations

from datetime import date

from ga4lake.config import load_settings
from ga4lake.lake.arrivals import arrived_days, late_days


def test_days_are_listed_by_shard_name_within_the_range(tmp_path):
    for name in ("events_20201101.parquet", "events_20201103.avro", "notes.txt", ".events_20201104.tmp"):
        (tmp_path / name).write_bytes(b"x")
    settings = load_settings()
    assert arrived_days(str(tmp_path), settings) == {
        date(2020, 11, 1): ["events_20201101.parquet"],
        date(2020, 11, 3): ["events_20201103.avro"],
    }  # a file still being copied under a temporary name is not an arrival
    assert list(arrived_days(str(tmp_path), settings, date(2020, 11, 2), date(2020, 11, 5))) == [
        date(2020, 11, 3)
    ]


def test_a_source_directory_not_created_yet_has_nothing_arrived(tmp_path):
    assert arrived_days(str(tmp_path / "not-yet"), load_settings()) == {}


def test_late_days_are_arrived_unloaded_days_before_the_window():
    arrived = {date(2020, 11, d): [f"events_202011{d:02d}.parquet"] for d in (1, 2, 3, 9)}
    loaded = {date(2020, 11, 2)}
    assert late_days(arrived, loaded, before=date(2020, 11, 6)) == [date(2020, 11, 1), date(2020, 11, 3)]
    assert late_days(arrived, set(arrived), before=date(2020, 11, 6)) == []
