"""Gold models on a hand-computed fixture: every table's rows are asserted exactly.

The fixture (times UTC; the property time zone is UTC here, so event_date = the UTC date):

* Alice ``a.1`` — session 1001 on 01-01 10:00 landing on ``/?gclid=abc`` (gclid rule -> google / cpc /
  (cpc), Paid Search), product page, view_item, add_to_cart; session 1002 on 01-02 12:00 direct
  (last-non-direct -> her paid session).
* Bob ``b.2`` — session 2001 from 01-01 23:50 to 01-02 00:10 (crosses midnight): facebook / social,
  the whole funnel, a purchase with transaction id ``(not set)``.
* Carol ``c.3`` — session 3001 on 01-02 09:00 from an email, funnel without shipping/payment steps
  (closed funnel stops at begin_checkout, open funnel reaches purchase), purchase T1 sent twice;
  session 3002 on 01-03 direct (-> email).
* Frank ``f.6`` — a returning user (session number 3, no first_visit) on 01-01 whose landing URL has a
  gclid *and* google / organic params (-> google / cpc).
* Gina ``g.7`` — 01-03, only first_visit + session_start (a session without other events).
* two consent-denied events (no user_pseudo_id, no ga_session_id) on 01-02.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pyspark.sql import functions as F

from ga4lake.gold.models import GOLD_TABLES, apply_delta, build_gold, build_gold_incremental
from ga4lake.gold.models.channels import channel_of_source
from ga4lake.project import Project, Retention
from tests.unit.conftest import STREAM_ID, ga4_event

D1, D2, D3 = date(2021, 1, 1), date(2021, 1, 2), date(2021, 1, 3)
HOST = "https://shop.example.com"
HOME, P1, P2, CART = f"{HOST}/", f"{HOST}/p/1", f"{HOST}/p/2", f"{HOST}/cart"
STREAM = str(STREAM_ID)


def t(day: date, hms: str) -> datetime:
    h, m, s = (int(x) for x in hms.split(":"))
    return datetime(day.year, day.month, day.day, h, m, s, tzinfo=UTC)


def lt(day: date, hms: str) -> datetime:
    """``t`` as PySpark returns a TIMESTAMP: naive, in the Python process's local time zone."""
    return datetime.fromtimestamp(t(day, hms).timestamp())


# fmt: off
ALIASES = {
    "loc": "page_location",
    "ref": "page_referrer",
    "title": "page_title",
    "eng": "engagement_time_msec",
    "engaged": "session_engaged",
    "src": "source",
    "med": "medium",
    "camp": "campaign",
}
ALICE = {"user": "a.1", "device": "desktop", "country": "United States",
         "first_touch": ("google", "cpc", "(cpc)")}
BOB = {"user": "b.2", "device": "mobile", "country": "Canada",
       "first_touch": ("(direct)", "(none)", "(direct)")}
CAROL = {"user": "c.3", "device": "desktop", "country": "United Kingdom",
         "first_touch": ("newsletter", "email", "jan")}
FRANK = {"user": "f.6", "device": "tablet", "country": "India",
         "first_touch": ("google", "organic", "(organic)")}
GINA = {"user": "g.7", "device": "desktop", "country": "United States",
        "first_touch": ("(data deleted)", "(data deleted)", None)}
DENIED = {"user": None}


def e(day: date, hms: str, name: str, who: dict, sid: int | None = None, sn: int | None = None, **kw) -> dict:
    """Compact fixture row: short param aliases (loc, ref, title, eng, engaged, src, med, camp)."""
    extra = {k: v for k, v in who.items() if k != "user"}
    params = {ALIASES.get(k, k): v for k, v in kw.items()}
    return ga4_event(t(day, hms), name, who["user"], sid, sn, **extra, **params)


