"""Which GA4 export days have arrived in a source, by file name only (nothing is downloaded).

GA4 writes a day's ``events_YYYYMMDD`` table hours after the day ends (and rewrites it for up to 72 h), so
the daily run waits until its day is there (the ingest DAG's ``wait_for_export`` sensor asks this module
on every poke), and each run also catches up the days that arrived but were never loaded (its run timed
out before the file came). Listing names is cheap — one S3 ``ListObjectsV2`` page per 1000 files, or one
directory read — so a poke every few minutes costs nothing measurable.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from ga4lake.clients.s3 import s3_client
from ga4lake.config import Settings
from ga4lake.lake import landing


def arrived_days(
    source: str, settings: Settings, start: date | None = None, end: date | None = None
) -> dict[date, list[str]]:
    """Export shard names per day in ``source`` (local dir, single file or s3:// prefix) within [start, end].

    A local directory that does not exist yet is empty, not an error: the export may create it."""
    names: list[tuple[date, str]] = []
    if source.startswith("s3://"):
        bucket, prefix = landing.split_s3(source)
        client = s3_client(settings)
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                name = obj["Key"].rsplit("/", 1)[-1]
                day = landing.parse_shard(name)
                if day:
                    names.append((day, name))
    else:
        root = Path(source)
        paths = [root] if root.is_file() else sorted(root.iterdir()) if root.is_dir() else []
        for p in paths:
            day = landing.parse_shard(p.name)
            if day and p.is_file():
                names.append((day, p.name))
    out: dict[date, list[str]] = {}
    for day, name in sorted(names):
        if (start is None or day >= start) and (end is None or day <= end):
            out.setdefault(day, []).append(name)
    return out


def late_days(arrived: dict[date, list[str]], loaded: set[date], before: date) -> list[date]:
    """Days before ``before`` whose export arrived but which the lake never loaded (catch-up), oldest first."""
    return sorted(d for d in arrived if d < before and d not in loaded)
