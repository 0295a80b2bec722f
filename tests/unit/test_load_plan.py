"""A load's plan survives between the processes that run its steps (Airflow tasks), and open loads are
recognised — including one whose single process died."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from datetime import date

import pytest

from ga4lake.config import load_settings
from ga4lake.errors import LoadError
from ga4lake.gold.step import Scope
from ga4lake.load.plan import LoadPlan, open_plans


@pytest.fixture
def settings(tmp_path):
    return dataclasses.replace(load_settings(), state_dir=tmp_path, lake_branch="itest_plan")


def plan(load_id: str = "load_20201101_20201102_x", **kw) -> LoadPlan:
    staged = {
        d: {
            "shard_date": d,
            "name": f"events_{d.replace('-', '')}.parquet",
            "source_uri": "/x",
            "sha256": "ab",
            "size_bytes": 1,
            "rows": 10,
            "rescued_rows": 0,
            "format": "parquet",
            "landing_uri": "s3://b/k",
            "staged_path": "/tmp/x.parquet",
        }
        for d in ("2020-11-02", "2020-11-01")
    }
    base = dict(
        load_id=load_id,
        branch=load_id,
        target="itest_plan",
        main_before="abc",
        kinds={"2020-11-01": "new", "2020-11-02": "restatement"},
        staged=staged,
        ingested_at="2020-11-03T00:00:00+00:00",
    )
    return LoadPlan(**{**base, **kw})


def test_plan_round_trips_with_days_files_and_scopes(settings):
    p = plan()
    p.scopes = {
        "fact_events": {"column": "event_date", "values": ["2020-11-01"], "dates": True},
        "dim_user": {"column": None, "values": None, "dates": False},
    }
    p.save(settings)
    back = LoadPlan.read(settings, p.load_id)
    assert back == p
    assert back.days == [date(2020, 11, 1), date(2020, 11, 2)]
    assert [f.shard_date for f in back.staged_files()] == back.days
    assert back.scope_objects() == {
        "fact_events": Scope("event_date", [date(2020, 11, 1)]),
        "dim_user": Scope(None, None),
    }


def test_steps_refuse_the_wrong_phase(settings):
    p = plan(phase="bronze")
    with pytest.raises(LoadError, match="phase 'bronze'"):
        p.expect("gold")
    p.expect("bronze")


def test_unknown_load_is_a_clear_error(settings):
    with pytest.raises(LoadError, match="unknown load"):
        LoadPlan.read(settings, "load_nope")


def test_open_plans_are_those_with_an_open_branch_on_this_target(settings):
    plan("load_a", phase="silver").save(settings)
    plan("load_b", phase="published").save(settings)
    plan("load_c", phase="gold", target="main").save(settings)
    assert [p.load_id for p in open_plans(settings)] == ["load_a"]


def test_a_plan_whose_process_died_is_marked_failed_and_blocks_nothing(settings):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    plan("load_dead", phase="bronze", owner=f"cli:{int(dead.stdout)}").save(settings)
    assert open_plans(settings) == []
    back = LoadPlan.read(settings, "load_dead")
    assert back.phase == "failed" and "interrupted" in back.error and "died" in back.error
