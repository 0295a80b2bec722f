"""Bronze and silver writes of a load's days into a branch's catalog: lake mechanics only.

What to write comes in as plain arguments (the staged files, the days); the load's steps
read them from its plan and record its phase. Every write replaces whole days, so a retry on the same
branch writes exactly what one run writes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import date, datetime

from ga4lake.config import Settings
from ga4lake.lake import landing
from ga4lake.lake.privacy import bronze_user_id
from ga4lake.lake.silver import build_silver, scan_stats
from ga4lake.lake.tables import (
    BRONZE_EVENTS,
    LOAD_MANIFEST,
    MANIFEST_DDL,
    QUARANTINE,
    SILVER_EVENTS,
    ensure_manifest,
    replace_days,
)
from ga4lake.log import say as _say  # progress lines (stderr; -q hides them)
from ga4lake.log import track


def slices(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), max(1, size)):
        yield items[i : i + size]


def write_bronze(
    spark,
    settings: Settings,
    cat: str,
    load_id: str,
    staged: list[landing.StagedFile],
    kinds: dict[str, str],
    ingested_at: datetime,
    slice_days: int = 30,
    progress: Callable[[str], None] = _say,
) -> None:
    """Raw nested rows of the staged days (+ the landing manifest rows of ``load_id``) into catalog ``cat``
    (a load's branch). ``kinds``: day (ISO) -> new | restatement | reprocess | intraday."""
    ensure_manifest(spark, cat)
    for part in track(list(slices(staged, slice_days)), "  bronze", "slices"):
        part_days = [s.shard_date for s in part]
        ts = time.monotonic()
        bronze_in = spark.read.option("mergeSchema", "true").parquet(*[str(s.staged_path) for s in part])
        bronze_in = bronze_user_id(bronze_in, settings)  # GA4LAKE_PII_USER_ID: hash | drop | keep
        replace_days(bronze_in, f"{cat}.{BRONZE_EVENTS}", "_shard_date", part_days)
        manifest_rows = [
            (
                load_id,
                s.shard_date,
                s.name,
                s.source_uri,
                s.landing_uri,
                s.sha256,
                s.size_bytes,
                s.rows,
                s.rescued_rows,
                s.format,
                kinds[s.shard_date.isoformat()],
                ingested_at.replace(tzinfo=None),
            )
            for s in part
        ]
        # a retried step must not list a file twice
        day_list = ", ".join(f"DATE '{d}'" for d in part_days)
        spark.sql(
            f"DELETE FROM {cat}.{LOAD_MANIFEST} WHERE load_id = '{load_id}' AND shard_date IN ({day_list})"
        )
        spark.createDataFrame(manifest_rows, MANIFEST_DDL).writeTo(f"{cat}.{LOAD_MANIFEST}").append()
        progress(
            f"  bronze {part_days[0]} … {part_days[-1]} ({len(part_days)} day(s)) in {time.monotonic() - ts:.1f}s"
        )


def write_silver(
    spark, cat: str, days: list[date], slice_days: int = 30, progress: Callable[[str], None] = _say
) -> None:
    """Flattened, contract-checked events and the quarantine for ``days``, read from bronze in catalog
    ``cat`` (a load's branch)."""
    from pyspark.sql import functions as F

    for part_days in track(list(slices(days, slice_days)), "  silver", "slices"):
        ts = time.monotonic()
        bronze = spark.table(f"{cat}.{BRONZE_EVENTS}").where(F.col("_shard_date").isin(part_days))
        stats = scan_stats(bronze).first()
        assert stats is not None  # an aggregate without grouping has exactly one row
        # a few duplicate hashes become a literal filter; a mass duplication (a file loaded twice) a join
        candidates = list(stats.dup_hashes) if len(stats.dup_hashes) <= 10_000 else None
        silver = build_silver(bronze, candidates)
        replace_days(silver.events, f"{cat}.{SILVER_EVENTS}", "event_date", part_days)
        # no bad rows: the quarantine's days are still replaced (a restated day may have had some)
        quarantine = silver.quarantine if stats.bad_rows else silver.quarantine.limit(0)
        replace_days(quarantine, f"{cat}.{QUARANTINE}", "event_date", part_days)
        progress(
            f"  silver {part_days[0]} … {part_days[-1]} ({len(part_days)} day(s), {stats.bad_rows} quarantined, "
            f"{len(stats.dup_hashes)} duplicate group(s)) in {time.monotonic() - ts:.1f}s"
        )
