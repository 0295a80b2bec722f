"""Iceberg tables of the lake and how a load writes them (the I/O edge of bronze and silver).

Every write replaces exactly the days of the load (``overwrite(filter)``: one Iceberg commit that deletes
the days' rows and appends the new ones), so re-running a day never duplicates anything, and a day
whose new version has no rows in a table (e.g. nothing quarantined) is still cleared there.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

BRONZE_EVENTS = "bronze.events"
LOAD_MANIFEST = "bronze.load_manifest"
SILVER_EVENTS = "silver.events"
QUARANTINE = "silver.quarantine"

#: Every Nessie commit of a table points at one of its metadata files; older commits (rollback, time travel,
#: other branches) read the files *they* point at. Iceberg's cleanups only see the current metadata, so on
#: Nessie they must stay off: no deleting old metadata files after a commit, and no snapshot expiry or
#: orphan removal through Iceberg (``gc.enabled=false`` makes Spark's procedures refuse). Files are only
#: ever reclaimed by a tool that walks Nessie's history (nessie-gc; see docs/operations.md).
NESSIE_SAFE_PROPERTIES = {
    "write.metadata.delete-after-commit.enabled": "false",
    "gc.enabled": "false",
}

TABLE_PROPERTIES = {
    "format-version": "2",
    "write.spark.accept-any-schema": "true",  # GA4 drift: new fields evolve the schema
    "write.parquet.compression-codec": "zstd",
    **NESSIE_SAFE_PROPERTIES,
    # a load's input is already one Spark partition per day (one export file, one table partition):
    # skip the shuffle Iceberg would request to cluster rows by partition, write fan-out instead
    "write.distribution-mode": "none",
    "write.spark.fanout.enabled": "true",
}
_SAFE_SQL = ", ".join(f"'{k}'='{v}'" for k, v in NESSIE_SAFE_PROPERTIES.items())
WRITE_OPTIONS = {"distribution-mode": "none", "fanout-enabled": "true"}

MANIFEST_DDL = """
    load_id STRING, shard_date DATE, file_name STRING, source_uri STRING, landing_uri STRING,
    sha256 STRING, size_bytes BIGINT, rows BIGINT, rescued_rows BIGINT, format STRING,
    kind STRING, landed_at TIMESTAMP
"""


def table_exists(spark: SparkSession, name: str) -> bool:
    return spark.catalog.tableExists(name)


def replace_days(df: DataFrame, table: str, date_col: str, days: Iterable[date]) -> None:
    """Create the table from ``df`` on first write, else atomically replace ``days`` with ``df``'s rows."""
    days = sorted(set(days))
    spark = df.sparkSession
    if not table_exists(spark, table):
        writer = df.writeTo(table).using("iceberg").partitionedBy(F.col(date_col))
        for k, v in TABLE_PROPERTIES.items():
            writer = writer.tableProperty(k, v)
        writer.create()
        return
    overwrite_values(df, table, date_col, days, WRITE_OPTIONS)


def overwrite_values(
    df: DataFrame, table: str, column: str, values: Iterable[object], options: dict[str, str] | None = None
) -> None:
    """One atomic commit replacing the rows whose ``column`` is in ``values`` by ``df``'s rows.

    Literal values on a partition column let Iceberg drop whole partitions from metadata: no data file
    is read or rewritten (a subquery filter would turn this into a copy-on-write delete)."""
    writer = df.writeTo(table).option("mergeSchema", "true").option("check-ordering", "false")
    for k, v in (options or {}).items():
        writer = writer.option(k, v)
    writer.overwrite(F.col(column).isin([F.lit(v) for v in values]))


def read_current_snapshot(spark: SparkSession, table: str) -> DataFrame:
    """``table`` pinned to its current snapshot: later commits (this load's own) do not change what the
    returned DataFrame reads, however late Spark evaluates it."""
    current = spark.sql(
        f"SELECT snapshot_id FROM {table}.history WHERE is_current_ancestor "
        "ORDER BY made_current_at DESC LIMIT 1"
    ).collect()
    if not current:  # no snapshot yet: an empty table
        return spark.table(table)
    return spark.sql(f"SELECT * FROM {table} VERSION AS OF {current[0][0]}")


def ensure_manifest(spark: SparkSession, catalog: str) -> None:
    spark.sql(
        f"CREATE TABLE IF NOT EXISTS {catalog}.{LOAD_MANIFEST} ({MANIFEST_DDL}) USING iceberg "
        f"PARTITIONED BY (years(shard_date)) TBLPROPERTIES ('format-version'='2', {_SAFE_SQL})"
    )


def latest_manifest(spark: SparkSession, catalog: str) -> dict[date, dict]:
    """The newest manifest entry per shard day on a reference (empty when nothing was loaded)."""
    name = f"{catalog}.{LOAD_MANIFEST}"
    if not table_exists(spark, name):
        return {}
    rows = spark.sql(
        f"""SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY shard_date ORDER BY landed_at DESC, load_id DESC)
            AS rn FROM {name}) WHERE rn = 1"""
    ).collect()
    return {r["shard_date"]: r.asDict() for r in rows}
