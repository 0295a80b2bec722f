"""ga4lake.yml reaches gold: the values of a ``Project`` change the rows the way docs/configuration.md says,
in the full and the incremental build alike, and the defaults build what gold built before the file.

Fixture (UTC, one stream): client ``u.1`` has a google/cpc session on 01-01 and a direct session on 01-06
(5 days later); client ``u.2`` has one session on 01-01 whose page URL and referrer carry a click id, a
search parameter and a fragment.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pyspark.sql import functions as F

from ga4lake.gold.models import apply_delta, build_gold, build_gold_incremental
from ga4lake.gold.models.common import TS_DATE_SLACK_DAYS, prepare
from ga4lake.project import ALL, DEFAULTS, Attribution, Project, Urls
from tests.unit.conftest import ga4_event
from tests.unit.test_gold_models import session_key

D1, D6 = date(2021, 1, 1), date(2021, 1, 6)
HOME = "https://shop.example.com/"
URL = "https://shop.example.com/p?gclid=abc&q=shoes&utm_source=x#top"
REFERRER = "https://search.example.com/?q=shoes&fbclid=z"


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def fixture_rows(days: tuple[date, ...] = (D1, D6)) -> list[dict]:
    rows = []
    if D1 in days:
        rows += [
            ga4_event(at(D1, 9), "session_start", "u.1", 101, 1, page_location=HOME),
            ga4_event(
                at(D1, 9), "page_view", "u.1", 101, 1, page_location=HOME, source="google", medium="cpc"
            ),
            ga4_event(at(D1, 10), "session_start", "u.2", 201, 1, page_location=URL),
            ga4_event(at(D1, 10), "page_view", "u.2", 201, 1, page_location=URL, page_referrer=REFERRER),
        ]
    if D6 in days:
        rows += [
            ga4_event(at(D6, 9), "session_start", "u.1", 102, 2, page_location=HOME),
            ga4_event(at(D6, 9), "page_view", "u.1", 102, 2, page_location=HOME),
        ]
    return rows


@pytest.fixture(scope="module")
def silver(to_silver):
    return to_silver(fixture_rows())


def last_non_direct(traffic) -> dict[str, str]:
    return {r["session_key"]: r["last_non_direct_source"] for r in traffic.collect()}


# -- (a) attribution.lookback_days --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lookback", "inherited"), [(30, "google"), (5, "google"), (4, "(direct)"), (1, "(direct)")]
)
def test_lookback_decides_whether_a_direct_session_inherits(silver, lookback, inherited):
    """The direct session starts exactly 5 days after the cpc one: inside a window of 5 days or more
    (the window's edge is included), outside a shorter one; the non-direct sessions keep their own."""
    project = Project(attribution=Attribution(lookback_days=lookback))
    got = last_non_direct(build_gold(silver, project=project)["dim_traffic_source"])
    assert got == {
        session_key("u.1", 101): "google",
        session_key("u.1", 102): inherited,
        session_key("u.2", 201): "google",  # the gclid in its URL (docs/semantics.md#gclid-rule)
    }


def test_default_project_is_the_build_without_one(silver):
    assert last_non_direct(build_gold(silver)["dim_traffic_source"]) == last_non_direct(
        build_gold(silver, project=DEFAULTS)["dim_traffic_source"]
    )


@pytest.mark.parametrize("lookback", [4, 40])
def test_incremental_delta_uses_the_lookback_and_reaches_past_it(to_silver, silver, lookback):
    """A load of 01-06 over a gold of 01-01 built with the same look-back gives the full build's rows, and
    the delta's scope reaches the configured look-back (plus the timestamp slack) past the loaded day, so a
    longer window still rebuilds every later session a changed one can hand its source to."""
    project = Project(attribution=Attribution(lookback_days=lookback))
    old = build_gold(to_silver(fixture_rows((D1,))), project=project)
    delta = build_gold_incremental(silver, [D6], prior=old, project=project)["dim_traffic_source"]
    merged = apply_delta(old["dim_traffic_source"], delta)
    assert last_non_direct(merged) == last_non_direct(
        build_gold(silver, project=project)["dim_traffic_source"]
    )
    assert last_non_direct(merged)[session_key("u.1", 102)] == ("google" if lookback >= 5 else "(direct)")
    scope = {r[0] for r in delta.values.collect()}
    assert max(scope) == D6 + timedelta(days=1 + lookback + TS_DATE_SLACK_DAYS)


# -- (b) urls.strip_query_params ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("strip", "location", "referrer"),
    [
        # the default: the click ids (one delimiter plus name=value per occurrence, dbt-ga4's rule)
        (
            DEFAULTS.urls.strip_query_params,
            "https://shop.example.com/p&q=shoes&utm_source=x#top",
            "https://search.example.com/?q=shoes",
        ),
        # a list of the site's own: only those names, wherever they stand
        (
            ("q", "utm_source"),
            "https://shop.example.com/p?gclid=abc#top",
            "https://search.example.com/&fbclid=z",
        ),
        (
            ("gclid", "q", "utm_source", "fbclid"),
            "https://shop.example.com/p#top",
            "https://search.example.com/",
        ),
        # nothing stripped
        ((), URL, REFERRER),
        # the whole query string, the fragment kept
        (ALL, "https://shop.example.com/p#top", "https://search.example.com/"),
    ],
)
def test_strip_query_params_rewrites_page_location_and_referrer(silver, strip, location, referrer):
    project = Project(urls=Urls(strip))
    prepared = (
        prepare(silver, strip)
        .where(F.col("event_name") == "page_view")
        .where(F.col("user_pseudo_id") == "u.2")
    )
    assert [(r["page_location"], r["page_referrer"], r["page_path"]) for r in prepared.collect()] == [
        (location, referrer, "/p")  # page_path comes from the original URL whatever the rule
    ]
    gold = build_gold(silver, project=project)
    facts = (
        gold["fact_events"].where(F.col("event_name") == "page_view").where(F.col("user_pseudo_id") == "u.2")
    )
    assert [(r["page_location"], r["page_referrer"]) for r in facts.collect()] == [(location, referrer)]
    assert location in {r["page_location"] for r in gold["dim_page"].collect()}


def test_strip_all_keeps_a_question_mark_inside_the_fragment(spark):
    """``all`` deletes from the first ``?`` before any ``#``: a SPA route's ``#/x?y=1`` is left alone."""
    from ga4lake.gold.models.common import exclude_query_parameters

    urls = {
        "https://a.example/#/cart?step=2": "https://a.example/#/cart?step=2",
        "https://a.example/p?x=1?y=2#f?g=3": "https://a.example/p#f?g=3",
        "https://a.example/p": "https://a.example/p",
        "https://a.example/p?": "https://a.example/p",
    }
    df = spark.createDataFrame([(u,) for u in urls], "url string")
    got = {
        r["url"]: r["cleaned"]
        for r in df.select("url", exclude_query_parameters(F.col("url"), ALL).alias("cleaned")).collect()
    }
    assert got == urls