def fixture_rows() -> list[dict]:
    home_g = f"{HOME}?gclid=abc"
    p1_g = f"{P1}?gclid=xyz"
    return [
        # Alice, session 1001 (D1): gclid landing, product page, view_item, add_to_cart
        e(D1, "10:00:00", "first_visit", ALICE, 1001, 1, loc=home_g),
        e(D1, "10:00:00", "session_start", ALICE, 1001, 1, loc=home_g),
        e(D1, "10:00:00", "page_view", ALICE, 1001, 1, loc=home_g, title="Home", entrances=1, engaged="1"),
        e(D1, "10:00:30", "page_view", ALICE, 1001, 1, loc=P1, ref=home_g, title="Product 1", eng=30000),
        e(D1, "10:01:00", "view_item", ALICE, 1001, 1, loc=P1),
        e(D1, "10:02:00", "add_to_cart", ALICE, 1001, 1, loc=P1),
        e(D1, "10:02:10", "user_engagement", ALICE, 1001, 1, loc=P1, eng=10000),
        # Alice, session 1002 (D2): direct
        e(D2, "12:00:00", "session_start", ALICE, 1002, 2, loc=HOME),
        e(D2, "12:00:00", "page_view", ALICE, 1002, 2, loc=HOME, title="Home", entrances=1),
        e(D2, "12:00:20", "page_view", ALICE, 1002, 2, loc=P1, ref=HOME, title="Product 1", eng=20000),
        # Bob, session 2001 across midnight: facebook, whole funnel, purchase with id (not set)
        e(D1, "23:50:00", "first_visit", BOB, 2001, 1, loc=P2),
        e(D1, "23:50:00", "session_start", BOB, 2001, 1, loc=P2),
        e(D1, "23:50:00", "page_view", BOB, 2001, 1, loc=P2, title="Product 2", entrances=1, src="facebook",
          med="social", camp="winter"),
        e(D1, "23:55:00", "view_item", BOB, 2001, 1, loc=P2, engaged="1"),
        e(D2, "00:05:00", "add_to_cart", BOB, 2001, 1, loc=P2),
        e(D2, "00:06:00", "page_view", BOB, 2001, 1, loc=CART, ref=P2, title="Cart", eng=600000),
        e(D2, "00:07:00", "begin_checkout", BOB, 2001, 1, loc=CART),
        e(D2, "00:08:00", "add_shipping_info", BOB, 2001, 1, loc=CART),
        e(D2, "00:09:00", "add_payment_info", BOB, 2001, 1, loc=CART),
        e(D2, "00:10:00", "purchase", BOB, 2001, 1, loc=CART, transaction_id="(not set)", revenue=30.0),
        # Carol, session 3001 (D2): email, no shipping/payment steps, purchase T1 sent twice
        e(D2, "09:00:00", "first_visit", CAROL, 3001, 1, loc=HOME),
        e(D2, "09:00:00", "session_start", CAROL, 3001, 1, loc=HOME),
        e(D2, "09:00:00", "page_view", CAROL, 3001, 1, loc=HOME, title="Home", entrances=1, engaged="1",
          src="newsletter", med="email", camp="jan_sale"),
        e(D2, "09:01:00", "view_item", CAROL, 3001, 1, loc=P1),
        e(D2, "09:02:00", "add_to_cart", CAROL, 3001, 1, loc=P1),
        e(D2, "09:03:00", "begin_checkout", CAROL, 3001, 1, loc=CART),
        e(D2, "09:04:00", "purchase", CAROL, 3001, 1, loc=CART, transaction_id="T1", revenue=50.0),
        e(D2, "09:05:00", "purchase", CAROL, 3001, 1, loc=CART, transaction_id="T1", revenue=50.0),
        # Carol, session 3002 (D3): direct
        e(D3, "08:00:00", "session_start", CAROL, 3002, 2, loc=HOME),
        e(D3, "08:00:00", "page_view", CAROL, 3002, 2, loc=HOME, title="Home", entrances=1),
        # consent denied (D2): no user_pseudo_id, no ga_session_id
        e(D2, "10:00:00", "page_view", DENIED, loc=HOME, title="Home"),
        e(D2, "10:00:05", "user_engagement", DENIED, loc=HOME, eng=5000),
        # Frank, returning user (D1): gclid on an organic landing
        e(D1, "14:00:00", "session_start", FRANK, 6001, 3, loc=p1_g),
        e(D1, "14:00:00", "page_view", FRANK, 6001, 3, loc=p1_g, title="Product 1", entrances=1, src="google",
          med="organic", camp="(organic)"),
        e(D1, "14:00:40", "user_engagement", FRANK, 6001, 3, loc=p1_g, eng=40000),
        # Gina (D3): a session of start events only
        e(D3, "20:00:00", "first_visit", GINA, 7001, 1, loc=HOME),
        e(D3, "20:00:00", "session_start", GINA, 7001, 1, loc=HOME),
    ]
# fmt: on


def b64md5(s: str) -> str:
    return base64.b64encode(hashlib.md5(s.encode()).digest()).decode()


