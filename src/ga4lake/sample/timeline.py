"""Calendar of the generator: property time zone, day boundaries and the daily volume curve.

``event_date`` is the property-time-zone date (the Merchandise Store reports in
America/Los_Angeles) while ``event_timestamp`` is UTC, so day files are cut at local midnight;
that is what makes sessions cross midnight in the export.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache

import numpy as np

try:
    from zoneinfo import ZoneInfo

    _TZ = ZoneInfo("America/Los_Angeles")
except Exception:  # pragma: no cover - tzdata missing: fall back to a fixed UTC-8 offset
    from datetime import timezone

    _TZ = timezone(timedelta(hours=-8))  # type: ignore[assignment]

US_PER_S = 1_000_000
US_PER_DAY = 86_400 * US_PER_S
#: Sum of expected events over the sample's 92 days (2020-11-01 .. 2021-01-31) at scale 1.
TARGET_EVENTS = 4_295_584
REFERENCE_START = date(2020, 11, 1)
REFERENCE_DAYS = 92


def day_start_us(d: date) -> int:
    """UTC epoch microseconds of local midnight starting ``d``."""
    local = datetime(d.year, d.month, d.day, tzinfo=_TZ)
    return int(local.astimezone(UTC).timestamp()) * US_PER_S


def day_bounds(start: date, days: int) -> np.ndarray:
    """``days + 1`` boundaries (UTC µs): day i spans [b[i], b[i+1])."""
    return np.array([day_start_us(start + timedelta(days=i)) for i in range(days + 1)], dtype=np.int64)


def daynum(d: date) -> int:
    """Days since 2000-01-01; the per-day RNG key."""
    return (d - date(2000, 1, 1)).days


# Smooth level (events/day before weekday and special-day factors) at (month, day) anchors,
# interpolated linearly and repeated every year. Shaped to the sample: a quiet early November,
# a ramp into the early-December peak (2020-12-08), a Christmas trough and a flat January.
_ANCHORS: tuple[tuple[int, int, float], ...] = (
    (1, 1, 30.0),
    (1, 4, 38.0),
    (1, 12, 42.0),
    (1, 31, 40.0),
    (10, 20, 40.0),
    (11, 1, 41.0),
    (11, 8, 36.0),
    (11, 20, 43.0),
    (11, 27, 45.0),
    (11, 30, 48.0),
    (12, 3, 60.0),
    (12, 8, 74.0),
    (12, 11, 68.0),
    (12, 15, 56.0),
    (12, 19, 44.0),
    (12, 23, 32.0),
    (12, 25, 26.0),
    (12, 28, 30.0),
    (12, 31, 31.0),
)
# Monday..Sunday
_WEEKDAY = np.array([1.08, 1.13, 1.10, 1.06, 0.98, 0.80, 0.77])
_SPECIAL: dict[tuple[int, int], float] = {
    (11, 3): 1.25,  # US election day: the sample's third day is unusually busy
    (11, 26): 0.82,  # Thanksgiving
    (11, 27): 1.08,  # Black Friday
    (11, 30): 1.05,  # Cyber Monday
    (12, 8): 1.04,  # the sample's busiest day
    (12, 24): 0.85,
    (12, 25): 0.80,
    (1, 1): 0.85,
    (1, 6): 1.30,  # second spike of the sample
}


def _level(d: date) -> float:
    doy = [(date(d.year, m, dd) - date(d.year, 1, 1)).days for m, dd, _ in _ANCHORS]
    vals = [v for _, _, v in _ANCHORS]
    order = np.argsort(doy)
    x = np.asarray(doy, dtype=float)[order]
    y = np.asarray(vals)[order]
    x = np.concatenate([x - 365, x, x + 365])
    y = np.concatenate([y, y, y])
    return float(np.interp((d - date(d.year, 1, 1)).days, x, y))


def _raw_events(d: date) -> float:
    return _level(d) * _WEEKDAY[d.weekday()] * _SPECIAL.get((d.month, d.day), 1.0)


@cache
def _norm() -> float:
    total = sum(_raw_events(REFERENCE_START + timedelta(days=i)) for i in range(REFERENCE_DAYS))
    return TARGET_EVENTS / total


@cache
def expected_events(d: date) -> float:
    """Expected events on local date ``d`` at scale 1 (sums to 4,295,584 over the sample's 92 days)."""
    return _raw_events(d) * _norm()


# Share of sessions starting in each local hour (Pacific time; audience mostly US + Asia).
_HOURLY = np.array(
    [
        2.6,
        2.3,
        2.2,
        2.3,
        2.6,
        3.2,
        3.8,
        4.5,
        5.2,
        5.6,
        5.7,
        5.6,
        5.4,
        5.3,
        5.1,
        4.9,
        4.6,
        4.4,
        4.2,
        4.0,
        3.8,
        3.6,
        3.3,
        3.0,
    ]
)
HOURLY_P = _HOURLY / _HOURLY.sum()


def sample_time_of_day(rng: np.random.Generator, n: int) -> np.ndarray:
    """Microseconds after local midnight, following the diurnal curve."""
    hours = rng.choice(24, size=n, p=HOURLY_P)
    return (hours * 3600 * US_PER_S + rng.integers(0, 3600 * US_PER_S, size=n)).astype(np.int64)
