"""Pure parts of the parity check: SQL templating, the delta/threshold rule, the report text."""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, date, datetime

import pytest

from ga4lake.project import ALL, DEFAULTS, Project, Retention, Urls
from ga4lake.validate import parity
from ga4lake.validate.parity import CHECKS, PARITY_DIR, PARITY_MODELS, VALUE_CHECKS, ParityReport

START, END = date(2020, 11, 1), date(2021, 1, 31)


def test_render_fills_every_placeholder_and_refuses_missing_ones():
    assert parity.render("a {x} b {y} {x}", {"x": "1", "y": "2"}) == "a 1 b 2 1"
    with pytest.raises(KeyError, match="y"):
        parity.render("{x} {y}", {"x": "1"})


def test_render_does_not_rescan_filled_text():
    # a value that itself looks like a placeholder stays as it is
    assert parity.render("{a}", {"a": "{b}"}) == "{b}"


@pytest.mark.parametrize("name", ["gold", "itest_gold_1a2b3c4d", "_x"])
def test_plain_schema_names_pass(name):
    assert parity.check_identifier(name) == name


@pytest.mark.parametrize("name", ["Gold", "gold; drop table x", "gold.x", "1gold", "", 'go"ld'])
def test_unsafe_schema_names_are_rejected(name):
    with pytest.raises(ValueError):
        parity.check_identifier(name)


def test_start_after_end_is_rejected():
    with pytest.raises(ValueError, match="after"):
        parity.sql_values(END, START, "gold")


def test_every_model_has_its_sql_files():
    for pm in CHECKS:
        assert (PARITY_DIR / "reference" / f"{pm.model}.sql").is_file(), pm.model
        assert (PARITY_DIR / "gold" / f"{pm.gold_query}.sql").is_file(), pm.gold_query


def test_value_checks_cover_engagement_pages_orders_and_revenue():
    assert {pm.measure for pm in VALUE_CHECKS} == {
        "engaged_sessions",
        "page_views",
        "orders",
        "revenue_cents",
        "channel_weighted_sessions",
        "landing_page_sessions_sq",
        "returning_d1_d7",
    }
    assert all(pm.measure == "rows" for pm in PARITY_MODELS)
    assert len({pm.model for pm in CHECKS}) == len(CHECKS)


def test_value_checks_read_one_day_before_the_range():
    """Sessions are dated by their first event: a value check must see the day before to know it."""
    engaged = next(pm for pm in VALUE_CHECKS if pm.measure == "engaged_sessions")
    sql = parity.compare_sql(engaged, START, END, "gold")
    assert "_shard_date BETWEEN DATE '2020-10-31' AND DATE '2021-01-31'" in sql
    assert "session_start_date BETWEEN DATE '2020-11-01' AND DATE '2021-01-31'" in sql
    rows = parity.compare_sql(PARITY_MODELS[1], START, END, "gold")
    assert "_shard_date BETWEEN DATE '2020-11-01' AND DATE '2021-01-31'" in rows


def test_retention_reference_follows_the_configured_return_rule():
    """The retention cells' reference counts returns by the same rule gold was built with."""
    check = next(pm for pm in VALUE_CHECKS if pm.measure == "returning_d1_d7")
    default = parity.compare_sql(check, START, END, "gold")
    assert "GROUP BY session_key, user_pseudo_id" in default  # a return = a session start that day
    any_event = parity.compare_sql(
        check, START, END, "gold", project=Project(retention=Retention("any_event"))
    )
    assert "SELECT DISTINCT user_pseudo_id, event_date_dt AS active_date" in any_event
    assert "GROUP BY session_key, user_pseudo_id" not in any_event
    other = next(pm for pm in VALUE_CHECKS if pm.measure == "engaged_sessions")
    assert parity.compare_sql(other, START, END, "gold") == parity.compare_sql(
        other, START, END, "gold", project=Project(retention=Retention("any_event"))
    )