def client_key(user: str) -> str:
    return b64md5(user + STREAM)


def session_key(user: str, sid: int) -> str:
    return b64md5(client_key(user) + str(sid))


@pytest.fixture(scope="module")
def silver(to_silver):
    return to_silver(fixture_rows())


@pytest.fixture(scope="module")
def gold(silver):
    return {name: df.localCheckpoint() for name, df in build_gold(silver).items()}


def rows(df, *cols) -> list[tuple]:
    return sorted((tuple(r) for r in df.select(*cols).collect()), key=repr)


def rounded(rs: list[tuple]) -> list[tuple]:
    """Floats to 9 places (ratios like 2/3), rows sorted: comparable with hand-written expectations."""
    return sorted((tuple(round(v, 9) if isinstance(v, float) else v for v in r) for r in rs), key=repr)


def by_key(df, key: str, *cols) -> dict:
    return {r[key]: tuple(r[c] for c in cols) for r in df.select(key, *cols).collect()}


M = Decimal


def test_fact_events_keeps_every_event_with_gclid_rule_and_clean_urls(gold):
    ev = gold["fact_events"]
    assert ev.count() == len(fixture_rows()) == 37
    denied = rows(ev.where(F.col("user_pseudo_id").isNull()), "client_key", "session_key", "event_name")
    assert denied == [(None, None, "page_view"), (None, None, "user_engagement")]
    alice_landing = ev.where(
        (F.col("user_pseudo_id") == "a.1")
        & (F.col("event_name") == "page_view")
        & F.col("entrances").isNotNull()
        & (F.col("event_date") == D1)
    )
    assert rows(
        alice_landing,
        "page_location",
        "page_path",
        "page_hostname",
        "event_source",
        "event_medium",
        "event_campaign",
    ) == [(HOME, "/", "shop.example.com", "google", "cpc", "(cpc)")]
    assert rows(ev.where(F.col("event_name") == "purchase"), "transaction_id", "purchase_revenue_in_usd") == [
        ("(not set)", 30.0),
        ("T1", 50.0),
        ("T1", 50.0),
    ]
    assert ev.select("event_key").distinct().count() == 37


