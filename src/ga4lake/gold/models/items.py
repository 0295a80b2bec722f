"""Item-level e-commerce: one row per item of an event (``fact_items``) and per item and day (``agg_item_daily``).

GA4 puts the products of an e-commerce event (view_item, add_to_cart, purchase …) in the repeated
``items`` record; the event-level tables only keep their count. ``fact_items`` is that record unnested,
keyed by the event and the item's position in it (an event may list the same item twice, e.g. two
variants), with the event's date, session and transaction beside each item, as dbt-ga4's
``stg_ga4__event_items`` does. Revenue is the export's ``item_revenue_in_usd`` (GA4 fills it on purchase
and refund events only); ``quantity`` defaults to NULL, never to 1, so sums count what was sent.

``agg_item_daily`` answers "which products sell, and which are added to carts but not bought": per
event date and item id, the item's views, adds to cart, checkouts, purchases (quantity and revenue) and
the distinct sessions doing each, with cart-to-purchase as purchased sessions / cart sessions. Both
tables are day-local (a day's rows depend on that day's events only), so a load replaces its days.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ga4lake.gold.models.common import ratio
from ga4lake.gold.models.spec import TableSpec, day_local, from_prepared
from ga4lake.sample.schema import ITEM_STRING_FIELDS_HEAD, ITEM_STRING_FIELDS_TAIL

# item fields kept in gold, in the export's names (``item_params`` and the local-currency amounts stay in
# silver): the export schema's string fields around its USD amounts and quantity
ITEM_FIELDS = (
    *ITEM_STRING_FIELDS_HEAD,
    "price_in_usd",
    "quantity",
    "item_revenue_in_usd",
    "item_refund_in_usd",
    *(f for f in ITEM_STRING_FIELDS_TAIL if f not in ("affiliation", "location_id")),
)
# the event's columns repeated on each of its items
EVENT_COLUMNS = (
    "event_key",
    "event_date",
    "event_ts",
    "event_name",
    "stream_id",
    "user_pseudo_id",
    "client_key",
    "session_key",
    "transaction_id",
)


def fact_items(prepared: DataFrame) -> DataFrame:
    """Prepared events -> one row per element of ``items`` (events without items give no rows)."""
    with_items = prepared.where(F.size(F.col("items")) > 0)
    exploded = with_items.select(
        *[F.col(c) for c in EVENT_COLUMNS],
        F.posexplode(F.col("items")).alias("item_index", "item"),
    )
    return exploded.select(
        F.concat_ws(":", F.col("event_key"), F.col("item_index").cast("string")).alias("event_item_key"),
        F.col("event_key"),
        F.col("item_index"),
        *[F.col(c) for c in EVENT_COLUMNS if c != "event_key"],
        *[F.col(f"item.{name}").alias(name) for name in ITEM_FIELDS],
    )


def _when(event: str, value: Column) -> Column:
    return F.when(F.col("event_name") == F.lit(event), value)


def agg_item_daily(items: DataFrame) -> DataFrame:
    """``fact_items`` -> per event date and item id: views, carts, checkouts, purchases, revenue, sessions."""
    per_item = (
        items.where(F.col("item_id").isNotNull())
        .groupBy("event_date", "item_id")
        .agg(
            F.max("item_name").alias("item_name"),
            F.max("item_brand").alias("item_brand"),
            F.max("item_category").alias("item_category"),
            F.count(_when("view_item", F.lit(1))).alias("item_views"),
            F.count(_when("add_to_cart", F.lit(1))).alias("add_to_carts"),
            F.coalesce(F.sum(_when("add_to_cart", F.col("quantity"))), F.lit(0)).alias(
                "quantity_added_to_cart"
            ),
            F.count(_when("begin_checkout", F.lit(1))).alias("checkouts"),
            F.count(_when("purchase", F.lit(1))).alias("purchases"),
            F.coalesce(F.sum(_when("purchase", F.col("quantity"))), F.lit(0)).alias("quantity_purchased"),
            F.coalesce(F.sum(_when("purchase", F.col("item_revenue_in_usd"))), F.lit(0.0)).alias(
                "item_revenue_in_usd"
            ),
            F.count_distinct(_when("view_item", F.col("session_key"))).alias("view_sessions"),
            F.count_distinct(_when("add_to_cart", F.col("session_key"))).alias("cart_sessions"),
            F.count_distinct(_when("purchase", F.col("session_key"))).alias("purchase_sessions"),
        )
    )
    return per_item.select(
        F.col("event_date"),
        F.col("item_id"),
        F.col("item_name"),
        F.col("item_brand"),
        F.col("item_category"),
        F.col("item_views"),
        F.col("add_to_carts"),
        F.col("quantity_added_to_cart"),
        F.col("checkouts"),
        F.col("purchases"),
        F.col("quantity_purchased"),
        F.col("item_revenue_in_usd"),
        F.col("view_sessions"),
        F.col("cart_sessions"),
        F.col("purchase_sessions"),
        ratio(F.col("purchase_sessions"), F.col("cart_sessions")).alias("cart_to_purchase_rate"),
    )


def _item_daily_from_events(prepared: DataFrame) -> DataFrame:
    return agg_item_daily(fact_items(prepared))


TABLES = (
    TableSpec(
        "fact_items",
        ("event_item_key",),
        "event_date",
        "one row per item of an e-commerce event (stg_ga4__event_items)",
        scope_column="event_date",
        full=from_prepared(fact_items),
        delta=day_local(fact_items),
    ),
    TableSpec(
        "agg_item_daily",
        ("event_date", "item_id"),
        "event_date",
        "per day and item: views, adds to cart, checkouts, purchases, item revenue, cart-to-purchase",
        scope_column="event_date",
        full=from_prepared(_item_daily_from_events),
        delta=day_local(_item_daily_from_events),
    ),
)
