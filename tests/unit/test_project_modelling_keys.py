"""ga4lake.yml's modelling keys: ``channels.source_categories_csv``, ``conversions.events`` /
``conversions.counting`` and ``funnel.stages`` — defaults, values read, and an error naming the key (and,
for the CSV, its file and line) for every bad value."""

from __future__ import annotations

import pytest

from ga4lake.errors import UserError
from ga4lake.project import (
    DEFAULT_CONVERSION_EVENTS,
    DEFAULT_FUNNEL_STAGES,
    DEFAULTS,
    ONCE_PER_EVENT,
    ONCE_PER_SESSION,
    load_project,
)
from ga4lake.source_categories import SOURCE_CATEGORIES
from tests.unit.test_project_config import write_project


def test_defaults():
    assert DEFAULTS.channels.source_categories_csv is None
    assert DEFAULTS.channels.source_categories == SOURCE_CATEGORIES
    assert len(DEFAULTS.channels.source_categories) == 195
    assert DEFAULTS.conversions.events == DEFAULT_CONVERSION_EVENTS == ("purchase",)
    assert DEFAULTS.conversions.counting == ONCE_PER_EVENT
    assert DEFAULTS.funnel.stages == DEFAULT_FUNNEL_STAGES
    assert len(DEFAULT_FUNNEL_STAGES) == 8


def test_gold_funnel_constant_is_the_default():
    from ga4lake.gold.models.funnel import STAGES

    assert STAGES == DEFAULT_FUNNEL_STAGES


def test_csv_adds_and_overrides_relative_to_the_project_file(tmp_path):
    (tmp_path / "cats.csv").write_text("source,source_category\nnewsite,SOCIAL\ngoogle,SHOPPING\n")
    project = load_project(write_project(tmp_path, "channels:\n  source_categories_csv: cats.csv\n"))
    assert project.channels.source_categories_csv == tmp_path / "cats.csv"
    mapping = project.channels.source_categories
    assert mapping["newsite"] == "SOCIAL"
    assert mapping["google"] == "SHOPPING"  # the CSV wins over the built-in row
    assert mapping["facebook"] == "SOCIAL"  # built-in rows stay
    assert len(mapping) == 196
    assert project != DEFAULTS


def test_csv_absolute_path(tmp_path):
    csv_path = tmp_path / "sub" / "c.csv"
    csv_path.parent.mkdir()
    csv_path.write_text("source,source_category\nnewsite,VIDEO\n")
    other = tmp_path / "elsewhere"
    other.mkdir()
    project = load_project(write_project(other, f"channels:\n  source_categories_csv: {csv_path}\n"))
    assert project.channels.source_categories["newsite"] == "VIDEO"


def test_conversions_and_funnel_are_read(tmp_path):
    text = (
        "conversions:\n  events: [sign_up, purchase]\n  counting: once_per_session\n"
        "funnel:\n  stages: [view_item, Add_To_Cart, purchase]\n"
    )
    project = load_project(write_project(tmp_path, text))
    assert project.conversions.events == ("sign_up", "purchase")
    assert project.conversions.counting == ONCE_PER_SESSION
    assert project.funnel.stages == ("view_item", "Add_To_Cart", "purchase")


def test_attribution_source(tmp_path):
    assert DEFAULTS.attribution.source == "dbt_ga4"
    project = load_project(write_project(tmp_path, "attribution:\n  source: ga4_last_click\n"))
    assert project.attribution.source == "ga4_last_click"
    assert load_project(write_project(tmp_path, "attribution:\n  source: dbt_ga4\n")) == DEFAULTS


