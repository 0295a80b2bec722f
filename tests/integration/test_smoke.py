"""The stack's acceptance flow on the real services (runs on SeaweedFS by default, MinIO via make test-minio)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest

from ga4lake.clients.spark import MAIN_CATALOG, branch_catalog
from ga4lake.clients.trino import run_sql
from ga4lake.stack.smoke import pyiceberg_count

pytestmark = pytest.mark.integration


def _count_trino(settings, table: str, ref: str | None = None) -> int:
    _, rows = run_sql(settings, f"SELECT count(*) FROM {table}", ref=ref)
    return int(rows[0][0])


def test_branch_write_merge_read_time_travel(stack, nessie, spark):
    tag = uuid.uuid4().hex[:8]
    table = f"smoke.wap_{tag}"
    nessie.ensure_namespaces(("smoke",))

    # 1. Spark creates an Iceberg table on a new branch and writes rows
    b1 = f"test_{tag}_a"
    nessie.create_branch(b1)
    cat = branch_catalog(spark, stack, b1)
    spark.sql(f"CREATE TABLE {cat}.{table} (id BIGINT, label STRING) USING iceberg")
    spark.range(100).selectExpr("id", "cast(id AS STRING) AS label").writeTo(f"{cat}.{table}").append()
    assert spark.table(f"{cat}.{table}").count() == 100

    # 2. main does not see them
    assert f"wap_{tag}" not in {
        r.tableName for r in spark.sql(f"SHOW TABLES IN {MAIN_CATALOG}.smoke").collect()
    }
    _, tables = run_sql(stack, "SHOW TABLES FROM smoke")
    assert f"wap_{tag}" not in {r[0] for r in tables}

    # 3. merge; Trino and pyiceberg read the rows from main
    nessie.merge(b1, "main", message=f"test merge {b1}", properties={"ga4lake.load_id": b1})
    assert _count_trino(stack, table) == 100
    assert pyiceberg_count(stack, table) == 100
    assert nessie.log("main", 1)[0].properties.get("ga4lake.load_id") == b1

    # 4. a second load adds rows; time travel to the commit before its merge shows the old state
    b2 = f"test_{tag}_b"
    nessie.create_branch(b2)
    cat2 = branch_catalog(spark, stack, b2)
    spark.range(100, 150).selectExpr("id", "cast(id AS STRING) AS label").writeTo(f"{cat2}.{table}").append()
    before = nessie.get_reference("main").hash
    nessie.merge(b2, "main", message=f"test merge {b2}")
    assert _count_trino(stack, table) == 150
    assert spark.table(f"{MAIN_CATALOG}.{table}").count() == 150
    assert _count_trino(stack, table, ref=before) == 100
    # Spark reads an earlier commit with Nessie's table@ref#hash addressing
    assert spark.table(f"{MAIN_CATALOG}.smoke.`wap_{tag}@main#{before}`").count() == 100

    # 5. branches are deleted
    for b in (b1, b2):
        nessie.delete_branch(b)
        assert not nessie.has_reference(b)


def test_cli_smoke_on_spark_standalone_cluster(stack):
    """The same flow through `ga4lake smoke`, with Spark pointed at the stack's standalone master."""
    from ga4lake.stack import manager

    manager.up(stack, with_spark=True)
    env = {
        **os.environ,
        "GA4LAKE_SPARK_MASTER": f"spark://127.0.0.1:{stack.ports.spark_master}",
        "GA4LAKE_SPARK_DRIVER_MEMORY": "1g",
        "GA4LAKE_SPARK_EXECUTOR_MEMORY": "1g",
    }
    res = subprocess.run(
        [sys.executable, "-m", "ga4lake.cli", "smoke", "--json", "--rows", "500"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    report = json.loads(res.stdout.strip().splitlines()[-1])
    assert report["spark_master"].startswith("spark://")
    assert report["rows_on_main_trino"] == report["rows_on_main_pyiceberg"] == 500
    assert report["branch_deleted"] is True
