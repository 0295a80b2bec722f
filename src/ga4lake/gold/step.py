"""Gold inside a load: build the gold Iceberg tables on the load's branch, so they publish atomically
with bronze and silver (one Nessie merge), then — once on main — sync exactly what changed to Postgres.

The first load builds every table in full; later loads apply the incremental deltas of
:func:`ga4lake.gold.models.build_gold_incremental` (each delta replaces the rows of its scope).
The scopes are kept in the load's plan so the Postgres sync replaces the same rows after the merge.

Re-running the step on the same load (an Airflow retry) writes exactly what one run writes: whether the
build is full or incremental, and the prior dim_page/dim_user the deltas merge into, are read at the load's
start commit, not at the branch head a failed attempt may already have changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ga4lake.config import inject_fault, load_settings
from ga4lake.gold.models import GOLD_TABLES, build_gold, build_gold_incremental
from ga4lake.gold.models.build import PRIOR_TABLES, write_order
from ga4lake.gold.models.stitching import dim_user_stitched, identified_events, user_id_mapping
from ga4lake.lake.tables import BRONZE_EVENTS, SILVER_EVENTS, TABLE_PROPERTIES, overwrite_values
from ga4lake.project import Project, project_of

GOLD_NAMESPACE = "gold"


@dataclass(frozen=True)
class Scope:
    """Which rows of a gold table a load replaced: all of them, or those whose ``column`` is in ``values``."""

    column: str | None
    values: list[Any] | None  # None = the whole table

    @property
    def full(self) -> bool:
        return self.values is None

    def to_json(self) -> dict[str, Any]:
        """The scope as a load's plan stores it (dates as ISO strings); :meth:`from_json` reads it back."""
        dates = bool(self.values) and isinstance(self.values[0], date)  # type: ignore[index]
        values = None if self.values is None else [v.isoformat() if dates else v for v in self.values]
        return {"column": self.column, "values": values, "dates": dates}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Scope:
        values = obj["values"]
        if values is not None and obj.get("dates"):
            values = [date.fromisoformat(v) for v in values]
        return cls(obj["column"], values)


def table_name(catalog: str, name: str) -> str:
    return f"{catalog}.{GOLD_NAMESPACE}.{name}"


def table_at(catalog: str, name: str, branch: str, commit: str) -> str:
    """The gold table ``name`` as it was at Nessie ``commit`` of ``branch`` (read-only, immutable)."""
    return f"{catalog}.{GOLD_NAMESPACE}.`{name}@{branch}#{commit}`"


def _create(df: DataFrame, table: str, partition_col: str | None) -> None:
    writer = df.writeTo(table).using("iceberg")
    if partition_col:
        writer = writer.partitionedBy(F.col(partition_col))
    for k, v in TABLE_PROPERTIES.items():
        if k not in (
            "write.distribution-mode",
            "write.spark.fanout.enabled",
        ):  # gold is aggregated: cluster it
            writer = writer.tableProperty(k, v)
    writer.createOrReplace()


def _replace_scope(
    spark: SparkSession,
    rows: DataFrame,
    table: str,
    column: str,
    values: list[Any],
    partition_col: str | None,
) -> None:
    """Replace the scope's rows by ``rows`` (all inside the scope) on the load branch.

    Scoped by the partition column (8 of the 10 tables): one atomic overwrite whose literal filter drops
    whole partitions from metadata — no data file is read or rewritten. Otherwise (dim_user, dim_page):
    a row-level DELETE, then an append (two commits; the merge to main publishes both at once; a retry
    after a failure between them deletes the same scope again and appends the same rows, because the
    rows never depend on the branch head — see build_on_branch)."""
    if column == partition_col:
        if not values:
            return  # empty scope: the delta is empty by contract
        overwrite_values(rows, table, column, values)
        return
    if values:
        view = f"_scope_{abs(hash((table, column))) % 10**8}"
        vals = spark.createDataFrame(
            [(v,) for v in values], f"`{column}` {rows.schema[column].dataType.simpleString()}"
        )
        vals.createOrReplaceTempView(view)
        spark.sql(f"DELETE FROM {table} WHERE `{column}` IN (SELECT `{column}` FROM {view})")
        spark.catalog.dropTempView(view)
        # test-only (GA4LAKE_FAULT_AFTER=gold.delete.<table>): die between the two commits
        inject_fault(f"gold.delete.{table.rsplit('.', 1)[-1]}")
    rows.writeTo(table).option("mergeSchema", "true").append()


