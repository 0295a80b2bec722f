"""Audits of a load on its branch, before anything is published to main (write–audit–publish).

Each check compares numbers read back from the branch's tables, so a partial write, a lost slice or a
bad input day shows up here instead of on main.
"""

from __future__ import annotations

import os
import statistics
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from ga4lake.lake.tables import BRONZE_EVENTS, QUARANTINE, SILVER_EVENTS


@dataclass(frozen=True)
class Thresholds:
    max_quarantine_ratio: float = 0.05
    max_null_client_key_ratio: float = 0.05  # consent-denied traffic is normal, in moderation
    min_volume_ratio: float = 0.2  # day rows vs the median of the trailing days on main
    max_volume_ratio: float = 5.0
    trailing_days: int = 7

    @classmethod
    def from_env(cls) -> Thresholds:
        def f(key: str, default: float) -> float:
            return float(os.environ.get(key, default))

        return cls(
            max_quarantine_ratio=f("GA4LAKE_AUDIT_MAX_QUARANTINE_RATIO", cls.max_quarantine_ratio),
            max_null_client_key_ratio=f(
                "GA4LAKE_AUDIT_MAX_NULL_CLIENT_KEY_RATIO", cls.max_null_client_key_ratio
            ),
            min_volume_ratio=f("GA4LAKE_AUDIT_MIN_VOLUME_RATIO", cls.min_volume_ratio),
            max_volume_ratio=f("GA4LAKE_AUDIT_MAX_VOLUME_RATIO", cls.max_volume_ratio),
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
        F.sum(F.col("event_key").isNull().cast("long")).alias("null_event_key"),
        F.sum(F.col("client_key").isNull().cast("long")).alias("null_client_key"),
    ).collect()[0]
    n = int(k["n"] or 0)
    rep.add("event_key_not_null", "all", (k["null_event_key"] or 0) == 0, k["null_event_key"] or 0, 0)
    rep.add(
        "event_key_unique", "all", k["distinct_keys"] == n, f"{k['distinct_keys']} distinct / {n}", "equal"
    )
    null_ratio = (k["null_client_key"] or 0) / n if n else 0.0
    rep.add(
        "null_client_key_ratio",
        "all",
        null_ratio <= t.max_null_client_key_ratio,
        f"{null_ratio:.4f}",
        f"<= {t.max_null_client_key_ratio}",
    )

    # volume against the trailing days as they will be once published (main's history plus this load's own
    # days, read from the branch), so a restated window is judged against its restated neighbours
    branch_silver = f"{catalog}.{SILVER_EVENTS}"
    if spark.catalog.tableExists(branch_silver):
        lo = days[0] - timedelta(days=t.trailing_days)
        history = spark.table(branch_silver).where(
            (F.col("event_date") >= lo) & (F.col("event_date") < days[-1])
        )
        counts = {r[0]: int(r[1]) for r in history.groupBy("event_date").count().collect()}
        for d in days:
            trailing = [counts[x] for x in counts if d - timedelta(days=t.trailing_days) <= x < d]
            if len(trailing) < 3:
                continue
            med = statistics.median(trailing)
            ratio = silver.get(d, 0) / med if med else 0.0
            rep.add(
                "volume_vs_trailing_median",
                d.isoformat(),
                t.min_volume_ratio <= ratio <= t.max_volume_ratio,
                f"{ratio:.2f}x of {med:.0f}",
                f"{t.min_volume_ratio}..{t.max_volume_ratio}x",
            )
    return rep