def test_channel_reference_reads_the_projects_source_categories():
    from ga4lake.project import DEFAULTS, Channels

    check = next(pm for pm in VALUE_CHECKS if pm.measure == "channel_weighted_sessions")
    sql = parity.reference_sql(check, START, END)
    assert parity.source_category_map_sql(DEFAULTS) in sql
    # a ga4lake.yml CSV row reaches the reference as it reaches gold's channel rules
    custom = Project(channels=Channels(csv_rows=(("newsite", "SOCIAL"),)))
    assert "'newsite'" in parity.reference_sql(check, START, END, project=custom)
    assert "'newsite'" not in sql
    # the reference and the gold query weigh the channels with one list, every name the rule can return
    weights = parity.channel_weights_sql()
    assert weights in sql and weights in parity.gold_sql(check, START, END, "gold")
    returned = set(re.findall(r"THEN '([A-Za-z -]+)'", sql)) | {"Unassigned"}
    assert returned == set(parity.CHANNEL_ORDER)


def test_every_gold_table_is_compared_once():
    from ga4lake.gold.models import GOLD_TABLES

    assert sorted(pm.gold_table for pm in PARITY_MODELS) == sorted(GOLD_TABLES)
    assert len({pm.model for pm in PARITY_MODELS}) == len(PARITY_MODELS)


def test_the_six_dbt_ga4_models_of_the_brief_are_references():
    dbt_ga4 = {pm.model for pm in PARITY_MODELS if pm.origin == "dbt-ga4"}
    assert dbt_ga4 == {
        "stg_ga4__events",
        "fct_ga4__sessions",
        "fct_ga4__sessions_daily",
        "stg_ga4__sessions_traffic_sources",
        "fct_ga4__pages",
        "dim_ga4__client_keys",
    }


@pytest.mark.parametrize("pm", CHECKS, ids=lambda p: p.model)
def test_compare_sql_is_one_complete_federated_statement(pm):
    sql = parity.compare_sql(pm, START, END, "itest_gold_x")
    assert not re.search(r"\{[a-z_]+\}", sql), "unfilled placeholder"
    assert "postgresql.itest_gold_x." in sql
    assert "bronze.events" in sql  # unqualified: the lake branch's catalog is the session default
    assert "DATE '2020-11-01'" in sql and "DATE '2021-01-31'" in sql
    assert f"'{pm.model}' AS model" in sql and f"'{pm.gold_table}' AS gold_table" in sql
    code = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    assert code.count("(") == code.count(")")
    assert ";" not in code


@pytest.mark.parametrize("pm", CHECKS, ids=lambda p: p.model)
def test_split_mode_queries(pm):
    ref = parity.reference_sql(pm, START, END)
    assert "postgresql." not in ref and ref.rstrip().endswith("SELECT reference_rows FROM reference")
    pg = parity.gold_sql_postgres(pm, START, END, "gold")
    assert "postgresql." not in pg and f"gold.{pm.gold_table}" in pg


def test_click_id_exclusions_match_gold():
    """The reference's URL cleaning is rendered from the same ga4lake.yml list as gold: by default the
    click-id list, exactly the expression the reference used before the file existed."""
    from ga4lake.gold.models.common import QUERY_PARAMETER_EXCLUSIONS

    expr = parity.url_cleaning_sql(DEFAULTS)
    listed = re.search(r"\[&#\?\|\]\(\?:([^)]*)\)=", expr)
    assert listed, expr
    assert listed.group(1).split("|") == list(QUERY_PARAMETER_EXCLUSIONS)
    assert expr == (
        "regexp_replace(original_page_location, "
        "'[&#?|](?:gclid|gclsrc|dclid|gbraid|wbraid|fbclid|msclkid|_gl)=[^?&#]*', '')"
    )
    assert f"{expr} AS page_location" in parity.reference_sql(PARITY_MODELS[0], START, END)


