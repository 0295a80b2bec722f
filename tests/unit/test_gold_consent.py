"""fact_events.consent_denied: consent-mode pings (no user_pseudo_id) are counted with an explicit,
never-NULL flag, in the full and the incremental build alike.

Fixture (UTC, one stream): user ``u.1`` with a session on 01-01 and 01-02; three consent-denied pings
(no user_pseudo_id, no ga_session_id) on 01-01 and 01-02; one event of ``u.2`` without ga_session_id
(NULL session_key, but consent was given: not flagged).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from pyspark.sql import functions as F

from ga4lake.gold.models import apply_delta, build_gold, build_gold_incremental
from ga4lake.gold.models.events import FACT_EVENTS_COLUMNS
from tests.unit.conftest import ga4_event

D1, D2 = date(2021, 1, 1), date(2021, 1, 2)
URL = "https://shop.example.com/"


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def fixture_rows(days: tuple[date, ...] = (D1, D2)) -> list[dict]:
    rows = []
    for day in days:
        sid = 100 + day.day
        rows += [
            ga4_event(at(day, 9), "session_start", "u.1", sid, day.day, page_location=URL),
            ga4_event(at(day, 9), "page_view", "u.1", sid, day.day, page_location=URL),
            ga4_event(at(day, 10), "page_view", None, page_location=URL),  # consent denied
        ]
    rows += [
        ga4_event(at(D2, 11), "user_engagement", None, page_location=URL, engagement_time_msec=3000),
        ga4_event(at(D2, 12), "page_view", "u.2", page_location=URL),  # no session id, consent given
    ]
    return rows


def test_consent_denied_flags_exactly_the_events_without_user_pseudo_id(to_silver):
    ev = build_gold(to_silver(fixture_rows()))["fact_events"]
    assert "consent_denied" in ev.columns and "consent_denied" in FACT_EVENTS_COLUMNS
    assert ev.schema["consent_denied"].dataType.simpleString() == "boolean"
    got = sorted(
        (
            r["event_date"],
            r["event_name"],
            r["user_pseudo_id"] or "-",
            r["client_key"] is None,
            r["consent_denied"],
        )
        for r in ev.collect()
    )
    assert got == [
        (D1, "page_view", "-", True, True),
        (D1, "page_view", "u.1", False, False),
        (D1, "session_start", "u.1", False, False),
        (D2, "page_view", "-", True, True),
        (D2, "page_view", "u.1", False, False),
        (D2, "page_view", "u.2", False, False),
        (D2, "session_start", "u.1", False, False),
        (D2, "user_engagement", "-", True, True),
    ]
    assert ev.where(F.col("consent_denied").isNull()).count() == 0
    per_day = {
        r["event_date"]: (r["denied"], r["events"])
        for r in ev.groupBy("event_date")
        .agg(F.sum(F.col("consent_denied").cast("int")).alias("denied"), F.count(F.lit(1)).alias("events"))
        .collect()
    }
    assert per_day == {D1: (1, 3), D2: (2, 5)}


def test_consent_denied_events_stay_out_of_users_and_sessions(to_silver):
    gold = build_gold(to_silver(fixture_rows()))
    assert sorted(r["user_pseudo_id"] for r in gold["dim_user"].collect()) == ["u.1", "u.2"]
    assert gold["fact_sessions"].count() == 2  # u.1's two sessions; u.2 has no session id


def test_the_incremental_build_carries_the_flag(to_silver):
    old = build_gold(to_silver(fixture_rows((D1,))))
    new_silver = to_silver(fixture_rows())
    deltas = build_gold_incremental(new_silver, [D2], prior=old)
    merged = apply_delta(old["fact_events"], deltas["fact_events"])
    full = build_gold(new_silver)["fact_events"]
    key = ["event_key", "consent_denied"]
    assert sorted(tuple(r) for r in merged.select(*key).collect()) == sorted(
        tuple(r) for r in full.select(*key).collect()
    )
    assert merged.where(F.col("consent_denied")).count() == 3
