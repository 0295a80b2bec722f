"""Audits of a load on its branch, before anything is published to main (write–audit–publish).

Each check compares numbers read back from the branch's tables, so a partial write, a lost slice or a
bad input day shows up here instead of on main. The checks, their thresholds and config keys are listed
in docs/validation.md (section "Load audits").

NULL ``client_key`` (consent mode): EU sites with Consent Mode routinely send 20–40 % of their events
without ``user_pseudo_id``, so a fixed small share would block every load of such a site. A day fails only
when its share exceeds ``min(ceiling, max(floor, factor × median share of the trailing days))``: a stable
consent-heavy site passes, a broken export (every event NULL, or a jump well above the site's own
normal) does not.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F

from ga4lake.config import ConfigError, load_env
from ga4lake.lake.tables import BRONZE_EVENTS, QUARANTINE, SILVER_EVENTS

MIN_TRAILING_DAYS = 3  # fewer trailing days than this: no median (volume: no check; NULL keys: the floor)


@dataclass(frozen=True)
class Thresholds:
    """Audit thresholds; defaults mirror ``config/defaults.env`` (``GA4LAKE_AUDIT_*``)."""

    max_quarantine_ratio: float = 0.05
    # NULL client_key share of a day: limit = min(ceiling, max(floor, factor x trailing median))
    null_client_key_floor: float = 0.5  # always allowed (also the limit while there is no history)
    null_client_key_factor: float = 2.0  # how far above its own trailing median a day may go
    max_null_client_key_ratio: float = 0.95  # ceiling: never more (a 100 % NULL export always fails)
    min_volume_ratio: float = 0.2  # day rows vs the median of the trailing days
    max_volume_ratio: float = 5.0
    trailing_days: int = 7

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Thresholds:
        """From the merged settings (defaults.env < local env file < environment); bad values raise."""
        env = load_env() if env is None else env

        def f(key: str, default: float, lo: float, hi: float) -> float:
            raw = env.get(key)
            try:
                value = float(raw) if raw not in (None, "") else default
            except ValueError:
                raise ConfigError(f"{key} must be a number, got {raw!r}") from None
            if not lo <= value <= hi:
                raise ConfigError(f"{key} must be within [{lo}, {hi}], got {value}")
            return value

        inf = float("inf")
        return cls(
            max_quarantine_ratio=f("GA4LAKE_AUDIT_MAX_QUARANTINE_RATIO", cls.max_quarantine_ratio, 0, 1),
            null_client_key_floor=f("GA4LAKE_AUDIT_NULL_CLIENT_KEY_FLOOR", cls.null_client_key_floor, 0, 1),
            null_client_key_factor=f(
                "GA4LAKE_AUDIT_NULL_CLIENT_KEY_FACTOR", cls.null_client_key_factor, 1, inf
            ),
            max_null_client_key_ratio=f(
                "GA4LAKE_AUDIT_MAX_NULL_CLIENT_KEY_RATIO", cls.max_null_client_key_ratio, 0, 1
            ),
            min_volume_ratio=f("GA4LAKE_AUDIT_MIN_VOLUME_RATIO", cls.min_volume_ratio, 0, inf),
            max_volume_ratio=f("GA4LAKE_AUDIT_MAX_VOLUME_RATIO", cls.max_volume_ratio, 0, inf),
            trailing_days=int(f("GA4LAKE_AUDIT_TRAILING_DAYS", cls.trailing_days, 1, 366)),
        )


@dataclass(frozen=True)
class Verdict:
    """One day's outcome of a threshold rule, with the figures the report prints."""

    passed: bool
    observed: str
    expected: str


def null_client_key_verdict(
    nulls: int, rows: int, trailing_shares: Sequence[float], t: Thresholds
) -> Verdict:
    """The NULL ``client_key`` rule for one day: its share against ``min(ceiling, max(floor, factor ×
    median))`` of the trailing days' shares (the median only with at least MIN_TRAILING_DAYS of them)."""
    share = nulls / rows if rows else 0.0
    floor, factor, ceiling = t.null_client_key_floor, t.null_client_key_factor, t.max_null_client_key_ratio
    if len(trailing_shares) >= MIN_TRAILING_DAYS:
        median = statistics.median(trailing_shares)
        limit = min(ceiling, max(floor, factor * median))
        how = (
            f"min(ceiling {ceiling:g}, max(floor {floor:g}, {factor:g} x median {median:.4f} "
            f"of {len(trailing_shares)} trailing days))"
        )
    else:
        limit = min(ceiling, floor)
        how = f"min(ceiling {ceiling:g}, floor {floor:g}); {len(trailing_shares)} trailing day(s), no median"
    return Verdict(share <= limit, f"{share:.4f} ({nulls} of {rows} events)", f"<= {limit:.4f} = {how}")