@pytest.mark.parametrize(
    ("urls", "expr"),
    [
        (Urls(ALL), "regexp_replace(original_page_location, '^([^?#]*)\\?[^#]*', '$1')"),
        (Urls(()), "original_page_location"),
        (Urls(("utm.x", "q")), "regexp_replace(original_page_location, '[&#?|](?:utm\\.x|q)=[^?&#]*', '')"),
    ],
)
def test_configured_url_rule_reaches_every_reference(urls, expr):
    project = Project(urls=urls)
    assert parity.url_cleaning_sql(project) == expr
    for pm in CHECKS:
        assert f"{expr} AS page_location" in parity.reference_sql(pm, START, END, project=project)
        assert f"{expr} AS page_location" in parity.compare_sql(pm, START, END, "gold", project=project)


@pytest.mark.parametrize(
    ("ref", "gold", "delta"),
    [(1000, 1000, 0.0), (1000, 995, -0.5), (1000, 1005, 0.5), (200, 198, -1.0), (0, 0, 0.0)],
)
def test_delta_pct(ref, gold, delta):
    assert parity.delta_pct(ref, gold) == pytest.approx(delta)


def test_delta_is_infinite_when_only_the_reference_is_empty():
    assert math.isinf(parity.delta_pct(0, 3))


@pytest.mark.parametrize(
    ("gold", "threshold", "passed"),
    [
        (10_000, 0.5, True),
        (9_950, 0.5, True),
        (10_050, 0.5, True),
        (9_949, 0.5, False),
        (10_051, 0.5, False),
        (9_900, 1.0, True),
        (9_999, 0.0, False),
    ],
)
def test_threshold_is_inclusive_on_the_absolute_delta(gold, threshold, passed):
    row = parity.make_row(PARITY_MODELS[0], 10_000, gold, threshold)
    assert row.passed is passed


def test_select_models_by_model_or_gold_table():
    got = parity.select_models(["fact_sessions", "fct_ga4__pages"])
    # a gold table selects its row count and its value checks; a model name just that check
    assert [p.model for p in got] == [
        "fct_ga4__sessions",
        "fct_ga4__sessions.engaged_sessions",
        "ga4lake__transactions.orders",
        "ga4lake__transactions.revenue_cents",
        "stg_ga4__sessions_traffic_sources.channel_weighted_sessions",
        "fct_ga4__sessions.landing_page_sessions_sq",
        "fct_ga4__pages",
    ]
    assert parity.select_models(None) == list(CHECKS)
    with pytest.raises(ValueError, match="unknown"):
        parity.select_models(["nope"])


def test_default_threshold_from_env():
    assert parity.default_threshold({}) == 0.5
    assert parity.default_threshold({"GA4LAKE_PARITY_THRESHOLD_PCT": "1.25"}) == 1.25


def test_parity_workers_from_env():
    assert parity.parity_workers({}) == 4
    assert parity.parity_workers({"GA4LAKE_PARITY_WORKERS": "1"}) == 1
    assert parity.parity_workers({"GA4LAKE_PARITY_WORKERS": "0"}) == 1
    with pytest.raises(ValueError, match="GA4LAKE_PARITY_WORKERS"):
        parity.parity_workers({"GA4LAKE_PARITY_WORKERS": "many"})


