"""`ga4lake report`: the headline insights a stakeholder asks for, computed from gold in PostgreSQL.

Funnel drop-off per stage (open and closed), D1/D7 retention (cohort-weighted), and the top traffic
sources by revenue and by conversion — for a date range (default: everything synced). The headline
figures follow the Superset dashboard's KPI tiles: sessions starting in the range, their distinct
users, the share with a purchase, and revenue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ga4lake.config import Settings
from ga4lake.errors import UserError
from ga4lake.sqlident import check_identifier

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


def _rows(cur, sql: str, params: tuple) -> list[dict[str, Any]]:
    cur.execute(sql, params)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def _one(cur) -> tuple[Any, ...]:
    """The row of an aggregate without GROUP BY: PostgreSQL always returns exactly one."""
    row = cur.fetchone()
    if row is None:
        raise RuntimeError("an aggregate query returned no row")
    return row


def build_report(
    settings: Settings,
    start: date | None = None,
    end: date | None = None,
    min_sessions: int = 100,
    top: int = 5,
) -> Report:
    import psycopg2

    s = check_identifier(settings.pg_gold_schema, "gold schema")
    conn = psycopg2.connect(settings.pg_dsn())
    try:
        with conn.cursor() as cur:
            try:
                cur.execute(f"SELECT min(event_date), max(event_date) FROM {s}.agg_funnel_daily")
            except psycopg2.errors.UndefinedTable as exc:
                raise UserError(
                    f"no gold tables in PostgreSQL schema {s}: load data first (`make demo` or `ga4lake ingest`)"
                ) from exc
            lo, hi = _one(cur)
            if lo is None:
                raise UserError(f"no gold data in PostgreSQL schema {s}: load data first (ga4lake ingest)")
            start, end = start or lo, end or hi
            rng = (start, end)
            funnel = _rows(
                cur,
                f"""
                SELECT stage_order, stage, sum(open_sessions)::bigint AS open_sessions,
                       sum(closed_sessions)::bigint AS closed_sessions
                FROM {s}.agg_funnel_daily WHERE event_date BETWEEN %s AND %s
                GROUP BY stage_order, stage ORDER BY stage_order""",
                rng,
            )
            first = funnel[0]["open_sessions"] if funnel else 0
            prev_o = prev_c = None
            for f in funnel:
                f["open_overall_pct"] = round(100 * f["open_sessions"] / first, 2) if first else None
                f["closed_overall_pct"] = round(100 * f["closed_sessions"] / first, 2) if first else None
                f["open_drop_off_pct"] = round(100 * (1 - f["open_sessions"] / prev_o), 1) if prev_o else None
                f["closed_drop_off_pct"] = (
                    round(100 * (1 - f["closed_sessions"] / prev_c), 1) if prev_c else None
                )
                prev_o, prev_c = f["open_sessions"], f["closed_sessions"]
            cur.execute(
                f"""
                SELECT day_n, sum(returning_users)::float / nullif(sum(cohort_users), 0)
                FROM {s}.agg_retention_daily
                WHERE day_n BETWEEN 0 AND 30 AND cohort_date BETWEEN %s AND %s AND activity_date <= %s
                GROUP BY day_n ORDER BY day_n""",
                (start, end, hi),
            )
            by_day = {int(n): (round(100 * v, 2) if v is not None else None) for n, v in cur.fetchall()}
            retention: dict[str, float | None] = {f"d{n}_pct": by_day.get(n) for n in (1, 7, 30)}
            curve = [{"day_n": n, "pct": by_day[n]} for n in sorted(by_day)]
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
            users = _one(cur)[0]
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
    finally:
        conn.close()
    conversion = round(100 * converted / sessions, 2) if sessions else None
    return Report(
        start,
        end,
        int(sessions),
        int(users),
        conversion,
        float(revenue),
        funnel,
        retention,
        top_rev,
        top_conv,
        curve,
    )


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