def volume_verdict(rows: int, trailing_rows: Sequence[int], t: Thresholds) -> Verdict | None:
    """A day's rows against the median of the trailing days' rows; None with too little history."""
    if len(trailing_rows) < MIN_TRAILING_DAYS:
        return None
    median = statistics.median(trailing_rows)
    ratio = rows / median if median else 0.0
    return Verdict(
        t.min_volume_ratio <= ratio <= t.max_volume_ratio,
        f"{ratio:.2f}x of {median:.0f} ({rows} rows)",
        f"{t.min_volume_ratio:g}..{t.max_volume_ratio:g}x of the median of {len(trailing_rows)} trailing days",
    )


@dataclass
class Check:
    name: str
    day: str
    passed: bool
    observed: str
    expected: str

    @classmethod
    def of(cls, name: str, day: str, passed: bool, observed: object, expected: object) -> Check:
        """A check with its figures as the report prints them (numbers and verdict texts alike)."""
        return cls(name, day, bool(passed), str(observed), str(expected))


@dataclass
class AuditReport:
    load_id: str
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def as_dict(self) -> dict:
        return {"load_id": self.load_id, "passed": self.passed, "checks": [asdict(c) for c in self.checks]}

    def render(self) -> str:
        width = max([len(c.name) for c in self.checks] + [5])
        lines = [f"audit of {self.load_id}: {'PASSED' if self.passed else 'FAILED'}"]
        for c in self.checks:
            mark = "ok  " if c.passed else "FAIL"
            lines.append(
                f"  {mark} {c.name:<{width}} {c.day:<10} observed {c.observed}  expected {c.expected}"
            )
        return "\n".join(lines)


@dataclass(frozen=True)
class DayCounts:
    """One day of the load: rows landed (staged files), then read back from bronze, silver, quarantine."""

    landed: int
    bronze: int
    silver: int
    quarantined: int
    duplicates_dropped: int  # silver's ``duplicates_dropped`` summed over the day


@dataclass(frozen=True)
class DayKeys:
    """Silver rows of one day and how many of them have a NULL ``client_key`` (consent mode)."""

    rows: int
    null_client_keys: int


@dataclass(frozen=True)
class Measurements:
    """What the audits judge, read back from the load's branch: plain numbers, no Spark.

    Measuring (:func:`measure`, Spark) and judging (:func:`judge`, pure) are apart so every rule can be
    tested on hand-written numbers, and a threshold change never needs the lake."""

    load_id: str
    days: Mapping[date, DayCounts]  # the load's days
    silver_rows: int  # silver rows of the load's days ...
    event_keys: int  # ... with a non-NULL event_key ...
    distinct_event_keys: int  # ... and how many distinct ones
    # silver rows and NULL client keys per day from ``trailing_days`` before the first load day to the
    # last (main's history plus this load's own days; days without rows are absent)
    history: Mapping[date, DayKeys]
    trailing_days: int  # the window ``history`` covers before the first load day


def _per_day(
    spark: SparkSession, table: str, date_col: str, days: list[date], agg: Column | None = None
) -> dict[date, int]:
    df = spark.table(table).where(F.col(date_col).isin(days))
    rows = df.groupBy(date_col).agg(agg if agg is not None else F.count(F.lit(1)).alias("n")).collect()
    return {r[0]: int(r[1] or 0) for r in rows}


def trailing(values: Mapping[date, float], d: date, n_days: int) -> list[float]:
    """The values of the ``n_days`` days before ``d`` that have one (days without rows are absent)."""
    return [values[x] for x in sorted(values) if d - timedelta(days=n_days) <= x < d]


def _measure_days(
    spark: SparkSession, catalog: str, landed_rows: Mapping[date, int]
) -> dict[date, DayCounts]:
    """Per load day: landed vs bronze vs silver + quarantine + dropped duplicates."""
    days = sorted(landed_rows)
    silver_table = f"{catalog}.{SILVER_EVENTS}"
    bronze = _per_day(spark, f"{catalog}.{BRONZE_EVENTS}", "_shard_date", days)
    silver = _per_day(spark, silver_table, "event_date", days)
    dups = _per_day(spark, silver_table, "event_date", days, F.sum("duplicates_dropped").alias("n"))
    quarantined = (
        _per_day(spark, f"{catalog}.{QUARANTINE}", "event_date", days)
        if spark.catalog.tableExists(f"{catalog}.{QUARANTINE}")
        else {}
    )
    return {
        d: DayCounts(
            landed_rows[d], bronze.get(d, 0), silver.get(d, 0), quarantined.get(d, 0), dups.get(d, 0)
        )
        for d in days
    }


def _measure_event_keys(spark: SparkSession, catalog: str, days: list[date]) -> tuple[int, int, int]:
    """(silver rows, non-NULL event keys, distinct event keys) of the load's days."""
    ev = spark.table(f"{catalog}.{SILVER_EVENTS}").where(F.col("event_date").isin(days))
    k = ev.agg(
        F.count(F.lit(1)).alias("n"),
        F.count_distinct("event_key").alias("distinct_keys"),
        F.count("event_key").alias("keys"),
    ).collect()[0]
    return int(k["n"] or 0), int(k["keys"] or 0), int(k["distinct_keys"] or 0)


