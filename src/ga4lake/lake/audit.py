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

from pyspark.sql import SparkSession
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

    def add(self, name: str, day: str, passed: bool, observed: object, expected: object) -> None:
        self.checks.append(Check(name, day, bool(passed), str(observed), str(expected)))

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


def _per_day(spark: SparkSession, table: str, date_col: str, days: list[date], agg=None) -> dict[date, int]:
    df = spark.table(table).where(F.col(date_col).isin(days))
    rows = df.groupBy(date_col).agg(agg if agg is not None else F.count(F.lit(1)).alias("n")).collect()
    return {r[0]: int(r[1] or 0) for r in rows}


def trailing(values: Mapping[date, float], d: date, n_days: int) -> list[float]:
    """The values of the ``n_days`` days before ``d`` that have one (days without rows are absent)."""
    return [values[x] for x in sorted(values) if d - timedelta(days=n_days) <= x < d]


def run_audits(
    spark: SparkSession,
    catalog: str,
    load_id: str,
    landed_rows: dict[date, int],
    thresholds: Thresholds | None = None,
) -> AuditReport:
    t = thresholds or Thresholds.from_env()
    days = sorted(landed_rows)
    rep = AuditReport(load_id)
    bronze = _per_day(spark, f"{catalog}.{BRONZE_EVENTS}", "_shard_date", days)
    silver = _per_day(spark, f"{catalog}.{SILVER_EVENTS}", "event_date", days)
    dups = _per_day(
        spark, f"{catalog}.{SILVER_EVENTS}", "event_date", days, F.sum("duplicates_dropped").alias("n")
    )
    quarantined = (
        _per_day(spark, f"{catalog}.{QUARANTINE}", "event_date", days)
        if spark.catalog.tableExists(f"{catalog}.{QUARANTINE}")
        else {}
    )

    for d in days:
        ds = d.isoformat()
        b, s, q, x = bronze.get(d, 0), silver.get(d, 0), quarantined.get(d, 0), dups.get(d, 0)
        rep.add("landing_eq_bronze", ds, landed_rows[d] == b, b, landed_rows[d])
        rep.add("bronze_eq_silver_quarantine_dups", ds, b == s + q + x, f"{s}+{q}+{x}={s + q + x}", b)
        ratio = q / b if b else 0.0
        rep.add(
            "quarantine_ratio",
            ds,
            ratio <= t.max_quarantine_ratio,
            f"{ratio:.4f}",
            f"<= {t.max_quarantine_ratio}",
        )

    ev = spark.table(f"{catalog}.{SILVER_EVENTS}").where(F.col("event_date").isin(days))
    k = ev.agg(
        F.count(F.lit(1)).alias("n"),
        F.count_distinct("event_key").alias("distinct_keys"),
        F.count("event_key").alias("keys"),
    ).collect()[0]
    n, keys, distinct = int(k["n"] or 0), int(k["keys"] or 0), int(k["distinct_keys"] or 0)
    rep.add("event_key_not_null", "all", keys == n, n - keys, 0)
    # among the non-NULL keys, so a NULL key fails only event_key_not_null
    rep.add("event_key_unique", "all", distinct == keys, f"{distinct} distinct / {keys}", "equal")

    # NULL client_key share and volume, each day against its trailing days as they will be once published
    # (main's history plus this load's own days, read from the branch), so a restated window is judged
    # against its restated neighbours
    lo = days[0] - timedelta(days=t.trailing_days)
    history = spark.table(f"{catalog}.{SILVER_EVENTS}").where(
        (F.col("event_date") >= lo) & (F.col("event_date") <= days[-1])
    )
    per_day = {
        r["event_date"]: (int(r["n"]), int(r["nulls"] or 0))
        for r in history.groupBy("event_date")
        .agg(
            F.count(F.lit(1)).alias("n"),
            F.sum(F.col("client_key").isNull().cast("long")).alias("nulls"),
        )
        .collect()
    }
    counts = {x: float(n_) for x, (n_, _) in per_day.items()}
    shares = {x: nulls / n_ for x, (n_, nulls) in per_day.items() if n_}
    for d in days:
        rows, nulls = per_day.get(d, (0, 0))
        v = null_client_key_verdict(nulls, rows, trailing(shares, d, t.trailing_days), t)
        rep.add("null_client_key_ratio", d.isoformat(), v.passed, v.observed, v.expected)
    for d in days:
        vol = volume_verdict(silver.get(d, 0), [int(c) for c in trailing(counts, d, t.trailing_days)], t)
        if vol is not None:
            rep.add("volume_vs_trailing_median", d.isoformat(), vol.passed, vol.observed, vol.expected)
    return rep
