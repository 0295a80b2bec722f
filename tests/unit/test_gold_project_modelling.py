"""ga4lake.yml's modelling keys reach gold: the source -> category CSV changes channels (sessions, session
days, traffic sources, first-touch channel of dim_user), conversions add ``<event>_count`` columns to
fact_sessions, and funnel.stages sets agg_funnel_daily's rows — in the full and the incremental build.

Fixture (UTC, one stream): client ``u.1`` has a session on 01-01 from newsite/referral that views an
item, adds it to the cart and buys twice (two transactions), and a direct session on 01-06 that views an
item and buys once; client ``u.2`` has a google/cpc session on 01-01 that adds to cart only.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pyspark.sql import functions as F

from ga4lake.gold.models import apply_delta, build_gold, build_gold_incremental
from ga4lake.project import (
    DEFAULTS,
    GA4_LAST_CLICK,
    ONCE_PER_SESSION,
    Attribution,
    Channels,
    Conversions,
    Funnel,
    Project,
)
from tests.unit.conftest import ga4_event
from tests.unit.test_gold_models import session_key

D1, D6 = date(2021, 1, 1), date(2021, 1, 6)
HOME = "https://shop.example.com/"
S1, S2, S3 = session_key("u.1", 101), session_key("u.1", 102), session_key("u.2", 201)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def fixture_rows(days: tuple[date, ...] = (D1, D6)) -> list[dict]:
    rows = []
    if D1 in days:
        u1 = {"page_location": HOME, "first_touch": ("newsite", "referral", "(referral)")}
        rows += [
            ga4_event(at(D1, 9), "session_start", "u.1", 101, 1, **u1),
            ga4_event(at(D1, 9, 1), "page_view", "u.1", 101, 1, source="newsite", medium="referral", **u1),
            ga4_event(at(D1, 9, 2), "view_item", "u.1", 101, 1, **u1),
            ga4_event(at(D1, 9, 3), "add_to_cart", "u.1", 101, 1, **u1),
            ga4_event(at(D1, 9, 4), "purchase", "u.1", 101, 1, transaction_id="t1", revenue=10.0, **u1),
            ga4_event(at(D1, 9, 5), "purchase", "u.1", 101, 1, transaction_id="t2", revenue=5.0, **u1),
            ga4_event(at(D1, 10), "session_start", "u.2", 201, 1, page_location=HOME),
            ga4_event(
                at(D1, 10, 1), "page_view", "u.2", 201, 1, page_location=HOME, source="google", medium="cpc"
            ),
            ga4_event(at(D1, 10, 2), "add_to_cart", "u.2", 201, 1, page_location=HOME),
        ]
    if D6 in days:
        u1 = {"page_location": HOME, "first_touch": ("newsite", "referral", "(referral)")}
        rows += [
            ga4_event(at(D6, 9), "session_start", "u.1", 102, 2, **u1),
            ga4_event(at(D6, 9, 1), "page_view", "u.1", 102, 2, **u1),
            ga4_event(at(D6, 9, 2), "view_item", "u.1", 102, 2, **u1),
            ga4_event(at(D6, 9, 3), "purchase", "u.1", 102, 2, transaction_id="t3", revenue=1.0, **u1),
        ]
    return rows


@pytest.fixture(scope="module")
def silver(to_silver):
    return to_silver(fixture_rows())


def by_session(df, *columns: str) -> dict:
    return {r["session_key"]: tuple(r[c] for c in columns) for r in df.collect()}


# -- channels.source_categories_csv ------------------------------------------------------------------------

OWN = Project(channels=Channels(csv_rows=(("newsite", "SOCIAL"), ("google", "SHOPPING"))))


def test_default_categories_give_the_medium_rules(silver):
    gold = build_gold(silver)
    sessions = by_session(gold["fact_sessions"], "session_source_category", "session_default_channel_group")
    assert sessions[S1] == ("(none)", "Referral")
    assert sessions[S3] == ("SEARCH", "Paid Search")


def test_csv_rows_add_and_override_categories_in_every_channel_table(silver):
    gold = build_gold(silver, project=OWN)
    sessions = by_session(gold["fact_sessions"], "session_source_category", "session_default_channel_group")
    assert sessions[S1] == ("SOCIAL", "Organic Social")  # added: newsite was unknown
    assert sessions[S3] == ("SHOPPING", "Paid Shopping")  # overridden: google was SEARCH
    days = by_session(gold["fact_session_days"], "session_default_channel_group")
    assert days[S1] == ("Organic Social",) and days[S3] == ("Paid Shopping",)
    traffic = by_session(
        gold["dim_traffic_source"], "default_channel_group", "last_non_direct_source_category"
    )
    assert traffic[S1] == ("Organic Social", "SOCIAL")
    assert traffic[S2] == ("Direct", "SOCIAL")  # inherits newsite through the look-back
    channels = {r["default_channel_group"] for r in gold["agg_traffic_source_daily"].collect()}
    assert {"Organic Social", "Paid Shopping"} <= channels
    users = {r["user_pseudo_id"]: r["first_user_default_channel_group"] for r in gold["dim_user"].collect()}
    assert users["u.1"] == "Organic Social"
    assert (
        build_gold(silver)["dim_user"]
        .where(F.col("user_pseudo_id") == "u.1")
        .first()["first_user_default_channel_group"]
        == "Referral"
    )


def test_incremental_build_uses_the_csv_rows(to_silver, silver):
    old = build_gold(to_silver(fixture_rows((D1,))), project=OWN)
    full = build_gold(silver, project=OWN)
    for only_new in (False, True):
        deltas = build_gold_incremental(silver, [D6], prior=old, only_new_days=only_new, project=OWN)
        for table, cols in [
            ("fact_sessions", ("session_default_channel_group",)),
            ("dim_traffic_source", ("last_non_direct_source_category",)),
        ]:
            merged = apply_delta(old[table], deltas[table])
            assert by_session(merged, *cols) == by_session(full[table], *cols), table
        users = apply_delta(old["dim_user"], deltas["dim_user"])
        got = {r["user_pseudo_id"]: r["first_user_default_channel_group"] for r in users.collect()}
        assert got == {"u.1": "Organic Social", "u.2": "Direct"}  # u.2 has no first-touch source


# -- conversions --------------------------------------------------------------------------------------------


def test_default_conversion_is_purchase_once_per_event(silver):
    sessions = build_gold(silver)["fact_sessions"]
    assert sessions.columns[-1] == "purchase_count"
    assert dict(sessions.dtypes)["purchase_count"] == "bigint"
    assert by_session(sessions, "purchase_count") == {S1: (2,), S2: (1,), S3: (0,)}


def test_conversion_events_and_once_per_session(silver):
    project = Project(conversions=Conversions(("add_to_cart", "purchase", "sign_up"), ONCE_PER_SESSION))
    sessions = build_gold(silver, project=project)["fact_sessions"]
    assert sessions.columns[-3:] == ["add_to_cart_count", "purchase_count", "sign_up_count"]
    assert by_session(sessions, "add_to_cart_count", "purchase_count", "sign_up_count") == {
        S1: (1, 1, 0),
        S2: (0, 1, 0),
        S3: (1, 0, 0),
    }


def test_no_conversion_events_adds_no_column(silver):
    sessions = build_gold(silver, project=Project(conversions=Conversions(())))["fact_sessions"]
    assert not [
        c for c in sessions.columns if c.endswith("_count") and c not in ("event_count", "page_view_count")
    ]


def test_incremental_fact_sessions_has_the_conversion_columns(to_silver, silver):
    project = Project(conversions=Conversions(("add_to_cart", "purchase")))
    old = build_gold(to_silver(fixture_rows((D1,))), project=project)
    delta = build_gold_incremental(silver, [D6], prior=old, project=project)["fact_sessions"]
    merged = apply_delta(old["fact_sessions"], delta)
    assert by_session(merged, "add_to_cart_count", "purchase_count") == {S1: (1, 2), S2: (0, 1), S3: (1, 0)}


# -- funnel.stages ------------------------------------------------------------------------------------------


def funnel(df) -> dict:
    return {
        (r["event_date"], r["stage_order"], r["stage"]): (r["open_sessions"], r["closed_sessions"])
        for r in df.collect()
    }


def test_default_funnel_has_the_eight_stages(silver):
    rows = funnel(build_gold(silver)["agg_funnel_daily"])
    assert sorted(k[1:] for k in rows if k[0] == D1) == list(enumerate(DEFAULTS.funnel.stages, 1))
    assert rows[(D1, 1, "session_start")] == (2, 2)
    assert rows[(D1, 4, "add_to_cart")] == (2, 1)  # u.2 added to cart without viewing an item
    assert rows[(D1, 8, "purchase")] == (1, 0)  # u.1 skipped the checkout stages


@pytest.mark.parametrize(
    ("stages", "expected"),
    [
        # a funnel that does not start at session_start: stage 1 is the sessions with a view_item
        (
            ("view_item", "add_to_cart", "purchase"),
            {(D1, 1, "view_item"): (1, 1), (D1, 2, "add_to_cart"): (2, 1), (D1, 3, "purchase"): (1, 1),
             (D6, 1, "view_item"): (1, 1), (D6, 2, "add_to_cart"): (0, 0), (D6, 3, "purchase"): (1, 0)},
        ),
        # two stages from session_start, and the order matters for the closed funnel
        (
            ("session_start", "purchase"),
            {(D1, 1, "session_start"): (2, 2), (D1, 2, "purchase"): (1, 1),
             (D6, 1, "session_start"): (1, 1), (D6, 2, "purchase"): (1, 1)},
        ),
        (
            ("purchase", "add_to_cart"),  # add_to_cart came before the purchase: not reached in order
            {(D1, 1, "purchase"): (1, 1), (D1, 2, "add_to_cart"): (2, 0),
             (D6, 1, "purchase"): (1, 1), (D6, 2, "add_to_cart"): (0, 0)},
        ),
    ],
)  # fmt: skip
def test_funnel_stages_set_the_rows(silver, stages, expected):
    gold = build_gold(silver, project=Project(funnel=Funnel(stages)))
    assert funnel(gold["agg_funnel_daily"]) == expected


def test_incremental_funnel_uses_the_stages(to_silver, silver):
    project = Project(funnel=Funnel(("view_item", "purchase")))
    old = build_gold(to_silver(fixture_rows((D1,))), project=project)
    delta = build_gold_incremental(silver, [D6], prior=old, project=project)["agg_funnel_daily"]
    merged = apply_delta(old["agg_funnel_daily"], delta)
    assert funnel(merged) == funnel(build_gold(silver, project=project)["agg_funnel_daily"])
    assert {k[2] for k in funnel(merged)} == {"view_item", "purchase"}


# -- attribution.source -------------------------------------------------------------------------------------


def with_last_click(silver):
    """GA4's session_traffic_source_last_click on u.1's first session only (from its page_view on, as GA4
    fills it once the session is attributed); the other sessions have none, as on an older export."""
    tagged = (F.col("session_key") == F.lit(S1)) & (F.col("event_name") != F.lit("session_start"))
    return silver.select(
        *[F.col(c) for c in silver.columns if not c.startswith("last_click_")],
        F.when(tagged, F.lit("Newsletter")).alias("last_click_source"),
        F.when(tagged, F.lit("email")).alias("last_click_medium"),
        F.when(tagged, F.lit("spring")).alias("last_click_campaign"),
    )


LAST_CLICK = Project(attribution=Attribution(source=GA4_LAST_CLICK))


def test_last_click_is_used_where_present_and_falls_back_elsewhere(silver):
    gold = build_gold(with_last_click(silver), project=LAST_CLICK)
    columns = ("session_source", "session_medium", "session_campaign", "session_default_channel_group")
    sessions = by_session(gold["fact_sessions"], *columns)
    assert sessions[S1] == ("newsletter", "email", "spring", "Email")  # GA4's own, lower-cased
    assert sessions[S3] == ("google", "cpc", "(none)", "Paid Search")  # no last click: dbt-ga4's rule
    assert sessions[S2] == ("(direct)", "(none)", "(none)", "Direct")
    days = by_session(gold["fact_session_days"], "session_source")
    assert days[S1] == ("newsletter",)
    traffic = by_session(gold["dim_traffic_source"], "last_non_direct_source")
    assert traffic[S2] == ("newsletter",)  # the direct session inherits GA4's attribution


def test_default_rule_ignores_the_last_click(silver):
    sessions = by_session(build_gold(with_last_click(silver))["fact_sessions"], "session_source")
    assert sessions[S1] == ("newsite",)
