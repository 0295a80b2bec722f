"""``ga4lake.lake.audit.judge``: every load audit rule on hand-written measurements, each passing and
failing, in the report's fixed order — no Spark, no lake (``measure`` reads these numbers from a branch;
tests/integration/test_audits.py breaks each audit through a real load)."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest

from ga4lake.lake.audit import DayCounts, DayKeys, Measurements, Thresholds, judge

T = Thresholds()
DAY = date(2020, 11, 10)


def day(rows: int = 1000, quarantined: int = 0, dups: int = 0, landed: int | None = None) -> DayCounts:
    """A day whose bronze rows are exactly silver + quarantine + dropped duplicates."""
    bronze = rows + quarantined + dups
    return DayCounts(
        landed=bronze if landed is None else landed,
        bronze=bronze,
        silver=rows,
        quarantined=quarantined,
        duplicates_dropped=dups,
    )


def measured(
    days: dict[date, DayCounts] | None = None,
    history: dict[date, DayKeys] | None = None,
    keys: tuple[int, int] | None = None,  # (non-NULL keys, distinct keys); default: all present, unique
    null_share: float = 0.3,
) -> Measurements:
    """A healthy load of ``days`` (default: DAY alone) on top of a week of 1,000-row days, 30 % NULL
    client keys; ``history`` replaces that week (the load's own days are added from ``days``)."""
    days = {DAY: day()} if days is None else days
    if history is None:
        history = {DAY - timedelta(days=i): DayKeys(1000, 300) for i in range(1, 8)}
    history = {**history, **{d: DayKeys(c.silver, int(c.silver * null_share)) for d, c in days.items()}}
    n = sum(c.silver for c in days.values())
    non_null, distinct = keys if keys is not None else (n, n)
    return Measurements("load_t", days, n, non_null, distinct, history, T.trailing_days)


def checks(m: Measurements, t: Thresholds = T) -> dict[tuple[str, str], tuple[bool, str, str]]:
    return {(c.name, c.day): (c.passed, c.observed, c.expected) for c in judge(m, t).checks}


def failed(m: Measurements, t: Thresholds = T) -> set[str]:
    return {c.name for c in judge(m, t).failures}


def test_a_healthy_load_passes_every_audit_in_the_report_order():
    d2 = DAY + timedelta(days=1)
    rep = judge(measured({DAY: day(), d2: day(1100, quarantined=5, dups=3)}), T)
    assert rep.passed and rep.load_id == "load_t"
    assert [(c.name, c.day) for c in rep.checks] == [
        ("landing_eq_bronze", "2020-11-10"),
        ("bronze_eq_silver_quarantine_dups", "2020-11-10"),
        ("quarantine_ratio", "2020-11-10"),
        ("landing_eq_bronze", "2020-11-11"),
        ("bronze_eq_silver_quarantine_dups", "2020-11-11"),
        ("quarantine_ratio", "2020-11-11"),
        ("event_key_not_null", "all"),
        ("event_key_unique", "all"),
        ("null_client_key_ratio", "2020-11-10"),
        ("null_client_key_ratio", "2020-11-11"),
        ("volume_vs_trailing_median", "2020-11-10"),
        ("volume_vs_trailing_median", "2020-11-11"),
    ]
    got = checks(measured({d2: day(1100, quarantined=5, dups=3)}))
    assert got[("bronze_eq_silver_quarantine_dups", "2020-11-11")] == (True, "1100+5+3=1108", "1108")
    assert got[("quarantine_ratio", "2020-11-11")] == (True, "0.0045", "<= 0.05")


def test_landing_eq_bronze_fails_when_rows_are_lost_or_added():
    assert failed(measured({DAY: day(landed=1001)})) == {"landing_eq_bronze"}
    got = checks(measured({DAY: day(landed=999)}))
    assert got[("landing_eq_bronze", "2020-11-10")] == (False, "1000", "999")


def test_bronze_eq_silver_quarantine_dups_fails_when_silver_lost_rows():
    lost = dataclasses.replace(day(quarantined=2, dups=1), silver=950)
    m = measured({DAY: lost})
    assert failed(m) == {"bronze_eq_silver_quarantine_dups"}
    assert checks(m)[("bronze_eq_silver_quarantine_dups", "2020-11-10")] == (False, "950+2+1=953", "1003")


def test_quarantine_ratio_is_inclusive_and_fails_above_the_threshold():
    at_limit = day(rows=950, quarantined=50)  # 50 / 1000 = 0.05 exactly
    assert not failed(measured({DAY: at_limit}))
    above = day(rows=949, quarantined=51)
    assert failed(measured({DAY: above})) == {"quarantine_ratio"}
    assert checks(measured({DAY: above}))[("quarantine_ratio", "2020-11-10")][1] == "0.0510"
    assert not failed(measured({DAY: above}), Thresholds(max_quarantine_ratio=0.06))


def test_event_keys_null_and_duplicate_fail_their_own_audit_only():
    got = checks(measured(keys=(990, 990)))  # 10 NULL keys, the rest unique
    assert got[("event_key_not_null", "all")] == (False, "10", "0")
    assert got[("event_key_unique", "all")][0]
    got = checks(measured(keys=(1000, 995)))  # 5 repeated keys
    assert got[("event_key_not_null", "all")][0]
    assert got[("event_key_unique", "all")] == (False, "995 distinct / 1000", "equal")


def test_null_client_key_share_is_judged_against_the_trailing_median():
    assert not failed(measured(null_share=0.55))  # <= 2 x median 0.3 = 0.6
    m = measured(null_share=0.65)
    assert failed(m) == {"null_client_key_ratio"}
    passed, observed, expected = checks(m)[("null_client_key_ratio", "2020-11-10")]
    assert observed == "0.6500 (650 of 1000 events)"
    assert expected.startswith("<= 0.6000 = min(ceiling 0.95, max(floor 0.5, 2 x median 0.3000 of 7")


def test_null_client_key_uses_the_floor_without_history_and_the_loads_own_earlier_days():
    first_load = measured(history={}, null_share=0.55)  # no trailing days: limit = floor 0.5
    assert failed(first_load) == {"null_client_key_ratio"}
    # a restated window: the load's first three days are the fourth day's trailing history
    days = {DAY + timedelta(days=i): day() for i in range(4)}
    got = checks(measured(days, history={}, null_share=0.3))
    assert "no median" in got[("null_client_key_ratio", "2020-11-10")][2]
    assert "median 0.3000 of 3 trailing days" in got[("null_client_key_ratio", "2020-11-13")][2]


def test_the_trailing_window_ends_trailing_days_before_the_day():
    old = {DAY - timedelta(days=i): DayKeys(1000, 300) for i in range(8, 15)}  # all outside 7 days
    got = checks(measured(history=old))
    assert "0 trailing day(s), no median" in got[("null_client_key_ratio", "2020-11-10")][2]
    assert ("volume_vs_trailing_median", "2020-11-10") not in got  # no history: no volume check


def test_thresholds_cannot_look_back_further_than_was_measured():
    with pytest.raises(ValueError, match="look back 14 days, the measurements only 7"):
        judge(measured(), Thresholds(trailing_days=14))
    assert judge(measured(), Thresholds(trailing_days=3)).passed


def test_volume_fails_on_a_drop_or_a_spike_and_needs_three_trailing_days():
    assert failed(measured({DAY: day(rows=199)})) == {"volume_vs_trailing_median"}
    got = checks(measured({DAY: day(rows=5001)}))
    assert got[("volume_vs_trailing_median", "2020-11-10")] == (
        False,
        "5.00x of 1000 (5001 rows)",
        "0.2..5x of the median of 7 trailing days",
    )
    two = {DAY - timedelta(days=i): DayKeys(1000, 300) for i in (1, 2)}
    assert ("volume_vs_trailing_median", "2020-11-10") not in checks(measured({DAY: day(5)}, two))


def test_a_day_with_zero_rows_fails_only_on_volume():
    empty = DayCounts(landed=0, bronze=0, silver=0, quarantined=0, duplicates_dropped=0)
    m = measured({DAY: empty})
    got = checks(m)
    assert got[("landing_eq_bronze", "2020-11-10")][0]
    assert got[("bronze_eq_silver_quarantine_dups", "2020-11-10")] == (True, "0+0+0=0", "0")
    assert got[("quarantine_ratio", "2020-11-10")] == (True, "0.0000", "<= 0.05")  # no bronze: no share
    assert got[("event_key_not_null", "all")][0] and got[("event_key_unique", "all")][0]
    assert got[("null_client_key_ratio", "2020-11-10")][:2] == (True, "0.0000 (0 of 0 events)")
    assert failed(m) == {"volume_vs_trailing_median"}


def test_a_day_absent_from_history_counts_as_zero_rows():
    m = dataclasses.replace(measured(), history={})
    assert checks(m)[("null_client_key_ratio", "2020-11-10")][:2] == (True, "0.0000 (0 of 0 events)")