def test_fact_sessions_one_row_per_session_midnight_crossing_once(gold):
    s = gold["fact_sessions"]
    assert s.count() == 7  # dbt-ga4: distinct non-NULL session_key (consent-denied events excluded)
    cols = (
        "session_start_date",
        "session_end_date",
        "session_start_ts",
        "session_end_ts",
        "duration_seconds",
        "event_count",
        "page_view_count",
        "is_engaged",
        "engagement_time_msec",
        "is_first_session",
    )
    assert by_key(s, "session_key", *cols) == {
        session_key("a.1", 1001): (
            D1,
            D1,
            lt(D1, "10:00:00"),
            lt(D1, "10:02:10"),
            130.0,
            7,
            2,
            True,
            40000,
            True,
        ),
        session_key("a.1", 1002): (
            D2,
            D2,
            lt(D2, "12:00:00"),
            lt(D2, "12:00:20"),
            20.0,
            3,
            2,
            False,
            20000,
            False,
        ),
        session_key("b.2", 2001): (
            D1,
            D2,
            lt(D1, "23:50:00"),
            lt(D2, "00:10:00"),
            1200.0,
            10,
            2,
            True,
            600000,
            True,
        ),
        session_key("c.3", 3001): (
            D2,
            D2,
            lt(D2, "09:00:00"),
            lt(D2, "09:05:00"),
            300.0,
            8,
            1,
            True,
            0,
            True,
        ),
        session_key("c.3", 3002): (
            D3,
            D3,
            lt(D3, "08:00:00"),
            lt(D3, "08:00:00"),
            0.0,
            2,
            1,
            False,
            0,
            False,
        ),
        session_key("f.6", 6001): (
            D1,
            D1,
            lt(D1, "14:00:00"),
            lt(D1, "14:00:40"),
            40.0,
            3,
            1,
            False,
            40000,
            False,
        ),
        session_key("g.7", 7001): (D3, D3, lt(D3, "20:00:00"), lt(D3, "20:00:00"), 0.0, 2, 0, False, 0, True),
    }
    pages = (
        "landing_page_location",
        "landing_page_path",
        "landing_page_title",
        "exit_page_location",
        "device_category",
        "geo_country",
    )
    assert by_key(s, "session_key", *pages) == {
        session_key("a.1", 1001): (HOME, "/", "Home", P1, "desktop", "United States"),
        session_key("a.1", 1002): (HOME, "/", "Home", P1, "desktop", "United States"),
        session_key("b.2", 2001): (P2, "/p/2", "Product 2", CART, "mobile", "Canada"),
        session_key("c.3", 3001): (HOME, "/", "Home", HOME, "desktop", "United Kingdom"),
        session_key("c.3", 3002): (HOME, "/", "Home", HOME, "desktop", "United Kingdom"),
        session_key("f.6", 6001): (P1, "/p/1", "Product 1", P1, "tablet", "India"),
        session_key("g.7", 7001): (HOME, "/", None, None, "desktop", "United States"),
    }
    money = ("purchase_events", "transactions", "purchase_revenue_in_usd")
    assert by_key(s, "session_key", *money) == {
        session_key("a.1", 1001): (0, 0, M("0.00")),
        session_key("a.1", 1002): (0, 0, M("0.00")),
        session_key("b.2", 2001): (1, 1, M("30.00")),  # (not set) id: its own transaction
        session_key("c.3", 3001): (2, 1, M("50.00")),  # T1 sent twice: one transaction, revenue once
        session_key("c.3", 3002): (0, 0, M("0.00")),
        session_key("f.6", 6001): (0, 0, M("0.00")),
        session_key("g.7", 7001): (0, 0, M("0.00")),
    }
    source = (
        "session_source",
        "session_medium",
        "session_campaign",
        "session_source_category",
        "session_default_channel_group",
    )
    assert by_key(s, "session_key", *source) == {
        session_key("a.1", 1001): ("google", "cpc", "(cpc)", "SEARCH", "Paid Search"),  # gclid rule
        session_key("a.1", 1002): ("(direct)", "(none)", "(none)", "(none)", "Direct"),
        session_key("b.2", 2001): ("facebook", "social", "winter", "SOCIAL", "Organic Social"),
        session_key("c.3", 3001): ("newsletter", "email", "jan_sale", "(none)", "Email"),
        session_key("c.3", 3002): ("(direct)", "(none)", "(none)", "(none)", "Direct"),
        session_key("f.6", 6001): ("google", "cpc", "(cpc)", "SEARCH", "Paid Search"),  # organic + gclid
        session_key("g.7", 7001): ("(direct)", "(none)", "(none)", "(none)", "Direct"),
    }
    keys = rows(s.where(F.col("user_pseudo_id") == "b.2"), "client_key", "session_id", "session_number")
    assert keys == [(client_key("b.2"), 2001, 1)]


def test_fact_session_days_splits_the_midnight_session(gold):
    d = gold["fact_session_days"]
    cols = (
        "session_key",
        "session_partition_date",
        "event_count",
        "page_view_count",
        "session_engaged",
        "engagement_time_msec",
        "purchase_events",
        "session_source",
        "session_default_channel_group",
    )
    bob = session_key("b.2", 2001)
    assert by_key(d, "session_partition_key", *cols) == {
        session_key("a.1", 1001) + "2021-01-01": (
            session_key("a.1", 1001),
            D1,
            7,
            2,
            1,
            40000,
            0,
            "google",
            "Paid Search",
        ),
        session_key("a.1", 1002) + "2021-01-02": (
            session_key("a.1", 1002),
            D2,
            3,
            2,
            0,
            20000,
            0,
            "(direct)",
            "Direct",
        ),
        bob + "2021-01-01": (bob, D1, 4, 1, 1, None, 0, "facebook", "Organic Social"),
        bob + "2021-01-02": (bob, D2, 6, 1, 0, 600000, 1, "(direct)", "Direct"),
        session_key("c.3", 3001) + "2021-01-02": (
            session_key("c.3", 3001),
            D2,
            8,
            1,
            1,
            None,
            2,
            "newsletter",
            "Email",
        ),
        session_key("c.3", 3002) + "2021-01-03": (
            session_key("c.3", 3002),
            D3,
            2,
            1,
            0,
            None,
            0,
            "(direct)",
            "Direct",
        ),
        session_key("f.6", 6001) + "2021-01-01": (
            session_key("f.6", 6001),
            D1,
            3,
            1,
            0,
            40000,
            0,
            "google",
            "Paid Search",
        ),
        session_key("g.7", 7001) + "2021-01-03": (
            session_key("g.7", 7001),
            D3,
            2,
            0,
            0,
            None,
            0,
            "(direct)",
            "Direct",
        ),
    }


