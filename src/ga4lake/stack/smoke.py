"""End-to-end smoke flow of the stack: branch → write → isolate → merge → read everywhere → time travel.

`ga4lake smoke` runs it (the main job until the pipeline exists, and the check that a new machine,
another S3 server or a Spark standalone cluster works). Each step raises SmokeFailure with what differed.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field

from ga4lake.clients.iceberg import IcebergReader
from ga4lake.clients.nessie import NessieClient
from ga4lake.clients.spark import MAIN_CATALOG, branch_catalog, get_spark
from ga4lake.clients.trino import run_sql
from ga4lake.config import Settings, load_settings

NAMESPACE = "smoke"
MAIN_BRANCH = "main"  # the smoke flow merges into Nessie's main whatever the lake branch


class SmokeFailure(AssertionError):
    pass


@dataclass
class SmokeReport:
    branch: str
    table: str
    spark_master: str
    s3: str
    rows_on_branch: int = 0
    main_saw_branch_rows: bool = True
    rows_on_main_trino: int = 0
    rows_on_main_pyiceberg: int = 0
    rows_before_merge_trino: int = -1
    branch_deleted: bool = False
    seconds: dict[str, float] = field(default_factory=dict)


def _check(cond: bool, msg: str) -> None:
    if not cond:
        raise SmokeFailure(msg)


def pyiceberg_count(settings: Settings, table: str) -> int:
    """Read a lake table on main through Nessie's Iceberg REST endpoint with pyiceberg."""
    return IcebergReader(settings, MAIN_BRANCH).count(table)


def run_smoke(settings: Settings | None = None, rows: int = 1000) -> SmokeReport:
    settings = settings or load_settings()
    nessie = NessieClient(settings.nessie_api)
    tag = uuid.uuid4().hex[:8]
    branch = f"smoke_{tag}"
    table = f"t_{tag}"
    rep = SmokeReport(
        branch=branch, table=f"{NAMESPACE}.{table}", spark_master=settings.spark_master, s3=settings.s3_kind
    )
    t0 = time.monotonic()
    spark = get_spark(settings, app_name="ga4lake-smoke")
    rep.seconds["spark_start"] = round(time.monotonic() - t0, 2)

    nessie.ensure_namespaces((NAMESPACE,))
    nessie.create_branch(branch, "main")
    cat = branch_catalog(spark, settings, branch)
    t1 = time.monotonic()
    spark.sql(f"CREATE TABLE {cat}.{NAMESPACE}.{table} (id BIGINT, label STRING, at TIMESTAMP) USING iceberg")
    spark.range(rows).selectExpr("id", "concat('row-', id) AS label", "current_timestamp() AS at").writeTo(
        f"{cat}.{NAMESPACE}.{table}"
    ).append()
    rep.rows_on_branch = spark.table(f"{cat}.{NAMESPACE}.{table}").count()
    rep.seconds["spark_write"] = round(time.monotonic() - t1, 2)
    _check(rep.rows_on_branch == rows, f"branch {branch} holds {rep.rows_on_branch} rows, expected {rows}")

    main_tables = {r.tableName for r in spark.sql(f"SHOW TABLES IN {MAIN_CATALOG}.{NAMESPACE}").collect()}
    rep.main_saw_branch_rows = table in main_tables
    _check(not rep.main_saw_branch_rows, f"main sees table {table} before the merge")

    before = nessie.get_reference("main").hash
    nessie.merge(branch, "main", message=f"smoke: merge {branch}", properties={"ga4lake.load_id": branch})

    t2 = time.monotonic()
    _, res = run_sql(settings, f"SELECT count(*) FROM {NAMESPACE}.{table}")
    rep.rows_on_main_trino = int(res[0][0])
    rep.seconds["trino_read"] = round(time.monotonic() - t2, 2)
    _check(
        rep.rows_on_main_trino == rows, f"Trino on main reads {rep.rows_on_main_trino} rows, expected {rows}"
    )

    rep.rows_on_main_pyiceberg = pyiceberg_count(settings, f"{NAMESPACE}.{table}")
    _check(
        rep.rows_on_main_pyiceberg == rows,
        f"pyiceberg reads {rep.rows_on_main_pyiceberg} rows, expected {rows}",
    )

    # time travel: at the commit before the merge the table did not exist on main
    _, tables_before = run_sql(settings, f"SHOW TABLES FROM {NAMESPACE}", ref=before)
    rep.rows_before_merge_trino = 0 if table not in {r[0] for r in tables_before} else -1
    _check(rep.rows_before_merge_trino == 0, f"time travel to {before[:12]} still shows {table}")

    nessie.delete_branch(branch)
    rep.branch_deleted = not nessie.has_reference(branch)
    _check(rep.branch_deleted, f"branch {branch} still exists after delete")
    rep.seconds["total"] = round(time.monotonic() - t0, 2)
    return rep


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="ga4lake smoke", description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1000)
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    args = p.parse_args(argv)
    rep = run_smoke(rows=args.rows)
    if args.json:
        print(json.dumps(asdict(rep)))
    else:
        print(f"smoke OK: {rows_msg(rep)}", file=sys.stderr)
    return 0


def rows_msg(rep: SmokeReport) -> str:
    return (
        f"Spark ({rep.spark_master}) wrote {rep.rows_on_branch} rows to {rep.table} on branch {rep.branch}; "
        f"main did not see them; merged; Trino read {rep.rows_on_main_trino} and pyiceberg "
        f"{rep.rows_on_main_pyiceberg} rows on main; time travel before the merge showed no table; "
        f"branch deleted; S3 server: {rep.s3}; {rep.seconds}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
