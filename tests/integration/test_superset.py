"""Superset on the real stack: started by the stack manager, the bundle imported, the dashboard
opened in headless chromium (Debian's, driven by Playwright) over the 92-day sample in gold."""

from __future__ import annotations

import dataclasses
import urllib.request
from datetime import timedelta

import pytest

from ga4lake.config import Settings
from ga4lake.dashboard import browser, pg_rows, refresh_models, values
from ga4lake.dashboard.filters import NO_FILTER, FilterState
from ga4lake.stack import manager, superset

pytestmark = pytest.mark.integration

# rows whose change would mean the import rewrote something: (table, key, columns compared)
SNAPSHOT = {
    "dbs": "id, uuid, changed_on, sqlalchemy_uri, password",
    "tables": "id, uuid, changed_on, schema, table_name, main_dttm_col",
    "table_columns": "id, uuid, changed_on, table_id, column_name, type",
    "sql_metrics": "id, uuid, changed_on, table_id, metric_name, expression",
    "slices": "id, uuid, changed_on, slice_name, params, datasource_id",
    "dashboards": "id, uuid, changed_on, dashboard_title, position_json, json_metadata",
    "dashboard_slices": "dashboard_id, slice_id",
}


@pytest.fixture(scope="module")
def ss(demo_gold: Settings) -> Settings:
    """The stack with Superset, reading insight models freshly built from the synced gold."""
    s = dataclasses.replace(demo_gold, ui_services=("superset",))
    refresh_models(s)  # fails loudly when gold is empty
    manager.up(s)
    superset.bootstrap(s, "import")  # this checkout's bundle (a running Superset may hold another's)
    return s


def snapshot(s: Settings) -> dict[str, list[tuple]]:
    db = superset.metadata_db(s)
    return {
        t: pg_rows(s, f"SELECT {cols} FROM {t} ORDER BY 1, 2", database=db) for t, cols in SNAPSHOT.items()
    }


def test_superset_is_healthy_and_listens_on_localhost_only(ss):
    with urllib.request.urlopen(f"http://127.0.0.1:{ss.ports.superset}/health", timeout=5) as resp:
        assert resp.read().strip() == b"OK"
    port = f"{ss.ports.superset:04X}"
    with open("/proc/net/tcp") as fh:
        listening = [ln.split()[1] for ln in fh.read().splitlines()[1:] if ln.split()[3] == "0A"]
    mine = [addr for addr in listening if addr.endswith(":" + port)]
    assert mine == ["0100007F:" + port]  # 127.0.0.1 and nowhere else


def test_metadata_in_the_stacks_postgres_with_one_dashboard(ss):
    snap = snapshot(ss)
    (dash,) = snap["dashboards"]
    assert dash[3] == "GA4 e-commerce"
    assert len(snap["slices"]) == 13 and len(snap["dashboard_slices"]) == 13
    assert len(snap["tables"]) == 6 and {t[3] for t in snap["tables"]} == {"insights"}
    (db,) = snap["dbs"]
    assert "ga4lake_reader" in db[3] and "ga4lake-reader" not in db[3]  # password stored encrypted, apart


@pytest.fixture
def chromium(ss):
    """A logged-in headless chromium for one test (Playwright's sync API allows one at a time, and the
    CLI commands tested last open their own)."""
    with browser.browser_context() as context:
        browser.login(context, ss)
        yield context


def open_page(chromium, ss, state: FilterState = NO_FILTER, **kwargs) -> browser.DashboardRun:
    page, run, _ = browser.open_dashboard(chromium, ss, state=state, **kwargs)
    page.close()
    assert run.problems() == [], state.describe()
    return run