def test_no_conversion_events_is_allowed(tmp_path):
    assert load_project(write_project(tmp_path, "conversions:\n  events: []\n")).conversions.events == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("channels:\n  csv: a.csv\n", "ga4lake.yml: channels.csv: unknown key; known: source_categories_csv"),
        ("channels:\n  csv_rows: []\n", "ga4lake.yml: channels.csv_rows: unknown key"),
        (
            "channels:\n  source_categories_csv: 5\n",
            "ga4lake.yml: channels.source_categories_csv: expected the path of a CSV file, got int 5",
        ),
        ("channels:\n  source_categories_csv: absent.csv\n", "ga4lake.yml: channels.source_categories_csv: "),
        (
            "conversions:\n  event: [purchase]\n",
            "ga4lake.yml: conversions.event: unknown key; known: events, counting",
        ),
        (
            "conversions:\n  events: purchase\n",
            "ga4lake.yml: conversions.events: expected a list of event names, got a string",
        ),
        (
            "conversions:\n  events: [Purchase]\n",
            "ga4lake.yml: conversions.events[0]: 'Purchase' is not an event name (lower-case",
        ),
        (
            "conversions:\n  events: [purchase, 'a-b']\n",
            "ga4lake.yml: conversions.events[1]: 'a-b' is not an event name",
        ),
        (
            "conversions:\n  events: [purchase, purchase]\n",
            "ga4lake.yml: conversions.events[1]: 'purchase' is listed twice",
        ),
        (
            "conversions:\n  events: [page_view]\n",
            "ga4lake.yml: conversions.events[0]: 'page_view' would add the column page_view_count",
        ),
        (
            "conversions:\n  counting: per_user\n",
            "ga4lake.yml: conversions.counting: expected once_per_event or once_per_session, "
            "got a string 'per_user'",
        ),
        ("funnel:\n  steps: [a, b]\n", "ga4lake.yml: funnel.steps: unknown key; known: stages"),
        (
            "funnel:\n  stages: [purchase]\n",
            "ga4lake.yml: funnel.stages: a funnel needs at least 2 stages, got 1",
        ),
        (
            "funnel:\n  stages: [view_item, view_item]\n",
            "ga4lake.yml: funnel.stages[1]: 'view_item' is listed twice",
        ),
        (
            'funnel:\n  stages: [view_item, "it\'s"]\n',
            'ga4lake.yml: funnel.stages[1]: "it\'s" is not an event name',
        ),
        ("funnel:\n  stages: [view_item, 7]\n", "ga4lake.yml: funnel.stages[1]: 7 is not an event name"),
        ("funnel:\n  stages: [1a, b]\n", "ga4lake.yml: funnel.stages[0]: '1a' is not an event name"),
        (f"funnel:\n  stages: [a, {'b' * 41}]\n", "ga4lake.yml: funnel.stages[1]: "),
        ("funnel: [a, b]\n", "ga4lake.yml: funnel: expected a mapping of keys, got a list"),
        (
            "attribution:\n  source: last_click\n",
            "ga4lake.yml: attribution.source: expected dbt_ga4 or ga4_last_click, got a string 'last_click'",
        ),
        (
            "attribution:\n  sources: dbt_ga4\n",
            "ga4lake.yml: attribution.sources: unknown key; known: lookback_days, source",
        ),
    ],
)
def test_bad_values_name_the_key(tmp_path, text, message):
    with pytest.raises(UserError) as err:
        load_project(write_project(tmp_path, text))
    assert str(err.value).startswith(message), str(err.value)


@pytest.mark.parametrize(
    ("csv", "where"),
    [
        ("source,category\nx,SEARCH\n", "cats.csv:1: the header must be source,source_category"),
        ("source,source_category\nnewsite,SOCIAL\nother,NEWS\n", "cats.csv:3: expected <source>,<one of"),
        ("source,source_category\nNewSite,SOCIAL\n", "cats.csv:2: a source is lower-case"),
        ("source,source_category\nit's,SOCIAL\n", "cats.csv:2: a source is lower-case"),
        ("source,source_category\na,SOCIAL\na,VIDEO\n", "cats.csv:3: 'a' is listed twice"),
        ("source,source_category\na,SOCIAL,x\n", "cats.csv:2: expected"),
    ],
)
def test_a_bad_csv_row_names_the_file_and_the_line(tmp_path, csv, where):
    (tmp_path / "cats.csv").write_text(csv)
    with pytest.raises(UserError) as err:
        load_project(write_project(tmp_path, "channels:\n  source_categories_csv: cats.csv\n"))
    message = str(err.value)
    assert message.startswith("ga4lake.yml: channels.source_categories_csv: "), message
    assert where in message, message


def test_a_missing_csv_names_its_path(tmp_path):
    with pytest.raises(UserError, match=r"channels\.source_categories_csv: .*absent\.csv is not a file"):
        load_project(write_project(tmp_path, "channels:\n  source_categories_csv: absent.csv\n"))


def test_dbt_gets_the_funnel_stages_only_when_they_differ(tmp_path):
    import json

    from ga4lake.config import load_settings
    from ga4lake.validate import dbt

    settings = load_settings({"GA4LAKE_PROJECT_FILE": str(tmp_path / "none.yml")})
    cmd = dbt.dbt_command(settings, ["build"])
    assert "ga4lake_funnel_stages" not in json.loads(cmd[cmd.index("--vars") + 1])
    path = write_project(tmp_path, "funnel:\n  stages: [view_item, purchase]\n")
    settings = load_settings({"GA4LAKE_PROJECT_FILE": str(path)})
    cmd = dbt.dbt_command(settings, ["build"], variables={"a": "b"})
    assert json.loads(cmd[cmd.index("--vars") + 1]) == {
        "ga4lake_funnel_stages": ["view_item", "purchase"],
        "ga4lake_retention_return_on": "session_start",
        "a": "b",
    }


def test_dbt_project_default_stages_are_the_project_default():
    import yaml

    from ga4lake.validate.dbt import DBT_DIR

    project = yaml.safe_load((DBT_DIR / "dbt_project.yml").read_text())
    assert tuple(project["vars"]["ga4lake_funnel_stages"]) == DEFAULT_FUNNEL_STAGES
