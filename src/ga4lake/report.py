"""`ga4lake report`: the headline insights a stakeholder asks for, computed from gold in PostgreSQL.

Funnel drop-off per stage (open and closed), D1/D7 retention (cohort-weighted), and the top traffic
sources by revenue and by conversion — for a date range (default: everything synced). The headline
figures follow the Superset dashboard's KPI tiles: sessions starting in the range, their distinct
users, the share with a purchase, and revenue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from ga4lake.config import Settings
from ga4lake.errors import UserError
from ga4lake.sqlident import check_identifier

if TYPE_CHECKING:
    from psycopg2.extensions import cursor as Cursor

# the funnel table's columns, in print order (text and HTML report)
FUNNEL_COLUMNS = (
    "stage",
    "open_sessions",
    "open_drop_off_pct",
    "closed_sessions",
    "closed_drop_off_pct",
    "closed_overall_pct",
)


@dataclass
class Report:
    start: date
    end: date
    sessions: int
    users: int
    conversion_pct: float | None  # sessions with a purchase / sessions
    revenue: float
    funnel: list[dict[str, Any]]
    retention: dict[str, float | None]
    top_by_revenue: list[dict[str, Any]]
    top_by_conversion: list[dict[str, Any]]
    # % of first-visit cohorts active on day n = 0 … 30 (the curve of `--html`/`--svg`): the same
    # cohort-weighted ratio as the D1/D7/D30 figures above
    retention_curve: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class GoldFigures:
    """The report's raw numbers as PostgreSQL returns them (:func:`query_gold`); :func:`assemble` turns
    them into a :class:`Report` without touching the database."""

    start: date
    end: date
    funnel: list[dict[str, Any]]  # stage_order, stage, open_sessions, closed_sessions; in stage order
    retention: dict[int, float | None]  # day n -> returning / cohort users (a ratio, not a percentage)
    sessions: int
    sessions_with_purchase: int
    revenue: float
    users: int
    top_by_revenue: list[dict[str, Any]]
    top_by_conversion: list[dict[str, Any]]


def _rows(cur: Cursor, sql: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
    cur.execute(sql, params)
    cols = [d[0] for d in cur.description or ()]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def _one(cur: Cursor) -> tuple[Any, ...]:
    """The row of an aggregate without GROUP BY: PostgreSQL always returns exactly one."""
    row = cur.fetchone()
    if row is None:
        raise RuntimeError("an aggregate query returned no row")
    return row


def _data_range(cur: Cursor, s: str) -> tuple[date, date]:
    """First and last day of gold; a clear error when gold is missing or empty."""
    import psycopg2

    try:
        cur.execute(f"SELECT min(event_date), max(event_date) FROM {s}.agg_funnel_daily")
    except psycopg2.errors.UndefinedTable as exc:
        raise UserError(
            f"no gold tables in PostgreSQL schema {s}: load data first (`make demo` or `ga4lake ingest`)"
        ) from exc
    lo, hi = _one(cur)
    if lo is None:
        raise UserError(f"no gold data in PostgreSQL schema {s}: load data first (ga4lake ingest)")
    return lo, hi


def _funnel_and_retention(
    cur: Cursor, s: str, start: date, end: date, hi: date
) -> tuple[list[dict[str, Any]], dict[int, float | None]]:
    """Sessions per funnel stage in the range; the cohort-weighted retention ratio of day n = 0 … 30 for
    the cohorts first seen in the range, counting activity up to the last day of gold (``hi``)."""
    funnel = _rows(
        cur,
        f"""
        SELECT stage_order, stage, sum(open_sessions)::bigint AS open_sessions,
               sum(closed_sessions)::bigint AS closed_sessions
        FROM {s}.agg_funnel_daily WHERE event_date BETWEEN %s AND %s
        GROUP BY stage_order, stage ORDER BY stage_order""",
        (start, end),
    )
    cur.execute(
        f"""
        SELECT day_n, sum(returning_users)::float / nullif(sum(cohort_users), 0)
        FROM {s}.agg_retention_daily
        WHERE day_n BETWEEN 0 AND 30 AND cohort_date BETWEEN %s AND %s AND activity_date <= %s
        GROUP BY day_n ORDER BY day_n""",
        (start, end, hi),
    )
    return funnel, {int(n): v for n, v in cur.fetchall()}


def _totals(cur: Cursor, s: str, rng: tuple[date, date]) -> tuple[int, int, float, int]:
    """(sessions, sessions with a purchase, revenue, users) of the range."""
    cur.execute(
        f"""SELECT coalesce(sum(sessions), 0)::bigint, coalesce(sum(sessions_with_purchase), 0)::bigint,
                   coalesce(sum(purchase_revenue_in_usd), 0)::float
            FROM {s}.agg_traffic_source_daily WHERE event_date BETWEEN %s AND %s""",
        rng,
    )
    sessions, converted, revenue = _one(cur)
    # users active in the range = distinct users with a session starting in it (as the dashboard)
    cur.execute(
        f"""SELECT count(DISTINCT user_pseudo_id) FROM {s}.fact_sessions
            WHERE session_start_date BETWEEN %s AND %s""",
        rng,
    )
    return sessions, converted, revenue, _one(cur)[0]


def _top_sources(
    cur: Cursor, s: str, rng: tuple[date, date], min_sessions: int, top: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ``top`` sources by revenue, and by conversion among those with ``min_sessions`` sessions."""
    by_source = f"""
        SELECT source, medium, default_channel_group AS channel, sum(sessions)::bigint AS sessions,
               round(sum(purchase_revenue_in_usd)::numeric, 2)::float AS revenue_usd,
               round(100 * sum(sessions_with_purchase)::numeric / nullif(sum(sessions), 0), 2)::float
                 AS conversion_pct
        FROM {s}.agg_traffic_source_daily WHERE event_date BETWEEN %s AND %s
        GROUP BY source, medium, default_channel_group"""
    top_rev = _rows(
        cur, f"{by_source} ORDER BY revenue_usd DESC NULLS LAST, sessions DESC LIMIT %s", (*rng, top)
    )
    top_conv = _rows(
        cur,
        f"{by_source} HAVING sum(sessions) >= %s "
        f"ORDER BY conversion_pct DESC NULLS LAST, sessions DESC LIMIT %s",
        (*rng, min_sessions, top),
    )
    return top_rev, top_conv


