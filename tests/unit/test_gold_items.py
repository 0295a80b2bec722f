"""fact_items and agg_item_daily on a hand-computed fixture (every row asserted), and their incremental
build equal to the full build.

* Ann ``a.1``, session 11 on 01-01: view_item [shirt], add_to_cart [shirt x2, cap x1], purchase T1
  [shirt x2 = 40.0, cap x1 = 8.0].
* Ben ``b.2``, session 21 on 01-01: view_item [shirt, cap], add_to_cart [cap x1] — no purchase.
* Ben, session 22 on 01-02: add_to_cart [shirt x1], purchase T2 [shirt x1 = 20.0]; a page_view without items.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pyspark.sql import functions as F

from ga4lake.gold.models import apply_delta, build_gold, build_gold_incremental
from tests.unit.conftest import ga4_event

D1, D2 = date(2021, 1, 1), date(2021, 1, 2)
SHIRT = {
    "item_id": "SKU-1",
    "item_name": "Shirt",
    "item_brand": "Acme",
    "item_category": "Apparel",
    "price_in_usd": 20.0,
}
CAP = {
    "item_id": "SKU-2",
    "item_name": "Cap",
    "item_brand": "Acme",
    "item_category": "Hats",
    "price_in_usd": 8.0,
}


def at(day: date, h: int, m: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, h, m, tzinfo=UTC)


def rows() -> list[dict]:
    return [
        ga4_event(at(D1, 10), "session_start", "a.1", 11, 1),
        ga4_event(at(D1, 10, 1), "view_item", "a.1", 11, 1, items=[SHIRT]),
        ga4_event(
            at(D1, 10, 2),
            "add_to_cart",
            "a.1",
            11,
            1,
            items=[{**SHIRT, "quantity": 2}, {**CAP, "quantity": 1}],
        ),
        ga4_event(
            at(D1, 10, 5),
            "purchase",
            "a.1",
            11,
            1,
            transaction_id="T1",
            revenue=48.0,
            items=[
                {**SHIRT, "quantity": 2, "item_revenue_in_usd": 40.0},
                {**CAP, "quantity": 1, "item_revenue_in_usd": 8.0},
            ],
        ),
        ga4_event(at(D1, 12), "session_start", "b.2", 21, 1),
        ga4_event(at(D1, 12, 1), "view_item", "b.2", 21, 1, items=[SHIRT, CAP]),
        ga4_event(at(D1, 12, 2), "add_to_cart", "b.2", 21, 1, items=[{**CAP, "quantity": 1}]),
        ga4_event(at(D2, 9), "session_start", "b.2", 22, 2),
        ga4_event(at(D2, 9, 1), "page_view", "b.2", 22, 2),
        ga4_event(at(D2, 9, 2), "add_to_cart", "b.2", 22, 2, items=[{**SHIRT, "quantity": 1}]),
        ga4_event(
            at(D2, 9, 3),
            "purchase",
            "b.2",
            22,
            2,
            transaction_id="T2",
            revenue=20.0,
            items=[{**SHIRT, "quantity": 1, "item_revenue_in_usd": 20.0}],
        ),
    ]


@pytest.fixture(scope="module")
def silver(to_silver):
    return to_silver(rows())


@pytest.fixture(scope="module")
def gold(silver):
    built = build_gold(silver)
    return {n: built[n].localCheckpoint() for n in ("fact_items", "agg_item_daily")}


def test_fact_items_has_one_row_per_item_of_each_event(gold):
    df = gold["fact_items"]
    got = sorted(
        (
            r.event_date,
            r.event_name,
            r.item_index,
            r.item_id,
            r.quantity,
            r.item_revenue_in_usd,
            r.transaction_id,
        )
        for r in df.collect()
    )
    assert got == sorted(
        [
            (D1, "view_item", 0, "SKU-1", None, None, None),
            (D1, "add_to_cart", 0, "SKU-1", 2, None, None),
            (D1, "add_to_cart", 1, "SKU-2", 1, None, None),
            (D1, "purchase", 0, "SKU-1", 2, 40.0, "T1"),
            (D1, "purchase", 1, "SKU-2", 1, 8.0, "T1"),
            (D1, "view_item", 0, "SKU-1", None, None, None),
            (D1, "view_item", 1, "SKU-2", None, None, None),
            (D1, "add_to_cart", 0, "SKU-2", 1, None, None),
            (D2, "add_to_cart", 0, "SKU-1", 1, None, None),
            (D2, "purchase", 0, "SKU-1", 1, 20.0, "T2"),
        ]
    )
    keys = [r.event_item_key for r in df.select("event_item_key").collect()]
    assert len(set(keys)) == len(keys) == 10  # the table's key is unique
    assert df.where(F.col("session_key").isNull()).count() == 0
    assert {r.item_brand for r in df.collect()} == {"Acme"}


def test_agg_item_daily_counts_views_carts_purchases_and_revenue(gold):
    got = {
        (r.event_date, r.item_id): (
            r.item_name,
            r.item_views,
            r.add_to_carts,
            r.quantity_added_to_cart,
            r.purchases,
            r.quantity_purchased,
            r.item_revenue_in_usd,
            r.view_sessions,
            r.cart_sessions,
            r.purchase_sessions,
            r.cart_to_purchase_rate,
        )
        for r in gold["agg_item_daily"].collect()
    }
    assert got == {
        # shirt on day 1: viewed in both sessions, carted and bought (x2) by Ann only
        (D1, "SKU-1"): ("Shirt", 2, 1, 2, 1, 2, 40.0, 2, 1, 1, 1.0),
        # cap on day 1: carted in both sessions, bought in one -> cart-to-purchase 0.5
        (D1, "SKU-2"): ("Cap", 1, 2, 2, 1, 1, 8.0, 1, 2, 1, 0.5),
        (D2, "SKU-1"): ("Shirt", 0, 1, 1, 1, 1, 20.0, 0, 1, 1, 1.0),
    }


def test_item_tables_incremental_equals_full(silver, gold):
    """A load of day 2 on top of day 1's gold gives the full build's rows."""
    day1 = silver.where(F.col("event_date") == F.lit(D1))
    before = build_gold(day1)
    deltas = build_gold_incremental(silver, [D2], prior={n: before[n] for n in ("dim_page", "dim_user")})
    for name in ("fact_items", "agg_item_daily"):
        merged = apply_delta(before[name], deltas[name])
        assert sorted(merged.collect()) == sorted(gold[name].collect()), name