def test_dim_traffic_source_last_non_direct_inherits_within_lookback(gold):
    ts = gold["dim_traffic_source"]
    cols = (
        "source",
        "medium",
        "default_channel_group",
        "is_direct",
        "last_non_direct_session_key",
        "last_non_direct_source",
        "last_non_direct_medium",
        "last_non_direct_campaign",
        "last_non_direct_default_channel_group",
    )
    a1, c1 = session_key("a.1", 1001), session_key("c.3", 3001)
    # Gina's start-only session is absent (docs/semantics.md#session-traffic-source)
    assert by_key(ts, "session_key", *cols) == {
        a1: ("google", "cpc", "Paid Search", False, a1, "google", "cpc", "(cpc)", "Paid Search"),
        session_key("a.1", 1002): (
            "(direct)",
            "(none)",
            "Direct",
            True,
            a1,
            "google",
            "cpc",
            "(cpc)",
            "Paid Search",
        ),
        session_key("b.2", 2001): (
            "facebook",
            "social",
            "Organic Social",
            False,
            session_key("b.2", 2001),
            "facebook",
            "social",
            "winter",
            "Organic Social",
        ),
        c1: ("newsletter", "email", "Email", False, c1, "newsletter", "email", "jan_sale", "Email"),
        session_key("c.3", 3002): (
            "(direct)",
            "(none)",
            "Direct",
            True,
            c1,
            "newsletter",
            "email",
            "jan_sale",
            "Email",
        ),
        session_key("f.6", 6001): (
            "google",
            "cpc",
            "Paid Search",
            False,
            session_key("f.6", 6001),
            "google",
            "cpc",
            "(cpc)",
            "Paid Search",
        ),
    }


def test_dim_user_excludes_consent_denied_and_totals_history(gold):
    u = gold["dim_user"]
    cols = (
        "client_key",
        "first_seen_ts",
        "last_seen_date",
        "first_visit_date",
        "is_new_user",
        "active_days",
        "sessions",
        "engaged_sessions",
        "events",
        "page_views",
        "engagement_time_msec",
        "purchase_events",
        "transactions",
        "purchase_revenue_in_usd",
        "first_device_category",
        "first_geo_country",
        "first_user_default_channel_group",
    )
    assert by_key(u, "user_pseudo_id", *cols) == {
        "a.1": (
            client_key("a.1"),
            lt(D1, "10:00:00"),
            D2,
            D1,
            True,
            2,
            2,
            1,
            10,
            4,
            60000,
            0,
            0,
            M("0.00"),
            "desktop",
            "United States",
            "Paid Search",
        ),
        "b.2": (
            client_key("b.2"),
            lt(D1, "23:50:00"),
            D2,
            D1,
            True,
            2,
            1,
            1,
            10,
            2,
            600000,
            1,
            1,
            M("30.00"),
            "mobile",
            "Canada",
            "Direct",
        ),
        "c.3": (
            client_key("c.3"),
            lt(D2, "09:00:00"),
            D3,
            D2,
            True,
            2,
            2,
            1,
            10,
            2,
            0,
            2,
            1,
            M("50.00"),
            "desktop",
            "United Kingdom",
            "Email",
        ),
        "f.6": (
            client_key("f.6"),
            lt(D1, "14:00:00"),
            D1,
            None,
            False,
            1,
            1,
            0,
            3,
            1,
            40000,
            0,
            0,
            M("0.00"),
            "tablet",
            "India",
            "Organic Search",
        ),
        "g.7": (
            client_key("g.7"),
            lt(D3, "20:00:00"),
            D3,
            D3,
            True,
            1,
            1,
            0,
            2,
            0,
            0,
            0,
            0,
            M("0.00"),
            "desktop",
            "United States",
            "Unassigned",
        ),
    }
    assert "user_id" not in u.columns


