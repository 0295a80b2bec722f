"""Superset on the real stack: started by the stack manager, the bundle imported, the dashboard
opened in headless chromium (Debian's, driven by Playwright) over the 92-day sample in gold."""

from __future__ import annotations

import dataclasses
import urllib.request

import pytest

from ga4lake.config import Settings
from ga4lake.dashboard import browser, pg_rows, refresh_models
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
    assert len(snap["slices"]) == 11 and len(snap["dashboard_slices"]) == 11
    assert len(snap["tables"]) == 3 and {t[3] for t in snap["tables"]} == {"insights"}
    (db,) = snap["dbs"]
    assert "ga4lake_reader" in db[3] and "ga4lake-reader" not in db[3]  # password stored encrypted, apart


def test_dashboard_renders_every_chart_in_chromium_and_filters_apply(ss, tmp_path):
    shot = browser.BUILD_DIR / "test-dashboard.png"
    with browser.browser_context() as context:
        browser.login(context, ss)
        page, run, answers = browser.open_dashboard(context, ss, screenshot=shot)
        assert run.problems() == []
        assert len(run.charts) == 11 and all(c.rendered for c in run.charts)
        (funnel,) = run.chart("funnel")
        (heatmap,) = run.chart("heatmap_v2")
        retention_lines = [c for c in run.chart("echarts_timeseries_line") if "retention" in c.name.lower()]
        # 8 funnel stages; the heatmap has a cell per (cohort, day 0…30) and the lines a point per cohort day
        # (the demo holds 92 days, an empty stack gets 38: both well above these floors)
        assert funnel.rows == 8 and heatmap.rows > 300 and retention_lines[0].rows >= 30
        total = pg_rows(ss, f"SELECT count(*) FROM {ss.pg_gold_schema}.fact_sessions")[0][0]
        kpi = next(c for c in run.charts if c.name == "Sessions")
        assert kpi.text.splitlines()[0] == f"{total:,}"

        browser.apply_native_filter(page, answers, browser.DEVICE_FILTER, "mobile")
        mobile = pg_rows(
            ss, f"SELECT count(*) FROM {ss.pg_gold_schema}.fact_sessions WHERE device_category = 'mobile'"
        )[0][0]
        after = {c.name: c for c in browser.chart_states(page, answers)}
        assert after["Sessions"].text.splitlines()[0] == f"{mobile:,}" and 0 < mobile < total
        assert not [c for c in after.values() if c.error or c.api_error]
    assert shot.stat().st_size > 50_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


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
    assert funnel_diff == [(0,)] and retention_diff == [(0,)]
    assert sessions[0] == sessions[1] > 0 and sessions[2] == sessions[3]


def test_timing_and_video_commands(ss, tmp_path, capsys):
    from ga4lake.cli import main

    browser.timing(ss, 1)  # warm-up: the first open after the restart test above meets cold workers
    assert main(["dashboard", "timing", "--runs", "1"]) == 0
    assert "dashboard render: median" in capsys.readouterr().out
    video = browser.record_walkthrough(ss, tmp_path / "walkthrough.webm")
    assert video.stat().st_size > 100_000 and video.read_bytes()[:4] == b"\x1a\x45\xdf\xa3"  # WebM/EBML
