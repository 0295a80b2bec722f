"""`ga4lake report --start D --end D` against the synced gold and the dashboard's insight models:
every number it prints is the corresponding gold/insight row, for a sub-range of the 92-day sample."""

from __future__ import annotations

from datetime import date

import pytest

from ga4lake.config import Settings
from ga4lake.dashboard import pg_rows as rows
from ga4lake.dashboard import refresh_models
from ga4lake.report import build_report
from ga4lake.stack import superset

pytestmark = pytest.mark.integration

START, END = date(2020, 12, 1), date(2020, 12, 31)


@pytest.fixture(scope="module")
def data(demo_gold: Settings) -> Settings:
    refresh_models(demo_gold)  # the insight models, fresh from gold (fails loudly when gold is empty)
    return demo_gold


@pytest.fixture(scope="module")
def rep(data):
    return build_report(data, START, END)


def test_headline_figures_equal_the_dashboards_kpi_rows(data, rep):
    i = superset.insights_schema(data)
    ((sessions, users, converted, revenue),) = rows(
        data,
        f"""SELECT count(*), count(DISTINCT user_pseudo_id), sum(converted), sum(purchase_revenue_in_usd)::float
            FROM {i}.session_segments WHERE event_date BETWEEN %s AND %s""",
        (START, END),
    )
    assert (rep.start, rep.end) == (START, END)
    assert rep.sessions == sessions > 0 and rep.users == users > 0
    assert rep.conversion_pct == round(100 * converted / sessions, 2)
    assert rep.revenue == pytest.approx(revenue, abs=0.005)


def test_funnel_and_drop_off_per_stage_equal_gold_and_the_dashboard_funnel(data, rep):
    g, i = data.pg_gold_schema, superset.insights_schema(data)
    gold = rows(
        data,
        f"""SELECT stage, sum(open_sessions), sum(closed_sessions) FROM {g}.agg_funnel_daily
            WHERE event_date BETWEEN %s AND %s GROUP BY stage_order, stage ORDER BY stage_order""",
        (START, END),
    )
    dash = rows(
        data,
        f"""SELECT stage, sum(open_sessions), sum(closed_sessions),
                   round((100 * (1 - sum(closed_sessions)::numeric / sum(previous_stage_closed_sessions))), 1)
            FROM {i}.funnel_segments_daily WHERE event_date BETWEEN %s AND %s
            GROUP BY stage_order, stage ORDER BY stage_order""",
        (START, END),
    )
    assert (
        len(gold) == 8
        and [(f["stage"], f["open_sessions"], f["closed_sessions"]) for f in rep.funnel] == gold
    )
    assert [r[:3] for r in dash] == gold
    # drop-off per stage: the report's figure is the dashboard's closed drop-off metric
    # (both rounded to 0.1: allow the last digit to differ by half-up vs. float rounding)
    assert [f["closed_drop_off_pct"] for f in rep.funnel[1:]] == pytest.approx(
        [float(r[3]) for r in dash[1:]], abs=0.051
    )
    assert all(f["open_drop_off_pct"] is not None for f in rep.funnel[1:])


def test_d1_d7_retention_equal_the_retention_matrix(data, rep):
    i = superset.insights_schema(data)
    ((d1, d7),) = rows(
        data,
        f"""SELECT round(100 * sum(d1_users)::numeric / sum(cohort_users) FILTER (WHERE d1_users IS NOT NULL), 2),
                   round(100 * sum(d7_users)::numeric / sum(cohort_users) FILTER (WHERE d7_users IS NOT NULL), 2)
            FROM {i}.retention_matrix WHERE cohort_date BETWEEN %s AND %s""",
        (START, END),
    )
    assert rep.retention["d1_pct"] == float(d1) > 0 and rep.retention["d7_pct"] == float(d7) > 0


def test_top_sources_by_revenue_and_by_conversion_equal_the_traffic_rows(data, rep):
    i = superset.insights_schema(data)
    by_source = f"""
        SELECT source, medium, default_channel_group, sum(sessions)::bigint,
               round(sum(purchase_revenue_in_usd)::numeric, 2)::float AS revenue,
               round(100 * sum(sessions_with_purchase)::numeric / sum(sessions), 2)::float AS conversion
        FROM {i}.traffic_source_performance WHERE event_date BETWEEN %s AND %s
        GROUP BY source, medium, default_channel_group"""
    top_revenue = rows(data, f"{by_source} ORDER BY revenue DESC, 4 DESC LIMIT 5", (START, END))
    top_conversion = rows(
        data,
        f"{by_source} HAVING sum(sessions) >= 100 ORDER BY conversion DESC, 4 DESC LIMIT 5",
        (START, END),
    )
    assert [tuple(r.values()) for r in rep.top_by_revenue] == top_revenue
    assert [tuple(r.values()) for r in rep.top_by_conversion] == top_conversion
    assert len(top_revenue) == 5


def test_cli_prints_every_section_for_the_range(data, capsys):
    from ga4lake.cli import main

    assert main(["report", "--start", START.isoformat(), "--end", END.isoformat()]) == 0
    out = capsys.readouterr().out
    assert f"GA4 e-commerce report {START} … {END}" in out
    for stage in ("session_start", "view_item", "add_to_cart", "begin_checkout", "purchase"):
        assert stage in out
    assert "closed_drop_off_pct" in out and "open_drop_off_pct" in out
    assert "D1 " in out and "D7 " in out
    assert "Top sources by revenue:" in out and "Top sources by conversion" in out