def test_pages(gold):
    pid = {url: b64md5(url) for url in (HOME, P1, P2, CART)}
    assert rows(
        gold["dim_page"],
        "page_id",
        "page_location",
        "page_hostname",
        "page_path",
        "page_title",
        "first_seen_date",
        "first_seen_ts",
    ) == sorted(
        [
            (pid[HOME], HOME, "shop.example.com", "/", "Home", D1, lt(D1, "10:00:00")),
            (pid[P1], P1, "shop.example.com", "/p/1", "Product 1", D1, lt(D1, "10:00:30")),
            (pid[P2], P2, "shop.example.com", "/p/2", "Product 2", D1, lt(D1, "23:50:00")),
            (pid[CART], CART, "shop.example.com", "/cart", "Cart", D2, lt(D2, "00:06:00")),
        ],
        key=repr,
    )
    cols = (
        "event_date",
        "page_location",
        "stream_id",
        "page_views",
        "sessions",
        "users",
        "new_user_page_views",
        "entrances",
        "scroll_events",
        "engagement_time_msec",
    )
    assert rows(gold["agg_page_daily"], *cols) == sorted(
        [
            (D1, HOME, STREAM, 1, 1, 1, 1, 1, 0, 30000),  # credited by the next page_view's referrer
            (D1, P1, STREAM, 2, 2, 2, 1, 1, 0, 50000),  # Frank's gclid URL is the same page
            (D1, P2, STREAM, 1, 1, 1, 1, 1, 0, 0),
            (D2, HOME, STREAM, 3, 2, 2, 1, 2, 0, 25000),  # consent-denied view counts, but no session/user
            (D2, P1, STREAM, 1, 1, 1, 0, 0, 0, 0),
            (D2, CART, STREAM, 1, 1, 1, 1, 0, 0, 0),
            (D3, HOME, STREAM, 1, 1, 1, 0, 1, 0, 0),
        ],
        key=repr,
    )


FUNNEL_COLS = (
    "event_date",
    "stage_order",
    "stage",
    "open_sessions",
    "closed_sessions",
    "open_users",
    "closed_users",
    "open_step_conversion",
    "open_overall_conversion",
    "closed_step_conversion",
    "closed_overall_conversion",
    "median_seconds_to_stage_open",
    "median_seconds_to_stage_closed",
)


def test_funnel_open_vs_closed(gold):
    third, half, two_thirds = 1 / 3, 0.5, 2 / 3
    expected = [
        # D1: Alice (view_item 60 s, add_to_cart 120 s), Bob (everything, crossing midnight), Frank
        (D1, 1, "session_start", 3, 3, 3, 3, None, 1.0, None, 1.0, 0.0, 0.0),
        (D1, 2, "page_view", 3, 3, 3, 3, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0),
        (D1, 3, "view_item", 2, 2, 2, 2, two_thirds, two_thirds, two_thirds, two_thirds, 180.0, 180.0),
        (D1, 4, "add_to_cart", 2, 2, 2, 2, 1.0, two_thirds, 1.0, two_thirds, 510.0, 510.0),
        (D1, 5, "begin_checkout", 1, 1, 1, 1, half, third, half, third, 1020.0, 1020.0),
        (D1, 6, "add_shipping_info", 1, 1, 1, 1, 1.0, third, 1.0, third, 1080.0, 1080.0),
        (D1, 7, "add_payment_info", 1, 1, 1, 1, 1.0, third, 1.0, third, 1140.0, 1140.0),
        (D1, 8, "purchase", 1, 1, 1, 1, 1.0, third, 1.0, third, 1200.0, 1200.0),
        # D2: Alice's direct session, Carol (no shipping/payment: closed stops, open reaches purchase)
        (D2, 1, "session_start", 2, 2, 2, 2, None, 1.0, None, 1.0, 0.0, 0.0),
        (D2, 2, "page_view", 2, 2, 2, 2, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0),
        (D2, 3, "view_item", 1, 1, 1, 1, half, half, half, half, 60.0, 60.0),
        (D2, 4, "add_to_cart", 1, 1, 1, 1, 1.0, half, 1.0, half, 120.0, 120.0),
        (D2, 5, "begin_checkout", 1, 1, 1, 1, 1.0, half, 1.0, half, 180.0, 180.0),
        (D2, 6, "add_shipping_info", 0, 0, 0, 0, 0.0, 0.0, 0.0, 0.0, None, None),
        (D2, 7, "add_payment_info", 0, 0, 0, 0, None, 0.0, None, 0.0, None, None),
        (D2, 8, "purchase", 1, 0, 1, 0, None, half, None, 0.0, 240.0, None),
        # D3: Carol's direct session, Gina's start-only session
        (D3, 1, "session_start", 2, 2, 2, 2, None, 1.0, None, 1.0, 0.0, 0.0),
        (D3, 2, "page_view", 1, 1, 1, 1, half, half, half, half, 0.0, 0.0),
        (D3, 3, "view_item", 0, 0, 0, 0, 0.0, 0.0, 0.0, 0.0, None, None),
        *[
            (D3, i, s, 0, 0, 0, 0, None, 0.0, None, 0.0, None, None)
            for i, s in enumerate(
                ("add_to_cart", "begin_checkout", "add_shipping_info", "add_payment_info", "purchase"), 4
            )
        ],
    ]
    got = rounded(rows(gold["agg_funnel_daily"], *FUNNEL_COLS))
    assert got == rounded(expected)
    closed = [r for r in got if r[0] == D1]
    assert [r[4] for r in closed] == sorted((r[4] for r in closed), reverse=True)  # closed is monotone


