"""The ``sample`` command: arguments, outputs, atomic writes, determinism, progress, S3 upload."""

from __future__ import annotations

import argparse
import hashlib
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

import ga4lake.sample as sample
from ga4lake.sample import cli, writers
from ga4lake.sample.generator import SampleConfig, SampleGenerator

SMALL = ["--days", "2", "--scale", "0.01"]


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize(
    "args, problem",
    [
        (["--format", "csv"], "--format"),
        (["--scale", "-1"], "--scale"),
        (["--scale", "0"], "--scale"),
        (["--scale", "nan"], "--scale"),
        (["--days", "0"], "date range is empty"),
        (["--days", "two"], "--days"),
        (["--start", "2020-13-01"], "--start"),
        (["--late-days", "5"], "--late-days"),
        (["--duplicates", "1.5"], "--duplicates"),
        (["--consent-denied", "-0.1"], "--consent-denied"),
        (["--bad-rows", "x"], "--bad-rows"),
        (["--seed", "-3"], "--seed"),
        (["--bogus"], "unrecognized arguments"),
    ],
)
def test_bad_arguments_fail_with_one_line(tmp_path: Path, capsys: Any, args: list[str], problem: str) -> None:
    out = tmp_path / "out"
    assert cli.main(["--out", str(out), *SMALL, *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ga4lake sample: error: ") and problem in err[0]
    assert not out.exists()


def test_missing_out_is_one_line(capsys: Any) -> None:
    assert cli.main(SMALL) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--out" in err[0]


def test_unwritable_output_fails_with_one_line(tmp_path: Path, capsys: Any) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    assert cli.main(["--out", str(blocker / "sub"), *SMALL]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not writable" in err[0] and str(blocker / "sub") in err[0]


def test_interrupted_write_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    calls = {"n": 0}
    real = writers.pq.write_table

    def flaky(table: Any, where: Any, **kw: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            where.write(b"PAR1 half a file")
            raise OSError(28, "No space left on device")
        real(table, where, **kw)

    monkeypatch.setattr(writers.pq, "write_table", flaky)
    assert cli.main(["--out", str(tmp_path), *SMALL]) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["events_20201101.parquet"]
    assert "No space left on device" in capsys.readouterr().err


def test_progress_and_summary_on_stderr(tmp_path: Path, capsys: Any) -> None:
    assert cli.main(["--out", str(tmp_path), *SMALL]) == 0
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3
    assert "day   1/2 2020-11-01" in lines[0] and "rows" in lines[0]
    assert lines[-1].startswith("ga4lake sample: wrote 2 days, ") and " rows in " in lines[-1]


@pytest.mark.parametrize("fmt", ["parquet", "avro", "ndjson"])
def test_same_seed_same_bytes(tmp_path: Path, fmt: str) -> None:
    for run in ("a", "b"):
        assert cli.main(["--out", str(tmp_path / run), "--format", fmt, *SMALL]) == 0
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    assert list(digest(tmp_path / "a")) == [f"events_2020110{i}{writers.FORMATS[fmt]}" for i in (1, 2)]
    assert cli.main(["--out", str(tmp_path / "c"), "--format", fmt, "--seed", "43", *SMALL]) == 0
    assert digest(tmp_path / "c") != digest(tmp_path / "a")


def test_single_day_regenerates_identically() -> None:
    cfg = SampleConfig(date(2020, 11, 1), 5, 0.02, 9)
    sequential = SampleGenerator(cfg)
    tables = [sequential.day(i) for i in range(5)]
    alone = SampleGenerator(cfg).day(3)
    assert alone.equals(tables[3])
    longer = SampleGenerator(SampleConfig(date(2020, 11, 1), 8, 0.02, 9)).day(3)
    assert longer.equals(tables[3])  # the window's end does not change earlier days


def test_register_adds_the_subcommand(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser(prog="ga4lake")
    sub = parser.add_subparsers(dest="command")
    sample.register(sub)
    args = parser.parse_args(["sample", "--out", str(tmp_path), "--days", "1", "--scale", "0.01", "--drift"])
    assert args.command == "sample" and args.drift is True
    assert args.func(args) == 0
    assert (tmp_path / "events_20201101.parquet").exists()


def test_s3_output_uploads_each_day(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    uploaded: list[tuple[str, str, int]] = []

    class FakeS3:
        def upload_file(self, filename: str, bucket: str, key: str) -> None:
            uploaded.append((bucket, key, pq.read_metadata(filename).num_rows))

    monkeypatch.setattr(cli, "s3_client", lambda: FakeS3())
    assert cli.main(["--out", "s3://lake/raw/ga4/", *SMALL]) == 0
    assert [(b, k) for b, k, _ in uploaded] == [
        ("lake", "raw/ga4/events_20201101.parquet"),
        ("lake", "raw/ga4/events_20201102.parquet"),
    ]
    assert all(n > 0 for *_, n in uploaded)
    assert writers.split_s3_url("s3://bucket") == ("bucket", "")
    with pytest.raises(ValueError):
        writers.split_s3_url("s3:///x")


def test_s3_client_uses_the_lake_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GA4LAKE_S3_ENDPOINT", "http://127.0.0.1:9000")
    monkeypatch.setenv("GA4LAKE_S3_ACCESS_KEY", "key")
    monkeypatch.setenv("GA4LAKE_S3_SECRET_KEY", "secret")
    client = writers.s3_client()
    assert client.meta.endpoint_url == "http://127.0.0.1:9000"
    assert client.meta.config.s3["addressing_style"] == "path"
