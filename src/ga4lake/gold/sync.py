"""Sync gold from the lake's main branch into PostgreSQL (schema ``gold``) for dbt, Superset and analysts.

* Only what is published on Nessie main is ever synced (it runs after the merge, reading main).
* One sync publishes all its tables together: every table's rows are first exported from the lake as CSV
  (under ``<state>/sync/``), then ONE PostgreSQL transaction deletes each table's scope (or truncates it
  for a full sync), bulk-loads the new rows with COPY and updates ``_sync_state``. Readers never see
  fact_events of one load beside fact_sessions of another, nor a half-synced table; a sync that dies
  (killed, disk full, PostgreSQL gone) leaves PostgreSQL exactly as the previous sync left it.
* ``gold._sync_state`` records the Nessie commit each table was last synced at. A table whose state is
  not the commit the load started from (a sync was missed or failed) is fully re-synced instead, so
  Postgres converges on main whatever happened before.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ga4lake import pgroles
from ga4lake.clients.postgres import connect
from ga4lake.clients.spark import branch_catalog
from ga4lake.config import Settings
from ga4lake.errors import disk_full
from ga4lake.gold.models import GOLD_TABLES
from ga4lake.gold.step import GOLD_NAMESPACE, Scope
from ga4lake.log import say as _say  # progress lines (stderr; -q hides them)
from ga4lake.sqlident import check_identifier, quote_ident
from ga4lake.stack.process import pid_alive

READER_ROLE = pgroles.READER_ROLE
LITERAL_SCOPE_MAX = 1000  # scopes up to this many values filter the lake scan by literals, larger ones join


def pg_type(dt: T.DataType) -> str:
    if isinstance(dt, T.StringType):
        return "text"
    if isinstance(dt, T.LongType):
        return "bigint"
    if isinstance(dt, T.IntegerType | T.ShortType | T.ByteType):
        return "integer"
    if isinstance(dt, T.DoubleType | T.FloatType):
        return "double precision"
    if isinstance(dt, T.BooleanType):
        return "boolean"
    if isinstance(dt, T.DateType):
        return "date"
    if isinstance(dt, T.TimestampNTZType):
        return "timestamp"
    if isinstance(dt, T.TimestampType):
        return "timestamptz"
    if isinstance(dt, T.DecimalType):
        return f"numeric({dt.precision},{dt.scale})"
    return "jsonb"  # arrays, maps, structs


def _is_complex(dt: T.DataType) -> bool:
    return isinstance(dt, T.ArrayType | T.MapType | T.StructType)


def ensure_schema(conn, settings: Settings) -> None:
    """Schema, sync state, and the dashboards' and Trino's roles with their grants (idempotent)."""
    schema = check_identifier(settings.pg_gold_schema, "gold schema")
    with conn, conn.cursor() as cur:
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        cur.execute(
            f"""CREATE TABLE IF NOT EXISTS {schema}._sync_state (
                   table_name text PRIMARY KEY, nessie_commit text NOT NULL, rows bigint NOT NULL,
                   synced_at timestamptz NOT NULL DEFAULT now())"""
        )
        pgroles.ensure_roles(cur)
        pgroles.grant_connect(cur, settings.pg_gold_db)
        pgroles.grant_schema(cur, schema, GOLD_TABLES)


def _ensure_table(cur, pg_schema: str, name: str, schema: T.StructType) -> None:
    check_identifier(pg_schema, "gold schema")
    cols = ", ".join(f"{quote_ident(f.name)} {pg_type(f.dataType)}" for f in schema.fields)
    cur.execute(f'CREATE TABLE IF NOT EXISTS {pg_schema}."{name}" ({cols})')
    cur.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
        (pg_schema, name),
    )
    existing = {r[0] for r in cur.fetchall()}
    for f in schema.fields:  # gold gained a column (schema evolution): add it, NULL for old rows
        if f.name not in existing:
            cur.execute(
                f'ALTER TABLE {pg_schema}."{name}" ADD COLUMN {quote_ident(f.name)} {pg_type(f.dataType)}'
            )
    _ensure_indexes(cur, pg_schema, name)


def _index_names(name: str) -> tuple[str, str | None]:
    """(primary key constraint, partition-column index or None): the one naming rule of both below."""
    spec = GOLD_TABLES[name]
    indexed = spec.partition_col and spec.partition_col != spec.keys[0]
    return f"{name}_pkey", (f"{name}_{spec.partition_col}_idx" if indexed else None)


def _ensure_indexes(cur, pg_schema: str, name: str) -> None:
    """The primary key (the table's grain) and an index on its partition column."""
    spec = GOLD_TABLES[name]
    pkey, index = _index_names(name)
    pk = ", ".join(f'"{k}"' for k in spec.keys)
    cur.execute(
        "SELECT 1 FROM pg_constraint WHERE conname = %s AND connamespace = %s::regnamespace",
        (pkey, pg_schema),
    )
    if cur.fetchone() is None:
        cur.execute(f'ALTER TABLE {pg_schema}."{name}" ADD CONSTRAINT "{pkey}" PRIMARY KEY ({pk})')
    if index:
        cur.execute(f'CREATE INDEX IF NOT EXISTS "{index}" ON {pg_schema}."{name}" ("{spec.partition_col}")')


def _drop_indexes(cur, pg_schema: str, name: str) -> None:
    """Before a full reload: building the indexes once after COPY is several times faster than
    maintaining them row by row (random text keys)."""
    pkey, index = _index_names(name)
    cur.execute(f'ALTER TABLE {pg_schema}."{name}" DROP CONSTRAINT IF EXISTS "{pkey}"')
    if index:
        cur.execute(f'DROP INDEX IF EXISTS {pg_schema}."{index}"')


def _csv_ready(df: DataFrame) -> DataFrame:
    return df.select(
        *[
            (F.to_json(F.col(f.name)) if _is_complex(f.dataType) else F.col(f.name)).alias(f.name)
            for f in df.schema.fields
        ]
    )


@dataclass(frozen=True)
class Export:
    """One table's rows for PostgreSQL, exported from the lake as CSV files before any transaction opens."""

    name: str
    scope: Scope
    schema: T.StructType
    folder: Path
    previous_rows: int | None  # the count recorded at the load's base commit (then counted, not scanned)


def _scope_column(scope: Scope) -> str:
    """The column a partial scope selects rows by (only a full scope has none)."""
    if scope.column is None:
        raise ValueError(f"a partial scope needs a column: {scope}")
    return scope.column


def scope_rows(spark: SparkSession, df: DataFrame, scope: Scope) -> DataFrame:
    """The rows of ``df`` in ``scope``, in ``df``'s column order (COPY lists the columns in that order)."""
    if scope.full:
        return df
    column = _scope_column(scope)
    if not scope.values:
        return df.limit(0)
    if len(scope.values) <= LITERAL_SCOPE_MAX:
        # literals are pushed into the Iceberg scan: a date scope prunes to its partitions' files, where
        # a join would read every day of a table that grows with history
        return df.where(F.col(column).isin([F.lit(v) for v in scope.values]))
    vals = spark.createDataFrame(
        [(v,) for v in scope.values],
        f"`{column}` {df.schema[column].dataType.simpleString()}",
    )
    # a join on a column name moves that column first: restore the table's order for COPY
    return df.join(F.broadcast(vals), column, "left_semi").select(*df.columns)


def export_table(
    spark: SparkSession, name: str, catalog: str, scope: Scope, work: Path, previous_rows: int | None
) -> Export:
    """Write the rows of one table's scope as CSV under ``work`` (Spark writes CSV the way COPY reads it)."""
    df = spark.table(f"{catalog}.{GOLD_NAMESPACE}.{name}")
    rows_df = scope_rows(spark, df, scope)
    out = work / name
    shutil.rmtree(out, ignore_errors=True)
    # NULL unquoted-empty, empty string "", quotes doubled
    _csv_ready(rows_df).write.option("escape", '"').option(
        "timestampFormat", "yyyy-MM-dd HH:mm:ss.SSSSSSXXX"
    ).csv(str(out))
    return Export(name, scope, df.schema, out, previous_rows)


def _clear_scope(cur, pg_schema: str, exp: Export) -> int:
    """Remove the rows the export replaces: TRUNCATE (and drop the indexes) for a full scope, else DELETE
    the scope's values (joined from a temp table, not a literal list); returns the rows deleted."""
    name, scope = exp.name, exp.scope
    table = f'{pg_schema}."{name}"'
    if scope.full:  # truncated in this transaction: COPY may write frozen rows (no later vacuum)
        cur.execute(f"TRUNCATE {table}")
        _drop_indexes(cur, pg_schema, name)
        return 0
    if not scope.values:
        return 0
    column = _scope_column(scope)
    pgt = pg_type(exp.schema[column].dataType)
    scope_table = f"_scope_{name}"
    cur.execute(f"CREATE TEMP TABLE {scope_table} (v {pgt}) ON COMMIT DROP")
    buf = StringIO("".join(f"{v}\n" for v in scope.values))
    cur.copy_expert(f"COPY {scope_table} (v) FROM STDIN", buf)
    cur.execute(f"DELETE FROM {table} t USING {scope_table} s WHERE t.{quote_ident(column)} = s.v")
    return int(cur.rowcount)


def _copy_rows(cur, pg_schema: str, exp: Export) -> int:
    """COPY the export's CSV parts into the table; returns the rows copied."""
    table = f'{pg_schema}."{exp.name}"'
    cols = ", ".join(quote_ident(f.name) for f in exp.schema.fields)
    options = "FORMAT csv, FREEZE" if exp.scope.full else "FORMAT csv"
    copied = 0
    for part in sorted(exp.folder.glob("part-*")):
        with open(part) as fh:
            cur.copy_expert(f"COPY {table} ({cols}) FROM STDIN WITH ({options})", fh)
            copied += cur.rowcount
    return copied


def rows_after(full: bool, previous_rows: int | None, deleted: int, copied: int) -> int | None:
    """The table's rows after the replacement, derived instead of counted where possible (counting a table
    that grows with history costs a full scan per load); None when only a count can tell (no recorded
    count to start from)."""
    if full:  # truncated first: the table is what was copied
        return copied
    if previous_rows is None:
        return None
    return previous_rows - deleted + copied


def apply_export(cur, pg_schema: str, exp: Export, commit: str) -> int:
    """Replace one table's scope inside the caller's open transaction; returns the table's rows after it."""
    name = exp.name
    _ensure_table(cur, pg_schema, name, exp.schema)
    deleted = _clear_scope(cur, pg_schema, exp)
    copied = _copy_rows(cur, pg_schema, exp)
    if exp.scope.full:
        _ensure_indexes(cur, pg_schema, name)
    total = rows_after(exp.scope.full, exp.previous_rows, deleted, copied)
    if total is None:
        cur.execute(f'SELECT count(*) FROM {pg_schema}."{name}"')
        total = int(cur.fetchone()[0])
    cur.execute(
        f"""INSERT INTO {pg_schema}._sync_state (table_name, nessie_commit, rows, synced_at)
            VALUES (%s, %s, %s, now()) ON CONFLICT (table_name) DO UPDATE
            SET nessie_commit = EXCLUDED.nessie_commit, rows = EXCLUDED.rows, synced_at = now()""",
        (name, commit, total),
    )
    pgroles.grant_table(cur, pg_schema, name)
    return total


def scope_to_sync(
    scope: Scope, recorded: tuple[str | None, int | None] | None, previous_commit: str | None
) -> tuple[Scope, int | None, str | None]:
    """The scope this sync replaces of a table, the table's recorded row count to derive its new count
    from, and why the load's scope was widened to the whole table (None if it was not).

    ``recorded`` is the table's ``_sync_state`` (Nessie commit, rows), None if never synced. A load's
    partial scope is only right on top of the rows it started from: if PostgreSQL holds the table at any
    other commit (a sync was missed or failed) the whole table is replaced, which converges on main. A
    full scope needs no recorded count (the rows are what is copied)."""
    synced_at, rows = recorded or (None, None)
    if scope.full:
        return scope, None, None
    if synced_at != previous_commit:
        why = (
            f"last synced at {str(synced_at)[:12]}, not at the load's base {str(previous_commit)[:12]}"
            " — full re-sync"
        )
        return Scope(None, None), None, why
    return scope, rows, None


def _export(
    spark: SparkSession,
    catalog: str,
    name: str,
    scope: Scope,
    previous_rows: int | None,
    work: Path,
    progress: Callable[[str], None],
) -> Export:
    """:func:`export_table` with its progress line; a full disk becomes its clear error."""
    t0 = time.monotonic()
    try:
        exp = export_table(spark, name, catalog, scope, work, previous_rows)
    except Exception as exc:
        full = disk_full(exc, work)
        if full is None:
            raise
        raise full from exc
    what = "full" if scope.full else f"{len(scope.values or [])} {scope.column} value(s)"
    progress(f"  sync {name}: exported {what} ({time.monotonic() - t0:.1f}s)")
    return exp


def _apply_all(conn, pg_schema: str, exports: list[Export], commit: str) -> dict[str, int]:
    """Apply every export in ONE transaction, so all tables become visible together; rows per table."""
    counts = {}
    with conn, conn.cursor() as cur:
        if any(e.scope.full for e in exports):
            cur.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for exp in exports:
            counts[exp.name] = apply_export(cur, pg_schema, exp, commit)
    return counts


def work_dir(settings: Settings) -> Path:
    """This sync's own folder under ``<state>/sync`` (syncs into different schemas may run at once); folders
    a killed sync left behind (its process is gone) are removed first, so a crash needs no cleanup by hand."""
    root = settings.state_dir / "sync"
    root.mkdir(parents=True, exist_ok=True)
    for old in root.iterdir():
        pid = old.name.split("-", 1)[0]
        if old.is_dir() and (not pid.isdigit() or not pid_alive(int(pid))):
            shutil.rmtree(old, ignore_errors=True)
    work = root / f"{os.getpid()}-{check_identifier(settings.pg_gold_schema, 'gold schema')}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    return work


def sync(
    spark: SparkSession,
    settings: Settings,
    scopes: dict[str, Scope] | None = None,
    previous_commit: str | None = None,
    progress: Callable[[str], None] = _say,
) -> dict[str, int]:
    """Sync gold from the lake branch (main) to Postgres; ``scopes`` None = every table in full.

    Every table is exported from the lake first; then one PostgreSQL transaction replaces all of them and
    their ``_sync_state`` rows, so readers see either the previous sync's tables or this one's, never a mix."""
    from ga4lake.clients.nessie import NessieClient

    commit = NessieClient(settings.nessie_api).get_reference(settings.lake_branch).hash
    catalog = branch_catalog(spark, settings, settings.lake_branch)
    pg_schema = check_identifier(settings.pg_gold_schema, "gold schema")
    work = work_dir(settings)
    conn = connect(settings)
    try:
        ensure_schema(conn, settings)
        with conn, conn.cursor() as cur:
            cur.execute(f"SELECT table_name, nessie_commit, rows FROM {pg_schema}._sync_state")
            recorded = {name: (commit_, rows) for name, commit_, rows in cur.fetchall()}
        exports = []
        for name in GOLD_TABLES:
            wanted = (scopes or {}).get(name, Scope(None, None))
            scope, rows, why = scope_to_sync(wanted, recorded.get(name), previous_commit)
            if why:
                progress(f"  sync {name}: {why}")
            exports.append(_export(spark, catalog, name, scope, rows, work, progress))
        t0 = time.monotonic()
        counts = _apply_all(conn, pg_schema, exports, commit)
        progress(
            f"  sync: {len(counts)} tables committed in one PostgreSQL transaction at {commit[:12]} "
            f"({time.monotonic() - t0:.1f}s): " + ", ".join(f"{k} {v}" for k, v in counts.items())
        )
        return counts
    finally:
        conn.close()
        shutil.rmtree(work, ignore_errors=True)
