"""The dashboard bundle (superset/bundle) is self-consistent and matches the dbt models it reads."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
import yaml

from ga4lake.config import REPO_ROOT
from ga4lake.dashboard import values

BUNDLE = REPO_ROOT / "superset" / "bundle"
MODELS = REPO_ROOT / "dbt" / "models" / "insights"
SEGMENT_COLUMNS = ("device_category", "country", "channel")


def _load(kind: str) -> dict[str, dict]:
    return {
        p.relative_to(BUNDLE).as_posix(): yaml.safe_load(p.read_text())
        for p in BUNDLE.glob(f"{kind}/**/*.yaml")
    }


@pytest.fixture(scope="module")
def bundle():
    return {k: _load(k) for k in ("databases", "datasets", "charts", "dashboards")}


@pytest.fixture(scope="module")
def bootstrap():
    spec = importlib.util.spec_from_file_location(
        "superset_bootstrap", REPO_ROOT / "superset" / "bootstrap.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_metadata_declares_an_assets_bundle():
    meta = yaml.safe_load((BUNDLE / "metadata.yaml").read_text())
    assert meta["version"] == "1.0.0" and meta["type"] == "assets"


def test_uuids_are_unique_and_every_reference_resolves(bundle):
    uuids = [c["uuid"] for kind in bundle.values() for c in kind.values()]
    assert len(uuids) == len(set(uuids))
    dbs = {c["uuid"] for c in bundle["databases"].values()}
    datasets = {c["uuid"] for c in bundle["datasets"].values()}
    assert all(d["database_uuid"] in dbs for d in bundle["datasets"].values())
    assert all(c["dataset_uuid"] in datasets for c in bundle["charts"].values())


def test_database_uses_the_read_only_role_and_no_real_password(bundle):
    (db,) = bundle["databases"].values()
    assert db["sqlalchemy_uri"].startswith("postgresql+psycopg2://ga4lake_reader:XXXXXXXXXX@")
    assert not db["allow_dml"] and "password" not in db


def test_dashboard_places_every_chart_once_and_nothing_else(bundle):
    (dash,) = bundle["dashboards"].values()
    assert dash["dashboard_title"] == "GA4 e-commerce" and dash["slug"] == "ga4-ecommerce"
    placed = [
        n["meta"]["uuid"] for n in dash["position"].values() if isinstance(n, dict) and n["type"] == "CHART"
    ]
    assert sorted(placed) == sorted(c["uuid"] for c in bundle["charts"].values())
    for node_id, node in dash["position"].items():  # the layout tree is consistent both ways
        if isinstance(node, dict):
            for child in node.get("children", []):
                assert node_id in dash["position"][child]["parents"] or node_id == "ROOT_ID"


def test_the_issue_asks_for_these_charts(bundle):
    viz = sorted(c["viz_type"] for c in bundle["charts"].values())
    assert viz.count("big_number_total") == 4  # sessions, users, conversion rate, revenue
    assert viz.count("funnel") == 2  # closed and open
    assert {"funnel", "heatmap_v2", "table", "echarts_timeseries_line", "echarts_timeseries_bar"} <= set(viz)
    kpis = {c["params"]["metric"] for c in bundle["charts"].values() if c["viz_type"] == "big_number_total"}
    assert kpis == {"sessions", "users", "conversion_rate", "revenue"}


def test_no_legacy_filter_keys_that_superset_rewrites_on_every_import(bundle):
    (dash,) = bundle["dashboards"].values()
    assert not {"default_filters", "filter_scopes"} & set(dash["metadata"])


def test_native_filters_date_device_country_channel_on_columns_every_dataset_has(bundle):
    (dash,) = bundle["dashboards"].values()
    filters = dash["metadata"]["native_filter_configuration"]
    assert [f["name"] for f in filters] == ["Date range", "Device", "Country", "Channel"]
    assert filters[0]["filterType"] == "filter_time"
    assert [f["targets"][0]["column"]["name"] for f in filters[1:]] == list(SEGMENT_COLUMNS)
    charted = {c["dataset_uuid"] for c in bundle["charts"].values()}
    for ds in bundle["datasets"].values():  # so each filter applies to every chart, not just some
        names = {c["column_name"] for c in ds["columns"]}
        assert set(SEGMENT_COLUMNS) <= names
        assert ds["main_dttm_col"] in names or ds["uuid"] not in charted  # the date range reaches every chart
    # the options come from the small dashboard_segments table, not from a scan of every session
    (options,) = [d for d in bundle["datasets"].values() if d["uuid"] not in charted]
    assert options["table_name"] == "dashboard_segments"
    assert {f["targets"][0]["datasetUuid"] for f in filters[1:]} == {options["uuid"]}


def test_charts_use_only_metrics_and_columns_of_their_dataset(bundle):
    datasets = {d["uuid"]: d for d in bundle["datasets"].values()}
    for name, chart in bundle["charts"].items():
        ds = datasets[chart["dataset_uuid"]]
        metrics = {m["metric_name"] for m in ds["metrics"]}
        columns = {c["column_name"] for c in ds["columns"]}
        p = chart["params"]
        used = [p.get("metric"), *p.get("metrics", []), p.get("timeseries_limit_metric")]
        assert {m for m in used if isinstance(m, str)} <= metrics, name
        groupby = p.get("groupby") or []
        used_cols = [*([groupby] if isinstance(groupby, str) else groupby), p.get("x_axis")]
        used_cols += [f["subject"] for f in p.get("adhoc_filters", [])]
        assert {c for c in used_cols if c} <= columns, name


def test_datasets_match_the_dbt_models_and_their_docs(bundle):
    for ds in bundle["datasets"].values():
        model = MODELS / f"{ds['table_name']}.sql"
        docs = yaml.safe_load((MODELS / f"{ds['table_name']}.yml").read_text())["models"][0]
        assert ds["schema"] == "insights" and model.exists()
        assert {c["column_name"] for c in ds["columns"]} == {c["name"] for c in docs["columns"]}
        assert re.search(r"materialized='table'", model.read_text())


def test_bundle_contents_fill_in_connection_schema_and_password(bootstrap):
    env = {
        "GA4LAKE_PG_HOST": "127.0.0.1",
        "GA4LAKE_PG_PORT": "6543",
        "GA4LAKE_PG_GOLD_DB": "lake",
        "GA4LAKE_PG_READER_PASSWORD": "pw",
        "GA4LAKE_PG_INSIGHTS_SCHEMA": "itest_insights",
    }
    contents, passwords = bootstrap.bundle_contents(env)
    db = yaml.safe_load(contents["databases/ga4lake.yaml"])
    assert db["sqlalchemy_uri"] == "postgresql+psycopg2://ga4lake_reader:XXXXXXXXXX@127.0.0.1:6543/lake"
    assert passwords == {"databases/ga4lake.yaml": "pw"}
    schemas = {yaml.safe_load(v)["schema"] for k, v in contents.items() if k.startswith("datasets/")}
    assert schemas == {"itest_insights"}
    assert "metadata.yaml" in contents and all(not Path(k).is_absolute() for k in contents)


def _charts_by_viz(bundle, viz: str) -> dict[str, dict]:
    return {c["slice_name"]: c for c in bundle["charts"].values() if c["viz_type"] == viz}


def test_closed_and_open_funnel_list_the_stages_in_funnel_order(bundle):
    funnels = _charts_by_viz(bundle, "funnel")
    assert {c["params"]["metric"] for c in funnels.values()} == {"closed_sessions", "open_sessions"}
    for name, chart in funnels.items():
        p = chart["params"]
        # by stage_order, not by value (equal counts would swap, and percentages follow the row order)
        assert not p["sort_by_metric"] and p["sort"] == "none", name
        ((order, ascending),) = [json.loads(o) for o in p["order_by_cols"]]
        assert order["sqlExpression"] == "MIN(stage_order)" and ascending is True, name
        assert p["percent_calculation_type"] in {"total", "prev_step", "first_step"}, name  # 6.1's values
    assert funnels[values.FUNNEL_CLOSED]["params"]["percent_calculation_type"] == "prev_step"
    assert funnels[values.FUNNEL_OPEN]["params"]["percent_calculation_type"] == "first_step"


def _luminance(color: tuple[float, float, float]) -> float:
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in color]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_every_stage_has_its_own_colour_and_the_funnel_labels_are_readable_on_it(bundle):
    (dash,) = bundle["dashboards"].values()
    # funnel_segments_daily's stages are dbt var ga4lake_funnel_stages; its default is the colour map's
    dbt_vars = yaml.safe_load((MODELS.parents[1] / "dbt_project.yml").read_text())["vars"]
    stages = list(dbt_vars["ga4lake_funnel_stages"])
    colors = dash["metadata"]["label_colors"]
    assert list(colors) == stages and len(set(colors.values())) == len(stages) == 8
    for stage, hex_color in colors.items():
        fill = tuple(int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5))
        # the funnel's label text is Superset's colorText, rgba(0, 0, 0, 0.88), drawn over the fill
        text = tuple(0.12 * c for c in fill)
        contrast = (_luminance(fill) + 0.05) / (_luminance(text) + 0.05)
        assert contrast >= 4.5, f"{stage}: contrast {contrast:.2f} below WCAG AA"


def test_the_browser_checks_know_the_bundles_filters_and_chart_names(bundle):
    from ga4lake.dashboard import filters

    (dash,) = bundle["dashboards"].values()
    config = {f["id"]: f for f in dash["metadata"]["native_filter_configuration"]}
    assert config[filters.DATE_FILTER]["filterType"] == "filter_time"
    for filter_id, column in filters.SEGMENT_FILTERS.items():
        assert config[filter_id]["targets"][0]["column"]["name"] == column
    names = {c["slice_name"] for c in bundle["charts"].values()}
    checked = {v for k, v in vars(values).items() if k.isupper() and isinstance(v, str) and v in names}
    assert len(checked) == len(names) - 1  # every chart but the traffic-source table (200 rows, paged)


def test_superset_config_draws_charts_without_animation_and_plain_funnel_labels(monkeypatch):
    """superset_config.py extends Superset's own themes (a stand-in superset.config here)."""
    import sys
    import types

    config = types.ModuleType("superset.config")
    config.THEME_DEFAULT = {"token": {"colorPrimary": "#2893B3"}, "algorithm": "default"}
    config.THEME_DARK = {"token": {"colorPrimary": "#2893B3"}, "algorithm": "dark"}
    log = types.ModuleType("superset.utils.log")
    log.AbstractEventLogger = object
    for name, module in {
        "superset": types.ModuleType("superset"),
        "superset.config": config,
        "superset.utils": types.ModuleType("superset.utils"),
        "superset.utils.log": log,
    }.items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setenv("SUPERSET_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("GA4LAKE_SUPERSET_METADATA_URI", "postgresql://x")
    namespace: dict = {}
    exec(
        compile((REPO_ROOT / "superset" / "superset_config.py").read_text(), "superset_config.py", "exec"),
        namespace,
    )
    for theme in (namespace["THEME_DEFAULT"], namespace["THEME_DARK"]):
        assert theme["echartsOptionsOverrides"]["animation"] is False
        funnel = theme["echartsOptionsOverridesByChartType"]["funnel"]["series"]  # merged into each series
        assert funnel["animation"] is False  # the plugin's own series-level `animation: true` outranks
        assert funnel["label"] == {"position": "insideLeft", "textBorderWidth": 0}  # no blurring outline
    assert namespace["THEME_DEFAULT"]["token"] == config.THEME_DEFAULT["token"]  # Superset's own tokens kept
