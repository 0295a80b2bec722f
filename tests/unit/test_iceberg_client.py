"""The pure parts of the pyiceberg client: Nessie reference prefixes and snapshot summaries."""

from __future__ import annotations

import pytest

from ga4lake.cli import build_parser
from ga4lake.clients.iceberg import match_hash, rest_prefix, split_ref, summarize
from ga4lake.errors import UserError

FULL = "80a3956543effae5265e272a19c37f42f556d3d8e10e7bc082add21688e96041"


def test_split_ref_branch_commit_and_bare_hash():
    assert split_ref("main", "main") == ("main", None)
    assert split_ref("load_20201101_x", "main") == ("load_20201101_x", None)
    assert split_ref("dev@80a3956543ef", "main") == ("dev", "80a3956543ef")
    assert split_ref("80a3956543ef", "lake") == ("lake", "80a3956543ef")
    assert split_ref("@80a3956543ef", "lake") == ("lake", "80a3956543ef")


def test_split_ref_rejects_a_bad_hash():
    with pytest.raises(UserError, match="not a commit hash"):
        split_ref("main@nothex", "main")


def test_match_hash_expands_a_unique_prefix():
    other = "9aa4c6520da8" + "0" * 52
    assert match_hash([other, FULL], "80a3956543ef", "main") == FULL


def test_match_hash_names_missing_and_ambiguous_prefixes():
    with pytest.raises(UserError, match="no commit 1234abcd on main"):
        match_hash([FULL], "1234abcd", "main")
    with pytest.raises(UserError, match="ambiguous"):
        match_hash([FULL, "80a39565" + "1" * 56], "80a39565", "main")


def test_rest_prefix():
    assert rest_prefix("main") == "main"
    assert rest_prefix("main", FULL) == f"main@{FULL}"


def test_summarize_reads_iceberg_total_counters():
    s = summarize(
        "silver.events",
        snapshot_id=42,
        timestamp_ms=1_607_000_000_123,
        summary={
            "operation": "overwrite",
            "total-records": "2095",
            "total-data-files": "2",
            "total-files-size": "186100",
            "added-records": "10",
        },
    )
    assert (s.rows, s.data_files, s.bytes, s.snapshot_id) == (2095, 2, 186100, 42)
    assert s.committed_at == "2020-12-03T12:53:20.123+00:00"
    assert s.operation == "overwrite"
    assert list(s.row()) == [
        "table",
        "rows",
        "data_files",
        "bytes",
        "snapshot_id",
        "committed_at",
        "operation",
    ]


def test_summarize_a_table_without_snapshot_is_all_none():
    s = summarize("gold.dim_page", None, None, {})
    assert s.row() == {
        "table": "gold.dim_page",
        "rows": None,
        "data_files": None,
        "bytes": None,
        "snapshot_id": None,
        "committed_at": None,
        "operation": None,
    }


def test_tables_command_parses():
    args = build_parser().parse_args(["tables", "--ref", "main@80a3956543ef", "--format", "json"])
    assert (args.ref, args.format, args.func.__name__) == ("main@80a3956543ef", "json", "cmd_tables")
    assert build_parser().parse_args(["tables"]).ref is None
