"""The bench's dashboard section: which measures a run takes, what it keeps, where its load's lock lives."""

from __future__ import annotations

import dataclasses

import pytest
from benchmarks import harness as bench

from ga4lake.config import load_settings
from ga4lake.lake.privacy import pii_key
from ga4lake.load.lock import LOCK_FILE


@pytest.fixture
def settings(tmp_path):
    return dataclasses.replace(load_settings(), state_dir=tmp_path / "stack", lake_branch="bench_dash4_x")


def test_dashboard_scales_parses_one_or_both_in_order():
    assert bench.dashboard_scales("1,4") == (1, 4)
    assert bench.dashboard_scales("4") == (4,)
    assert bench.dashboard_scales("4,1,4") == (1, 4)


@pytest.mark.parametrize("bad", ["", "2", "1,8", ","])
def test_dashboard_scales_refuses_other_values(bad):
    with pytest.raises(SystemExit, match="--dashboard-scales"):
        bench.dashboard_scales(bad)


def test_a_scale4_only_run_keeps_the_previous_scale1_figure():
    before = {"scale1": {"days": 92, "seconds": {"median": 4.84}}, "scale4": {"days": 14, "old": True}}
    after = bench.merge_dashboard(before, {"scale4": {"days": 14, "seconds": {"median": 6.0}}})
    assert after["scale1"] == before["scale1"]
    assert after["scale4"] == {"days": 14, "seconds": {"median": 6.0}}
    assert bench.merge_dashboard(None, {"scale1": {"days": 92}}) == {"scale1": {"days": 92}}


def test_private_state_moves_the_load_lock_but_keeps_the_stack_pii_key(settings, tmp_path):
    stack_key = pii_key(dataclasses.replace(settings, pii_salt=""))  # generated once in the stack's state
    private = bench.private_state(dataclasses.replace(settings, pii_salt=""), tmp_path / "private")
    assert private.run_dir / LOCK_FILE == tmp_path / "private" / "run" / LOCK_FILE
    assert private.lake_branch == settings.lake_branch and private.pg_gold_schema == settings.pg_gold_schema
    assert pii_key(private) == stack_key  # bronze hashes user ids as a load in the stack's state would
    assert not (tmp_path / "private" / "secrets").exists()  # no second key was generated


def test_private_state_keeps_a_configured_salt(settings, tmp_path):
    s = dataclasses.replace(settings, pii_salt="s" * 32)
    assert bench.private_state(s, tmp_path / "p").pii_salt == "s" * 32


def test_render_has_a_row_per_dashboard_scale_measured():
    timing = {
        "seconds": {"median": 5.5, "min": 5.1, "max": 6.2, "runs": 3},
        "charts": 12,
        "data_requests": 12,
    }
    results = {
        "dashboard": {
            "scale1": {**timing, "days": 92, "sessions": 365561, "load_average": [4.0, 5.0]},
            "scale4": {**timing, "days": 14, "sessions": 230000, "load_average": [3.0, 4.0]},
        }
    }
    text = bench.render(results)
    assert "| dashboard render, 92 days at scale 1 (365561 sessions)" in text
    row4 = next(ln for ln in text.splitlines() if "14 days at scale 4 (230000 sessions)" in ln)
    assert "| 5.5 s | 5.1–6.2 | 3 |" in row4 and "load average 3.0 before, 4.0 after" in row4
