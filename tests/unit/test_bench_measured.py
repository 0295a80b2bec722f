"""BENCHMARKS.md dates every figure by the run that measured it, not by the last `make bench` of any section."""

from __future__ import annotations

from benchmarks import harness


def _results() -> dict:
    return {
        "machine": {"commit": "old1234", "date": "2026-11-27"},
        "day": {"seconds": {}},
        "dashboard": {"scale1": {"days": 92}, "scale4": {"days": 14}},
    }


def test_figures_without_a_date_take_the_previous_runs_commit():
    res = _results()
    harness.keep_measured_at(res)
    assert res["day"]["measured"] == {"commit": "old1234", "date": "2026-11-27"}
    assert res["dashboard"]["scale4"]["measured"] == {"commit": "old1234", "date": "2026-11-27"}
    assert "measured" not in res["dashboard"]  # the dashboard's scales are dated one by one


def test_a_run_dates_only_what_it_measured():
    res = _results()
    harness.keep_measured_at(res)
    res["machine"] = {"commit": "new5678", "date": "2026-12-07"}
    harness.stamp_measured(res, "dashboard", {"scale4": {}})
    assert res["dashboard"]["scale4"]["measured"]["commit"] == "new5678"
    assert res["dashboard"]["scale1"]["measured"]["commit"] == "old1234"
    harness.stamp_measured(res, "day", {})
    line = harness.measured_line(res)
    assert (
        line
        == "commit new5678 (2026-12-07): day, dashboard scale4; commit old1234 (2026-11-27): dashboard scale1"
    )


def test_the_committed_results_render_with_their_dates():
    import json

    res = json.loads(harness.RESULTS.read_text())
    harness.keep_measured_at(res)
    head = harness.render(res).splitlines()[2]
    assert head.startswith("Machine: ") and "Measured at commit " in head