def test_retention_day0_is_cohort_size(gold):
    cols = (
        "cohort_date",
        "day_n",
        "activity_date",
        "cohort_users",
        "returning_users",
        "retention_rate",
        "returning_users_on_or_after",
        "retention_rate_on_or_after",
        "is_d1",
        "is_d7",
    )
    assert rows(gold["agg_retention_daily"], *cols) == sorted(
        [
            (D1, 0, D1, 2, 2, 1.0, 2, 1.0, False, False),  # Alice + Bob (Frank has no first_visit)
            # Alice's 2nd session; Bob's first session runs past midnight: no new session, no return
            (D1, 1, D2, 2, 1, 0.5, 1, 0.5, True, False),
            (D1, 2, D3, 2, 0, 0.0, 0, 0.0, False, False),
            (D2, 0, D2, 1, 1, 1.0, 1, 1.0, False, False),
            (D2, 1, D3, 1, 1, 1.0, 1, 1.0, True, False),
            (D3, 0, D3, 1, 1, 1.0, 1, 1.0, False, False),
        ],
        key=repr,
    )


def test_retention_any_event_counts_a_session_past_midnight_as_a_return(silver, gold):
    """``retention.return_on: any_event``: Bob's first session crossing midnight makes him a D1 return,
    which the default (``session_start``) does not; every other cell is the same under both rules."""
    project = Project(retention=Retention(return_on="any_event"))
    any_event = build_gold(silver, project=project)["agg_retention_daily"]
    cols = ("cohort_date", "day_n", "returning_users", "returning_users_on_or_after")
    d1 = [r for r in rows(any_event, *cols) if r[:2] == (D1, 1)]
    assert d1 == [(D1, 1, 2, 2)]  # Alice's 2nd session and Bob after midnight
    default = [r for r in rows(gold["agg_retention_daily"], *cols) if r[:2] == (D1, 1)]
    assert default == [(D1, 1, 1, 1)]  # only Alice started a session on 01-02
    others = {r for r in rows(any_event, *cols) if r[:2] != (D1, 1)}
    assert others == {r for r in rows(gold["agg_retention_daily"], *cols) if r[:2] != (D1, 1)}


def test_retention_session_start_ignores_days_without_a_session_start(spark):
    """Unit of ``activity``: a session's events after midnight give no active day under session_start."""
    from ga4lake.gold.models.retention import activity

    prepared = spark.createDataFrame(
        [("u", "s1", D1), ("u", "s1", D2), ("u", "s2", D3), ("u", None, D3)],
        "user_pseudo_id string, session_key string, event_date date",
    )
    starts = sorted(tuple(r) for r in activity(prepared, "session_start").collect())
    assert starts == [("u", D1), ("u", D3)]
    every = sorted(tuple(r) for r in activity(prepared, "any_event").collect())
    assert every == [("u", D1), ("u", D2), ("u", D3)]


def test_traffic_source_daily(gold):
    cols = (
        "event_date",
        "source",
        "medium",
        "campaign",
        "default_channel_group",
        "sessions",
        "users",
        "new_user_sessions",
        "engaged_sessions",
        "page_views",
        "engagement_time_msec",
        "purchase_events",
        "transactions",
        "purchase_revenue_in_usd",
        "sessions_with_purchase",
        "conversion_rate",
    )
    assert rows(gold["agg_traffic_source_daily"], *cols) == sorted(
        [
            (D1, "google", "cpc", "(cpc)", "Paid Search", 2, 2, 1, 1, 3, 80000, 0, 0, M("0.00"), 0, 0.0),
            (
                D1,
                "facebook",
                "social",
                "winter",
                "Organic Social",
                1,
                1,
                1,
                1,
                2,
                600000,
                1,
                1,
                M("30.00"),
                1,
                1.0,
            ),
            (D2, "(direct)", "(none)", "(none)", "Direct", 1, 1, 0, 0, 2, 20000, 0, 0, M("0.00"), 0, 0.0),
            (D2, "newsletter", "email", "jan_sale", "Email", 1, 1, 1, 1, 1, 0, 2, 1, M("50.00"), 1, 1.0),
            (D3, "(direct)", "(none)", "(none)", "Direct", 2, 2, 1, 0, 1, 0, 0, 0, M("0.00"), 0, 0.0),
        ],
        key=repr,
    )


