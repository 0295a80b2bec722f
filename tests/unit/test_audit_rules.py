"""The load audits' threshold rules (pure logic of ``ga4lake.lake.audit``): the consent-mode NULL
client_key rule, the volume rule, the trailing window and the thresholds' configuration."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ga4lake.config import DEFAULTS_FILE, ConfigError, parse_env_file
from ga4lake.lake.audit import Thresholds, null_client_key_verdict, trailing, volume_verdict

T = Thresholds()


def week(share: float) -> list[float]:
    return [share] * 7


@pytest.mark.parametrize("share", [0.20, 0.35, 0.40])
def test_a_stable_consent_heavy_eu_site_passes(share):
    v = null_client_key_verdict(int(share * 10_000), 10_000, week(share), T)
    assert v.passed, v
    # ... and so does a day somewhat above its own normal
    assert null_client_key_verdict(int(share * 1.5 * 10_000), 10_000, week(share), T).passed


def test_a_broken_export_fails_whatever_the_history():
    assert not null_client_key_verdict(10_000, 10_000, [], T).passed  # first load, every key NULL
    assert not null_client_key_verdict(10_000, 10_000, week(0.35), T).passed
    # a whole broken week as history still cannot lift the limit above the ceiling
    assert not null_client_key_verdict(10_000, 10_000, week(1.0), T).passed


def test_a_jump_from_10_to_60_percent_fails():
    v = null_client_key_verdict(6_000, 10_000, week(0.10), T)
    assert not v.passed
    assert v.observed == "0.6000 (6000 of 10000 events)"
    assert v.expected.startswith("<= 0.5000 = min(ceiling 0.95, max(floor 0.5, 2 x median 0.1000 of 7")


def test_the_floor_applies_while_there_is_no_median():
    two_days = [0.3, 0.3]  # fewer than MIN_TRAILING_DAYS
    assert null_client_key_verdict(4_000, 10_000, two_days, T).passed
    v = null_client_key_verdict(6_000, 10_000, two_days, T)
    assert not v.passed and "2 trailing day(s), no median" in v.expected and "<= 0.5000" in v.expected


def test_a_high_median_is_capped_by_the_ceiling():
    v = null_client_key_verdict(9_400, 10_000, week(0.6), T)  # 2 x 0.6 = 1.2 -> ceiling 0.95
    assert v.passed and v.expected.startswith("<= 0.9500")
    assert not null_client_key_verdict(9_600, 10_000, week(0.6), T).passed


def test_the_old_fixed_five_percent_rule_is_one_setting_away():
    strict = Thresholds(max_null_client_key_ratio=0.05)
    assert not null_client_key_verdict(3_000, 10_000, week(0.3), strict).passed
    assert null_client_key_verdict(500, 10_000, week(0.3), strict).passed


def test_an_empty_day_has_no_null_share():
    assert null_client_key_verdict(0, 0, week(0.3), T).passed


def test_volume_rule():
    assert volume_verdict(100, [100, 100], T) is None  # too little history: no check
    ok = volume_verdict(100, [90, 100, 110], T)
    assert ok is not None and ok.passed and ok.observed == "1.00x of 100 (100 rows)"
    low = volume_verdict(19, [100, 100, 100, 100], T)
    assert low is not None and not low.passed and low.expected == "0.2..5x of the median of 4 trailing days"
    high = volume_verdict(501, [100, 100, 100], T)
    assert high is not None and not high.passed
    assert volume_verdict(0, [0, 0, 0], T) is not None and not volume_verdict(0, [0, 0, 0], T).passed


def test_trailing_takes_the_days_before_within_the_window():
    d = date(2020, 11, 10)
    values = {d - timedelta(days=i): float(i) for i in range(0, 10)}
    assert trailing(values, d, 7) == [7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0]  # oldest first, d itself excluded
    assert trailing({d + timedelta(days=1): 1.0}, d, 7) == []


def test_defaults_match_config_defaults_env():
    env = parse_env_file(DEFAULTS_FILE)
    assert Thresholds.from_env(env) == Thresholds()
    assert {k for k in env if k.startswith("GA4LAKE_AUDIT_")} == {
        "GA4LAKE_AUDIT_MAX_QUARANTINE_RATIO",
        "GA4LAKE_AUDIT_NULL_CLIENT_KEY_FLOOR",
        "GA4LAKE_AUDIT_NULL_CLIENT_KEY_FACTOR",
        "GA4LAKE_AUDIT_MAX_NULL_CLIENT_KEY_RATIO",
        "GA4LAKE_AUDIT_MIN_VOLUME_RATIO",
        "GA4LAKE_AUDIT_MAX_VOLUME_RATIO",
        "GA4LAKE_AUDIT_TRAILING_DAYS",
    }


def test_thresholds_from_env_overrides_and_rejects_bad_values():
    t = Thresholds.from_env(
        {"GA4LAKE_AUDIT_NULL_CLIENT_KEY_FLOOR": "0.6", "GA4LAKE_AUDIT_TRAILING_DAYS": "14"}
    )
    assert (t.null_client_key_floor, t.trailing_days) == (0.6, 14)
    with pytest.raises(ConfigError, match="GA4LAKE_AUDIT_NULL_CLIENT_KEY_FLOOR"):
        Thresholds.from_env({"GA4LAKE_AUDIT_NULL_CLIENT_KEY_FLOOR": "1.5"})
    with pytest.raises(ConfigError, match="GA4LAKE_AUDIT_NULL_CLIENT_KEY_FACTOR"):
        Thresholds.from_env({"GA4LAKE_AUDIT_NULL_CLIENT_KEY_FACTOR": "0.5"})
    with pytest.raises(ConfigError, match="must be a number"):
        Thresholds.from_env({"GA4LAKE_AUDIT_MAX_QUARANTINE_RATIO": "five"})