def test_dashboard_renders_every_chart_in_chromium_and_filters_apply(ss, chromium):
    shot = browser.BUILD_DIR / "test-dashboard.png"
    page, run, answers = browser.open_dashboard(chromium, ss, screenshot=shot)
    assert run.problems() == []
    assert len(run.charts) == 13 and all(c.rendered for c in run.charts)
    funnels = run.chart("funnel")
    (heatmap,) = run.chart("heatmap_v2")
    retention_lines = [c for c in run.chart("echarts_timeseries_line") if "retention" in c.name.lower()]
    # 8 funnel stages; the heatmap has a cell per (cohort, day 0…30) and the lines a point per cohort day
    # (the demo holds 92 days, an empty stack gets 38: both well above these floors)
    assert [f.rows for f in funnels] == [8, 8] and heatmap.rows > 300 and retention_lines[0].rows >= 30
    total = pg_rows(ss, f"SELECT count(*) FROM {ss.pg_gold_schema}.fact_sessions")[0][0]
    kpi = next(c for c in run.charts if c.name == "Sessions")
    assert kpi.text.splitlines()[0] == f"{total:,}"

    # the Device filter picked in the filter bar, as a person does: every chart answers again
    after = browser.apply_native_filter(page, answers, browser.DEVICE_FILTER, "mobile")
    page.close()
    mobile = FilterState(segments={"device_category": ("mobile",)})
    filtered = browser.DashboardRun(0.0, after)
    assert filtered.problems() == [] and len(after) == 13
    assert browser.gold_differences(ss, filtered, mobile) == []
    assert 0 < filtered.records()[values.SESSIONS][0]["sessions"] < total
    assert shot.stat().st_size > 50_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pictures_show_finished_charts(ss, chromium):
    """Issue #21: the screenshot used to catch ECharts mid-animation (lines ending weeks early). Once
    open_dashboard reports the charts finished, they no longer change: two pictures 1.5 s apart are
    the same, pixel for pixel, chart by chart."""
    page, run, _ = browser.open_dashboard(chromium, ss)
    drawn = [c for c in run.charts if c.canvases]
    assert len(drawn) == 6 and all(c.drawn_at is not None for c in drawn)  # 2 funnels, 2 lines, heatmap, bars
    holders = {c.name: page.locator(f'[data-test-chart-name="{c.name}"]').first for c in drawn}
    first = {name: holder.screenshot() for name, holder in holders.items()}
    page.wait_for_timeout(1500)
    changed = [name for name, holder in holders.items() if holder.screenshot() != first[name]]
    page.close()
    assert changed == []
    # the render time is that of the finished charts: no chart drew after it
    assert run.seconds * 1000 >= max(c.finished_ms or 0 for c in run.charts) - 1


@pytest.fixture(scope="module")
def biggest(ss) -> dict[str, str]:
    """The segment value with the most sessions, per filter column (from gold)."""
    out = {}
    for column, source in values.SESSION_SEGMENTS.items():
        ((value,),) = pg_rows(
            ss,
            f"""SELECT coalesce({source}, '(not set)') FROM {ss.pg_gold_schema}.fact_sessions
                GROUP BY 1 ORDER BY count(*) DESC LIMIT 1""",
        )
        out[column] = value
    return out


@pytest.mark.parametrize("last_day", [False, True], ids=["first-month", "last-month"])
def test_page_data_equals_gold_without_and_with_a_date_range(ss, chromium, last_day):
    """KPI tiles, both funnels, the stages table, the daily funnel's and the retention charts' days
    and the channel totals, as the browser received them, equal gold; under a date range too (the
    range that ends on gold's last day is the one a truncated chart would miss)."""
    ((first, last),) = pg_rows(
        ss, f"SELECT min(session_start_date), max(session_start_date) FROM {ss.pg_gold_schema}.fact_sessions"
    )
    run = open_page(chromium, ss)
    assert browser.gold_differences(ss, run) == []
    daily = values.days_of(run.records()[values.DAILY_FUNNEL], "event_date")
    assert (daily[0], daily[-1]) == (first, last)  # the whole range, as in gold
    start = last - timedelta(days=29) if last_day else first
    state = FilterState(start, start + timedelta(days=29))
    ranged = open_page(chromium, ss, state)
    assert browser.gold_differences(ss, ranged, state) == []
    sessions = ranged.records()[values.SESSIONS][0]["sessions"]
    assert 0 < sessions < run.records()[values.SESSIONS][0]["sessions"]


@pytest.mark.parametrize("column", list(values.SESSION_SEGMENTS))
def test_page_data_equals_gold_under_each_segment_filter_and_funnels_add_up(ss, chromium, biggest, column):
    """One segment value and all the others: each page equals gold where gold has the segment
    (fact_sessions, dim_user); agg_funnel_daily has none, so the two pages' funnels must add up to it,
    stage by stage, open and closed."""
    ((values_of_column,),) = pg_rows(
        ss,
        f"SELECT array_agg(DISTINCT coalesce({values.SESSION_SEGMENTS[column]}, '(not set)')) "
        f"FROM {ss.pg_gold_schema}.fact_sessions",
    )
    one = (biggest[column],)
    others = tuple(sorted(v for v in values_of_column if v != biggest[column]))
    funnels = []
    for chosen in (one, others):
        state = FilterState(segments={column: chosen})
        run = open_page(chromium, ss, state)
        assert browser.gold_differences(ss, run, state) == [], state.describe()
        funnels.append(values.page_funnel(run.records()))
    gold = values.gold_view(ss, NO_FILTER).funnel
    summed = [(s, o1 + o2, c1 + c2) for (s, o1, c1), (_, o2, c2) in zip(*funnels, strict=True)]
    assert summed == list(gold) and all(o > 0 for _, o, _ in funnels[0])


