"""What the dashboard must show, computed from gold itself, and where the page's data differs.

The charts read dbt tables in ``insights`` built over gold; the figures here come from gold's own
tables (``fact_sessions``, ``agg_funnel_daily``, ``agg_retention_daily``, ``dim_user``), so a wrong
model, a wrong metric in the bundle or a filter that does not reach a chart shows up as a difference
between what the browser received (``/api/v1/chart/data`` answers) and gold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ga4lake.config import Settings
from ga4lake.dashboard import pg_rows
from ga4lake.dashboard.filters import FilterState

# slice names in superset/bundle/charts (a unit test keeps them in step)
SESSIONS, USERS, CONVERSION, REVENUE = "Sessions", "Users", "Conversion rate", "Revenue"
FUNNEL_CLOSED = "Funnel (closed): % of the previous stage"
FUNNEL_OPEN = "Funnel (open): % of all sessions"
FUNNEL_TABLE = "Funnel stages: drop-off, open and closed"
DAILY_FUNNEL = "Daily funnel: share of sessions reaching each stage (closed)"
RETENTION_HEATMAP = "Retention by first-visit cohort (D0 … D30)"
RETENTION_LINES = "D1 and D7 retention by cohort"
CHANNELS = "Revenue and sessions by channel"
TOP_PRODUCTS = "Top products: views, carts, purchases, revenue"
TOP_PRODUCTS_ROWS = 10  # the chart's row_limit

# the dashboard's segment columns and the fact_sessions columns they come from
SESSION_SEGMENTS = {
    "device_category": "device_category",
    "country": "geo_country",
    "channel": "session_default_channel_group",
}
REVENUE_TOLERANCE = 0.005  # USD: numeric in PostgreSQL, a float in the chart's JSON


@dataclass(frozen=True)
class ItemFigures:
    """One row of the top-products table as gold says it should read."""

    name: str
    views: int
    adds_to_cart: int
    purchases: int
    cart_sessions: int
    purchase_sessions: int
    revenue: float

    @property
    def cart_to_purchase(self) -> float | None:
        return self.purchase_sessions / self.cart_sessions if self.cart_sessions else None


@dataclass(frozen=True)
class GoldView:
    """The figures a person should see under one filter state, from gold."""

    state: FilterState
    sessions: int
    users: int
    converted: int  # sessions with a purchase
    revenue: float
    session_days: tuple[date, ...]  # every session start day in scope, ascending
    cohort_span: tuple[date, date] | None  # first and last first-visit cohort in scope
    stages: tuple[str, ...]  # funnel stages by stage_order
    stage_sessions: dict[str, int]  # open sessions of the stages fact_sessions knows per segment
    funnel: tuple[tuple[str, int, int], ...] | None  # (stage, open, closed) by stage_order; None when
    # a segment filter is set (agg_funnel_daily has no segments: see funnel_sums)
    items: dict[str, ItemFigures] | None = None  # every item in scope by name; None: not computed

    @property
    def conversion(self) -> float:
        return self.converted / self.sessions if self.sessions else 0.0


def _segment_sql(alias: str = "") -> dict[str, str]:
    """Segment expressions over fact_sessions (NULL shown as '(not set)', as the insight models do)."""
    return {col: f"coalesce({alias}{source}, '(not set)')" for col, source in SESSION_SEGMENTS.items()}


def _where(
    state: FilterState, date_column: str, segment_sql: Mapping[str, str]
) -> tuple[str, tuple[Any, ...]]:
    clauses: list[str] = ["true"]
    params: list[Any] = []
    if state.start is not None:
        clauses.append(f"{date_column} BETWEEN %s AND %s")
        params += [state.start, state.end]
    for column, values in state.segments.items():
        if values:
            clauses.append(f"{segment_sql[column]} = ANY(%s)")
            params.append(list(values))
    return " AND ".join(clauses), tuple(params)


def gold_view(settings: Settings, state: FilterState) -> GoldView:
    g = settings.pg_gold_schema
    where, params = _where(state, "session_start_date", _segment_sql())
    ((sessions, users, converted, revenue, page_views, days),) = pg_rows(
        settings,
        f"""SELECT count(*), count(DISTINCT user_pseudo_id), count(*) FILTER (WHERE purchase_events > 0),
                   coalesce(sum(purchase_revenue_in_usd), 0)::float, count(*) FILTER (WHERE page_view_count > 0),
                   array_agg(DISTINCT session_start_date)
            FROM {g}.fact_sessions WHERE {where}""",
        params,
    )
    if any(state.segments.values()):
        # cohorts by the segment of the member's first session (the dashboard's rule), from dim_user
        cwhere, cparams = _where(state, "u.first_visit_date", _segment_sql("f."))
        cohorts_sql = f"""WITH f AS (SELECT DISTINCT ON (user_pseudo_id) * FROM {g}.fact_sessions
                                     ORDER BY user_pseudo_id, session_start_ts, session_key)
                          SELECT min(u.first_visit_date), max(u.first_visit_date)
                          FROM {g}.dim_user AS u LEFT JOIN f USING (user_pseudo_id)
                          WHERE u.first_visit_date IS NOT NULL AND {cwhere}"""
        funnel = None  # agg_funnel_daily has no segments: see the partition test
    else:
        cwhere, cparams = _where(state, "cohort_date", {})
        cohorts_sql = f"SELECT min(cohort_date), max(cohort_date) FROM {g}.agg_retention_daily WHERE {cwhere}"
        fwhere, fparams = _where(state, "event_date", {})
        funnel = tuple(
            (stage, int(o), int(c))
            for stage, o, c in pg_rows(
                settings,
                f"""SELECT stage, sum(open_sessions), sum(closed_sessions) FROM {g}.agg_funnel_daily
                    WHERE {fwhere} GROUP BY stage_order, stage ORDER BY stage_order""",
                fparams,
            )
        )
    ((lo, hi),) = pg_rows(settings, cohorts_sql, cparams)
    items = gold_items(settings, state)
    stages = pg_rows(settings, f"SELECT DISTINCT stage_order, stage FROM {g}.agg_funnel_daily ORDER BY 1")
    return GoldView(
        state=state,
        sessions=sessions,
        users=users,
        converted=converted,
        revenue=revenue,
        session_days=tuple(sorted(days or ())),
        cohort_span=(lo, hi) if lo is not None else None,
        stages=tuple(stage for _, stage in stages),
        stage_sessions={"session_start": sessions, "page_view": page_views, "purchase": converted},
        funnel=funnel,
        items=items,
    )


def gold_items(settings: Settings, state: FilterState) -> dict[str, ItemFigures]:
    """Item figures from gold's fact_items and the session each row belongs to (its start date and segment
    are what the dashboard filters on). Distinct sessions are counted per item id and then summed by name,
    as the chart sums the per-id rows of its model; an item's name is the greatest sent for its id."""
    g = settings.pg_gold_schema
    where, params = _where(state, "s.session_start_date", _segment_sql("s."))
    rows = pg_rows(
        settings,
        f"""WITH names AS (SELECT item_id, max(item_name) AS item_name FROM {g}.fact_items
                           WHERE item_id IS NOT NULL AND session_key IS NOT NULL GROUP BY 1),
                 per_id AS (
                     SELECT i.item_id,
                            count(*) FILTER (WHERE i.event_name = 'view_item') AS views,
                            count(*) FILTER (WHERE i.event_name = 'add_to_cart') AS carts,
                            count(*) FILTER (WHERE i.event_name = 'purchase') AS purchases,
                            count(DISTINCT i.session_key) FILTER (WHERE i.event_name = 'add_to_cart') AS cs,
                            count(DISTINCT i.session_key) FILTER (WHERE i.event_name = 'purchase') AS ps,
                            coalesce(sum(i.item_revenue_in_usd) FILTER (WHERE i.event_name = 'purchase'), 0) AS r
                     FROM {g}.fact_items AS i JOIN {g}.fact_sessions AS s USING (session_key)
                     WHERE i.item_id IS NOT NULL AND {where} GROUP BY 1)
            SELECT coalesce(n.item_name, p.item_id), sum(views), sum(carts), sum(purchases), sum(cs), sum(ps),
                   sum(r)::float
            FROM per_id AS p LEFT JOIN names AS n USING (item_id) GROUP BY 1""",
        params,
    )
    return {
        name: ItemFigures(name, int(v), int(c), int(p), int(cs), int(ps), float(r))
        for name, v, c, p, cs, ps, r in rows
    }


