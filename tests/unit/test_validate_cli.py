"""`ga4lake validate` wiring: one report of parity and dbt, exit status from both (services stubbed)."""

from __future__ import annotations

import argparse
from collections import Counter
from datetime import UTC, date, datetime

import pytest

from ga4lake.validate import cli, dbt, parity


def _parse(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="ga4lake")
    cli.register(p.add_subparsers())
    return p.parse_args(["validate", *argv])


@pytest.fixture
def stub(monkeypatch):
    """Stub the stack: the lake spans 4 days, parity deltas and dbt outcomes are set per test."""
    state = {"gold": {pm.gold_table: 100 for pm in parity.PARITY_MODELS}, "dbt_fail": False, "calls": []}
    monkeypatch.setattr(parity, "lake_date_range", lambda s: (date(2020, 11, 1), date(2020, 11, 4)))

    def run_parity(settings, start, end, threshold, models, store=True, progress=None):
        state["calls"].append(("parity", start, end, threshold, models, store))
        rows = [
            parity.make_row(pm, 100, state["gold"][pm.gold_table], 0.5 if threshold is None else threshold)
            for pm in parity.select_models(models)
        ]
        return parity.ParityReport("r", datetime.now(UTC), start, end, threshold or 0.5, "federated", rows)

    def summary(command):
        def run(settings, **kw):
            state["calls"].append((command, kw))
            s = dbt.DbtSummary(
                command, 1 if state["dbt_fail"] else 0, 1.0, Counter({"pass": 5}), Counter({"pass": 5})
            )
            if state["dbt_fail"] and command == "build":
                s.tests["fail"] = 1
                s.failures.append(dbt.DbtFailure("test.ga4lake.not_null_x.1", "fail", "Got 1 result", 1))
            return s

        return run

    monkeypatch.setattr(parity, "run_parity", run_parity)
    monkeypatch.setattr(dbt, "build", summary("build"))
    monkeypatch.setattr(dbt, "source_freshness", summary("source freshness"))
    monkeypatch.setattr(dbt, "docs_generate", summary("docs generate"))
    return state


def test_all_good_exits_0_and_prints_both(stub, capsys):
    assert cli.run_args(_parse()) == 0
    out = capsys.readouterr().out
    assert (
        "parity passed" in out
        and "dbt build: 5 tests passed" in out
        and out.rstrip().endswith("validate: passed")
    )
    kinds = [c[0] for c in stub["calls"]]
    assert kinds == ["parity", "build", "source freshness"]
    assert stub["calls"][0][1:3] == (date(2020, 11, 1), date(2020, 11, 4))
    assert stub["calls"][2][1]["as_of"] == "2020-11-04"  # freshness measured against the lake's last day


def test_a_delta_over_the_threshold_exits_1(stub, capsys):
    stub["gold"]["dim_user"] = 99  # -1 %
    assert cli.run_args(_parse("--threshold", "0.5")) == 1
    out = capsys.readouterr().out
    assert "FAIL dim_user: gold has 1 fewer rows" in out
    assert out.rstrip().endswith("validate: FAILED — parity: dim_user")


def test_threshold_and_range_are_passed_through(stub, capsys):
    stub["gold"]["dim_user"] = 99
    assert cli.run_args(_parse("--threshold", "1", "--start", "2020-11-02", "--skip-dbt")) == 0
    assert stub["calls"] == [("parity", date(2020, 11, 2), date(2020, 11, 4), 1.0, None, True)]


def test_a_failing_dbt_test_exits_1(stub, capsys):
    stub["dbt_fail"] = True
    assert cli.run_args(_parse("--skip-parity", "--docs")) == 1
    out = capsys.readouterr().out
    assert "FAIL not_null_x (1 failing rows)" in out and "dbt build: 1 failing node(s)" in out
    assert [c[0] for c in stub["calls"]] == ["build", "source freshness", "docs generate"]


def test_models_option_and_bad_names(stub, capsys):
    assert cli.run_args(_parse("--skip-dbt", "--models", "fact_events, dim_page", "--no-store")) == 0
    assert stub["calls"][0][4:] == (["fact_events", "dim_page"], False)
    assert cli.run_args(_parse("--skip-dbt", "--models", "nope")) == 2


def test_start_after_end_exits_2(stub, capsys):
    assert cli.run_args(_parse("--start", "2020-11-05", "--end", "2020-11-01")) == 2
