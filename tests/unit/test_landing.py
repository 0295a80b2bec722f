"""Landing's naming, grouping and checksum rules: split days, intraday/fresh tables, unrecognised files.

Pure logic plus local-folder discovery and staging without upload (no services)."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ga4lake.config import load_settings
from ga4lake.lake import landing
from ga4lake.lake.landing import (
    DAILY,
    INTRADAY,
    LandingError,
    NoExportFiles,
    classify,
    day_checksum,
    discover,
    group_days,
    ignorable,
    kind_of_names,
    landed_parts,
    parse_name,
)
from ga4lake.sample.generator import SampleConfig, SampleGenerator

D = date(2020, 11, 1)


@pytest.mark.parametrize(
    ("name", "table", "part", "fmt"),
    [
        ("events_20201101.parquet", "daily", None, "parquet"),
        ("events_20201101-000000000000.parquet", "daily", 0, "parquet"),
        ("events_20201101-000000000002.avro", "daily", 2, "avro"),
        ("events_20201101-3.json.gz", "daily", 3, "ndjson"),
        ("events_intraday_20201101.jsonl", "intraday", None, "ndjson"),
        ("events_intraday_20201101-000000000001.parquet", "intraday", 1, "parquet"),
        ("events_fresh_20201101.ndjson", "fresh", None, "ndjson"),
        ("events_fresh_20201101-7.parquet", "fresh", 7, "parquet"),
    ],
)
def test_recognised_names(name, table, part, fmt):
    s = parse_name(name)
    assert s is not None
    assert (s.shard_date, s.table, s.part, s.format) == (D, table, part, fmt)
    assert s.kind == (INTRADAY if table == "intraday" else DAILY)


@pytest.mark.parametrize(
    "name",
    [
        "events_2021.parquet",
        "events_20201301.parquet",  # no such date
        "events_20201101.csv",
        "events_20201101_000000000000.parquet",
        "events_20201101-.parquet",
        "events_other_20201101.parquet",
        "users_20201101.parquet",
        "notes.txt",
        "events_20201101.parquet.tmp",
    ],
)
def test_unrecognised_names(name):
    assert parse_name(name) is None


def test_ignorable_files_are_hidden_underscore_and_crc():
    assert all(ignorable(n) for n in ("_SUCCESS", ".DS_Store", ".events_20201101.parquet.x.tmp", "a.crc"))
    assert not any(ignorable(n) for n in ("events_20201101.parquet", "notes.txt", "SUCCESS"))


def test_classify_lists_unrecognised_and_drops_ignorable():
    shards, unknown = classify(
        [
            ("events_20201101.parquet", "/s/events_20201101.parquet"),
            ("notes.txt", "/s/notes.txt"),
            ("_SUCCESS", "/s/_SUCCESS"),
            ("events_2021.parquet", "/s/events_2021.parquet"),
        ]
    )
    assert [s.name for s, _ in shards] == ["events_20201101.parquet"]
    assert unknown == ["/s/events_2021.parquet", "/s/notes.txt"]


def _group(*names: str):
    return group_days([(parse_name(n), f"/s/{n}") for n in names])


def test_split_day_is_one_day_in_part_order():
    days, notes = _group(
        "events_20201101-000000000002.parquet",
        "events_20201102.parquet",
        "events_20201101-000000000000.parquet",
        "events_20201101-000000000001.parquet",
    )
    assert notes == []
    assert [(d, k, [s.part for s, _ in e]) for d, k, e in days] == [
        (D, DAILY, [0, 1, 2]),
        (date(2020, 11, 2), DAILY, [None]),
    ]


def test_daily_wins_over_intraday_with_a_note():
    days, notes = _group(
        "events_intraday_20201101.parquet", "events_20201101-0.parquet", "events_20201101-1.parquet"
    )
    assert [(d, k, [s.name for s, _ in e]) for d, k, e in days] == [
        (D, DAILY, ["events_20201101-0.parquet", "events_20201101-1.parquet"])
    ]
    assert len(notes) == 1 and "/s/events_intraday_20201101.parquet" in notes[0] and "ignored" in notes[0]


def test_intraday_only_day_is_provisional_and_fresh_is_daily():
    days, notes = _group(
        "events_intraday_20201101-0.avro", "events_intraday_20201101-1.avro", "events_fresh_20201102.avro"
    )
    assert [(d, k, len(e)) for d, k, e in days] == [(D, INTRADAY, 2), (date(2020, 11, 2), DAILY, 1)]
    assert notes == []


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (("events_20201101.parquet", "events_fresh_20201101.parquet"), "both a daily and a fresh"),
        (("events_20201101-0.parquet", "events_20201101-1.avro"), "2 formats"),
        (("events_20201101.parquet", "events_20201101.avro"), "2 formats"),
        (("events_20201101.json", "events_20201101.json.gz"), "the unsplit file twice"),
        (("events_20201101-1.json", "events_20201101-01.json"), "part 1 twice"),
    ],
)
def test_ambiguous_days_fail_naming_the_files(names, message):
    with pytest.raises(LandingError) as err:
        _group(*names)
    assert message in str(err.value)
    for n in names:
        assert f"/s/{n}" in str(err.value)


def test_day_checksum_is_order_independent_and_sensitive_to_every_part():
    a, b, c = ("p-0", "aa"), ("p-1", "bb"), ("p-2", "cc")
    assert day_checksum(DAILY, [a, b, c]) == day_checksum(DAILY, [c, a, b])
    assert day_checksum(DAILY, [a, b, c]) != day_checksum(DAILY, [a, b])  # a part missing
    assert day_checksum(DAILY, [a, b, c]) != day_checksum(DAILY, [a, b, ("p-2", "cd")])  # a part changed
    assert day_checksum(DAILY, [a, b, c]) != day_checksum(DAILY, [a, b, ("p-3", "cc")])  # renamed
    # a one-file daily day keeps the file's own checksum (days landed before parts existed stay no-ops)
    assert day_checksum(DAILY, [a]) == "aa"
    # the daily table of a day always restates its provisional (intraday) version, even with equal bytes
    assert day_checksum(INTRADAY, [a]) != day_checksum(DAILY, [a])
    assert day_checksum(INTRADAY, [a, b]) != day_checksum(DAILY, [a, b])


def test_landed_parts_of_one_file_and_of_a_split_day():
    assert landed_parts(
        "events_20201101.parquet", "s3://b/landing/ga4/events_20201101/ab/events_20201101.parquet"
    ) == [("events_20201101.parquet", "s3://b/landing/ga4/events_20201101/ab/events_20201101.parquet")]
    assert landed_parts("events_20201101-0.parquet,events_20201101-1.parquet", "s3://b/l/ab/") == [
        ("events_20201101-0.parquet", "s3://b/l/ab/events_20201101-0.parquet"),
        ("events_20201101-1.parquet", "s3://b/l/ab/events_20201101-1.parquet"),
    ]


def test_kind_of_landed_names():
    assert (
        kind_of_names(["events_intraday_20201101-0.parquet", "events_intraday_20201101-1.parquet"])
        == INTRADAY
    )
    assert kind_of_names(["events_20201101.parquet"]) == DAILY
    assert kind_of_names(["events_fresh_20201101.parquet"]) == DAILY


# -- discovery of a local folder and staging (no upload) ----------------------------------------------


@pytest.fixture(scope="module")
def day_table():
    return SampleGenerator(SampleConfig(start=D, days=1, scale=0.01, seed=3)).day(0)


def write_parts(folder: Path, table, stem: str, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    size = -(-table.num_rows // n)
    paths = []
    for i in range(n):
        p = folder / f"{stem}-{i:012d}.parquet"
        pq.write_table(table.slice(i * size, size), p)
        paths.append(p)
    return paths


@pytest.fixture
def settings(tmp_path):
    return dataclasses.replace(load_settings(), state_dir=tmp_path)


def test_discover_groups_parts_and_notes_what_it_skips(tmp_path, settings, day_table):
    src = tmp_path / "src"
    write_parts(src, day_table, "events_20201101", 3)
    write_parts(src, day_table, "events_intraday_20201101", 1)
    write_parts(src, day_table, "events_intraday_20201102", 2)
    (src / "_SUCCESS").write_text("")
    (src / "sub").mkdir()
    notes: list[str] = []
    days = discover(str(src), settings, tmp_path / "dl", note=notes.append)
    assert [(d.shard_date, d.kind, len(d.parts)) for d in days] == [
        (D, DAILY, 3),
        (date(2020, 11, 2), INTRADAY, 2),
    ]
    assert days[0].name == ",".join(f"events_20201101-{i:012d}.parquet" for i in range(3))
    assert any("sub" in n and "not read" in n for n in notes)
    assert any("events_intraday_20201101-000000000000.parquet" in n for n in notes)
    # the day checksum combines the parts, whatever order they are listed in
    shas = [(p.name, hashlib.sha256(p.local_path.read_bytes()).hexdigest()) for p in days[0].parts]
    assert landing.day_sha256(days[0]) == day_checksum(DAILY, reversed(shas))


def test_discover_refuses_unrecognised_files_listing_them(tmp_path, settings, day_table):
    src = tmp_path / "src"
    write_parts(src, day_table, "events_20201101", 1)
    (src / "notes.txt").write_text("hello")
    (src / "events_2021.parquet").write_bytes(b"x")
    with pytest.raises(LandingError) as err:
        discover(str(src), settings, tmp_path / "dl", start=D, end=D)
    assert not isinstance(err.value, NoExportFiles)  # a scheduled run must not read this as "not yet"
    assert str(src / "notes.txt") in str(err.value) and str(src / "events_2021.parquet") in str(err.value)
    assert "2 file(s)" in str(err.value)


def test_discover_without_files_is_no_export_files(tmp_path, settings):
    (tmp_path / "empty").mkdir()
    with pytest.raises(NoExportFiles):
        discover(str(tmp_path / "empty"), settings, tmp_path / "dl")


def test_stage_keeps_every_part_row(tmp_path, settings, day_table):
    src = tmp_path / "src"
    write_parts(src, day_table, "events_20201101", 3)
    (day,) = discover(str(src), settings, tmp_path / "dl")
    staged = landing.stage(day, settings, tmp_path / "staging", "load_x", landing.now_utc(), upload=False)
    assert staged.rows == day_table.num_rows
    assert staged.staged_path.is_dir()
    back = pq.read_table(staged.staged_path)  # what bronze reads: every part file of the day's folder
    assert back.num_rows == day_table.num_rows
    assert sorted(set(back.column("_source_file").to_pylist())) == [p.name for p in day.parts]
    assert set(back.column("_checksum").to_pylist()) == {staged.sha256}
    assert staged.landing_uri.endswith(f"/events_20201101/{staged.sha256[:16]}/")
    assert staged.format == "parquet" and staged.name == day.name


def test_stage_allows_an_empty_part_but_not_an_empty_day(tmp_path, settings, day_table):
    src = tmp_path / "src"
    write_parts(src, day_table, "events_20201101", 1)
    pq.write_table(day_table.slice(0, 0), src / "events_20201101-000000000001.parquet")
    (day,) = discover(str(src), settings, tmp_path / "dl")
    staged = landing.stage(day, settings, tmp_path / "staging", "load_x", landing.now_utc(), upload=False)
    assert staged.rows == day_table.num_rows
    empty = tmp_path / "empty"
    empty.mkdir()
    for i in range(2):
        pq.write_table(day_table.slice(0, 0), empty / f"events_20201101-{i}.parquet")
    (day,) = discover(str(empty), settings, tmp_path / "dl")
    with pytest.raises(LandingError, match="empty export day"):
        landing.stage(day, settings, tmp_path / "staging2", "load_y", landing.now_utc(), upload=False)
