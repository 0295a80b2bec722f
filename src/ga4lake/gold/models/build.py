"""The gold build: table specs, full build, incremental build with replacement scopes, and apply_delta.

Incremental contract: for every table, ``apply_delta(full(old events), incremental(new events, T))``
equals ``full(new events)`` row for row, where T are the days whose silver rows were (re)written.
Each table's scope is a set of values of one column; everything in scope is recomputed from exactly
the events that can influence it, so scopes are conservative but never miss a row (docs/gold.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ga4lake.gold.models.common import (
    LOOKBACK_DAYS,
    MAX_SESSION_SPAN_DAYS,
    RETENTION_DAYS,
    TS_DATE_SLACK_DAYS,
    days_between,
    in_window,
    prepare,
)
from ga4lake.gold.models.events import fact_events
from ga4lake.gold.models.funnel import agg_funnel_daily
from ga4lake.gold.models.items import agg_item_daily, fact_items
from ga4lake.gold.models.pages import agg_page_daily, dim_page
from ga4lake.gold.models.retention import activity, cohort_members, retention
from ga4lake.gold.models.session_days import fact_session_days
from ga4lake.gold.models.sessions import FACT_SESSIONS_COLUMNS, session_base
from ga4lake.gold.models.traffic_sources import agg_traffic_source_daily, dim_traffic_source
from ga4lake.gold.models.users import dim_user, merge_users, user_aggregates


@dataclass(frozen=True)
class TableSpec:
    name: str
    keys: tuple[str, ...]
    partition_col: str | None
    description: str


@dataclass(frozen=True)
class GoldDelta:
    """Replace every existing row whose ``column`` is in ``values`` by ``rows`` (all inside the scope)."""

    rows: DataFrame
    column: str
    values: DataFrame


def _spec(name: str, keys: tuple[str, ...], partition_col: str | None, description: str) -> TableSpec:
    return TableSpec(name, keys, partition_col, description)


GOLD_TABLES: dict[str, TableSpec] = {
    s.name: s
    for s in (
        _spec("fact_events", ("event_key",), "event_date", "one row per silver event (stg_ga4__events)"),
        _spec(
            "fact_sessions",
            ("session_key",),
            "session_start_date",
            "one row per session, midnight-crossing sessions once (fct_ga4__sessions + dim_ga4__sessions)",
        ),
        _spec(
            "fact_session_days",
            ("session_partition_key",),
            "session_partition_date",
            "one row per session x event_date (fct_ga4__sessions_daily)",
        ),
        _spec(
            "dim_user",
            ("user_pseudo_id",),
            None,
            "one row per user_pseudo_id: first/last seen, first touch, totals (dim/fct_ga4__client_keys)",
        ),
        _spec("dim_page", ("page_id",), None, "one row per page (cleaned URL), attributes of its first view"),
        _spec(
            "agg_page_daily",
            ("event_date", "page_id", "stream_id"),
            "event_date",
            "page views, sessions, users, entrances, engagement per day and page (fct_ga4__pages)",
        ),
        _spec(
            "dim_traffic_source",
            ("session_key",),
            "session_start_date",
            "session attribution + last-non-direct 30-day look-back (stg_ga4__sessions_traffic_sources)",
        ),
        _spec(
            "agg_funnel_daily",
            ("event_date", "stage"),
            "event_date",
            "open and closed e-commerce funnel per session start date and stage",
        ),
        _spec(
            "agg_retention_daily",
            ("cohort_date", "day_n"),
            "cohort_date",
            "first-visit cohorts x day 0..30: returning users, rates on and on-or-after day n",
        ),
        _spec(
            "agg_traffic_source_daily",
            ("event_date", "source", "medium", "campaign", "default_channel_group"),
            "event_date",
            "sessions, users, engagement, purchases, revenue per day and session traffic source",
        ),
        _spec(
            "fact_items",
            ("event_item_key",),
            "event_date",
            "one row per item of an e-commerce event (stg_ga4__event_items)",
        ),
        _spec(
            "agg_item_daily",
            ("event_date", "item_id"),
            "event_date",
            "per day and item: views, adds to cart, checkouts, purchases, item revenue, cart-to-purchase",
        ),
    )
}


def _builders(
    prepared: DataFrame, keep: Callable[[DataFrame], DataFrame] = lambda df: df
) -> dict[str, Callable[[], DataFrame]]:
    sessions = keep(session_base(prepared))
    return {
        "fact_events": lambda: fact_events(prepared),
        "fact_sessions": lambda: sessions.select(*[F.col(c) for c in FACT_SESSIONS_COLUMNS]),
        "fact_session_days": lambda: fact_session_days(prepared),
        "dim_user": lambda: dim_user(prepared),
        "dim_page": lambda: dim_page(prepared),
        "agg_page_daily": lambda: agg_page_daily(prepared),
        "dim_traffic_source": lambda: dim_traffic_source(sessions),
        "agg_funnel_daily": lambda: agg_funnel_daily(prepared),
        "agg_retention_daily": lambda: _retention_full(prepared),
        "agg_traffic_source_daily": lambda: agg_traffic_source_daily(sessions),
        "fact_items": lambda: fact_items(prepared),
        "agg_item_daily": lambda: agg_item_daily(fact_items(prepared)),
    }


def _retention_full(prepared: DataFrame) -> DataFrame:
    last_date = prepared.agg(F.max("event_date").alias("last_date"))
    return retention(cohort_members(prepared), activity(prepared), last_date)


def build_gold(
    events: DataFrame, keep: Callable[[DataFrame], DataFrame] = lambda df: df
) -> dict[str, DataFrame]:
    """Full build of every gold table from all silver events (lazy DataFrames, nothing is computed).

    ``keep``: applied to the session aggregate three tables share (the caller may persist it, so the
    expensive per-session aggregation over every event runs once instead of three times)."""
    return {name: build() for name, build in _builders(prepare(events), keep).items()}


# -- incremental ---------------------------------------------------------------------------------------


def _dates(events: DataFrame, column: str, days: Iterable[date]) -> DataFrame:
    return events.sparkSession.createDataFrame([(d,) for d in sorted(set(days))], f"{column} date")


def _dates_up_to_data(events: DataFrame, column: str, lo: date, at_least: date) -> DataFrame:
    """Every date from ``lo`` to the later of ``at_least`` and the last event_date (lazy)."""
    last = events.where(in_window(lo)).agg(F.max("event_date").alias("m"))
    return last.select(
        F.explode(F.sequence(F.lit(lo), F.greatest(F.col("m"), F.lit(at_least)))).alias(column)
    )


def _window(events: DataFrame, lo: date | None, hi: date | None = None) -> DataFrame:
    return prepare(events.where(in_window(lo, hi)))


def build_gold_incremental(
    events: DataFrame,
    touched_days: list[date],
    *,
    prior: Mapping[str, DataFrame],
    only_new_days: bool = False,
) -> dict[str, GoldDelta]:
    """Deltas that bring a gold build of the previous silver up to date with ``events``.

    ``touched_days``: days whose silver rows this load (re)wrote. ``only_new_days=True`` is a promise
    that none of them had silver rows before (a plain append): dim_user can then be scoped to the
    users active on those days; otherwise a restated day may have removed a user's only recent events,
    which no key set derived from the new events can find, so dim_user is rebuilt whole.
    ``prior``: the gold ``dim_page`` and ``dim_user`` built from the previous silver (PRIOR_TABLES, read
    before this load replaces them). They say which pages and cohort members existed before the first
    touched day without scanning every earlier event, so a late day reads no more history than an early one.
    """
    t = sorted(set(touched_days))
    if not t:  # nothing touched: empty deltas with the tables' schemas (no Spark job needed)
        spark = events.sparkSession
        shapes = build_gold(events.where(F.lit(False)))
        return {
            name: GoldDelta(
                spark.createDataFrame([], shapes[name].schema),
                _scope_column(name),
                _dates(events, _scope_column(name), []),
            )
            for name in GOLD_TABLES
        }
    span = timedelta(days=MAX_SESSION_SPAN_DAYS)
    t_lo, t_hi = t[0], t[-1]
    deltas: dict[str, GoldDelta] = {}

    # day-local tables: a day's rows depend on that day's events only
    day_events = prepare(events.where(F.col("event_date").isin(*t)))
    deltas["fact_events"] = GoldDelta(fact_events(day_events), "event_date", _dates(events, "event_date", t))
    deltas["fact_session_days"] = GoldDelta(
        fact_session_days(day_events), "session_partition_date", _dates(events, "session_partition_date", t)
    )
    deltas["agg_page_daily"] = GoldDelta(
        agg_page_daily(day_events), "event_date", _dates(events, "event_date", t)
    )
    day_items = fact_items(day_events)
    deltas["fact_items"] = GoldDelta(day_items, "event_date", _dates(events, "event_date", t))
    deltas["agg_item_daily"] = GoldDelta(
        agg_item_daily(day_items), "event_date", _dates(events, "event_date", t)
    )

    # session-grained tables: sessions starting the day before .. the day after a touched day
    s_lo, s_hi = t_lo - span, t_hi + span
    s_window = _window(events, s_lo - span, s_hi + span)
    s_base = session_base(s_window).where(in_window(s_lo, s_hi, "session_start_date"))
    s_days = days_between(s_lo, s_hi)
    deltas["fact_sessions"] = GoldDelta(
        s_base.select(*[F.col(c) for c in FACT_SESSIONS_COLUMNS]),
        "session_start_date",
        _dates(events, "session_start_date", s_days),
    )
    deltas["agg_traffic_source_daily"] = GoldDelta(
        agg_traffic_source_daily(s_base), "event_date", _dates(events, "event_date", s_days)
    )
    deltas["agg_funnel_daily"] = GoldDelta(
        agg_funnel_daily(s_window).where(in_window(s_lo, s_hi)),
        "event_date",
        _dates(events, "event_date", s_days),
    )

    # last-non-direct: later sessions of the same client within the look-back inherit from changed ones
    reach = timedelta(days=LOOKBACK_DAYS + TS_DATE_SLACK_DAYS)
    slack = timedelta(days=TS_DATE_SLACK_DAYS)
    d_lo, d_hi = s_lo, s_hi + reach
    ctx_lo, ctx_hi = d_lo - reach, d_hi + slack
    # the look-back never leaves a client_key: only clients active in the scope need context
    clients = (
        events.where(in_window(d_lo, d_hi + span) & F.col("session_key").isNotNull())
        .select("client_key")
        .distinct()
    )
    ctx_events = events.where(in_window(ctx_lo - span, ctx_hi + span)).join(
        clients, "client_key", "left_semi"
    )
    ctx = session_base(prepare(ctx_events)).where(in_window(ctx_lo, ctx_hi, "session_start_date"))
    deltas["dim_traffic_source"] = GoldDelta(
        dim_traffic_source(ctx).where(in_window(d_lo, d_hi, "session_start_date")),
        "session_start_date",
        _dates(events, "session_start_date", days_between(d_lo, d_hi)),
    )

    # pages: attributes of the first view, so only pages first seen on/after the first touched day
    later = _window(events, t_lo)
    seen_before = prior["dim_page"].where(F.col("first_seen_date") < F.lit(t_lo)).select("page_id")
    deltas["dim_page"] = GoldDelta(
        dim_page(later).join(seen_before, "page_id", "left_anti"),
        "first_seen_date",
        _dates_up_to_data(events, "first_seen_date", t_lo, t_hi),
    )

    # retention: cohorts whose 30-day window contains a touched day, or that a user can move into
    r_lo = t_lo - timedelta(days=RETENTION_DAYS)
    r_window = _window(events, r_lo)
    # a cohort is the date of the first first_visit: dim_user.first_visit_date exactly
    earlier_cohorts = (
        prior["dim_user"].where(F.col("first_visit_date") < F.lit(r_lo)).select("user_pseudo_id")
    )
    members = cohort_members(r_window).join(earlier_cohorts, "user_pseudo_id", "left_anti")
    last_date = r_window.agg(F.max("event_date").alias("last_date"))
    deltas["agg_retention_daily"] = GoldDelta(
        retention(members, activity(r_window), last_date),
        "cohort_date",
        _dates_up_to_data(events, "cohort_date", r_lo, t_hi),
    )

    deltas["dim_user"] = dim_user_delta(events, t, only_new_days=only_new_days, prior=prior["dim_user"])
    return {name: deltas[name] for name in GOLD_TABLES}


# the tables ``prior`` holds. Every delta must see them as they were before the load — dim_user's own delta
# merges into the very rows it replaces — so a writer reads them at the snapshot the load started from
# (ga4lake.gold.step), and also writes them last (write_order)
PRIOR_TABLES = ("dim_page", "dim_user")


def write_order() -> list[str]:
    """Gold tables in an order where no delta reads a ``prior`` table this load already replaced."""
    return [n for n in GOLD_TABLES if n not in PRIOR_TABLES] + list(PRIOR_TABLES)


def dim_user_delta(
    events: DataFrame,
    touched_days: list[date],
    *,
    only_new_days: bool = False,
    prior: DataFrame | None = None,
) -> GoldDelta:
    """dim_user's delta (see build_gold_incremental): totals and last-seen span the whole history.

    ``only_new_days`` (needs ``prior``, the dim_user before the load): the users active on the new days,
    merged into their prior rows (``merge_users``). The only older events read are those sharing a
    session with a new event (sessions cross at most MAX_SESSION_SPAN_DAYS date changes, so they lie next
    to the new days) or a sessionless order's transaction id, so the cost does not grow with history."""
    if only_new_days:
        if prior is None:
            raise ValueError("dim_user_delta(only_new_days=True) needs the prior dim_user")
        return _merged_user_delta(events, touched_days, prior)
    all_days = events.select(F.col("event_date").alias("first_seen_date")).union(
        _dates(events, "first_seen_date", touched_days)
    )
    return GoldDelta(dim_user(prepare(events)), "first_seen_date", all_days.distinct())


