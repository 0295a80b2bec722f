"""Unit-test fixtures: one small local SparkSession for the whole run (no jars, no catalogs)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

JAVA_17 = "/usr/lib/jvm/java-17-openjdk-amd64"


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory):
    """``local[2]`` Spark with the lake's semantics-relevant settings (UTC, LAST_WIN map keys)."""
    if Path(JAVA_17).is_dir():
        os.environ["JAVA_HOME"] = JAVA_17
    from pyspark.sql import SparkSession

    local_dir = tmp_path_factory.mktemp("spark-local")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("ga4lake-unit")
        .config("spark.driver.memory", "1g")
        # a short-lived JVM on 2 cores: C1-only JIT and a serial GC spend far less CPU than the defaults
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.mapKeyDedupPolicy", "LAST_WIN")
        # tiny fixtures: compiling generated code costs far more than it saves, and AQE adds stages
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.sql.codegen.factoryMode", "NO_CODEGEN")
        .config("spark.local.dir", str(local_dir))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


# -- GA4 export rows for hand-computed gold fixtures ----------------------------------------------------

STREAM_ID = 1234


def _param(key: str, value) -> dict:
    v = {"string_value": None, "int_value": None, "float_value": None, "double_value": None}
    v["int_value" if isinstance(value, int) else "string_value"] = value
    return {"key": key, "value": v}


def ga4_event(
    ts,
    name: str,
    user: str | None,
    sid: int | None = None,
    sn: int | None = None,
    *,
    device: str = "desktop",
    country: str = "United States",
    first_touch: tuple[str | None, str | None, str | None] = (None, None, None),
    transaction_id: str | None = None,
    revenue: float | None = None,
    items: list[dict] | None = None,
    **params,
) -> dict:
    """One export-shaped row (``EXPORT_SCHEMA``) at UTC datetime ``ts``; event_date = ts's UTC date.

    ``params`` become event_params (int -> int_value, str -> string_value); ``sid``/``sn`` become
    ga_session_id/ga_session_number (omitted when None, as for consent-denied pings). ``items``: the
    export's item records (dicts of item fields; absent fields are NULL).
    """
    event_params = []
    if sid is not None:
        event_params.append(_param("ga_session_id", sid))
    if sn is not None:
        event_params.append(_param("ga_session_number", sn))
    event_params.extend(_param(k, v) for k, v in params.items() if v is not None)
    src, med, camp = first_touch
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return {
        "event_date": ts.strftime("%Y%m%d"),
        "event_timestamp": int(ts.timestamp() * 1_000_000),
        "event_name": name,
        "event_params": event_params,
        "user_pseudo_id": user,
        "stream_id": STREAM_ID,
        "platform": "WEB",
        "device": {"category": device, "operating_system": "Web", "web_info": {"browser": "Chrome"}},
        "geo": {"country": country},
        "traffic_source": {"source": src, "medium": med, "name": camp},
        "ecommerce": (
            {
                "transaction_id": transaction_id,
                "purchase_revenue_in_usd": revenue,
                "purchase_revenue": revenue,
            }
            if name == "purchase"
            else None
        ),
        "items": items or [],
    }


def export_bronze(spark, rows: list[dict]):
    """Export rows as bronze holds them: ``EXPORT_SCHEMA`` plus the load's metadata columns."""
    import pyarrow as pa

    from ga4lake.sample.schema import EXPORT_SCHEMA

    meta = [
        pa.field("_shard_date", pa.date32()),
        pa.field("_source_file", pa.string()),
        pa.field("_checksum", pa.string()),
        pa.field("_load_id", pa.string()),
        pa.field("_ingested_at", pa.timestamp("us", tz="UTC")),
        pa.field("_rescued_data", pa.string()),
    ]
    schema = pa.schema([*EXPORT_SCHEMA, *meta])
    stamped = [
        {
            **r,
            "_shard_date": datetime.strptime(r["event_date"], "%Y%m%d").date(),
            "_source_file": f"events_{r['event_date']}.parquet",
            "_load_id": "unit",
            "_ingested_at": datetime(2030, 1, 1, tzinfo=UTC),
        }
        for r in rows
    ]
    return spark.createDataFrame(pa.Table.from_pylist(stamped, schema=schema))


@pytest.fixture(scope="session")
def to_silver(spark):
    """Export rows -> silver events through the real ``build_silver`` (contract, dedup, keys), frozen."""
    from ga4lake.lake.silver import build_silver

    def convert(rows: list[dict]):
        return build_silver(export_bronze(spark, rows)).events.localCheckpoint()

    return convert
