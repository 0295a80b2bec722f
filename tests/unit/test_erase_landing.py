"""Which landed export files still hold an erased user: the parts bronze says delivered their rows, mapped
to landing objects through the newest manifest entry of their day (docs/privacy.md, landing zone)."""

from __future__ import annotations

from datetime import date

import pytest

from ga4lake.load.erase import ErasureError, landing_uris

ROOT = "s3://b/landing/ga4"
MANIFEST = {
    date(2020, 11, 1): {  # a split day: the folder holds three parts
        "file_name": "events_20201101-0.parquet,events_20201101-1.parquet,events_20201101-2.parquet",
        "landing_uri": f"{ROOT}/events_20201101/abc/",
    },
    date(2020, 11, 2): {
        "file_name": "events_20201102.avro",
        "landing_uri": f"{ROOT}/events_20201102/def/x.avro",
    },
}


def test_only_the_parts_that_delivered_the_users_rows_are_listed():
    got = landing_uris(["events_20201101-2.parquet", "events_20201101-0.parquet"], MANIFEST)
    assert got == [
        f"{ROOT}/events_20201101/abc/events_20201101-0.parquet",
        f"{ROOT}/events_20201101/abc/events_20201101-2.parquet",
    ]  # part 1 of the same day holds no row of the user: not listed


def test_a_single_file_day_is_its_object_and_nothing_is_listed_for_no_part():
    assert landing_uris(["events_20201102.avro"], MANIFEST) == [f"{ROOT}/events_20201102/def/x.avro"]
    assert landing_uris([], MANIFEST) == []


def test_a_part_no_manifest_entry_lists_is_an_error_not_a_silent_gap():
    with pytest.raises(ErasureError, match="events_20201103.parquet"):
        landing_uris(["events_20201103.parquet"], MANIFEST)
