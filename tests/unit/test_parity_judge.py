"""The parity judge: measured counts to pass/fail per check, without a stack (parity.judge is pure)."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal

import pytest

from ga4lake.validate import parity
from ga4lake.validate.parity import CHECKS, Measurement, ParityModel

EVENTS = next(pm for pm in CHECKS if pm.gold_table == "fact_events")
SESSIONS = next(pm for pm in CHECKS if pm.model == "fct_ga4__sessions")
REVENUE = next(pm for pm in CHECKS if pm.model == "ga4lake__transactions.revenue_cents")
ALL_TABLES = {pm.gold_table for pm in CHECKS}


def _one(pm: ParityModel, m: Measurement | None, tables: set[str] = ALL_TABLES, threshold: float = 0.5):
    rows = parity.judge([pm], {} if m is None else {pm.model: m}, tables, threshold, "gold")
    assert len(rows) == 1
    return rows[0]


@pytest.mark.parametrize(
    ("reference", "gold", "delta"),
    [(10_000, 10_000, 0.0), (10_000, 10_040, 0.4), (10_000, 9_960, -0.4), (10_000, 10_050, 0.5)],
)
def test_within_the_threshold_passes(reference, gold, delta):
    row = _one(EVENTS, Measurement(reference, gold, seconds=2.5))
    assert row.passed
    assert row.error is None
    assert (row.reference_rows, row.gold_rows) == (reference, gold)
    assert row.delta_pct == pytest.approx(delta)
    assert row.seconds == 2.5


@pytest.mark.parametrize(("reference", "gold"), [(10_000, 10_051), (10_000, 9_949), (365_561, 361_905)])
def test_above_the_threshold_fails_without_an_error(reference, gold):
    row = _one(SESSIONS, Measurement(reference, gold))
    assert not row.passed
    assert row.error is None
    assert abs(row.delta_pct) > 0.5


def test_the_threshold_is_the_callers():
    assert not _one(EVENTS, Measurement(10_000, 10_100), threshold=0.5).passed
    assert _one(EVENTS, Measurement(10_000, 10_100), threshold=1.0).passed


def test_both_sides_empty_pass():
    row = _one(EVENTS, Measurement(0, 0))
    assert row.passed
    assert row.delta_pct == 0.0


def test_an_empty_reference_against_gold_rows_fails_infinitely():
    row = _one(EVENTS, Measurement(0, 3))
    assert not row.passed
    assert row.delta_pct is not None and math.isinf(row.delta_pct)


def test_an_empty_gold_against_reference_rows_fails():
    row = _one(EVENTS, Measurement(1_200, 0))
    assert not row.passed
    assert row.delta_pct == pytest.approx(-100.0)


def test_a_missing_gold_table_is_an_error_even_when_counts_exist():
    row = _one(EVENTS, Measurement(10, 10), tables=ALL_TABLES - {"fact_events"})
    assert not row.passed
    assert row.error == "table gold.fact_events does not exist in PostgreSQL"
    assert (row.reference_rows, row.gold_rows, row.delta_pct) == (None, None, None)
    assert row.seconds == 0.0


def test_a_failed_query_is_an_error_with_its_message_and_time():
    row = _one(SESSIONS, Measurement(error="Query exceeded maximum time limit", seconds=61.0))
    assert not row.passed
    assert row.error == "Query exceeded maximum time limit"
    assert row.seconds == 61.0
    assert row.reference_rows is None


@pytest.mark.parametrize(
    ("measurement", "side"), [(Measurement(None, 5), "reference"), (Measurement(5, None), "gold")]
)
def test_a_count_that_did_not_come_back_is_an_error(measurement, side):
    row = _one(REVENUE, measurement)
    assert not row.passed
    assert row.error == f"the {side} query returned no count"


def test_a_check_that_was_not_measured_never_passes():
    row = _one(EVENTS, None)
    assert not row.passed
    assert row.error == "not measured"


def test_engine_numbers_become_ints():
    # Trino answers bigint as int, PostgreSQL's sum as Decimal: both are compared as integers
    row = _one(REVENUE, Measurement(Decimal("123456"), Decimal("123400")))
    assert (row.reference_rows, row.gold_rows) == (123_456, 123_400)
    assert isinstance(row.reference_rows, int)
    assert row.passed


def test_one_row_per_check_in_the_checks_order_and_the_report_verdict():
    checks = [REVENUE, EVENTS, SESSIONS]
    measured = {
        EVENTS.model: Measurement(100, 100),
        SESSIONS.model: Measurement(100, 200),
        REVENUE.model: Measurement(error="boom"),
    }
    rows = parity.judge(checks, measured, ALL_TABLES, 0.5, "gold")
    assert [r.model for r in rows] == [pm.model for pm in checks]
    assert [r.passed for r in rows] == [False, True, False]
    assert [r.error for r in rows] == ["boom", None, None]
    report = parity._new_report(date(2021, 1, 1), date(2021, 1, 2), 0.5, "lake", [])
    report.rows = rows
    assert not report.passed
    assert [r.model for r in report.failed] == [REVENUE.model, SESSIONS.model]
    report.rows = [rows[1]]
    assert report.passed