@pytest.mark.parametrize("workers", [1, 4])
def test_measure_keys_every_check_and_keeps_one_failure_to_its_check(monkeypatch, workers):
    """Checks run concurrently: each result lands under its own model, and a failing query is an error on
    that check only. The query function stands in for Trino (its answers are a pure function of the SQL)."""
    import threading

    failing = VALUE_CHECKS[0]
    threads: set[str] = set()

    def query(sql):
        threads.add(threading.current_thread().name)
        time.sleep(0.02)  # long enough that a second worker picks up the next check
        if f"reference/{failing.model}" in sql or f"'{failing.model}'" in sql:
            raise RuntimeError("Query failed: boom\nsecond line")
        model = re.search(r"'([a-z0-9_.]+)' AS model", sql)
        return [], [(model.group(1) if model else "?", "t", len(sql), len(sql) + 1)]

    monkeypatch.setattr(parity, "_trino", lambda settings, connector=None: query)
    monkeypatch.setattr(parity.reference_cache, "enabled", lambda: False)
    run = parity._Run(None, START, END, "gold", "lake", PARITY_DIR, DEFAULTS)  # type: ignore[arg-type]
    tables = {pm.gold_table for pm in CHECKS}
    out = parity.measure(run, CHECKS, tables, workers=workers)
    assert list(out) == [pm.model for pm in CHECKS]
    assert out[failing.model].error == "Query failed: boom"
    ok = [m for model, m in out.items() if model != failing.model]
    assert all(m.error is None and m.gold_rows == m.reference_rows + 1 for m in ok)
    pool_threads = {name for name in threads if name.startswith("parity")}
    assert (len(pool_threads) > 1) == (workers > 1)


def _report(rows):
    return ParityReport("r1", datetime(2026, 1, 1, tzinfo=UTC), START, END, 0.5, "federated", rows)


def test_report_names_the_failing_table_readably():
    pms = {p.gold_table: p for p in PARITY_MODELS}
    rows = [
        parity.make_row(pms["fact_events"], 4_302_023, 4_302_023, 0.5, 12.0),
        parity.make_row(pms["fact_sessions"], 365_561, 361_905, 0.5, 3.0),
        parity.error_row(pms["dim_page"], "table gold.dim_page does not exist in PostgreSQL"),
    ]
    report = _report(rows)
    text = parity.format_report(report)
    assert not report.passed and [r.gold_table for r in report.failed] == ["fact_sessions", "dim_page"]
    assert "4,302,023" in text and "+0.000" in text and "-1.000" in text
    assert "FAIL fact_sessions: gold has 3,656 fewer rows than dbt-ga4's fct_ga4__sessions logic" in text
    assert "ERROR dim_page (ga4lake__pages): table gold.dim_page does not exist" in text
    engaged = next(pm for pm in VALUE_CHECKS if pm.measure == "engaged_sessions")
    value = parity.format_report(_report([parity.make_row(engaged, 1_000, 1_040, 0.5)]))
    assert (
        "FAIL fact_sessions: gold has 40 more engaged_sessions than dbt-ga4's fct_ga4__sessions logic"
        in value
    )
    assert text.rstrip().endswith("parity FAILED (2 of 3 tables)")
    header = text.splitlines()[1]
    for col in ("model", "gold table", "reference rows", "gold rows", "Δ %", "result"):
        assert col in header


def test_report_passes_only_with_rows_all_passing():
    assert not _report([]).passed
    ok = _report([parity.make_row(PARITY_MODELS[0], 10, 10, 0.5)])
    assert ok.passed and parity.format_report(ok).rstrip().endswith("parity passed")


def test_reference_cache_hits_only_the_same_bronze_content_and_sql(tmp_path):
    from ga4lake.validate.reference_cache import ReferenceCache, enabled

    cache = ReferenceCache(tmp_path / "ref")
    meta = "s3://b/warehouse/bronze/events/metadata/00006.metadata.json"
    assert cache.get(meta, "SELECT 1") is None
    cache.put(meta, "SELECT 1", 42, "stg_ga4__events")
    assert cache.get(meta, "SELECT 1") == 42
    assert cache.get(meta.replace("00006", "00007"), "SELECT 1") is None  # bronze moved on
    assert cache.get(meta, "SELECT 2") is None  # other range or reference logic
    cache.put(None, "SELECT 1", 7, "x")  # unknown bronze identity: never cached
    assert cache.get(None, "SELECT 1") is None
    (tmp_path / "ref" / f"{cache.key(meta, 'SELECT 3')}.json").write_text("{not json")
    assert cache.get(meta, "SELECT 3") is None  # a torn file is a miss, not an error
    assert enabled({}) and not enabled({"GA4LAKE_PARITY_REFERENCE_CACHE": "0"})
