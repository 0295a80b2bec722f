"""The dashboard's filter URLs and the comparison of what the page received with gold (no services)."""

from __future__ import annotations

import dataclasses
import json
import urllib.parse
from datetime import UTC, date, datetime

import pytest

from ga4lake.dashboard import values
from ga4lake.dashboard.filters import DATE_FILTER, NO_FILTER, FilterState, rison
from ga4lake.dashboard.values import GoldView

STAGES = ("session_start", "page_view", "view_item", "purchase")


def test_rison_quotes_what_needs_it_and_nests():
    assert rison({"a": [1, "mobile", "United States", "it's", None, True]}) == (
        "(a:!(1,mobile,'United States','it!'s',!n,!t))"
    )
    assert rison("") == "''" and rison("2020-12-01 : 2021-01-01") == "'2020-12-01 : 2021-01-01'"
    assert rison("-x") == "'-x'" and rison("a!b") == "'a!!b'"


def test_a_date_range_is_inclusive_and_becomes_superset_s_half_open_range():
    state = FilterState(date(2020, 12, 1), date(2020, 12, 31))
    assert state.time_range == "2020-12-01 : 2021-01-01"
    mask = state.data_mask()
    assert mask[DATE_FILTER]["extraFormData"] == {"time_range": "2020-12-01 : 2021-01-01"}
    query = urllib.parse.parse_qs(state.url_query()[1:])
    assert query == {"native_filters": [rison(mask)]}


def test_segment_filters_query_their_column_and_no_filter_is_no_query():
    state = FilterState(segments={"device_category": ("mobile",), "country": ()})
    (mask,) = state.data_mask().values()
    assert mask["id"] == "NATIVE_FILTER-ga4-device"
    assert mask["extraFormData"]["filters"] == [{"col": "device_category", "op": "IN", "val": ["mobile"]}]
    assert NO_FILTER.url_query() == "" and NO_FILTER.describe() == "no filter"
    with pytest.raises(ValueError, match="no dashboard filter"):
        FilterState(segments={"os": ("linux",)})
    with pytest.raises(ValueError, match="both ends"):
        FilterState(start=date(2020, 12, 1))


def test_d3_fixed_rounds_halves_up_as_the_browser_does():
    assert values.d3_fixed(1234.5, 0) == "1,235" and values.d3_fixed(2.345, 2) == "2.35"
    assert values.d3_fixed(1234567.4, 0) == "1,234,567"


def test_temporal_values_are_epoch_ms_or_iso():
    ms = datetime(2021, 1, 31, tzinfo=UTC).timestamp() * 1000
    assert values.as_day(ms) == values.as_day("2021-01-31T00:00:00") == date(2021, 1, 31)


def _view(**changes) -> GoldView:
    view = GoldView(
        state=NO_FILTER,
        sessions=1000,
        users=800,
        converted=20,
        revenue=1234.5,
        session_days=(date(2020, 11, 1), date(2020, 11, 2), date(2020, 11, 3)),
        cohort_span=(date(2020, 11, 1), date(2020, 11, 3)),
        stages=STAGES,
        stage_sessions={"session_start": 1000, "page_view": 990, "purchase": 20},
        funnel=(
            ("session_start", 1000, 1000),
            ("page_view", 990, 990),
            ("view_item", 500, 400),
            ("purchase", 20, 15),
        ),
        items={i.name: i for i in ITEMS},
    )
    return dataclasses.replace(view, **changes)


# twelve items, two of them sold nothing: the table shows the ten of highest revenue
ITEMS = [
    values.ItemFigures(f"Item {n:02d}", 50 + n, 10 + n, n, 8 + n, n, 100.0 * n) for n in range(10, 0, -1)
] + [values.ItemFigures("Never carted", 7, 0, 0, 0, 0, 0.0), values.ItemFigures("Carted", 9, 3, 0, 2, 0, 0.0)]


