"""Machine-readable output (`--format json`) of the inspection commands, and the one-line message of
`ga4lake report` before anything is loaded — against the running stack."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import date

import pytest

from ga4lake import cli
from ga4lake.config import Settings
from ga4lake.errors import ExitCode
from ga4lake.report import build_report

pytestmark = pytest.mark.integration


def _json(capsys, *argv: str):
    capsys.readouterr()
    assert cli.main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_stack_status_json_lists_every_service(stack: Settings, capsys) -> None:
    rows = _json(capsys, "stack", "status", "--format", "json")
    services = {r["service"]: r for r in rows}
    assert {"postgres", "s3", "nessie", "trino"} <= services.keys()
    assert all(services[s]["port"] == getattr(stack.ports, s) for s in ("postgres", "nessie", "trino"))


def test_branches_and_history_json(stack: Settings, capsys) -> None:
    branches = _json(capsys, "branches", "--all", "--format", "json")
    assert any(b["name"] == "main" and b["type"] == "BRANCH" and len(b["hash"]) == 12 for b in branches)
    history = _json(capsys, "history", "--limit", "3", "--format", "json")
    assert 1 <= len(history) <= 3 and all(len(c["commit"]) == 12 and "time" in c for c in history)


def test_load_list_json(stack: Settings, capsys) -> None:
    loads = _json(capsys, "load", "list", "--format", "json")
    assert isinstance(loads, list)
    assert all({"load_id", "phase", "days", "error"} <= row.keys() for row in loads)


def test_report_json_is_the_report(demo_gold: Settings, capsys) -> None:
    start, end = date(2020, 12, 1), date(2020, 12, 31)
    out = _json(capsys, "report", "--start", str(start), "--end", str(end), "--format", "json")
    expected = json.loads(json.dumps(dataclasses.asdict(build_report(demo_gold, start, end)), default=str))
    assert out == expected and out["sessions"] > 0 and len(out["funnel"]) == 8


def test_report_before_any_load_is_one_line(stack: Settings, capsys, monkeypatch) -> None:
    monkeypatch.setenv("GA4LAKE_PG_GOLD_SCHEMA", f"itest_empty_{uuid.uuid4().hex[:8]}")
    capsys.readouterr()
    assert cli.main(["report"]) == ExitCode.USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no gold tables" in err[0] and "make demo" in err[0]


def test_validate_json_has_the_parity_checks(demo_gold: Settings, capsys) -> None:
    capsys.readouterr()
    argv = ["validate", "--skip-dbt", "--models", "fct_ga4__sessions", "--no-store", "--format", "json"]
    assert cli.main(argv) == 0
    out = json.loads(capsys.readouterr().out)  # stdout is exactly one JSON document
    assert out["status"] == "passed" and out["problems"] == [] and out["dbt"] == []
    (check,) = out["parity"]["checks"]
    assert check["model"] == "fct_ga4__sessions" and check["gold_table"] == "fact_sessions"
    assert check["passed"] and check["gold"] == check["reference"] > 0


def test_sync_json_counts_every_gold_table(demo_gold: Settings, capsys, monkeypatch) -> None:
    """Synced into a throw-away schema, so the real gold is not touched."""
    import psycopg2

    from ga4lake.gold.models import GOLD_TABLES

    scratch = f"itest_sync_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("GA4LAKE_PG_GOLD_SCHEMA", scratch)
    try:
        rows = _json(capsys, "sync", "--format", "json")
        counts = {r["table"]: r["rows_in_postgres"] for r in rows}
        assert set(counts) == set(GOLD_TABLES) and counts["fact_sessions"] > 0
        conn = psycopg2.connect(demo_gold.pg_dsn())
        with conn, conn.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM {scratch}.fact_sessions")
            assert cur.fetchone()[0] == counts["fact_sessions"]
        conn.close()
    finally:
        conn = psycopg2.connect(demo_gold.pg_dsn())
        with conn, conn.cursor() as cur:
            cur.execute(f"DROP SCHEMA IF EXISTS {scratch} CASCADE")
        conn.close()