# ---------------------------------------------------------------------------------------------
# what the page received
# ---------------------------------------------------------------------------------------------
def as_day(value: Any) -> date:
    """A temporal value of a chart data answer: epoch milliseconds (UTC) or an ISO string."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, tz=UTC).date()
    return date.fromisoformat(str(value)[:10])


def d3_fixed(value: float, digits: int) -> str:
    """d3-format's fixed notation rounds halves up (JavaScript's toFixed), not to even like Python."""
    return f"{Decimal(value).quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP):,}"


def tile_texts(view: GoldView) -> dict[str, str]:
    """The KPI tiles' big numbers as the bundle formats them (',d', '.2%', '$,.0f')."""
    return {
        SESSIONS: f"{view.sessions:,}",
        USERS: f"{view.users:,}",
        CONVERSION: d3_fixed(100 * view.conversion, 2) + "%",
        REVENUE: "$" + d3_fixed(view.revenue, 0),
    }


def days_of(records: Sequence[Mapping[str, Any]], column: str) -> list[date]:
    return sorted({as_day(r[column]) for r in records if r.get(column) is not None})


def page_funnel(records: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[tuple[str, int, int]]:
    """(stage, open, closed) in the order the stages table lists them."""
    return [(r["stage"], int(r["open_sessions"]), int(r["closed_sessions"])) for r in records[FUNNEL_TABLE]]


def differences(
    view: GoldView, records: Mapping[str, Sequence[Mapping[str, Any]]], texts: Mapping[str, str]
) -> list[str]:
    """Every place where the page's data (``records`` by chart name) or a KPI tile's text differs from
    gold; empty when the dashboard shows gold."""
    out: list[str] = []

    def check(what: str, got: Any, want: Any) -> None:
        if got != want:
            out.append(f"{what}: page {got!r}, gold {want!r}")

    def value(chart: str, metric: str) -> Any:
        rows = records.get(chart) or [{}]
        return rows[0].get(metric)

    check(SESSIONS, value(SESSIONS, "sessions"), view.sessions)
    check(USERS, value(USERS, "users"), view.users)
    conversion = value(CONVERSION, "conversion_rate")
    if conversion is None or abs(conversion - view.conversion) > 1e-9:
        check(CONVERSION, conversion, view.conversion)
    revenue = value(REVENUE, "revenue")
    if revenue is None or abs(revenue - view.revenue) > REVENUE_TOLERANCE:
        check(REVENUE, revenue, view.revenue)
    for chart, text in tile_texts(view).items():
        shown = (texts.get(chart) or "").strip().splitlines()
        check(f"{chart} tile text", shown[0] if shown else None, text)

    daily = days_of(records.get(DAILY_FUNNEL, ()), "event_date")
    check(f"{DAILY_FUNNEL} days", (daily[:1], daily[-1:], len(daily)), _span(view.session_days))
    for chart in (RETENTION_LINES, RETENTION_HEATMAP):
        cohorts = days_of(records.get(chart, ()), "cohort_date")
        check(f"{chart} cohorts", (cohorts[0], cohorts[-1]) if cohorts else None, view.cohort_span)

    table = page_funnel(records) if records.get(FUNNEL_TABLE) else []
    closed = [(r.get("stage"), r.get("closed_sessions")) for r in records.get(FUNNEL_CLOSED, ())]
    opened = [(r.get("stage"), r.get("open_sessions")) for r in records.get(FUNNEL_OPEN, ())]
    if view.funnel is not None:
        check(FUNNEL_TABLE, table, list(view.funnel))
        check(FUNNEL_CLOSED, closed, [(s, c) for s, _, c in view.funnel])
        check(FUNNEL_OPEN, opened, [(s, o) for s, o, _ in view.funnel])
    else:  # per segment, gold's fact_sessions knows stage 1 (every session), page_view and purchase
        for chart, stages in ((FUNNEL_TABLE, table), (FUNNEL_CLOSED, closed), (FUNNEL_OPEN, opened)):
            check(f"{chart} stages", [s[0] for s in stages], list(view.stages))
        got = {s: o for s, o, _ in table if s in view.stage_sessions}
        check(f"{FUNNEL_TABLE} open sessions", got, view.stage_sessions)
        check(f"{FUNNEL_CLOSED} first stage", closed[:1], [(view.stages[0], view.sessions)])
    channels = records.get(CHANNELS, ())
    check(f"{CHANNELS} sessions", sum(int(r.get("sessions") or 0) for r in channels), view.sessions)
    channel_revenue = sum(float(r.get("revenue") or 0) for r in channels)
    if abs(channel_revenue - view.revenue) > REVENUE_TOLERANCE * max(len(channels), 1):
        check(f"{CHANNELS} revenue", channel_revenue, view.revenue)
    if view.items is not None:
        out += item_differences(view.items, records.get(TOP_PRODUCTS, ()))
    return out


def item_differences(gold: Mapping[str, ItemFigures], rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The top-products table lists the items of highest revenue (ties in any order), each with gold's
    counts, cart-to-purchase and revenue."""
    out: list[str] = []
    top = sorted((round(i.revenue, 2) for i in gold.values()), reverse=True)[:TOP_PRODUCTS_ROWS]
    shown = sorted((round(float(r.get("item_revenue") or 0), 2) for r in rows), reverse=True)
    if len(shown) != len(top) or any(abs(a - b) > REVENUE_TOLERANCE for a, b in zip(shown, top, strict=True)):
        out.append(f"{TOP_PRODUCTS} revenues: page {shown!r}, gold's top {top!r}")
    for row in rows:
        name = str(row.get("item_name"))
        want = gold.get(name)
        if want is None:
            out.append(f"{TOP_PRODUCTS}: page lists {name!r}, gold has no such item in scope")
            continue
        got = (row.get("item_views"), row.get("add_to_carts"), row.get("purchases"))
        if got != (want.views, want.adds_to_cart, want.purchases):
            out.append(
                f"{TOP_PRODUCTS} {name!r} views/carts/purchases: page {got!r}, gold "
                f"{(want.views, want.adds_to_cart, want.purchases)!r}"
            )
        rate, expected = row.get("cart_to_purchase"), want.cart_to_purchase
        if (rate is None) != (expected is None) or (rate is not None and abs(rate - expected) > 1e-9):
            out.append(f"{TOP_PRODUCTS} {name!r} cart-to-purchase: page {rate!r}, gold {expected!r}")
    return out


def _span(days: Sequence[date]) -> tuple[list[date], list[date], int]:
    """First day, last day and number of days (a gap in a daily chart shows as a lower count)."""
    return list(days[:1]), list(days[-1:]), len(days)