def build_on_branch(
    spark: SparkSession,
    catalog: str,
    branch: str,
    start_commit: str,
    days: list[date],
    kinds: dict[str, str],
    load_id: str,
    project: Project | None = None,
) -> dict[str, Scope]:
    """Write gold for the load's days on its branch; returns the scope each table's sync must replace.

    Everything that decides what is written is read at the load's start commit or from this load's own
    silver: a table missing at the start → full build (createOrReplace); otherwise the deltas merge into
    the prior dim_page/dim_user *at the start commit*. Reading them at the branch head instead would merge
    a retried load's users into rows its earlier attempt already merged (prior + new − context twice).

    ``kinds``: day (ISO) -> new | restatement | reprocess | intraday, as the load planned them.
    ``project``: the modelling rules (ga4lake.yml); None reads the configured file (``GA4LAKE_PROJECT_FILE``)
    here, the edge of the build, before any Spark job, so a bad file stops the load with a message naming
    the key and the models only ever receive its values as arguments."""
    if not start_commit:
        raise ValueError(f"load {load_id}: gold needs the commit its branch started from")
    project = project if project is not None else project_of(load_settings())
    events = spark.table(f"{catalog}.{SILVER_EVENTS}")
    names = {n: table_name(catalog, n) for n in GOLD_TABLES}
    at_start = {n: table_at(catalog, n, branch, start_commit) for n in GOLD_TABLES}
    scopes: dict[str, Scope] = {}
    if not all(spark.catalog.tableExists(t) for t in at_start.values()):
        kept: list[DataFrame] = []

        def keep(df: DataFrame) -> DataFrame:
            kept.append(df.persist(StorageLevel.MEMORY_AND_DISK))
            return kept[-1]

        try:
            for name, df in build_gold(events, keep, project).items():
                _create(df, names[name], GOLD_TABLES[name].partition_col)
                scopes[name] = Scope(None, None)
        finally:
            for df in kept:
                df.unpersist()
        _write_stitched(spark, catalog, project.users.stitching)
        return scopes
    # days that had no rows before can only add to a user's history: dim_user then recomputes just the users
    # active on them; a restated or reprocessed day may remove events, so dim_user is rebuilt whole
    only_new = bool(kinds) and all(kinds.get(d.isoformat()) == "new" for d in days)
    prior = {n: spark.table(at_start[n]) for n in PRIOR_TABLES}
    deltas = build_gold_incremental(events, days, prior=prior, only_new_days=only_new, project=project)
    for name in write_order():
        delta = deltas[name]
        values = [r[0] for r in delta.values.distinct().collect()]
        _replace_scope(spark, delta.rows, names[name], delta.column, values, GOLD_TABLES[name].partition_col)
        scopes[name] = Scope(delta.column, values)
    _write_stitched(spark, catalog, project.users.stitching)
    return scopes


def _write_stitched(spark: SparkSession, catalog: str, stitching: bool) -> None:
    """Opt-in user stitching (ga4lake.yml ``users.stitching``): rebuild ``user_id_mapping`` from bronze's
    user_id and ``dim_user_stitched`` from it and the dim_user just written, in full on every load (see
    ``ga4lake.gold.models.stitching``). Off: nothing is read or written. They are not in GOLD_TABLES, so
    they are not in the returned scopes and the PostgreSQL sync does not copy them."""
    if not stitching:
        return
    mapping = table_name(catalog, "user_id_mapping")
    _create(user_id_mapping(identified_events(spark.table(f"{catalog}.{BRONZE_EVENTS}"))), mapping, None)
    users = spark.table(table_name(catalog, "dim_user"))
    _create(dim_user_stitched(spark.table(mapping), users), table_name(catalog, "dim_user_stitched"), None)