def test_every_table_has_unique_keys_and_the_declared_columns(gold):
    assert set(gold) == set(GOLD_TABLES)
    for name, spec in GOLD_TABLES.items():
        df = gold[name]
        assert set(spec.keys) <= set(df.columns), name
        if spec.partition_col:
            assert spec.partition_col in df.columns, name
        nulls = df.where(" OR ".join(f"{k} IS NULL" for k in spec.keys)).count()
        assert nulls == 0, f"{name}: NULL key"
        assert df.count() == df.select(*spec.keys).distinct().count(), f"{name}: duplicate keys"


CHANNEL_CASES = [
    (None, None, None, "Direct"),
    ("(direct)", "(none)", None, "Direct"),
    ("google", "cpc", None, "Paid Search"),
    ("google", "organic", None, "Organic Search"),
    ("bing", None, None, "Organic Search"),
    ("facebook", "cpc", None, "Paid Social"),
    ("t.co", "referral", None, "Organic Social"),
    ("youtube", "paid_video", None, "Paid Video"),
    ("google shopping", None, None, "Organic Shopping"),
    ("example.com", "cpc", "summer_shop", "Paid Shopping"),
    ("example.com", "referral", "workshop", "Referral"),
    ("example.com", "display", None, "Display"),
    ("example.com", "ppc", None, "Paid Other"),
    ("example.com", "social", None, "Organic Social"),
    ("example.com", "video", None, "Organic Video"),
    ("news", "email", None, "Email"),
    ("example.com", "affiliate", None, "Affiliates"),
    ("sms", None, None, "SMS"),
    ("firebase", None, None, "Mobile Push Notifications"),
    ("example.com", "cross-network-ish", "cross-network", "Cross-network"),
    ("<other>", "<other>", None, "Unassigned"),
    ("newsletter", None, None, "Unassigned"),
]


def test_default_channel_grouping(spark):
    df = spark.createDataFrame(
        [(i, s, m, c) for i, (s, m, c, _) in enumerate(CHANNEL_CASES)],
        "i int, source string, medium string, campaign string",
    )
    got = dict(
        df.select("i", channel_of_source(F.col("source"), F.col("medium"), F.col("campaign"))).collect()
    )
    assert [got[i] for i in range(len(CHANNEL_CASES))] == [case[3] for case in CHANNEL_CASES]


def test_apply_delta_replaces_exactly_the_scope(spark):
    from ga4lake.gold.models import GoldDelta

    old = spark.createDataFrame([(D1, "a", 1), (D2, "b", 2), (D2, "c", 3)], "d date, k string, v int")
    delta = GoldDelta(
        rows=spark.createDataFrame([(D2, "b", 20)], "d date, k string, v int"),
        column="d",
        values=spark.createDataFrame([(D2,), (D3,)], "d date"),
    )
    assert rows(apply_delta(old, delta), "d", "k", "v") == [(D1, "a", 1), (D2, "b", 20)]


def test_incremental_with_no_touched_days_changes_nothing(silver):
    for name, delta in build_gold_incremental(silver, [], prior=build_gold(silver)).items():
        assert delta.rows.isEmpty() and delta.values.isEmpty(), name


def test_dbt_source_files_declare_each_gold_table_with_its_spark_schema(gold):
    """dbt/models/gold/<table>.yml: one file per table whose columns (names, order-free, and PostgreSQL
    types) are exactly what the sync creates from the Spark table — a column added in Spark without its
    documentation, or documented with the wrong type, fails here rather than in the warehouse."""
    from ga4lake.gold.sync import pg_type
    from tests.dbt_sources import gold_source

    documented = {t["name"]: t for t in gold_source()["tables"]}
    for name, df in gold.items():
        spark_cols = {f.name: pg_type(f.dataType) for f in df.schema.fields}
        yaml_cols = {c["name"]: c.get("data_type") for c in documented[name]["columns"]}
        assert yaml_cols == spark_cols, name