def _merged_user_delta(events: DataFrame, touched_days: list[date], prior: DataFrame) -> GoldDelta:
    t = sorted(set(touched_days))
    span = timedelta(days=MAX_SESSION_SPAN_DAYS)
    known = events.where(F.col("user_pseudo_id").isNotNull())
    new = known.where(F.col("event_date").isin(*t))
    older = known.where(~F.col("event_date").isin(*t))
    new_sessions = new.where(F.col("session_key").isNotNull()).select("session_key").distinct()
    session_halves = older.where(in_window(t[0] - span, t[-1] + span)).join(
        new_sessions, "session_key", "left_semi"
    )
    sessionless = F.col("session_key").isNull() & (F.col("event_name") == F.lit("purchase"))
    order_keys = ["user_pseudo_id", "transaction_key"]
    new_orders = prepare(new.where(sessionless)).select(*order_keys).distinct()
    same_orders = prepare(older.where(sessionless)).join(new_orders, order_keys, "left_semi")
    context = prepare(session_halves).unionByName(same_orders)
    rows = merge_users(prior, user_aggregates(prepare(new).unionByName(context)), user_aggregates(context))
    touched_users = new.select("user_pseudo_id").distinct()
    return GoldDelta(rows, "user_pseudo_id", touched_users)


def _scope_column(name: str) -> str:
    return {
        "fact_events": "event_date",
        "fact_sessions": "session_start_date",
        "fact_session_days": "session_partition_date",
        "dim_user": "first_seen_date",
        "dim_page": "first_seen_date",
        "agg_page_daily": "event_date",
        "dim_traffic_source": "session_start_date",
        "agg_funnel_daily": "event_date",
        "agg_retention_daily": "cohort_date",
        "agg_traffic_source_daily": "event_date",
        "fact_items": "event_date",
        "agg_item_daily": "event_date",
    }[name]


def apply_delta(old: DataFrame, delta: GoldDelta) -> DataFrame:
    """Reference semantics of a delta: drop old rows whose ``column`` is in scope, add ``rows``."""
    scope = delta.values.select(delta.column).distinct()
    kept = old.join(scope, delta.column, "left_anti").select(*[F.col(c) for c in old.columns])
    return kept.unionByName(delta.rows)
