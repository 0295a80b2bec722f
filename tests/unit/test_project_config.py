"""ga4lake.yml: defaults equal to the rules gold had before the file, and a clear error for every bad key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from ga4lake.config import REPO_ROOT, load_settings
from ga4lake.errors import UserError
from ga4lake.project import (
    ALL,
    DEFAULT_LOOKBACK_DAYS,
    DEFAULT_STRIP_QUERY_PARAMS,
    DEFAULTS,
    Attribution,
    Project,
    Retention,
    Urls,
    load_project,
    parse_project,
    project_of,
)


def write_project(tmp_path: Path, text: str) -> Path:
    """``text`` as ``tmp_path/ga4lake.yml`` (the project file tests load)."""
    path = tmp_path / "ga4lake.yml"
    path.write_text(text)
    return path


def test_defaults_are_the_rules_gold_had_before_the_file():
    assert DEFAULTS.attribution.lookback_days == DEFAULT_LOOKBACK_DAYS == 30
    assert DEFAULTS.urls.strip_query_params == (
        "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "fbclid", "msclkid", "_gl"
    )  # fmt: skip


def test_missing_file_means_every_default(tmp_path):
    assert load_project(tmp_path / "absent.yml") == DEFAULTS


@pytest.mark.parametrize("text", ["", "# only a comment\n", "attribution:\nurls:\n"])
def test_empty_file_or_sections_mean_defaults(tmp_path, text):
    assert load_project(write_project(tmp_path, text)) == DEFAULTS


def test_committed_example_holds_exactly_the_defaults():
    """The ga4lake.yml at the repository root documents the defaults; it must not change the build."""
    assert load_project(REPO_ROOT / "ga4lake.yml") == DEFAULTS


def test_values_are_read(tmp_path):
    path = write_project(
        tmp_path, "attribution:\n  lookback_days: 7\nurls:\n  strip_query_params: [utm_source, ref]\n"
    )
    project = load_project(path)
    assert project == Project(Attribution(7), Urls(("utm_source", "ref")))
    assert project.source == path


def test_retention_return_on_is_read_and_defaults_to_session_start(tmp_path):
    assert DEFAULTS.retention.return_on == "session_start"
    project = load_project(write_project(tmp_path, "retention:\n  return_on: any_event\n"))
    assert project.retention == Retention("any_event")


def test_all_strips_every_parameter(tmp_path):
    assert (
        load_project(write_project(tmp_path, "urls:\n  strip_query_params: all\n")).urls.strip_query_params
        == ALL
    )


def test_an_empty_list_strips_nothing(tmp_path):
    assert (
        load_project(write_project(tmp_path, "urls:\n  strip_query_params: []\n")).urls.strip_query_params
        == ()
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "attribution:\n  lookback_dayz: 7\n",
            "ga4lake.yml: attribution.lookback_dayz: unknown key; known: lookback_days",
        ),
        (
            "atribution:\n  lookback_days: 7\n",
            "ga4lake.yml: atribution: unknown key; known: attribution, urls",
        ),
        ("urls:\n  strip: [a]\n", "ga4lake.yml: urls.strip: unknown key; known: strip_query_params"),
        ("- a\n- b\n", "ga4lake.yml: top level: expected a mapping of keys, got a list"),
        ("attribution: 30\n", "ga4lake.yml: attribution: expected a mapping of keys, got int"),
        (
            "attribution:\n  lookback_days: '30'\n",
            "ga4lake.yml: attribution.lookback_days: expected a whole number of days, got a string '30'",
        ),
        (
            "attribution:\n  lookback_days: 7.5\n",
            "ga4lake.yml: attribution.lookback_days: expected a whole number of days, got float 7.5",
        ),
        (
            "attribution:\n  lookback_days: true\n",
            "ga4lake.yml: attribution.lookback_days: expected a whole number of days, got true/false True",
        ),
        (
            "attribution:\n  lookback_days: 0\n",
            "ga4lake.yml: attribution.lookback_days: must be between 1 and 365, got 0",
        ),
        (
            "attribution:\n  lookback_days: 366\n",
            "ga4lake.yml: attribution.lookback_days: must be between 1 and 365, got 366",
        ),
        (
            "urls:\n  strip_query_params: gclid\n",
            "ga4lake.yml: urls.strip_query_params: expected a list of parameter names or 'all', got the string 'gclid'",
        ),
        (
            "urls:\n  strip_query_params: {gclid: 1}\n",
            "ga4lake.yml: urls.strip_query_params: expected a list of parameter names or 'all', got a mapping",
        ),
        (
            "urls:\n  strip_query_params: [gclid, 5]\n",
            "ga4lake.yml: urls.strip_query_params[1]: 5 is not a query parameter name",
        ),
        (
            'urls:\n  strip_query_params: ["it\'s"]\n',
            'ga4lake.yml: urls.strip_query_params[0]: "it\'s" is not a query parameter name',
        ),
        (
            "urls:\n  strip_query_params: ['a|b']\n",
            "ga4lake.yml: urls.strip_query_params[0]: 'a|b' is not a query parameter name",
        ),
        (
            "urls:\n  strip_query_params: [gclid, gclid]\n",
            "ga4lake.yml: urls.strip_query_params[1]: 'gclid' is listed twice",
        ),
        (
            "retention:\n  return_on: first_event\n",
            "ga4lake.yml: retention.return_on: expected one of session_start, any_event, got a string 'first_event'",
        ),
        (
            "retention:\n  returns_on: any_event\n",
            "ga4lake.yml: retention.returns_on: unknown key; known: return_on",
        ),
        ("attribution: [\n", "ga4lake.yml: not valid YAML (line 2)"),
    ],
)
def test_bad_values_name_the_file_and_the_key(tmp_path, text, message):
    with pytest.raises(UserError) as err:
        load_project(write_project(tmp_path, text))
    assert str(err.value).startswith(message), str(err.value)


def test_parse_names_the_file_it_was_given():
    with pytest.raises(UserError, match=r"^site\.yml: x: unknown key"):
        parse_project({"x": 1}, "site.yml")


def test_settings_name_the_file_and_the_environment_overrides_it(tmp_path):
    assert load_settings({}).project_file == REPO_ROOT / "ga4lake.yml"
    other = write_project(tmp_path, "attribution:\n  lookback_days: 14\n")
    settings = load_settings({"GA4LAKE_PROJECT_FILE": str(other)})
    assert settings.project_file == other
    assert project_of(settings).attribution.lookback_days == 14
    assert project_of(dataclasses.replace(settings, project_file=tmp_path / "none.yml")) == DEFAULTS


def test_defaults_list_is_the_gold_constant():
    from ga4lake.gold.models.common import LOOKBACK_DAYS, QUERY_PARAMETER_EXCLUSIONS

    assert QUERY_PARAMETER_EXCLUSIONS == DEFAULT_STRIP_QUERY_PARAMS
    assert LOOKBACK_DAYS == DEFAULT_LOOKBACK_DAYS
