"""Statistical shape of a reduced-scale run against the public sample's figures (docs/ga4-export.md).

Scale 0.1 over the sample's 92 days (~430 k events, ~3 s). Counts are compared after dividing by
the scale; bands are ±10 % relative unless a figure is too rare at this scale to be that precise.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import numpy as np
import pytest

from ga4lake.sample import plan as plan_mod
from ga4lake.sample.generator import SampleConfig, SampleGenerator
from ga4lake.sample.stats import slim, summarize

SCALE = 0.1
# event name -> (events, users) in the sample
EVENTS: dict[str, tuple[int, int]] = {
    "page_view": (1_350_428, 269_792),
    "user_engagement": (1_058_721, 213_004),
    "scroll": (493_072, 138_098),
    "view_item": (386_068, 61_252),
    "session_start": (354_970, 267_116),
    "first_visit": (257_462, 257_314),
    "view_promotion": (190_104, 102_443),
    "add_to_cart": (58_543, 12_545),
    "begin_checkout": (38_757, 9_715),
    "select_item": (31_007, 13_180),
    "view_search_results": (26_172, 14_449),
    "add_shipping_info": (19_722, 9_714),
    "add_payment_info": (13_899, 5_751),
    "select_promotion": (9_450, 8_164),
    "purchase": (5_692, 4_419),
    "click": (1_446, 1_010),
    "view_item_list": (71, 44),
}
TOTAL_EVENTS, USERS, SESSIONS = 4_295_584, 270_154, 360_129


def near(actual: float, target: float, rel: float = 0.10) -> bool:
    return abs(actual - target) <= rel * abs(target)


@pytest.fixture(scope="module")
def summary() -> dict[str, Any]:
    gen = SampleGenerator(SampleConfig(date(2020, 11, 1), 92, SCALE, 42))
    return summarize(slim(gen.day(i)) for i in range(92))


def test_headline_counts_and_ratios(summary: dict[str, Any]) -> None:
    assert summary["days"] == 92
    assert near(summary["events"] / SCALE, TOTAL_EVENTS)
    assert near(summary["users"] / SCALE, USERS)
    assert near(summary["sessions"] / SCALE, SESSIONS)
    assert near(summary["events_per_user"], 15.9)
    assert near(summary["events_per_session"], 11.93)
    assert near(summary["sessions_per_user"], 1.333)
    assert near(summary["single_session_user_share"], 0.8247, 0.05)
    assert near(summary["new_users"] / SCALE, 257_314)


def test_event_names_shares_and_users(summary: dict[str, Any]) -> None:
    assert set(summary["event_count"]) <= set(EVENTS)
    assert len(summary["event_count"]) >= 16  # view_item_list is ~7 events at this scale
    for name, (events, users) in EVENTS.items():
        share = events / TOTAL_EVENTS
        if events < 5_000:  # rare at scale 0.1: only the order of magnitude
            assert summary["event_count"].get(name, 0) / SCALE <= 3 * events
            continue
        rel = 0.10 if events >= 30_000 else 0.2
        assert near(summary["event_share"][name], share, rel), name
        assert near(summary["event_users"][name] / SCALE, users, 0.2), name


def test_daily_curve(summary: dict[str, Any]) -> None:
    daily = summary["daily_events"]
    assert len(daily) == 92
    assert "20201201" <= summary["max_day"] <= "20201210"  # early-December peak (2020-12-08)
    assert "20201224" <= summary["min_day"] <= "20210101"  # Christmas trough (2020-12-25)
    weekday = [v for k, v in daily.items() if datetime.strptime(k, "%Y%m%d").weekday() < 4]
    weekend = [v for k, v in daily.items() if datetime.strptime(k, "%Y%m%d").weekday() >= 5]
    assert np.mean(weekday) > 1.2 * np.mean(weekend)
    assert near(daily["20201208"] / SCALE, 92_199, 0.2)
    assert near(daily["20201101"] / SCALE, 31_272, 0.2)


def test_device_geo_and_traffic_sources(summary: dict[str, Any]) -> None:
    dev = summary["device_share"]
    assert near(dev["desktop"], 0.5816) and near(dev["mobile"], 0.3967) and near(dev["tablet"], 0.0217, 0.25)
    countries = list(summary["country_session_share"])
    assert countries[:3] == ["United States", "India", "Canada"]
    assert near(summary["country_session_share"]["United States"], 158_155 / SESSIONS)
    assert near(summary["country_session_share"]["India"], 33_769 / SESSIONS, 0.15)
    sm = summary["source_medium_session_share"]
    for key, share in {
        "google / organic": 0.3129,
        "(direct) / (none)": 0.2317,
        "<Other> / <Other>": 0.1446,
        "<Other> / referral": 0.0963,
        "shop.googlemerchandisestore.com / referral": 0.0801,
        "(data deleted) / (data deleted)": 0.0617,
        "google / cpc": 0.0434,
    }.items():
        assert near(sm[key], share, 0.15), key
    assert near(summary["source_param_event_share"], 1_439_214 / TOTAL_EVENTS)
    assert near(summary["gclid_events"] / SCALE, 118_481, 0.25)
    assert near(summary["engaged_session_share"], 320_096 / SESSIONS, 0.05)


def test_funnel(summary: dict[str, Any]) -> None:
    users = summary["funnel_users"]
    for step, target in zip(
        ("view_item", "add_to_cart", "begin_checkout", "add_shipping_info", "add_payment_info", "purchase"),
        (61_252, 12_545, 9_715, 9_714, 5_751, 4_419),
        strict=True,
    ):
        assert near(users[step] / SCALE, target, 0.15), step
    closed = summary["closed_session_funnel"]
    assert near(closed["view_item"] / summary["sessions"], 77_020 / SESSIONS)
    assert near(closed["add_to_cart"] / closed["view_item"], 15_173 / 77_020, 0.15)
    assert near(closed["begin_checkout"] / closed["add_to_cart"], 5_959 / 15_173, 0.15)
    assert near(closed["purchase"] / closed["begin_checkout"], 2_573 / 5_959, 0.2)
    assert near(summary["purchase_sessions"] / summary["sessions"], 4_446 / SESSIONS, 0.15)


def test_purchases_and_revenue(summary: dict[str, Any]) -> None:
    p = summary["purchase"]
    assert near(p["events"] / SCALE, 5_692, 0.15)
    assert near(p["txn_not_set"] / p["events"], 883 / 5_692, 0.3)
    assert near(p["revenue_null"] / p["events"], 450 / 5_692, 0.3)
    assert p["repeated_keys"] > 0  # repeated purchase events of one transaction
    assert near(p["revenue_usd_sum"] / SCALE, 362_165, 0.2)
    assert near(summary["item_rows"] / SCALE, 3_982_732)


def test_retention(summary: dict[str, Any]) -> None:
    r = summary["retention"]
    assert 0.039 <= r["D1"] <= 0.054  # sample: 4.63 %
    assert 0.0045 <= r["D7"] <= 0.0095  # sample: 0.71 %
    assert 0.0004 <= r["D30"] <= 0.0030  # sample: 0.13 %


def test_session_semantics(summary: dict[str, Any]) -> None:
    assert summary["midnight_sessions"] > 0
    assert summary["shared_timestamp_events"] > 0.1 * summary["events"]
    assert summary["session_start_minus_sessions"] < 0  # some sessions have no session_start


@pytest.fixture(scope="module")
def full_plan() -> plan_mod.Plan:
    """Rare quirks need the full-scale population; the plan alone builds in well under a second."""
    return plan_mod.build_plan(date(2020, 11, 1), 92, 1.0, 42)


def test_transaction_id_quirks_at_full_scale(full_plan: plan_mod.Plan) -> None:
    pl = full_plan
    kind = pl.o_kind
    events = pl.o_events.astype(int)
    assert near(events.sum(), 5_692, 0.1)
    assert near(events[kind == 1].sum(), 883, 0.2)  # "(not set)"
    assert 5 <= events[kind == 2].sum() <= 80  # NULL transaction_id (sample: 23)
    assert near(int((events[kind == 0] - 1).sum()), 320, 0.25)  # repeated purchase events
    real = pl.o_txn[kind == 0]
    owners = np.repeat(pl.s_user[np.arange(pl.n_sessions)], np.diff(pl.s_order_start))[kind == 0]
    shared = {t for t in np.unique(real) if np.unique(owners[real == t]).size > 1}
    assert 3 <= len(shared) <= 40  # sample: 15 ids used by two users
    assert near(np.isnan(pl.o_revenue).astype(int) @ events, 450, 0.25)


def test_ga_session_id_is_start_second_and_not_unique(full_plan: plan_mod.Plan) -> None:
    pl = full_plan
    sid = pl.s_start // 1_000_000
    _, counts = np.unique(sid, return_counts=True)
    assert (counts > 1).sum() > 1_000  # sample: 9,906 ids shared by more than one user
    assert np.all(sid >= pl.bounds[0] // 1_000_000)