def _page(view: GoldView) -> tuple[dict, dict]:
    """What a correct page receives and shows for ``view``."""
    ms = [datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp() * 1000 for d in view.session_days]
    funnel = view.funnel or ()
    records = {
        values.SESSIONS: [{"sessions": view.sessions}],
        values.USERS: [{"users": view.users}],
        values.CONVERSION: [{"conversion_rate": view.conversion}],
        values.REVENUE: [{"revenue": view.revenue}],
        values.DAILY_FUNNEL: [{"event_date": t, "view_item": 0.4} for t in ms],
        values.RETENTION_LINES: [{"cohort_date": t, "d1_retention": 0.1} for t in ms],
        values.RETENTION_HEATMAP: [{"cohort_date": t, "day_n": 0} for t in ms],
        values.FUNNEL_TABLE: [
            {"stage_order": i, "stage": s, "open_sessions": o, "closed_sessions": c}
            for i, (s, o, c) in enumerate(funnel, 1)
        ],
        values.FUNNEL_CLOSED: [{"stage": s, "closed_sessions": c} for s, _, c in funnel],
        values.FUNNEL_OPEN: [{"stage": s, "open_sessions": o} for s, o, _ in funnel],
        values.CHANNELS: [
            {"channel": "Direct", "sessions": 600, "revenue": 1000.0},
            {"channel": "Email", "sessions": 400, "revenue": 234.5},
        ],
        values.TOP_PRODUCTS: [
            {
                "item_name": i.name,
                "item_views": i.views,
                "add_to_carts": i.adds_to_cart,
                "purchases": i.purchases,
                "cart_to_purchase": i.cart_to_purchase,
                "item_revenue": i.revenue,
            }
            for i in ITEMS[: values.TOP_PRODUCTS_ROWS]
        ],
    }
    texts = {name: f"{text}\nsubtitle" for name, text in values.tile_texts(view).items()}
    return records, texts


def test_a_page_that_shows_gold_has_no_differences():
    view = _view()
    assert values.tile_texts(view) == {
        "Sessions": "1,000",
        "Users": "800",
        "Conversion rate": "2.00%",
        "Revenue": "$1,235",
    }
    assert values.differences(view, *_page(view)) == []


@pytest.mark.parametrize(
    ("chart", "change", "expected"),
    [
        (values.SESSIONS, lambda r: r[0].update(sessions=999), "Sessions: page 999, gold 1000"),
        (values.REVENUE, lambda r: r[0].update(revenue=1234.0), "Revenue: page 1234.0"),
        (values.DAILY_FUNNEL, lambda r: r.pop(), "days"),  # the last day missing: a short line
        (values.DAILY_FUNNEL, lambda r: r.pop(1), "days"),  # a gap
        (values.RETENTION_LINES, lambda r: r.pop(0), "cohorts"),
        (values.FUNNEL_CLOSED, lambda r: r.reverse(), values.FUNNEL_CLOSED),  # stages out of order
        (values.FUNNEL_OPEN, lambda r: r[2].update(open_sessions=501), "Funnel (open)"),
        (values.FUNNEL_TABLE, lambda r: r[3].update(closed_sessions=61), "Funnel stages"),
        (values.CHANNELS, lambda r: r[0].update(sessions=599), "channel sessions"),
        (values.TOP_PRODUCTS, lambda r: r[3].update(add_to_carts=1), "views/carts/purchases"),
        (values.TOP_PRODUCTS, lambda r: r[0].update(cart_to_purchase=0.5), "cart-to-purchase"),
        (values.TOP_PRODUCTS, lambda r: r.pop(), "revenues"),  # a row short of the top ten
        (values.TOP_PRODUCTS, lambda r: r[9].update(item_revenue=0.0), "revenues"),  # not the top ten
        (values.TOP_PRODUCTS, lambda r: r[1].update(item_name="Item 99"), "no such item"),
    ],
)
def test_each_kind_of_wrong_page_data_is_reported(chart, change, expected):
    view = _view()
    records, texts = _page(view)
    change(records[chart])
    diffs = values.differences(view, records, texts)
    assert len(diffs) == 1 and expected.lower() in diffs[0].lower(), diffs


def test_a_kpi_tile_showing_another_number_is_reported():
    view = _view()
    records, texts = _page(view)
    texts[values.USERS] = "1.2k\nsubtitle"
    assert values.differences(view, records, texts) == ["Users tile text: page '1.2k', gold '800'"]


def test_under_a_segment_filter_stage_order_and_the_stages_fact_sessions_knows_are_checked():
    view = _view()
    records, texts = _page(view)
    segmented = _view(state=FilterState(segments={"device_category": ("mobile",)}), funnel=None)
    assert values.differences(segmented, records, texts) == []
    records[values.FUNNEL_OPEN][0], records[values.FUNNEL_OPEN][1] = (
        records[values.FUNNEL_OPEN][1],
        records[values.FUNNEL_OPEN][0],
    )
    records[values.FUNNEL_TABLE][1]["open_sessions"] = 7
    diffs = values.differences(segmented, records, texts)
    assert len(diffs) == 2
    assert diffs[0].startswith(f"{values.FUNNEL_OPEN} stages: page ['page_view', 'session_start'")
    assert diffs[1].startswith(
        f"{values.FUNNEL_TABLE} open sessions: page {{'session_start': 1000, 'page_view': 7"
    )
    assert json.dumps(values.page_funnel(records))  # (stage, open, closed) triples from the table