def _measure_history(
    spark: SparkSession, catalog: str, days: list[date], trailing_days: int
) -> dict[date, DayKeys]:
    """Rows and NULL client keys per day, the trailing window before the load included, as the days will
    be once published (main's history plus this load's own days, read from the branch), so a restated
    window is judged against its restated neighbours."""
    lo = days[0] - timedelta(days=trailing_days)
    history = spark.table(f"{catalog}.{SILVER_EVENTS}").where(
        (F.col("event_date") >= lo) & (F.col("event_date") <= days[-1])
    )
    rows = (
        history.groupBy("event_date")
        .agg(
            F.count(F.lit(1)).alias("n"),
            F.sum(F.col("client_key").isNull().cast("long")).alias("nulls"),
        )
        .collect()
    )
    return {r["event_date"]: DayKeys(int(r["n"]), int(r["nulls"] or 0)) for r in rows}


def measure(
    spark: SparkSession, catalog: str, load_id: str, landed_rows: Mapping[date, int], trailing_days: int
) -> Measurements:
    """Read the numbers the audits judge from the load's branch (``catalog``); Spark, no verdicts."""
    days = sorted(landed_rows)
    if not days:
        raise ValueError(f"load {load_id}: no landed days to audit")
    n, keys, distinct = _measure_event_keys(spark, catalog, days)
    return Measurements(
        load_id=load_id,
        days=_measure_days(spark, catalog, landed_rows),
        silver_rows=n,
        event_keys=keys,
        distinct_event_keys=distinct,
        history=_measure_history(spark, catalog, days, trailing_days),
        trailing_days=trailing_days,
    )


def _reconciliation_checks(days: Mapping[date, DayCounts], t: Thresholds) -> list[Check]:
    """Per day: landing = bronze, bronze = silver + quarantine + duplicates, the quarantined share."""
    checks: list[Check] = []
    for d in sorted(days):
        ds, c = d.isoformat(), days[d]
        b, s, q, x = c.bronze, c.silver, c.quarantined, c.duplicates_dropped
        ratio = q / b if b else 0.0
        checks += [
            Check.of("landing_eq_bronze", ds, c.landed == b, b, c.landed),
            Check.of("bronze_eq_silver_quarantine_dups", ds, b == s + q + x, f"{s}+{q}+{x}={s + q + x}", b),
            Check.of(
                "quarantine_ratio",
                ds,
                ratio <= t.max_quarantine_ratio,
                f"{ratio:.4f}",
                f"<= {t.max_quarantine_ratio}",
            ),
        ]
    return checks


def _event_key_checks(m: Measurements) -> list[Check]:
    """Event keys of the load's days are present and unique."""
    n, keys, distinct = m.silver_rows, m.event_keys, m.distinct_event_keys
    return [
        Check.of("event_key_not_null", "all", keys == n, n - keys, 0),
        # among the non-NULL keys, so a NULL key fails only event_key_not_null
        Check.of("event_key_unique", "all", distinct == keys, f"{distinct} distinct / {keys}", "equal"),
    ]


def _trailing_checks(m: Measurements, t: Thresholds) -> list[Check]:
    """Each day's NULL client_key share, then its volume, against its trailing days in ``m.history``."""
    counts = {x: float(k.rows) for x, k in m.history.items()}
    shares = {x: k.null_client_keys / k.rows for x, k in m.history.items() if k.rows}
    days = sorted(m.days)
    checks: list[Check] = []
    for d in days:
        k = m.history.get(d, DayKeys(0, 0))
        v = null_client_key_verdict(k.null_client_keys, k.rows, trailing(shares, d, t.trailing_days), t)
        checks.append(Check.of("null_client_key_ratio", d.isoformat(), v.passed, v.observed, v.expected))
    for d in days:
        trailing_rows = [int(c) for c in trailing(counts, d, t.trailing_days)]
        vol = volume_verdict(m.days[d].silver, trailing_rows, t)
        if vol is not None:
            checks.append(
                Check.of("volume_vs_trailing_median", d.isoformat(), vol.passed, vol.observed, vol.expected)
            )
    return checks


def judge(m: Measurements, t: Thresholds) -> AuditReport:
    """Every audit rule applied to the measurements: pure, in the report's fixed order (per day the
    reconciliation, then the event keys, the NULL client_key shares, the volumes)."""
    if t.trailing_days > m.trailing_days:
        raise ValueError(
            f"thresholds look back {t.trailing_days} days, the measurements only {m.trailing_days}"
        )
    rep = AuditReport(m.load_id)
    rep.checks += _reconciliation_checks(m.days, t)
    rep.checks += _event_key_checks(m)
    rep.checks += _trailing_checks(m, t)
    return rep


def run_audits(
    spark: SparkSession,
    catalog: str,
    load_id: str,
    landed_rows: dict[date, int],
    thresholds: Thresholds | None = None,
) -> AuditReport:
    """Measure the load's branch, then judge the numbers against ``thresholds`` (default: the settings)."""
    t = thresholds or Thresholds.from_env()
    return judge(measure(spark, catalog, load_id, landed_rows, t.trailing_days), t)
