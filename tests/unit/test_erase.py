"""The pure parts of `ga4lake erase`: which ids are accepted, how a user's rows are found, the report."""

from __future__ import annotations

from datetime import date

import pytest

from ga4lake.lake.silver import build_silver
from ga4lake.load.erase import (
    Erasure,
    ErasureError,
    check_user_pseudo_id,
    gold_user_filter,
    render,
    user_keys,
)
from tests.unit.test_silver import bronze, event


@pytest.mark.parametrize("uid", ["1005694.5834348403", "ab12CD34ef", "app:instance-1_2"])
def test_real_ids_are_accepted(uid):
    assert check_user_pseudo_id(uid) == uid


@pytest.mark.parametrize("uid", ["", "x' OR '1'='1", "a b", "a;b", "x" * 201])
def test_anything_that_could_leave_a_sql_literal_is_refused(uid):
    with pytest.raises(ErasureError, match="not a user_pseudo_id"):
        check_user_pseudo_id(uid)


def test_user_keys_and_gold_filters(spark):
    silver = build_silver(
        bronze(
            spark,
            [
                event(user="u1", sid=1, ts=1_604_217_600_000_001),
                event(user="u1", sid=2, ts=1_604_217_600_000_002),
                event(user="u2", sid=3, ts=1_604_217_600_000_003),
            ],
        )
    ).events
    keys, days = user_keys(silver, "u1")
    assert days == [date(2020, 11, 1)]
    assert len(keys["client_key"]) == 1 and len(keys["session_key"]) == 2
    by_pseudo = spark.createDataFrame([("u1", 1), ("u2", 2)], "user_pseudo_id string, n int")
    assert by_pseudo.where(gold_user_filter(by_pseudo, keys)).count() == 1
    by_session = silver.select("session_key", "event_name")
    assert by_session.where(gold_user_filter(by_session, keys)).count() == 2
    aggregate = spark.createDataFrame([(date(2020, 11, 1), 3)], "event_date date, sessions int")
    assert gold_user_filter(aggregate, keys) is None  # no user column: recomputed, not filtered
    # a user without sessions matches nothing by session key
    none = {**keys, "session_key": []}
    assert by_session.where(gold_user_filter(by_session, none)).count() == 0


def test_render_says_what_was_removed_and_what_was_not():
    result = Erasure(
        "erase_x",
        "erased",
        days=[date(2020, 11, 1)],
        removed={"bronze.events": 5, "gold.dim_user": 1},
        recomputed=["agg_funnel_daily"],
        postgres_left={"dim_user": 0},
        main_before="a" * 40,
        main_after="b" * 40,
        landing_files=["s3://b/landing/ga4/events_20201101/x/events_20201101.parquet"],
        other_refs=["load_kept"],
    )
    text = render(result, "1.2")
    assert "removed        5 row(s) from bronze.events" in text
    assert "gold.agg_funnel_daily" in text and "0 row(s) of the user left" in text
    assert "NOT erased: 1 landed original" in text and "load_kept" in text
    dry = render(Erasure("erase_y", "dry-run", removed={"silver.events": 2}), "1.2")
    assert "would remove" in dry