def query_gold(
    settings: Settings, start: date | None, end: date | None, min_sessions: int, top: int
) -> GoldFigures:
    """Read the report's numbers from gold in PostgreSQL (range default: everything synced)."""
    from ga4lake.clients.postgres import connect

    s = check_identifier(settings.pg_gold_schema, "gold schema")
    conn = connect(settings)
    try:
        with conn.cursor() as cur:
            lo, hi = _data_range(cur, s)
            start, end = start or lo, end or hi
            funnel, retention = _funnel_and_retention(cur, s, start, end, hi)
            sessions, converted, revenue, users = _totals(cur, s, (start, end))
            top_rev, top_conv = _top_sources(cur, s, (start, end), min_sessions, top)
    finally:
        conn.close()
    return GoldFigures(start, end, funnel, retention, sessions, converted, revenue, users, top_rev, top_conv)


def funnel_drop_off(funnel: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each stage with its share of the first stage's sessions and its drop-off from the stage before
    (percentages; None where the base is zero or there is no stage before), open and closed."""
    first = funnel[0]["open_sessions"] if funnel else 0
    prev_o = prev_c = None
    out = []
    for f in funnel:
        o, c = f["open_sessions"], f["closed_sessions"]
        out.append(
            {
                **f,
                "open_overall_pct": round(100 * o / first, 2) if first else None,
                "closed_overall_pct": round(100 * c / first, 2) if first else None,
                "open_drop_off_pct": round(100 * (1 - o / prev_o), 1) if prev_o else None,
                "closed_drop_off_pct": round(100 * (1 - c / prev_c), 1) if prev_c else None,
            }
        )
        prev_o, prev_c = o, c
    return out


def assemble(g: GoldFigures) -> Report:
    """The report from the raw figures: percentages, rounding, the D1/D7/D30 figures and the curve."""
    by_day = {n: (round(100 * v, 2) if v is not None else None) for n, v in g.retention.items()}
    retention: dict[str, float | None] = {f"d{n}_pct": by_day.get(n) for n in (1, 7, 30)}
    curve = [{"day_n": n, "pct": by_day[n]} for n in sorted(by_day)]
    conversion = round(100 * g.sessions_with_purchase / g.sessions, 2) if g.sessions else None
    return Report(
        g.start,
        g.end,
        int(g.sessions),
        int(g.users),
        conversion,
        float(g.revenue),
        funnel_drop_off(g.funnel),
        retention,
        g.top_by_revenue,
        g.top_by_conversion,
        curve,
    )


def build_report(
    settings: Settings,
    start: date | None = None,
    end: date | None = None,
    min_sessions: int = 100,
    top: int = 5,
) -> Report:
    """The report for ``start`` … ``end`` (default: everything synced): query gold, then assemble."""
    return assemble(query_gold(settings, start, end, min_sessions, top))


def render(rep: Report) -> str:
    from ga4lake.clients.trino import format_result

    def table(rows: list[dict[str, Any]]) -> str:
        if not rows:
            return "(none)\n"
        cols = list(rows[0])
        return format_result(cols, [tuple(r[c] for c in cols) for r in rows])

    out = [
        f"GA4 e-commerce report {rep.start} … {rep.end}",
        f"sessions {rep.sessions:,} · users {rep.users:,} · conversion {rep.conversion_pct} % · "
        f"purchase revenue {rep.revenue:,.2f} USD",
        "",
        "Funnel (sessions reaching each stage; closed = all earlier stages first, in order):",
        table([{k: f[k] for k in FUNNEL_COLUMNS} for f in rep.funnel]),
        f"Retention (users returning on day n after their first visit): D1 {rep.retention.get('d1_pct')} % · "
        f"D7 {rep.retention.get('d7_pct')} % · D30 {rep.retention.get('d30_pct')} %",
        "",
        "Top sources by revenue:",
        table(rep.top_by_revenue),
        "Top sources by conversion (sessions with a purchase, sources with enough sessions):",
        table(rep.top_by_conversion),
    ]
    return "\n".join(out)
