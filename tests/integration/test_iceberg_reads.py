"""pyiceberg's metadata reads agree with Spark's on the real stack: table listings, row and file counts,
snapshots, table properties (what `ga4lake maintain` decides on), on a branch and at an earlier commit."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest

from ga4lake.cli import main
from ga4lake.clients.iceberg import IcebergReader
from ga4lake.clients.spark import branch_catalog
from ga4lake.lake.tables import NESSIE_SAFE_PROPERTIES, replace_days
from ga4lake.load.maintain import property_changes, property_todo

pytestmark = pytest.mark.integration

DAYS = (date(2020, 11, 1), date(2020, 11, 2))
TABLES = ("bronze.iceberg_probe", "silver.iceberg_probe")


def _write(spark, cat: str, table: str, day: date, n: int) -> None:
    df = spark.createDataFrame([(day, i) for i in range(n)], "d DATE, i INT")
    replace_days(df, f"{cat}.{table}", "d", [day])


def _spark_tables(spark, cat: str) -> list[str]:
    return sorted(
        f"{ns}.{r.tableName}"
        for ns in ("bronze", "silver", "gold")
        for r in spark.sql(f"SHOW TABLES IN {cat}.{ns}").collect()
    )


def _spark_props(spark, table: str) -> dict[str, str]:
    return {r["key"]: r["value"] for r in spark.sql(f"SHOW TBLPROPERTIES {table}").collect()}


def test_pyiceberg_metadata_matches_spark(lake, spark, nessie, capsys):
    branch = lake.lake_branch
    cat = branch_catalog(spark, lake, branch)
    _write(spark, cat, TABLES[0], DAYS[0], 5)
    first = nessie.get_reference(branch).hash
    _write(spark, cat, TABLES[0], DAYS[1], 7)
    _write(spark, cat, TABLES[1], DAYS[0], 3)
    spark.sql(
        f"CREATE TABLE {cat}.gold.iceberg_old_props (x INT) USING iceberg "
        "TBLPROPERTIES ('write.metadata.delete-after-commit.enabled'='true')"
    )

    reader = IcebergReader(lake, branch)
    tables = reader.tables()
    assert tables == _spark_tables(spark, cat) == nessie.table_keys(branch)
    assert set(tables) == {*TABLES, "gold.iceberg_old_props"}

    for table in TABLES:
        s = reader.summary(table)
        full = f"{cat}.{table}"
        assert s.rows == spark.table(full).count()
        assert s.data_files == spark.sql(f"SELECT count(*) FROM {full}.files").first()[0]
        current = spark.sql(
            f"SELECT snapshot_id, committed_at FROM {full}.snapshots ORDER BY committed_at DESC LIMIT 1"
        ).first()
        assert s.snapshot_id == current[0]
        assert s.committed_at is not None
        assert abs(datetime.fromisoformat(s.committed_at).timestamp() - current[1].timestamp()) < 0.002
        props = reader.properties(table)
        assert {k: props.get(k) for k in NESSIE_SAFE_PROPERTIES} == {
            k: _spark_props(spark, full).get(k) for k in NESSIE_SAFE_PROPERTIES
        }
    assert (reader.summary(TABLES[0]).rows, reader.summary(TABLES[1]).rows) == (12, 3)

    # an empty table: no snapshot, all counters None (Spark counts 0 rows)
    empty = reader.summary("gold.iceberg_old_props")
    assert (empty.snapshot_id, empty.rows) == (None, None)
    assert spark.table(f"{cat}.gold.iceberg_old_props").count() == 0

    # maintain's decision read through pyiceberg is the one Spark's properties give
    spark_todo = {
        t: c
        for t in tables
        if (c := property_changes(_spark_props(spark, f"{cat}.{t}"), NESSIE_SAFE_PROPERTIES))
    }
    assert property_todo(lake) == spark_todo
    assert spark_todo == {"gold.iceberg_old_props": {"write.metadata.delete-after-commit.enabled": "false"}}

    # an earlier commit, by the 12-digit hash `ga4lake history` prints: one table, 5 rows
    at_first = IcebergReader(lake, f"{branch}@{first[:12]}")
    assert at_first.prefix == f"{branch}@{first}"
    assert at_first.tables() == [TABLES[0]]
    assert (
        at_first.summary(TABLES[0]).rows
        == 5
        == spark.table(f"{cat}.bronze.`iceberg_probe@{branch}#{first}`").count()
    )


def test_tables_command_prints_the_summaries(lake, spark, capsys):
    cat = branch_catalog(spark, lake, lake.lake_branch)
    _write(spark, cat, "silver.iceberg_cli", DAYS[0], 4)
    assert main(["tables", "--ref", lake.lake_branch, "--format", "json"]) == 0
    rows = {r["table"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["silver.iceberg_cli"]["rows"] == 4 == spark.table(f"{cat}.silver.iceberg_cli").count()
    assert main(["tables", "--ref", f"no_such_branch_{lake.lake_branch}"]) == 2
