"""The parity reference reads ga4lake.yml's modelling rules through placeholders (``parity.project_values``):
the source -> category map gold's channel rules use, the funnel's stages and the conversion events."""

from __future__ import annotations

from datetime import date

from ga4lake.project import DEFAULTS, Channels, Conversions, Funnel, Project
from ga4lake.source_categories import SOURCE_CATEGORIES
from ga4lake.validate import parity

START, END = date(2021, 1, 1), date(2021, 1, 3)
FUNNEL = next(pm for pm in parity.PARITY_MODELS if pm.gold_table == "agg_funnel_daily")


def test_default_values():
    values = parity.project_values(DEFAULTS)
    assert values["funnel_stage_count"] == "8"
    assert values["funnel_stages"].startswith("ARRAY['session_start', 'page_view', ")
    assert values["funnel_stages"].endswith("'purchase']")
    assert values["conversion_events"] == "ARRAY['purchase']"
    cat_map = values["source_category_map"]
    assert cat_map.startswith("MAP(ARRAY['google', ") and cat_map.count("'SEARCH'") >= 1
    assert cat_map.count("', '") + 2 == 2 * len(SOURCE_CATEGORIES)  # every key and value, once


def test_the_map_is_the_project_mapping_csv_rows_included():
    project = Project(channels=Channels(csv_rows=(("newsite", "SOCIAL"), ("google", "SHOPPING"))))
    cat_map = parity.source_category_map_sql(project)
    keys, values = cat_map.removeprefix("MAP(ARRAY[").removesuffix("])").split("], ARRAY[")
    pairs = dict(zip(keys.split(", "), values.split(", "), strict=True))
    assert pairs["'newsite'"] == "'SOCIAL'"
    assert pairs["'google'"] == "'SHOPPING'"
    assert len(pairs) == len(SOURCE_CATEGORIES) + 1


def test_funnel_reference_counts_one_row_per_configured_stage():
    project = Project(funnel=Funnel(("view_item", "add_to_cart", "purchase")))
    assert "SELECT 8 * count(DISTINCT" in parity.reference_sql(FUNNEL, START, END)
    assert "SELECT 3 * count(DISTINCT" in parity.reference_sql(FUNNEL, START, END, project=project)
    federated = parity.compare_sql(FUNNEL, START, END, "gold", project=project)
    assert "SELECT 3 * count(DISTINCT" in federated and "{funnel_stage_count}" not in federated


def test_every_reference_renders_with_a_configured_project():
    project = Project(
        channels=Channels(csv_rows=(("newsite", "SOCIAL"),)),
        conversions=Conversions(("sign_up",)),
        funnel=Funnel(("view_item", "purchase")),
    )
    for pm in parity.PARITY_MODELS:
        sql = parity.compare_sql(pm, START, END, "gold", project=project)
        assert "{" not in sql.replace("{{", ""), pm.model


def test_a_last_click_attribution_is_noted_in_the_report():
    from ga4lake.project import GA4_LAST_CLICK, Attribution

    assert parity.project_notes(DEFAULTS) == []
    (note,) = parity.project_notes(Project(attribution=Attribution(source=GA4_LAST_CLICK)))
    assert "attribution.source is ga4_last_click" in note and "dbt-ga4's rule" in note
