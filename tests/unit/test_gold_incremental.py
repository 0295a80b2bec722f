"""Incremental gold = full rebuild, row for row, for every table.

Fixture: eleven users and a few consent-denied events over 35 days (times UTC, property time zone UTC).
Scenarios:

* **restated**: gold of all days, then day 3 is re-exported with changes: a user whose only events
  were on day 3 vanishes (with the only page he saw), the day-3 half of a session crossing 3 -> 4
  disappears (its start moves to day 4 and its user leaves the day-3 cohort), a paid session's source
  changes (later direct sessions within 30 days inherit the new one), a purchase is repeated, a new
  user appears whose later return already existed, one consent-denied event is dropped.
* **append**: gold of days 0..33, then the last day 34 arrives: the second half of a session crossing
  33 -> 34, a new user, a return into an older cohort (day 28) and one exactly on day 30 of its
  cohort, a direct session 30 d 12 h after the client's paid one (outside the look-back), a sessionless
  order whose transaction id was already bought on day 4.
* **prepend**: gold of days 1..34, then day 0 arrives late: users' first touch, first visit and cohort
  move earlier, a paid session now precedes direct ones.

In each case ``apply_delta(full(old), incremental(new, touched))`` must equal ``full(new)`` and every
delta row must lie inside its own scope; for the new day also with ``only_new_days=True`` (dim_user
scoped to the touched day's users).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ga4lake.gold.models import GOLD_TABLES, GoldDelta, apply_delta, build_gold, build_gold_incremental
from ga4lake.gold.models.build import dim_user_delta
from tests.unit.conftest import ga4_event

BASE = date(2021, 3, 1)
HOST = "https://shop.example.com"
HOME, P1, P2, P3, P4, P5, P9 = (f"{HOST}/{p}" for p in ("", "p/1", "p/2", "p/3", "p/4", "p/5", "p/9"))
ONLY3, NEW = f"{HOST}/only3", f"{HOST}/new"


def d(k: int) -> date:
    return BASE + timedelta(days=k)


def at(k: int, hm: str) -> datetime:
    h, m = (int(x) for x in hm.split(":"))
    return datetime(BASE.year, BASE.month, BASE.day, h, m, tzinfo=UTC) + timedelta(days=k)


def session(
    user: str,
    sid: int,
    sn: int,
    start: datetime,
    pages: list[str],
    *,
    source: tuple[str, str, str] | None = None,
    first_visit: bool = False,
    funnel: tuple[str, ...] = (),
    purchase: tuple[str, float] | None = None,
    repeat_purchase: bool = False,
    gap_min: int = 1,
    first_touch: tuple[str | None, str | None, str | None] = (None, None, None),
) -> list[dict]:
    """A session: [first_visit], session_start, one page_view per page (``gap_min`` apart, referrer =
    previous page, 30 s engagement), funnel events on the last page (each listing one item, the
    purchase with its revenue), user_engagement at the end."""
    common = {"first_touch": first_touch}
    out = []
    if first_visit:
        out.append(ga4_event(start, "first_visit", user, sid, sn, page_location=pages[0], **common))
    out.append(ga4_event(start, "session_start", user, sid, sn, page_location=pages[0], **common))
    now = start
    src, med, camp = source or (None, None, None)
    for i, page in enumerate(pages):
        params = {"page_location": page, "page_title": page.rsplit("/", 1)[-1] or "home"}
        if i == 0:
            params |= {"entrances": 1, "session_engaged": "1", "source": src, "medium": med, "campaign": camp}
        else:
            params |= {"page_referrer": pages[i - 1], "engagement_time_msec": 30000}
        out.append(ga4_event(now, "page_view", user, sid, sn, **params, **common))
        now += timedelta(minutes=gap_min)
    item = {"item_id": f"SKU-{sid % 3}", "item_name": f"item {sid % 3}", "quantity": 1, "price_in_usd": 5.0}
    for name in funnel:
        out.append(ga4_event(now, name, user, sid, sn, page_location=pages[-1], items=[item], **common))
        now += timedelta(minutes=gap_min)
    if purchase:
        tid, revenue = purchase
        for _ in range(2 if repeat_purchase else 1):
            out.append(
                ga4_event(
                    now,
                    "purchase",
                    user,
                    sid,
                    sn,
                    page_location=pages[-1],
                    transaction_id=tid,
                    revenue=revenue,
                    items=[{**item, "item_revenue_in_usd": revenue}],
                    **common,
                )
            )
            now += timedelta(minutes=gap_min)
    out.append(
        ga4_event(
            now,
            "user_engagement",
            user,
            sid,
            sn,
            page_location=pages[-1],
            engagement_time_msec=5000,
            **common,
        )
    )
    return out


CHECKOUT = ("view_item", "add_to_cart", "begin_checkout", "add_shipping_info", "add_payment_info")


def version(restated: bool) -> list[dict]:
    """All events of the base export (restated=False) or of the re-exported version (only its day-3
    rows are used)."""
    g1 = ("google", "cpc", "(cpc)")
    rows = [
        # u1: paid, then direct sessions at +2, +5 (crossing into day 6), +29 and +31 days
        *session(
            "u1",
            101,
            1,
            at(0, "10:00"),
            [f"{HOME}?gclid=g1", P1],
            first_visit=True,
            funnel=("view_item", "add_to_cart"),
            first_touch=g1,
        ),
        *session("u1", 102, 2, at(2, "11:00"), [HOME, P2], first_touch=g1),
        *session(
            "u1",
            103,
            3,
            at(5, "23:55"),
            [HOME, P1, P3],
            gap_min=3,
            funnel=CHECKOUT,
            purchase=("T-u1", 40.0),
            first_touch=g1,
        ),
        *session("u1", 104, 4, at(29, "09:00"), [HOME], first_touch=g1),
        *session("u1", 105, 5, at(31, "09:00"), [HOME], first_touch=g1),
        # u2: facebook session crossing 1 -> 2, organic on day 6, direct on day 7
        *session(
            "u2",
            201,
            1,
            at(1, "23:50"),
            [P2, P3],
            source=("facebook", "social", "spring"),
            first_visit=True,
            funnel=("view_item",),
            gap_min=8,
        ),
        *session("u2", 202, 2, at(6, "10:00"), [HOME], source=("google", "organic", "(organic)")),
        *session("u2", 203, 3, at(7, "10:00"), [P1], funnel=("view_item",)),
        # u3: referral with purchase T3 on day 2, T3 again in a direct session on day 3
        *session(
            "u3",
            301,
            1,
            at(2, "09:00"),
            [HOME, P1],
            source=("blog.example.org", "referral", "(referral)"),
            first_visit=True,
            funnel=("view_item", "add_to_cart", "begin_checkout"),
            purchase=("T3", 25.0),
        ),
        *session("u3", 302, 2, at(3, "09:00"), [P1], purchase=("T3", 25.0), repeat_purchase=restated),
        *session("u3", 303, 3, at(4, "09:00"), [HOME]),
        # u5: returning user without first_visit; paid social on day 3
        *session("u5", 501, 4, at(1, "12:00"), [HOME]),
        *session("u5", 502, 5, at(3, "12:00"), [P9, HOME], source=("facebook", "cpc", "retarget")),
        *session("u5", 503, 6, at(4, "12:00"), [P1]),
        *session("u5", 504, 7, at(9, "12:00"), [HOME]),
        # u6: first visit on day 3 23:50, crossing into day 4
        *session("u6", 602, 2, at(8, "10:00"), [HOME]),
        # u8: paid on day 3 22:00 (email after the restatement), direct at +7, +17, +30d-1h, +30d12h
        *session("u8", 802, 2, at(10, "10:00"), [HOME]),
        *session("u8", 803, 3, at(20, "10:00"), [P2]),
        *session("u8", 804, 4, at(33, "21:00"), [HOME]),
        *session("u8", 805, 5, at(34, "10:00"), [HOME]),
        # u9: new user on day 6 with a new page, back on day 7
        *session("u9", 901, 1, at(6, "08:00"), [HOME, P5], first_visit=True),
        *session("u9", 902, 2, at(7, "08:00"), [HOME]),
        # day 34 (the appended day): u1 crosses 33 -> 34 and buys, u11 is new, u9 returns (cohort day 28),
        # u12 returns exactly on day 30 of its cohort
        *session(
            "u1",
            106,
            6,
            at(33, "23:55"),
            [HOME, P1, P3],
            gap_min=3,
            funnel=CHECKOUT,
            purchase=("T-u1-2", 15.0),
            first_touch=g1,
        ),
        *session(
            "u11",
            1101,
            1,
            at(34, "10:00"),
            [HOME, P5],
            source=("t.co", "referral", "(referral)"),
            first_visit=True,
        ),
        *session("u9", 903, 3, at(34, "08:00"), [HOME]),
        *session("u12", 1201, 1, at(4, "12:00"), [P1], first_visit=True),
        *session("u12", 1202, 2, at(34, "12:00"), [HOME]),
        # u12: a sessionless purchase (no ga_session_id) repeated 30 days later: one order, first revenue
        ga4_event(at(4, "12:30"), "purchase", "u12", page_location=P1, transaction_id="T-u12", revenue=10.0),
        ga4_event(
            at(34, "12:30"), "purchase", "u12", page_location=HOME, transaction_id="T-u12", revenue=12.0
        ),
        # u10: a return on day 5 (its first visit appears when day 3 is restated)
        *session("u10", 1002, 2, at(5, "10:00"), [HOME]),
        # consent denied
        ga4_event(at(2, "13:00"), "page_view", None, page_location=HOME),
        ga4_event(at(3, "13:00"), "page_view", None, page_location=P1),
    ]
    if not restated:
        rows += [
            *session(
                "u4",
                401,
                1,
                at(3, "15:00"),
                [ONLY3, HOME],
                source=("newsletter", "email", "spring"),
                first_visit=True,
            ),
            *session(
                "u6",
                601,
                1,
                at(3, "23:50"),
                [P4, P1],
                source=("google", "organic", "(organic)"),
                first_visit=True,
                funnel=("view_item",),
                gap_min=8,
            ),
            *session("u8", 801, 1, at(3, "22:00"), [f"{HOME}?gclid=g8", P2], first_visit=True),
            ga4_event(at(3, "13:00"), "user_engagement", None, page_location=P1, engagement_time_msec=1000),
        ]
    else:
        rows += [
            *session(
                "u8",
                801,
                1,
                at(3, "22:00"),
                [HOME, NEW, P2],
                source=("newsletter", "email", "march"),
                first_visit=True,
            ),
            *session(
                "u10", 1001, 1, at(3, "13:00"), [HOME], source=("bing", "cpc", "brand"), first_visit=True
            ),
        ]
    return rows


@pytest.fixture(scope="module")
def silver(to_silver):
    """(base silver, restated silver): the restated one = base without day 3 + the new day 3."""
    base = to_silver(version(restated=False))
    new_day3 = to_silver([r for r in version(restated=True) if r["event_date"] == d(3).strftime("%Y%m%d")])
    restated = base.where(F.col("event_date") != d(3)).unionByName(new_day3)
    return base, restated


SCENARIOS = ("restated", "append", "prepend")

#: scenario -> (old silver, new silver, touched days); "base" is built once for both scenarios
PLAN = {
    "restated": ("base", "restated", [d(3)]),
    "append": ("base-34", "base", [d(34)]),
    "prepend": ("base-0", "base", [d(0)]),
}


def events_of(version_name: str, silver) -> DataFrame:
    base, restated = silver
    if version_name == "restated":
        return restated
    if version_name == "base":
        return base
    return base.where(F.col("event_date") != d(int(version_name.split("-")[1])))


def _rows(df: DataFrame) -> list[tuple]:
    return [tuple(r) for r in df.collect()]


def _replace(old: list[tuple], schema, delta: GoldDelta) -> tuple[Counter, int]:
    """``apply_delta`` of ``delta`` onto the collected ``old`` rows, and the number of delta rows outside
    their own scope. The delta is collected once and re-served from memory, so each table costs one
    job for its rows instead of one per use."""
    spark = delta.rows.sparkSession
    i = schema.names.index(delta.column)
    scope = {r[0] for r in delta.values.collect()}
    new = _rows(delta.rows.select(*schema.names))
    local = GoldDelta(
        spark.createDataFrame(new, schema),
        delta.column,
        spark.createDataFrame([(v,) for v in scope], delta.values.schema),
    )
    applied = apply_delta(spark.createDataFrame(old, schema), local)
    return Counter(_rows(applied)), sum(1 for r in new if r[i] not in scope)


@pytest.fixture(scope="module")
def outcome(silver):
    """Per scenario and table: (old rows with the delta applied, full-rebuild rows, rows out of scope)."""
    builds: dict[str, dict] = {}
    full_rows: dict[tuple[str, str], list[tuple]] = {}
    cache: dict[str, dict] = {}

    def build(version_name: str) -> dict:
        if version_name not in builds:
            builds[version_name] = build_gold(events_of(version_name, silver))
        return builds[version_name]

    def rows_of(version_name: str, table: str) -> list[tuple]:
        if (version_name, table) not in full_rows:
            full_rows[version_name, table] = _rows(build(version_name)[table])
        return full_rows[version_name, table]

    def run(name: str) -> dict:
        if name not in cache:
            old_name, new_name, touched = PLAN[name]
            new_events = events_of(new_name, silver)
            deltas = build_gold_incremental(new_events, touched, prior=build(old_name))
            result = {}
            for table in GOLD_TABLES:
                schema = build(old_name)[table].schema
                want = Counter(rows_of(new_name, table))
                got, outside = _replace(rows_of(old_name, table), schema, deltas[table])
                result[table] = (got, want, outside)
                if name != "restated" and table == "dim_user":  # new-day promise: touched users only
                    fast = dim_user_delta(
                        new_events, touched, only_new_days=True, prior=build(old_name)["dim_user"]
                    )
                    got, outside = _replace(rows_of(old_name, table), schema, fast)
                    result["dim_user[only_new_days]"] = (got, want, outside)
                    result["_only_new_days_users"] = sorted(r[0] for r in fast.values.collect())
            cache[name] = result
        return cache[name]

    run.build = build
    return run


# only_new_days promises nothing for a restated day, so that pair is not a case
CASES = [
    (n, t)
    for n in SCENARIOS
    for t in [*GOLD_TABLES, "dim_user[only_new_days]"]
    if not (n == "restated" and t == "dim_user[only_new_days]")
]


@pytest.mark.parametrize(("name", "table"), CASES)
def test_incremental_equals_full_rebuild(outcome, name, table):
    result = outcome(name)
    got, want, outside = result[table]
    assert outside == 0, f"{outside} delta rows outside their own scope"
    assert sum(want.values()) > 0
    missing, extra = list((want - got).elements()), list((got - want).elements())
    assert not missing and not extra, f"missing {missing[:3]} extra {extra[:3]}"


def test_only_new_days_scopes_users_to_the_touched_day(outcome):
    assert outcome("append")["_only_new_days_users"] == ["u1", "u11", "u12", "u8", "u9"]


def test_restatement_moves_what_it_should(outcome):
    """Spot checks that the restated scenario really exercises the hard cases."""
    old, new = outcome.build("base"), outcome.build("restated")

    def cell(tables, table, where, col):
        return [r[0] for r in tables[table].where(where).select(col).collect()]

    u6 = F.col("user_pseudo_id") == "u6"
    assert cell(old, "fact_sessions", u6 & (F.col("session_id") == 601), "session_start_date") == [d(3)]
    assert cell(new, "fact_sessions", u6 & (F.col("session_id") == 601), "session_start_date") == [d(4)]
    assert cell(old, "dim_user", F.col("user_pseudo_id") == "u4", "sessions") == [1]
    assert cell(new, "dim_user", F.col("user_pseudo_id") == "u4", "sessions") == []
    assert cell(new, "dim_page", F.col("page_location") == ONLY3, "page_id") == []
    u8_day20 = (F.col("user_pseudo_id") == "u8") & (F.col("session_start_date") == d(20))
    assert cell(old, "dim_traffic_source", u8_day20, "last_non_direct_medium") == ["cpc"]
    assert cell(new, "dim_traffic_source", u8_day20, "last_non_direct_medium") == ["email"]
    u8_day33 = (F.col("user_pseudo_id") == "u8") & (F.col("session_start_date") == d(33))
    assert cell(new, "dim_traffic_source", u8_day33, "last_non_direct_medium") == ["email"]  # 29 d 23 h
    u8_day34 = (F.col("user_pseudo_id") == "u8") & (F.col("session_start_date") == d(34))
    assert cell(new, "dim_traffic_source", u8_day34, "last_non_direct_source") == ["(direct)"]  # 30 d 12 h
    day3 = (F.col("cohort_date") == d(3)) & (F.col("day_n") == 0)
    assert cell(old, "agg_retention_daily", day3, "cohort_users") == [3]  # u4, u6, u8
    assert cell(new, "agg_retention_daily", day3, "cohort_users") == [2]  # u8, u10
    u10_return = (F.col("cohort_date") == d(3)) & (F.col("day_n") == 2)
    assert cell(new, "agg_retention_daily", u10_return, "returning_users") == [1]
