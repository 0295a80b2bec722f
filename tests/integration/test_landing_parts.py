"""Split and partial export days on the real stack: a day exported as several part files loads every row,
an intraday-only day is provisional until its daily table replaces it, and a stray file in the source
folder stops the load naming it.

The module publishes to its own throw-away Nessie branch (the ``lake`` fixture); tests run in order.
"""

from __future__ import annotations

import dataclasses
import shutil
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ga4lake.clients.trino import run_sql
from ga4lake.lake.landing import LandingError
from ga4lake.load.run import ingest, rerun
from ga4lake.sample.cli import main as sample_main

pytestmark = pytest.mark.integration
SCALE = "0.05"


@pytest.fixture(scope="module")
def lake(lake, tmp_path_factory):
    """The module's lake with its own state folder: its loads' plans, staging and lock are its own, so it
    does not queue behind the stack's (or other test modules') loads on the shared lock."""
    return dataclasses.replace(lake, state_dir=tmp_path_factory.mktemp("state"))


@pytest.fixture(autouse=True)
def _no_parity_gate(monkeypatch):
    """The parity gate has its own test (test_lake.py); here it would only add a Trino pass per load."""
    monkeypatch.setenv("GA4LAKE_PARITY_GATE", "0")


def sample(out: Path, start: str, days: int) -> Path:
    rc = sample_main(
        ["--start", start, "--days", str(days), "--scale", SCALE, "--seed", "5", "--out", str(out)]
    )
    assert rc == 0
    return out


def scalar(settings, sql: str) -> int:
    return int(run_sql(settings, sql, ref=settings.lake_branch)[1][0][0] or 0)


def counts(settings, day: str) -> tuple[int, int]:
    """(bronze rows of the shard day, silver rows of the event date)."""
    return (
        scalar(settings, f"SELECT count(*) FROM bronze.events WHERE _shard_date = DATE '{day}'"),
        scalar(settings, f"SELECT count(*) FROM silver.events WHERE event_date = DATE '{day}'"),
    )


def manifest(settings, day: str) -> tuple:
    rows = run_sql(
        settings,
        f"SELECT file_name, landing_uri, rows, kind FROM bronze.load_manifest WHERE shard_date = DATE '{day}' "
        "ORDER BY landed_at DESC, load_id DESC LIMIT 1",
        ref=settings.lake_branch,
    )[1]
    return tuple(rows[0])


def split(path: Path, out: Path, stem: str, n: int) -> list[str]:
    """Write ``path``'s rows as ``n`` BigQuery-style part files ``<stem>-00000000000i.parquet``."""
    table = pq.read_table(path)
    size = -(-table.num_rows // n)
    names = []
    for i in range(n):
        name = f"{stem}-{i:012d}.parquet"
        pq.write_table(table.slice(i * size, size), out / name, compression="snappy")
        names.append(name)
    return names


def test_split_day_loads_every_row_like_the_unsplit_day(lake, tmp_path):
    whole = sample(tmp_path / "whole", "2020-11-01", 2)
    res = ingest(lake, str(whole))
    assert res.status == "published" and res.kinds == {"2020-11-01": "new", "2020-11-02": "new"}
    file_rows = pq.ParquetFile(whole / "events_20201102.parquet").metadata.num_rows
    unsplit = counts(lake, "2020-11-02")
    assert unsplit == (file_rows, file_rows)  # a sample without quirks: no duplicates, nothing quarantined

    parts = tmp_path / "parts"
    parts.mkdir()
    shutil.copy(whole / "events_20201101.parquet", parts)
    names = split(whole / "events_20201102.parquet", parts, "events_20201102", 3)
    res = ingest(lake, str(parts))
    # the unchanged day is a no-op; the split day's part set is a new version of the day (a restatement)
    assert res.status == "published" and res.kinds == {"2020-11-02": "restatement"}
    assert res.rows == {"2020-11-02": file_rows}
    assert counts(lake, "2020-11-02") == unsplit
    assert (
        scalar(
            lake,
            "SELECT count(DISTINCT _source_file) FROM bronze.events WHERE _shard_date = DATE '2020-11-02'",
        )
        == 3
    )
    file_name, landing_uri, rows, kind = manifest(lake, "2020-11-02")
    assert (file_name, rows, kind) == (",".join(names), file_rows, "restatement")
    assert landing_uri.endswith("/")  # the folder of the day's landed parts

    again = ingest(lake, str(parts))  # the same part set: nothing to do
    assert again.status == "noop"

    # reprocessing from the landed originals reads every part back from the object store
    again = rerun(lake, date(2020, 11, 2), date(2020, 11, 2))
    assert again.status == "published" and again.rows == {"2020-11-02": file_rows}
    assert counts(lake, "2020-11-02") == unsplit


def test_intraday_day_is_provisional_until_the_daily_table_replaces_it(lake, tmp_path):
    daily = sample(tmp_path / "daily", "2020-11-03", 1) / "events_20201103.parquet"
    full = pq.read_table(daily)
    src = tmp_path / "src"
    src.mkdir()
    partial = full.slice(0, full.num_rows * 7 // 10)  # the day so far, as the streaming table has it
    pq.write_table(partial.slice(0, 600), src / "events_intraday_20201103-000000000000.parquet")
    pq.write_table(partial.slice(600), src / "events_intraday_20201103-000000000001.parquet")

    res = ingest(lake, str(src))
    assert res.status == "published" and res.kinds == {"2020-11-03": "intraday"}
    assert counts(lake, "2020-11-03") == (partial.num_rows, partial.num_rows)
    assert manifest(lake, "2020-11-03")[3] == "intraday"

    shutil.copy(daily, src)  # the daily table arrives; GA4 may not have dropped the intraday one yet
    notes: list[str] = []
    res = ingest(lake, str(src), progress=notes.append)
    assert res.status == "published" and res.kinds == {"2020-11-03": "restatement"}
    assert any(
        "intraday" in n and "ignored" in n and "events_intraday_20201103-000000000000" in n for n in notes
    )
    assert counts(lake, "2020-11-03") == (full.num_rows, full.num_rows)
    file_name, _, rows, _ = manifest(lake, "2020-11-03")
    assert (file_name, rows) == ("events_20201103.parquet", full.num_rows)

    # intraday files alone never replace a day loaded from its daily table
    (src / "events_20201103.parquet").unlink()
    notes = []
    res = ingest(lake, str(src), progress=notes.append)
    assert res.status == "noop"
    assert any("loaded from its daily export" in n for n in notes)
    assert counts(lake, "2020-11-03") == (full.num_rows, full.num_rows)


def test_unrecognised_file_fails_naming_it_and_main_is_unchanged(lake, nessie, tmp_path):
    src = sample(tmp_path / "stray", "2020-11-04", 1)
    (src / "notes.txt").write_text("export notes")
    pq.write_table(pq.read_table(src / "events_20201104.parquet"), src / "events_2020-11-04.parquet")
    head = nessie.get_reference(lake.lake_branch).hash
    refs = {r.name for r in nessie.list_references()}
    with pytest.raises(LandingError) as err:
        ingest(lake, str(src))
    assert str(src / "notes.txt") in str(err.value)
    assert str(src / "events_2020-11-04.parquet") in str(err.value)
    assert nessie.get_reference(lake.lake_branch).hash == head
    assert {r.name for r in nessie.list_references()} == refs
    assert counts(lake, "2020-11-04") == (0, 0)
