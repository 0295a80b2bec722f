"""The test-only fault hook fires exactly at the named point and nowhere else; a load's start commit is
the commit its branch was created from."""

from __future__ import annotations

import pytest

from ga4lake.config import inject_fault
from ga4lake.load.plan import LoadPlan


def test_fault_fires_only_at_the_named_point():
    env = {"GA4LAKE_FAULT_AFTER": "gold.delete.dim_user"}
    with pytest.raises(RuntimeError, match="injected fault after gold.delete.dim_user"):
        inject_fault("gold.delete.dim_user", env)
    inject_fault("bronze.manifest", env)  # another point: nothing happens
    inject_fault("gold.delete.dim_user", {})  # config/defaults.env leaves it empty: nothing happens


def test_plan_start_commit_is_the_commit_the_branch_starts_from():
    plan = LoadPlan(
        load_id="load_x",
        branch="load_x",
        target="main",
        main_before="abc123",
        kinds={},
        staged={},
        ingested_at="",
    )
    assert plan.start_commit == "abc123"
