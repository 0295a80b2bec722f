"""One identifier check guards every name pasted into SQL: configuration, run conf and each use site."""

import dataclasses
from datetime import date

import pytest

from ga4lake import orchestrate, report
from ga4lake.config import ConfigError, load_settings
from ga4lake.sqlident import IdentifierError, check_identifier, quote_ident
from ga4lake.validate import dbt, parity

EVIL = "x; drop table y"
BAD = [EVIL, "gold\n", "Gold", "gold.x", "1gold", "", 'go"ld', "a" * 64, "gold--", "g old"]


@pytest.mark.parametrize("name", ["gold", "insights", "itest_gold_1a2b3c4d", "_x", "a" * 63])
def test_plain_names_pass(name):
    assert check_identifier(name) == name


@pytest.mark.parametrize("name", BAD)
def test_anything_else_is_refused(name):
    with pytest.raises(IdentifierError, match="not a plain lower-case SQL identifier"):
        check_identifier(name)


def test_configured_schema_is_checked_when_settings_are_made():
    with pytest.raises(ConfigError, match="GA4LAKE_PG_GOLD_SCHEMA"):
        load_settings({"GA4LAKE_PG_GOLD_SCHEMA": EVIL})
    with pytest.raises(ConfigError, match="GA4LAKE_PG_GOLD_DB"):
        load_settings({"GA4LAKE_PG_GOLD_DB": 'ga4lake"; drop database x; --'})
    with pytest.raises(ConfigError):  # replace() (bench, tests) goes through the same check
        dataclasses.replace(load_settings({}), pg_gold_schema=EVIL)


def test_run_conf_schema_fails_the_task_before_any_step():
    assert orchestrate.overrides({"pg_gold_schema": "itest_x", "lake_branch": "b"}) == {
        "pg_gold_schema": "itest_x",
        "lake_branch": "b",
    }
    with pytest.raises(IdentifierError, match="run conf pg_gold_schema"):
        orchestrate.overrides({"pg_gold_schema": EVIL})


def _smuggled():
    """Settings whose schema got past construction (the use sites must still refuse it)."""
    s = load_settings({})
    object.__setattr__(s, "pg_gold_schema", EVIL)
    return s


def test_use_sites_refuse_a_bad_schema_before_touching_the_database():
    s = _smuggled()
    with pytest.raises(IdentifierError):
        report.build_report(s)
    with pytest.raises(IdentifierError):
        dbt.dbt_env(s)
    with pytest.raises(IdentifierError):
        parity.sql_values(date(2021, 1, 1), date(2021, 1, 2), EVIL)
    from ga4lake.gold import sync

    with pytest.raises(IdentifierError):
        sync.ensure_schema(None, s)  # no connection is ever opened


def test_column_names_are_quoted_not_trusted():
    assert quote_ident("event_date") == '"event_date"'
    assert quote_ident('a"; drop table y; --') == '"a""; drop table y; --"'
    with pytest.raises(IdentifierError):
        quote_ident("")