def test_reimporting_the_bundle_changes_nothing(ss):
    before = snapshot(ss)
    for _ in range(2):
        superset.bootstrap(ss, "import")
    assert snapshot(ss) == before


def test_dashboard_survives_a_superset_restart(ss):
    before = snapshot(ss)
    svc = superset.service(ss)
    assert svc.stop() == "stopped" and not svc.healthy()
    timings = manager.up(ss)
    assert svc.healthy() and timings["superset"] < 120
    assert snapshot(ss) == before  # same rows, ids and changed_on: kept, not recreated


def test_the_dashboards_segment_models_add_up_to_gold(ss):
    g, i = ss.pg_gold_schema, superset.insights_schema(ss)
    funnel_diff = pg_rows(
        ss,
        f"""SELECT count(*) FROM (SELECT event_date, stage_order, sum(open_sessions) o, sum(closed_sessions) c
                                  FROM {i}.funnel_segments_daily GROUP BY 1, 2) s
            FULL JOIN {g}.agg_funnel_daily a USING (event_date, stage_order)
            WHERE s.o IS DISTINCT FROM a.open_sessions OR s.c IS DISTINCT FROM a.closed_sessions""",
    )
    retention_diff = pg_rows(
        ss,
        f"""SELECT count(*) FROM (SELECT cohort_date, day_n, sum(returning_users) r, sum(cohort_users) FILTER
                                  (WHERE day_n = 0) n FROM {i}.retention_cohort_segments GROUP BY 1, 2) s
            FULL JOIN (SELECT * FROM {g}.agg_retention_daily WHERE returning_users > 0) a USING (cohort_date, day_n)
            WHERE s.r IS DISTINCT FROM a.returning_users OR (s.day_n = 0 AND s.n IS DISTINCT FROM a.cohort_users)""",
    )
    sessions = pg_rows(
        ss,
        f"""SELECT (SELECT count(*) FROM {i}.session_segments), (SELECT sum(sessions) FROM {g}.agg_traffic_source_daily),
                   (SELECT sum(purchase_revenue_in_usd) FROM {i}.session_segments),
                   (SELECT sum(purchase_revenue_in_usd) FROM {g}.agg_traffic_source_daily)""",
    )[0]
    # the KPI tiles' and traffic charts' pre-aggregate is session_segments grouped: equal by day and segment
    traffic_diff = pg_rows(
        ss,
        f"""SELECT count(*) FROM (SELECT event_date, device_category, country, channel,
                                         coalesce(source_medium, '') AS source_medium, count(*) n,
                                         sum(converted) c, sum(purchase_revenue_in_usd) r,
                                         sum(transactions) t
                                  FROM {i}.session_segments GROUP BY 1, 2, 3, 4, 5) s
            FULL JOIN (SELECT event_date, device_category, country, channel,
                              coalesce(source_medium, '') AS source_medium, sum(sessions) n,
                              sum(converted_sessions) c, sum(purchase_revenue_in_usd) r, sum(transactions) t
                       FROM {i}.traffic_segments_daily GROUP BY 1, 2, 3, 4, 5) a
              USING (event_date, device_category, country, channel, source_medium)
            WHERE (s.n, s.c, s.r, s.t) IS DISTINCT FROM (a.n, a.c, a.r, a.t)""",
    )
    assert funnel_diff == [(0,)] and retention_diff == [(0,)] and traffic_diff == [(0,)]
    assert sessions[0] == sessions[1] > 0 and sessions[2] == sessions[3]


def test_check_timing_and_video_commands(ss, tmp_path, capsys):
    from ga4lake.cli import main

    browser.timing(ss, 1)  # warm-up: the first open after the restart test above meets cold workers
    assert main(["dashboard", "timing", "--runs", "1"]) == 0
    assert "dashboard render: median" in capsys.readouterr().out
    shot = tmp_path / "check.png"
    assert main(["dashboard", "check", "--screenshot", str(shot)]) == 0  # rendered and equal to gold
    assert "page data equals gold" in capsys.readouterr().err and shot.stat().st_size > 50_000
    video = browser.record_walkthrough(ss, tmp_path / "walkthrough.webm")
    assert video.stat().st_size > 100_000 and video.read_bytes()[:4] == b"\x1a\x45\xdf\xa3"  # WebM/EBML
