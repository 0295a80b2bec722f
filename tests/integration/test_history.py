"""History that lasts: many commits to a table stay readable at every Nessie commit, a branch rolls back to
its first one, and `ga4lake maintain` cleans only what no load or reference needs.

25 tiny commits through the project's table writer (``replace_days``, so the project's table properties
apply) stand in for 25 loads: each load makes about one commit per table, and 25 real loads take far too
long on a 2-core machine. With the old properties (delete-after-commit, 20 previous versions) the first
commit's metadata file is deleted by the 22nd commit, and reading it fails.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import date

import pytest

from ga4lake.clients.spark import branch_catalog
from ga4lake.clients.trino import ref_catalog_name, run_sql
from ga4lake.lake.tables import NESSIE_SAFE_PROPERTIES, replace_days
from ga4lake.load.maintain import maintain, trino_catalogs
from ga4lake.load.rollback import rollback

pytestmark = pytest.mark.integration

TABLE = "bronze.history_probe"
COMMITS = 25
DAY = date(2020, 11, 1)


def _rows(k: int) -> list[tuple]:
    return [(DAY, k, i) for i in range(3)]


def _spark_rows(spark, table: str) -> list[tuple]:
    return sorted(tuple(r) for r in spark.sql(f"SELECT d, k, i FROM {table}").collect())


def test_every_commit_readable_and_rollback_to_the_first(lake, spark, nessie):
    branch = lake.lake_branch
    cat = branch_catalog(spark, lake, branch)
    hashes = []
    for k in range(1, COMMITS + 1):
        replace_days(spark.createDataFrame(_rows(k), "d DATE, k INT, i INT"), f"{cat}.{TABLE}", "d", [DAY])
        hashes.append(nessie.get_reference(branch).hash)
    assert len(set(hashes)) == COMMITS
    assert _spark_rows(spark, f"{cat}.{TABLE}") == _rows(COMMITS)
    first = hashes[0]

    # the first commit, read the way `ga4lake sql --ref branch@hash` does (Trino through Nessie's REST)
    _, rows = run_sql(lake, f"SELECT d, k, i FROM {TABLE}", ref=f"{branch}@{first}")
    assert sorted(rows) == _rows(1)
    # ... and through Spark with Nessie's table syntax `table@branch#hash`
    ns, name = TABLE.split(".")
    assert _spark_rows(spark, f"{cat}.{ns}.`{name}@{branch}#{first}`") == _rows(1)

    # roll the branch back to its first commit of the table
    undone = rollback(lake, first).undone
    assert len(undone) == COMMITS - 1
    assert nessie.get_reference(branch).hash == first
    assert _spark_rows(spark, f"{cat}.{TABLE}") == _rows(1)
    _, rows = run_sql(lake, f"SELECT d, k, i FROM {TABLE}", ref=branch)
    assert sorted(rows) == _rows(1)


def test_maintain_lists_then_removes_only_what_nothing_needs(lake, spark, nessie, tmp_path):
    # a state dir of its own: the shared stack's staging belongs to other loads
    settings = dataclasses.replace(lake, state_dir=tmp_path / "state")
    staging = settings.state_dir / "staging"
    done, open_ = "load_20201101_20201101_done", "load_20201102_20201102_open"
    for name in (done, open_, "downloads"):
        (staging / name).mkdir(parents=True)
        (staging / name / "events_20201101.parquet").write_bytes(b"x" * 1000)
    loads = settings.state_dir / "loads"
    loads.mkdir(parents=True)
    for load_id, phase in ((done, "synced"), (open_, "bronze")):
        (loads / f"{load_id}.json").write_text(json.dumps({"load_id": load_id, "phase": phase}))

    # a Trino catalog of a load branch that is gone (as after a publish), and one of a live branch
    gone = f"itest_gone_{uuid.uuid4().hex[:8]}"
    nessie.create_branch(gone, lake.lake_branch)
    run_sql(lake, "SELECT 1", ref=gone)
    nessie.delete_branch(gone)
    run_sql(lake, "SELECT 1", ref=lake.lake_branch)
    gone_cat, live_cat = ref_catalog_name(gone), ref_catalog_name(lake.lake_branch)
    assert {gone_cat, live_cat} <= set(trino_catalogs(lake))

    # a table made before the Nessie-safe properties
    cat = branch_catalog(spark, lake, lake.lake_branch)
    spark.sql(
        f"CREATE TABLE {cat}.bronze.old_props (x INT) USING iceberg TBLPROPERTIES "
        "('write.metadata.delete-after-commit.enabled'='true', 'write.metadata.previous-versions-max'='20')"
    )
    head = nessie.get_reference(lake.lake_branch).hash

    dry = maintain(settings, retention_days=90, dry_run=True, spark=spark)
    assert [p.name for p, _ in dry.staging] == ["downloads", done]
    assert gone_cat in dry.catalogs and live_cat not in dry.catalogs
    # (Iceberg's NessieCatalog already defaults gc.enabled to false: only delete-after-commit is missing)
    assert dry.properties == {"bronze.old_props": {"write.metadata.delete-after-commit.enabled": "false"}}
    assert "would remove 2 folder(s)" in dry.render()
    # a dry run changes nothing
    assert (staging / done).is_dir() and (staging / "downloads").is_dir()
    assert gone_cat in trino_catalogs(lake)
    assert nessie.get_reference(lake.lake_branch).hash == head

    done_report = maintain(settings, retention_days=90, spark=spark)
    assert sorted(p.name for p in staging.iterdir()) == [open_]
    catalogs = set(trino_catalogs(lake))
    assert gone_cat not in catalogs and live_cat in catalogs
    props = {r["key"]: r["value"] for r in spark.sql(f"SHOW TBLPROPERTIES {cat}.bronze.old_props").collect()}
    assert {k: props[k] for k in NESSIE_SAFE_PROPERTIES} == NESSIE_SAFE_PROPERTIES
    assert done_report.history is not None and done_report.history.inside >= 2
    fixed = nessie.get_reference(lake.lake_branch).hash
    assert fixed != head

    # idempotent: nothing left to do, no commit
    again = maintain(settings, retention_days=90, spark=spark)
    assert (again.staging, again.properties) == ([], {})
    assert gone_cat not in again.catalogs
    assert nessie.get_reference(lake.lake_branch).hash == fixed
