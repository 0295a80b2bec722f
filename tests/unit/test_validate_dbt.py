"""Pure parts of the dbt runner (artifact parsing, environment, command line) and the dbt project's
static contract: every gold table documented and tested, no secrets beyond the dev defaults."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
import yaml

from ga4lake.config import load_settings
from ga4lake.validate import cli, dbt
from tests.dbt_sources import gold_source

DBT_DIR = dbt.DBT_DIR

RUN_RESULTS = {
    "elapsed_time": 12.5,
    "results": [
        {"unique_id": "model.ga4lake.retention_matrix", "status": "success", "message": "CREATE VIEW"},
        {"unique_id": "model.ga4lake.funnel_conversion_daily", "status": "success", "message": "CREATE VIEW"},
        {"unique_id": "operation.ga4lake.ga4lake-on-run-end-0", "status": "success", "message": None},
        {"unique_id": "test.ga4lake.unique_x.abc", "status": "pass", "failures": 0, "message": None},
        {"unique_id": "test.ga4lake.not_null_y.def", "status": "pass", "failures": 0, "message": None},
        {
            "unique_id": "test.ga4lake.source_not_null_gold_fact_sessions_session_key.0123",
            "status": "fail",
            "failures": 1,
            "message": "Got 1 result, configured to fail if != 0",
        },
        {"unique_id": "test.ga4lake.w.1", "status": "warn", "failures": 2, "message": "Got 2 results"},
        {
            "unique_id": "test.ga4lake.e.2",
            "status": "error",
            "failures": None,
            "message": "relation does not exist",
        },
        {"unique_id": "test.ga4lake.s.3", "status": "skipped", "failures": None, "message": None},
    ],
}

SOURCES_JSON = {
    "elapsed_time": 0.3,
    "results": [
        {
            "unique_id": "source.ga4lake.gold.fact_events",
            "status": "pass",
            "max_loaded_at_time_ago_in_s": 3600,
        },
        {
            "unique_id": "source.ga4lake.gold.fact_sessions",
            "status": "error",
            "max_loaded_at_time_ago_in_s": 4.5 * 86400,
            "criteria": {
                "warn_after": {"count": 2, "period": "day"},
                "error_after": {"count": 3, "period": "day"},
                "filter": None,
            },
        },
    ],
}


def test_run_results_are_counted_per_status():
    s = dbt.parse_run_results(RUN_RESULTS, "build", 1, 0.0)
    assert s.tests == {"pass": 2, "fail": 1, "warn": 1, "error": 1, "skipped": 1}
    assert s.counts["models_ok"] == 2 and s.seconds == 12.5
    assert [f.name for f in s.failures] == ["source_not_null_gold_fact_sessions_session_key", "e"]
    assert [f.name for f in s.warnings] == ["w"]
    assert not s.ok
    text = dbt.format_summary(s)
    assert text.startswith(
        "dbt build: 2 tests passed, 1 failed, 1 errors, 1 warnings, 1 skipped; models: 2 ok"
    )
    assert "FAIL source_not_null_gold_fact_sessions_session_key (1 failing rows): Got 1 result" in text


def test_all_passing_build_is_ok():
    data = {"results": [r for r in RUN_RESULTS["results"] if r["status"] in {"pass", "success"}]}
    s = dbt.parse_run_results(data, "build", 0, 3.0)
    assert s.ok and not s.failures
    assert dbt.format_summary(s).startswith("dbt build: 2 tests passed, 0 failed, 0 errors, 0 warnings;")


def test_nonzero_exit_is_not_ok_even_without_failures():
    assert not dbt.parse_run_results({"results": []}, "build", 2, 1.0).ok


def test_missing_artifact_counts_as_an_error(tmp_path: Path):
    s = dbt.load_results(tmp_path / "run_results.json", "build", 0, 1.0)
    assert s.returncode != 0 and not s.ok


def test_freshness_results_explain_the_lag():
    s = dbt.parse_run_results(SOURCES_JSON, "source freshness", 1, 0.0)
    assert s.counts == {"pass": 1, "error": 1}
    (f,) = s.failures
    assert f.name == "fact_sessions"
    assert f.message == "newest date is 4.5 days behind (warn after 2 day, error after 3 day)"
    assert dbt.format_summary(s).startswith("dbt source freshness: 1 fresh, 0 warn, 1 stale/errors")


def test_env_points_dbt_at_the_settings_and_keeps_test_schemas_apart():
    settings = load_settings({})
    env = dbt.dbt_env(settings, base={})
    assert env["GA4LAKE_PG_PORT"] == str(settings.ports.postgres)
    assert env["GA4LAKE_PG_GOLD_SCHEMA"] == "gold" and env["GA4LAKE_PG_INSIGHTS_SCHEMA"] == "insights"
    assert env["DO_NOT_TRACK"] == "1"
    other = dbt.dbt_env(settings, "itest_gold_ab12", base={"GA4LAKE_PG_INSIGHTS_SCHEMA": "insights"})
    assert other["GA4LAKE_PG_GOLD_SCHEMA"] == "itest_gold_ab12"
    assert other["GA4LAKE_PG_INSIGHTS_SCHEMA"] == "itest_gold_ab12_insights"


def test_command_line(tmp_path: Path):
    settings = load_settings({})
    cmd = dbt.dbt_command(settings, ["build"], target_path=tmp_path, variables={"a": "b"})
    assert cmd[0].endswith("venvs/dbt/bin/dbt") and cmd[1] == "build"
    assert cmd[cmd.index("--project-dir") + 1] == str(DBT_DIR)
    assert cmd[cmd.index("--profiles-dir") + 1] == str(DBT_DIR)
    assert cmd[cmd.index("--target-path") + 1] == str(tmp_path)
    assert cmd[cmd.index("--threads") + 1] == "2"
    # ga4lake.yml's retention rule always goes along, so dbt's retention insight counts returns as gold
    assert json.loads(cmd[cmd.index("--vars") + 1]) == {
        "a": "b",
        "ga4lake_retention_return_on": "session_start",
    }


def test_command_line_passes_the_configured_retention_rule(tmp_path: Path):
    project = tmp_path / "ga4lake.yml"
    project.write_text("retention:\n  return_on: any_event\n")
    settings = load_settings({"GA4LAKE_PROJECT_FILE": str(project)})
    cmd = dbt.dbt_command(settings, ["run"])
    assert json.loads(cmd[cmd.index("--vars") + 1]) == {"ga4lake_retention_return_on": "any_event"}


# -- the dbt project itself ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sources() -> dict:
    return gold_source()


def test_every_gold_table_is_a_documented_source(sources):
    from ga4lake.gold.models import GOLD_TABLES

    tables = {t["name"]: t for t in sources["tables"]}
    assert set(GOLD_TABLES) <= set(tables)
    assert "env_var('GA4LAKE_PG_GOLD_SCHEMA', 'gold')" in sources["schema"]
    for name, t in tables.items():
        assert t.get("description"), name
        assert t.get("columns"), name
        for c in t["columns"]:
            assert c.get("description"), f"{name}.{c['name']}"


def test_sync_state_counts_are_checked_for_every_gold_table(sources):
    from ga4lake.gold.models import GOLD_TABLES

    (state,) = [t for t in sources["tables"] if t["name"] == "_sync_state"]
    (check,) = [t["sync_state_counts_match"] for t in state["data_tests"] if "sync_state_counts_match" in t]
    assert sorted(check["arguments"]["tables"]) == sorted(GOLD_TABLES)


def _tests_of(column: dict) -> list[str]:
    out = []
    for t in column.get("data_tests") or []:
        out.append(t if isinstance(t, str) else next(iter(t)))
    return out


def test_every_key_is_not_null_and_unique(sources):
    from ga4lake.gold.models import GOLD_TABLES

    tables = {t["name"]: t for t in sources["tables"]}
    for name, spec in GOLD_TABLES.items():
        cols = {c["name"]: c for c in tables[name]["columns"]}
        for key in spec.keys:
            assert "not_null" in _tests_of(cols[key]), f"{name}.{key}"
        if len(spec.keys) == 1:
            assert "unique" in _tests_of(cols[spec.keys[0]]), name
        else:
            combos = [
                t["unique_combination"]["arguments"]["combination_of_columns"]
                for t in tables[name].get("data_tests") or []
                if isinstance(t, dict) and "unique_combination" in t
            ]
            assert list(spec.keys) in combos, name


def test_generic_tests_exist_as_macros(sources):
    macros = (DBT_DIR / "macros").rglob("*.sql")
    defined = {
        line.split("test ", 1)[1].split("(")[0].strip()
        for m in macros
        for line in m.read_text().splitlines()
        if line.startswith("{% test ")
    }
    assert {
        "unique_combination",
        "funnel_closed_monotone",
        "between_zero_and_one",
        "retention_day0_is_cohort_size",
        "purchases_at_most_sessions",
        "non_negative",
        "start_not_after_end",
    } <= defined


def test_insight_models_are_documented():
    docs = {}
    for y in (DBT_DIR / "models" / "insights").glob("*.yml"):
        for m in yaml.safe_load(y.read_text())["models"]:
            docs[m["name"]] = m
    sql = {p.stem for p in (DBT_DIR / "models" / "insights").glob("*.sql")}
    assert sql == set(docs)  # one YAML doc per model, no undocumented model
    assert {"funnel_conversion_daily", "retention_matrix", "traffic_source_performance"} <= sql
    for name, m in docs.items():
        assert m.get("description") and all(c.get("description") for c in m["columns"]), name


def test_profile_reads_the_env_keys_with_dev_defaults_only():
    text = (DBT_DIR / "profiles.yml").read_text()
    for key in ("HOST", "PORT", "USER", "PASSWORD", "GOLD_DB", "GOLD_SCHEMA"):
        assert f"GA4LAKE_PG_{key}" in text
    defaults = (Path(dbt.REPO_ROOT) / "config" / "defaults.env").read_text()
    assert "GA4LAKE_PG_PASSWORD=ga4lake-dev" in defaults and "'ga4lake-dev'" in text


# -- the command line --------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ga4lake")
    cli.register(p.add_subparsers(dest="command"))
    return p


def test_validate_arguments():
    a = _parser().parse_args(["validate", "--start", "20201101", "--end", "2020-11-30", "--threshold", "1"])
    assert (str(a.start), str(a.end), a.threshold, a.skip_dbt) == ("2020-11-01", "2020-11-30", 1.0, False)
    assert a.func is cli.run_args
    a = _parser().parse_args(["validate", "--skip-dbt"])
    assert a.start is None and a.threshold is None and a.skip_dbt


@pytest.mark.parametrize("argv", [["validate", "--start", "2020-13-01"], ["validate", "--threshold", "-1"]])
def test_bad_arguments_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        _parser().parse_args(argv)
    assert exc.value.code == 2
