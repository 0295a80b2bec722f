"""What the Airflow tasks decide before any service is touched: windows, sources, overrides, step errors."""

from __future__ import annotations

from datetime import date

import pytest

from ga4lake.orchestrate import (
    DailySchedule,
    StepFailed,
    Window,
    daily_schedule,
    export_source,
    overrides,
    run_dbt,
    run_step,
    window,
)


def test_daily_run_loads_its_logical_date_with_the_restatement_window_and_catchup():
    w = window({}, date(2020, 11, 5), catchup_days=31)
    assert w == Window(date(2020, 11, 5), None, None, 31)
    assert w.cli_args() == ["--day", "2020-11-05", "--restatement-days", "3", "--catchup-days", "31"]


def test_daily_schedule_from_config_and_run_conf():
    env = {
        "GA4LAKE_EXPORT_POKE_SECONDS": "300",
        "GA4LAKE_EXPORT_WAIT_HOURS": "36",
        "GA4LAKE_INGEST_CATCHUP_DAYS": "31",
    }
    assert daily_schedule({}, env) == DailySchedule(300.0, 36 * 3600.0, 31)
    conf = {"export_poke_seconds": 5, "export_wait_seconds": 90, "catchup_days": 0}
    assert daily_schedule(conf, env) == DailySchedule(5.0, 90.0, 0)  # tests wait seconds, not hours
    assert daily_schedule({}, {}) == DailySchedule(300.0, 36 * 3600.0, 31)  # the documented defaults


@pytest.mark.parametrize(
    "conf", [{"export_poke_seconds": "soon"}, {"export_wait_seconds": -1}, {"catchup_days": -2}]
)
def test_bad_wait_settings_are_refused(conf):
    with pytest.raises(ValueError):
        daily_schedule(conf, {})


def test_backfill_conf_is_one_range_mode_run():
    w = window({"start": "2020-11-01", "end": "2021-01-31"}, date(2026, 1, 1))
    assert w == Window(None, date(2020, 11, 1), date(2021, 1, 31))
    assert w.cli_args() == ["--start", "2020-11-01", "--end", "2021-01-31"]


def test_conf_day_wins_over_a_missing_logical_date():
    assert window({"day": "2020-12-24"}, None).day == date(2020, 12, 24)


@pytest.mark.parametrize(
    "conf",
    [{"start": "2020-11-01"}, {"end": "2020-11-01"}, {"start": "2020-11-05", "end": "2020-11-01"}],
)
def test_bad_backfill_conf_is_refused(conf):
    with pytest.raises(ValueError):
        window(conf, None)


def test_no_date_at_all_is_refused():
    with pytest.raises(ValueError, match="nothing to load"):
        window({}, None)


def test_export_source_from_conf_then_env_then_bucket(monkeypatch):
    assert export_source({"source": "/data/export"}) == "/data/export"
    monkeypatch.setenv("GA4LAKE_EXPORT_SOURCE", "s3://drop/ga4/")
    assert export_source({}) == "s3://drop/ga4/"
    monkeypatch.delenv("GA4LAKE_EXPORT_SOURCE")
    monkeypatch.setenv("GA4LAKE_S3_BUCKET", "lakebucket")
    assert export_source(None) == "s3://lakebucket/exports/"


def test_only_known_overrides_travel_with_a_run():
    conf = {
        "lake_branch": "itest_x",
        "pg_gold_schema": "itest_gold",
        "source": "/x",
        "evil": "y",
        "start": "2020",
    }
    assert overrides(conf) == {"lake_branch": "itest_x", "pg_gold_schema": "itest_gold"}


def test_a_failing_step_raises_with_its_own_message(tmp_path):
    with pytest.raises(StepFailed) as err:
        run_step(
            ["load", "open", "--from", str(tmp_path / "nope"), "--start", "2020-11-01", "--end", "2020-11-02"]
        )
    assert err.value.code == 2
    assert "no such file or directory" in str(err.value)


@pytest.mark.parametrize(
    ("conf", "expected"),
    [
        ({}, True),
        (None, True),
        ({"dbt": True}, True),
        ({"dbt": False}, False),
        ({"dbt": "false"}, False),
        ({"dbt": "Off"}, False),
        ({"dbt": "1"}, True),
    ],
)
def test_run_conf_dbt_decides_the_validation_dbt_build(conf, expected):
    assert run_dbt(conf) is expected


def test_run_conf_dbt_that_is_not_a_boolean_names_the_key():
    with pytest.raises(ValueError, match="run conf dbt must be true or false, not 'maybe'"):
        run_dbt({"dbt": "maybe"})
