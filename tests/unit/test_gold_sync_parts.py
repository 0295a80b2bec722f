"""``ga4lake.gold.sync``'s pure parts: which scope a table is synced with, how its row count is derived,
and which rows of the lake table an export takes — no PostgreSQL (tests/integration/test_gold.py and
test_faults_sync.py run the whole sync against the real services)."""

from __future__ import annotations

from datetime import date

import pytest

from ga4lake.gold import sync
from ga4lake.gold.step import Scope

FULL = Scope(None, None)
DAYS = Scope("event_date", [date(2020, 11, 1), date(2020, 11, 3)])


def test_a_full_scope_stays_full_and_needs_no_recorded_count():
    assert sync.scope_to_sync(FULL, ("c1", 500), "c1") == (FULL, None, None)
    assert sync.scope_to_sync(FULL, None, None) == (FULL, None, None)


def test_a_partial_scope_on_top_of_the_loads_base_keeps_the_recorded_count():
    assert sync.scope_to_sync(DAYS, ("c1", 500), "c1") == (DAYS, 500, None)


@pytest.mark.parametrize(
    "recorded, base",
    [
        (("c0aaaaaaaaaaaaaa", 500), "c1bbbbbbbbbbbbbb"),  # a sync was missed or failed
        (None, "c1bbbbbbbbbbbbbb"),  # never synced: there are no rows to apply a delta to
        (("c0aaaaaaaaaaaaaa", 500), None),  # the load knows no base commit
    ],
)
def test_a_partial_scope_off_the_loads_base_becomes_a_full_resync(recorded, base):
    scope, rows, why = sync.scope_to_sync(DAYS, recorded, base)
    assert scope.full and rows is None
    synced_at = recorded[0] if recorded else None
    assert why == (
        f"last synced at {str(synced_at)[:12]}, not at the load's base {str(base)[:12]} — full re-sync"
    )


def test_rows_after_is_derived_from_the_recorded_count_or_left_to_a_count():
    assert sync.rows_after(True, 900, 0, 120) == 120  # truncated first: only the copied rows
    assert sync.rows_after(True, None, 0, 0) == 0
    assert sync.rows_after(False, 1000, 30, 45) == 1015
    assert sync.rows_after(False, 1000, 0, 0) == 1000  # an empty scope changes nothing
    assert sync.rows_after(False, None, 30, 45) is None  # nothing recorded: count the table


@pytest.fixture()
def table(spark):
    rows = [(date(2020, 11, d), f"s{d}", d * 10) for d in range(1, 6)]
    return spark.createDataFrame(rows, "event_date date, session_key string, n long")


def collected(df) -> list[tuple]:
    return sorted(tuple(r) for r in df.collect())


def test_scope_rows_full_empty_and_literal_scopes(spark, table):
    assert sync.scope_rows(spark, table, FULL) is table
    empty = sync.scope_rows(spark, table, Scope("event_date", []))
    assert empty.columns == table.columns and empty.count() == 0
    got = sync.scope_rows(spark, table, DAYS)
    assert got.columns == table.columns
    assert collected(got) == [(date(2020, 11, 1), "s1", 10), (date(2020, 11, 3), "s3", 30)]


def test_scope_rows_by_join_keeps_the_tables_column_order(spark, table, monkeypatch):
    """Above LITERAL_SCOPE_MAX values the scope is a semi-join, which moves the join column first; COPY
    names the table's columns in order, so the export must restore it and select the same rows."""
    literal = collected(sync.scope_rows(spark, table, DAYS))
    monkeypatch.setattr(sync, "LITERAL_SCOPE_MAX", 1)
    joined = sync.scope_rows(spark, table, DAYS)
    assert joined.columns == ["event_date", "session_key", "n"]
    assert collected(joined) == literal
    by_text = sync.scope_rows(spark, table, Scope("session_key", ["s2", "s5", "nope"]))
    assert collected(by_text) == [(date(2020, 11, 2), "s2", 20), (date(2020, 11, 5), "s5", 50)]
    assert by_text.columns == table.columns


def test_a_partial_scope_without_a_column_is_refused(spark, table):
    with pytest.raises(ValueError, match="a partial scope needs a column"):
        sync.scope_rows(spark, table, Scope(None, [date(2020, 11, 1)]))
