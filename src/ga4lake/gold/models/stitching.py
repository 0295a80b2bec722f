"""Opt-in user stitching (ga4lake.yml ``users.stitching``): ``user_id_mapping`` and ``dim_user_stitched``.

dbt-ga4's stitching (``stg_ga4__user_id_mapping`` feeding its stitched client keys): every
user_pseudo_id (a browser's cookie id) that ever sent a ``user_id`` (the site's login id) maps to the
*latest* one it sent — the last non-NULL user_id by (event_timestamp, event_key), so a shared browser
that logged in as two people belongs to the later one. ``dim_user_stitched`` then groups dim_user's
rows by ``coalesce(user_id, user_pseudo_id)``: one row per person, however many browsers they used.

Where user_id comes from: silver and the other gold tables never carry it (docs/privacy.md), so the
mapping reads bronze, whose ``user_id`` is what ``GA4LAKE_PII_USER_ID`` left of it — the keyed HMAC under
``hash`` (the default: the mapping never holds the raw id), the raw id under ``keep``; under ``drop``
there is nothing to stitch on and the configuration is refused (``ga4lake.project.check_stitching``).
Bronze rows go through silver's own contract, de-duplication and keys (``build_silver``) with user_id
carried along under another name, so an identified event has exactly its silver ``event_key``.

Both tables are rebuilt in full on every load that has stitching on (no incremental scope): the mapping
is small (identified clients only) and its bronze scan reads just the rows that carry a user_id. When
stitching is off they are not built and nothing else changes (they are not in ``GOLD_TABLES``, so
neither the PostgreSQL sync nor dbt nor parity sees them).
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ga4lake.gold.models.common import MONEY
from ga4lake.lake.privacy import USER_ID
from ga4lake.lake.silver import build_silver

#: the name user_id travels under through build_silver (an unknown column passes through unchanged)
_CARRIED = "stitch_user_id"

#: (name, key columns, description) of the stitched tables, in write order (the dimension reads dim_user)
STITCHED_TABLES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (
        "user_id_mapping",
        ("user_pseudo_id",),
        "one row per user_pseudo_id that sent a user_id: the latest one, first/last identified event",
    ),
    (
        "dim_user_stitched",
        ("person_key",),
        "one row per person, coalesce(user_id, user_pseudo_id): clients, first/last seen, totals",
    ),
)


def identified_events(bronze: DataFrame) -> DataFrame:
    """Bronze rows that carry a user_id, as silver keys them: user_pseudo_id, client_key, user_id,
    event_timestamp_us, event_key, event_date (a bronze without the column: no rows)."""
    if USER_ID not in bronze.columns:
        return identified_events(bronze.select("*", F.lit(None).cast("string").alias(USER_ID)))
    with_id = bronze.where(F.col(USER_ID).isNotNull() & F.col("user_pseudo_id").isNotNull())
    carried = with_id.select(
        *[F.col(c).alias(_CARRIED) if c == USER_ID else F.col(c) for c in bronze.columns]
    )
    return build_silver(carried).events.select(
        F.col("user_pseudo_id"),
        F.col("client_key"),
        F.col(_CARRIED).cast("string").alias("user_id"),
        F.col("event_timestamp_us"),
        F.col("event_key"),
        F.col("event_date"),
    )


def user_id_mapping(identified: DataFrame) -> DataFrame:
    """One row per user_pseudo_id with a non-NULL user_id: the latest user_id (by event_timestamp, then
    event_key, so ties are broken the same way on every run), the client_key of that event, how many
    distinct user_ids the client sent, and its first/last *identified* event."""
    known = identified.where(F.col("user_id").isNotNull() & F.col("user_pseudo_id").isNotNull())
    order = F.struct(F.col("event_timestamp_us"), F.col("event_key"))
    agg = known.groupBy("user_pseudo_id").agg(
        F.max_by(F.struct(F.col("user_id"), F.col("client_key")), order).alias("last"),
        F.count_distinct(F.col("user_id")).alias("user_ids"),
        F.min("event_timestamp_us").alias("first_us"),
        F.max("event_timestamp_us").alias("last_us"),
    )
    return agg.select(
        F.col("user_pseudo_id"),
        F.col("last.client_key").alias("client_key"),
        F.col("last.user_id").alias("user_id"),
        F.col("user_ids").cast("long").alias("user_ids"),
        F.timestamp_micros("first_us").alias("first_seen_ts"),
        F.timestamp_micros("last_us").alias("last_seen_ts"),
    )


def dim_user_stitched(mapping: DataFrame, users: DataFrame) -> DataFrame:
    """dim_user's rows grouped by person: ``coalesce(user_id, user_pseudo_id)``.

    A client that never sent a user_id is a person of its own (``identified`` false). Sessions,
    transactions and revenue are sums over the person's clients: a session belongs to one client, so
    sessions add up exactly; an order seen by two clients of one person would count twice (GA4 sends a
    purchase once, from one browser)."""
    u = users.join(mapping.select(F.col("user_pseudo_id"), F.col("user_id")), "user_pseudo_id", "left")
    person = u.select(
        F.coalesce(F.col("user_id"), F.col("user_pseudo_id")).alias("person_key"),
        F.col("user_id").isNotNull().alias("identified"),
        *[F.col(c) for c in ("user_pseudo_id", "first_seen_ts", "last_seen_ts", "sessions")],
        *[F.col(c) for c in ("transactions", "purchase_revenue_in_usd")],
    )
    agg = person.groupBy("person_key").agg(
        F.max("identified").alias("identified"),
        F.count_distinct(F.col("user_pseudo_id")).alias("clients"),
        F.min("first_seen_ts").alias("first_seen_ts"),
        F.max("last_seen_ts").alias("last_seen_ts"),
        F.sum("sessions").alias("sessions"),
        F.sum("transactions").alias("transactions"),
        F.sum("purchase_revenue_in_usd").alias("purchase_revenue_in_usd"),
    )
    return agg.select(
        F.col("person_key"),
        F.col("identified"),
        F.col("clients").cast("long").alias("clients"),
        F.col("first_seen_ts"),
        F.col("last_seen_ts"),
        F.col("sessions").cast("long").alias("sessions"),
        F.col("transactions").cast("long").alias("transactions"),
        F.col("purchase_revenue_in_usd").cast(MONEY).alias("purchase_revenue_in_usd"),
    )
