"""Erase one ``user_pseudo_id`` from the lake and from PostgreSQL (a GDPR erasure request).

One load-like operation, write–audit–publish like a load (docs/privacy.md):

1. under the load lock, after any open load has finished, a Nessie branch ``erase_<time>`` is created
   from the lake branch (main);
2. on it the user's rows are deleted from ``bronze.events``, ``silver.events`` and ``silver.quarantine``
   (matched on the ``user_pseudo_id`` inside ``raw_row``) — Iceberg copy-on-write deletes, so the current
   snapshot's data files no longer contain them;
3. gold is recomputed for the days the user's silver events touched with the gold step's own incremental
   builder (``gold.step.build_on_branch`` as for a reprocessed day: dim_user is rebuilt whole), which by the
   incremental contract equals a full rebuild over the remaining events;
4. checks on the branch: no row of the user is left in any lake table and every other row of bronze,
   silver and the quarantine is still there (counts before − removed = after); any failure deletes the
   branch and leaves main untouched;
5. one atomic Nessie merge into main (readers never see a half-erased lake), the branch is deleted, and
   PostgreSQL gold is re-synced with the function ``ga4lake sync`` uses (scoped to what gold replaced).

The user id is never written to a Nessie commit or a state file: the commit carries the erasure id and
days only. Earlier Nessie commits and Iceberg snapshots still reference the old data files until they
expire (docs/privacy.md, "What erasure does not do").
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from ga4lake.clients.nessie import NessieClient
from ga4lake.clients.postgres import connect as pg_connect
from ga4lake.clients.spark import branch_catalog, get_spark
from ga4lake.config import Settings
from ga4lake.errors import LoadError
from ga4lake.gold import step as gold_step
from ga4lake.gold import sync as gold_sync
from ga4lake.gold.models import GOLD_TABLES
from ga4lake.lake import landing
from ga4lake.lake.tables import BRONZE_EVENTS, LOAD_MANIFEST, QUARANTINE, SILVER_EVENTS, latest_manifest
from ga4lake.load.lock import load_lock
from ga4lake.load.plan import wait_for_open_loads
from ga4lake.log import say as _say  # progress lines (stderr; -q hides them)

# GA4 user_pseudo_id: web "1005694.5834348403", app instance ids (hex); checked before it enters any SQL
USER_PSEUDO_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,200}$")
# the gold columns that tie a row to one user, most direct first
USER_COLUMNS = ("user_pseudo_id", "client_key", "session_key")


class ErasureError(LoadError):
    """The erasure could not complete; main is unchanged."""


@dataclass
class Erasure:
    erasure_id: str
    status: str  # erased | nothing | dry-run
    days: list[date] = field(default_factory=list)
    removed: dict[str, int] = field(default_factory=dict)  # table -> rows of the user removed
    recomputed: list[str] = field(default_factory=list)  # gold aggregates recomputed for ``days``
    postgres_left: dict[str, int] = field(default_factory=dict)  # gold table -> rows of the user left
    main_before: str = ""
    main_after: str = ""
    landing_files: list[str] = field(default_factory=list)  # landed export files that hold the user's rows
    other_refs: list[str] = field(default_factory=list)  # branches/tags that may still hold the user
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "days": [d.isoformat() for d in self.days]}


def check_user_pseudo_id(value: str) -> str:
    if not USER_PSEUDO_ID.match(value or ""):
        raise ErasureError(
            f"not a user_pseudo_id: {value!r} (expected 1-200 characters of letters, digits, '.', ':', '_', '-')"
        )
    return value


# -- finding the user (pure DataFrame -> DataFrame) --------------------------------------------------------


def quarantine_user() -> Column:
    """The quarantine keeps the raw bronze row as JSON: its ``user_pseudo_id`` says whose it is."""
    return F.get_json_object(F.col("raw_row"), "$.user_pseudo_id")


def gold_user_filter(table: DataFrame, keys: dict[str, list[str]]) -> Column | None:
    """A filter for the rows of a gold table that belong to the user (by its most direct user column),
    or None for tables without one (aggregates: recomputed instead)."""
    for col in USER_COLUMNS:
        if col in table.columns:
            values = keys[col]
            return F.col(col).isin(*[F.lit(v) for v in values]) if values else F.lit(False)
    return None


def user_keys(silver: DataFrame, uid: str) -> tuple[dict[str, list[str]], list[date]]:
    """The user's client and session keys and the event dates of their silver rows."""
    mine = silver.where(F.col("user_pseudo_id") == F.lit(uid))
    rows = mine.select("client_key", "session_key", "event_date").distinct().collect()
    keys = {
        "user_pseudo_id": [uid],
        "client_key": sorted({r.client_key for r in rows if r.client_key}),
        "session_key": sorted({r.session_key for r in rows if r.session_key}),
    }
    return keys, sorted({r.event_date for r in rows})


# -- the operation ----------------------------------------------------------------------------------------


@dataclass
class _Found:
    days: list[date]
    keys: dict[str, list[str]]
    lake: dict[str, int]  # lake table -> user's rows
    totals: dict[str, int]  # bronze/silver/quarantine -> all rows
    bronze_days: list[date]


def _find(spark: SparkSession, cat: str, uid: str, keys: dict[str, list[str]] | None = None) -> _Found:
    """The user's rows per table; ``keys``: the user's keys found before the erasure (after it, silver no
    longer says which client and session keys were theirs)."""
    silver = spark.table(f"{cat}.{SILVER_EVENTS}")
    found_keys, days = user_keys(silver, uid)
    keys = keys or found_keys
    bronze = spark.table(f"{cat}.{BRONZE_EVENTS}")
    bronze_days = sorted(
        r[0]
        for r in bronze.where(F.col("user_pseudo_id") == F.lit(uid))
        .select("_shard_date")
        .distinct()
        .collect()
    )
    lake = {
        BRONZE_EVENTS: bronze.where(F.col("user_pseudo_id") == F.lit(uid)).count(),
        SILVER_EVENTS: silver.where(F.col("user_pseudo_id") == F.lit(uid)).count(),
    }
    totals = {BRONZE_EVENTS: bronze.count(), SILVER_EVENTS: silver.count()}
    if spark.catalog.tableExists(f"{cat}.{QUARANTINE}"):
        q = spark.table(f"{cat}.{QUARANTINE}")
        lake[QUARANTINE] = q.where(quarantine_user() == F.lit(uid)).count()
        totals[QUARANTINE] = q.count()
        days = sorted(
            set(days)
            | {
                r[0]
                for r in q.where(quarantine_user() == F.lit(uid)).select("event_date").distinct().collect()
            }
        )
    for name in GOLD_TABLES:
        table = f"{cat}.{gold_step.GOLD_NAMESPACE}.{name}"
        if not spark.catalog.tableExists(table):
            continue
        df = spark.table(table)
        cond = gold_user_filter(df, keys)
        if cond is not None:
            lake[f"gold.{name}"] = df.where(cond).count()
    return _Found(days, keys, lake, totals, bronze_days)


def user_source_files(bronze: DataFrame, uid: str) -> DataFrame:
    """The export parts (bronze's ``_source_file``) that delivered rows of the user: bronze keeps every
    row of every current part as delivered, so these are exactly the current landed parts holding them."""
    return bronze.where(F.col("user_pseudo_id") == F.lit(uid)).select(F.col("_source_file")).distinct()


def landing_uris(part_names: Iterable[str], manifest: dict[date, dict]) -> list[str]:
    """The landing objects of ``part_names`` per the newest manifest entry of their day."""
    found: set[str] = set()
    for name in part_names:
        shard = landing.parse_name(name)
        entry = manifest.get(shard.shard_date) if shard else None
        if entry is None:
            raise ErasureError(f"bronze names the export part {name!r}, which no manifest entry lists")
        found.update(
            u for n, u in landing.landed_parts(entry["file_name"], entry["landing_uri"]) if n == name
        )
    return sorted(found)


def _superseded_with_user(settings: Settings, spark: SparkSession, cat: str, uid: str) -> list[str]:
    """Landed parts of superseded versions of restated days (no longer in bronze) that hold the user,
    found by reading them: the landing zone keeps every version a restatement replaced."""
    table = f"{cat}.{LOAD_MANIFEST}"
    if not spark.catalog.tableExists(table):
        return []
    current = {(d, m["landing_uri"]) for d, m in latest_manifest(spark, cat).items()}
    old = {
        (r["shard_date"], r["file_name"], r["landing_uri"])
        for r in spark.table(table).select("shard_date", "file_name", "landing_uri").collect()
        if (r["shard_date"], r["landing_uri"]) not in current
    }
    if not old:
        return []
    client = landing.s3_client(settings)
    hits = []
    with tempfile.TemporaryDirectory(prefix="ga4lake-erase-") as tmp:
        for _, file_name, landing_uri in sorted(old):
            for name, uri in landing.landed_parts(file_name, landing_uri):
                local = Path(tmp) / name
                client.download_file(*landing.split_s3(uri), str(local))
                rows, _ = landing.read_validated(local, allow_empty=True)
                if uid in set(rows.column("user_pseudo_id").to_pylist()):
                    hits.append(uri)
                local.unlink()
    return sorted(hits)


def _landing_files(settings: Settings, spark: SparkSession, cat: str, uid: str) -> list[str]:
    """Exactly the landed original export files that hold rows of the user (erasure does not rewrite
    them, docs/privacy.md): the current parts from bronze, superseded versions by reading them."""
    bronze = spark.table(f"{cat}.{BRONZE_EVENTS}")
    names = [r[0] for r in user_source_files(bronze, uid).collect()]
    current = landing_uris(names, latest_manifest(spark, cat))
    return sorted({*current, *_superseded_with_user(settings, spark, cat, uid)})


def _delete_lake_rows(spark: SparkSession, cat: str, uid: str, found: _Found) -> None:
    """Copy-on-write DELETEs (Iceberg's default for these tables): the rewritten files lack the rows."""
    if found.lake.get(BRONZE_EVENTS):
        shard_days = ", ".join(f"DATE '{d}'" for d in found.bronze_days)
        spark.sql(
            f"DELETE FROM {cat}.{BRONZE_EVENTS} WHERE _shard_date IN ({shard_days}) AND user_pseudo_id = '{uid}'"
        )
    if found.lake.get(SILVER_EVENTS) or found.lake.get(QUARANTINE):
        day_list = ", ".join(f"DATE '{d}'" for d in found.days)
        if found.lake.get(SILVER_EVENTS):
            spark.sql(
                f"DELETE FROM {cat}.{SILVER_EVENTS} WHERE event_date IN ({day_list}) AND user_pseudo_id = '{uid}'"
            )
        if found.lake.get(QUARANTINE):
            spark.sql(
                f"DELETE FROM {cat}.{QUARANTINE} WHERE event_date IN ({day_list}) "
                f"AND get_json_object(raw_row, '$.user_pseudo_id') = '{uid}'"
            )


def _check(before: _Found, after: _Found) -> list[str]:
    """What is wrong with the branch after the erasure (empty: publishable)."""
    problems = [f"{t}: {n} row(s) of the user left" for t, n in after.lake.items() if n]
    for table, total in before.totals.items():
        expected = total - before.lake.get(table, 0)
        if after.totals.get(table) != expected:
            problems.append(
                f"{table}: {after.totals.get(table)} rows, expected {expected} ({total} − erased)"
            )
    return problems


def _postgres_left(settings: Settings, keys: dict[str, list[str]]) -> dict[str, int]:
    """Rows of the user per gold table in PostgreSQL (after the sync: all zero)."""
    conn = pg_connect(settings)
    out = {}
    try:
        with conn, conn.cursor() as cur:
            for name in GOLD_TABLES:
                cur.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = %s AND table_name = %s",
                    (settings.pg_gold_schema, name),
                )
                cols = {r[0] for r in cur.fetchall()}
                col = next((c for c in USER_COLUMNS if c in cols), None)
                if col is None:
                    continue
                cur.execute(
                    f'SELECT count(*) FROM {settings.pg_gold_schema}."{name}" WHERE "{col}" = ANY(%s)',
                    (keys[col] or [""],),
                )
                out[name] = cur.fetchone()[0]
    finally:
        conn.close()
    return out


def _erase_insights(settings: Settings, uid: str) -> dict[str, int]:
    """The dashboard's dbt tables in PostgreSQL that hold user_pseudo_id (``insights.session_segments``):
    the user's rows are deleted now; the aggregated insight tables (no user column) change by that user
    only at their next rebuild (``ga4lake dashboard refresh`` or ``ga4lake validate``)."""
    from ga4lake.clients.postgres import insights_schema

    schema = insights_schema(settings.pg_gold_schema)
    conn = pg_connect(settings)
    out = {}
    try:
        with conn, conn.cursor() as cur:
            cur.execute(
                "SELECT table_name FROM information_schema.columns WHERE table_schema = %s "
                "AND column_name = 'user_pseudo_id' AND table_name IN "
                "(SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                "AND table_type = 'BASE TABLE')",
                (schema, schema),
            )
            for (name,) in sorted(cur.fetchall()):
                cur.execute(f'DELETE FROM {schema}."{name}" WHERE user_pseudo_id = %s', (uid,))
                out[f"{schema}.{name}"] = cur.rowcount
    finally:
        conn.close()
    return out


def erase_user(
    settings: Settings,
    user_pseudo_id: str,
    dry_run: bool = False,
    progress: Callable[[str], None] = _say,
    spark: SparkSession | None = None,
) -> Erasure:
    """Erase every row of ``user_pseudo_id`` from the lake branch (main) and PostgreSQL gold."""
    uid = check_user_pseudo_id(user_pseudo_id)
    t0 = time.monotonic()
    nessie = NessieClient(settings.nessie_api)
    target = settings.lake_branch
    erasure_id = f"erase_{datetime.now():%Y%m%dT%H%M%S%f}"[:-3]
    with load_lock(settings):
        wait_for_open_loads(settings, progress)  # a load merging after us would conflict, not re-add rows
        spark = spark or get_spark(settings, app_name="ga4lake-erase")
        main_before = nessie.get_reference(target).hash
        result = Erasure(erasure_id, "dry-run" if dry_run else "erased", main_before=main_before)
        result.other_refs = sorted(r.name for r in nessie.list_references() if r.name != target)
        if dry_run:
            found = _find(spark, branch_catalog(spark, settings, target), uid)
            result.days, result.removed = found.days, {t: n for t, n in found.lake.items()}
            result.landing_files = _landing_files(
                settings, spark, branch_catalog(spark, settings, target), uid
            )
            result.main_after = main_before
            result.seconds = round(time.monotonic() - t0, 1)
            return result
        nessie.create_branch(erasure_id, target, main_before)
        try:
            cat = branch_catalog(spark, settings, erasure_id)
            before = _find(spark, cat, uid)
            result.days = before.days
            result.landing_files = _landing_files(settings, spark, cat, uid)
            if not any(before.lake.values()):
                nessie.delete_branch(erasure_id)
                result.status, result.main_after = "nothing", main_before
                progress(f"{uid!s}: no rows on {target}; nothing to erase")
                result.seconds = round(time.monotonic() - t0, 1)
                return result
            progress(
                f"{erasure_id}: erasing one user_pseudo_id from {len(before.days)} day(s) on {erasure_id}"
            )
            _delete_lake_rows(spark, cat, uid, before)
            scopes: dict[str, gold_step.Scope] = {}
            if before.days and all(
                spark.catalog.tableExists(f"{cat}.{gold_step.GOLD_NAMESPACE}.{n}") for n in GOLD_TABLES
            ):
                kinds = {d.isoformat(): "reprocess" for d in before.days}  # rows removed: not an append
                scopes = gold_step.build_on_branch(
                    spark, cat, erasure_id, main_before, before.days, kinds, erasure_id
                )
                result.recomputed = [n for n in GOLD_TABLES if f"gold.{n}" not in before.lake]
            after = _find(spark, cat, uid, before.keys)
            problems = _check(before, after)
            if problems:
                raise ErasureError(
                    f"erasure {erasure_id} NOT published ({'; '.join(problems)}); {target} is unchanged"
                )
            result.removed = dict(before.lake)
            head = nessie.merge(
                erasure_id,
                target,
                message=f"ga4lake {erasure_id}: erase one user_pseudo_id ({len(before.days)} day(s))",
                properties={
                    "ga4lake.erasure_id": erasure_id,
                    "ga4lake.days": ",".join(d.isoformat() for d in before.days),
                },
            )
        finally:
            # a failed erasure's branch is deleted, not kept: it would be one more reference to the data
            if nessie.has_reference(erasure_id):
                nessie.delete_branch(erasure_id)
        result.main_after = head.hash
        progress(f"erased on {target} ({main_before[:12]} -> {head.hash[:12]}); syncing PostgreSQL gold")
        try:
            gold_sync.sync(spark, settings, scopes or None, previous_commit=main_before, progress=progress)
        except Exception as exc:
            raise ErasureError(
                f"{erasure_id} is published on {target}, but the PostgreSQL sync failed: {exc}. "
                "Re-run `ga4lake sync` (PostgreSQL still holds the user's gold rows until it succeeds)."
            ) from exc
        result.postgres_left = _postgres_left(settings, before.keys)
        result.removed.update({f"postgres {t}": n for t, n in _erase_insights(settings, uid).items()})
        result.seconds = round(time.monotonic() - t0, 1)
        log = settings.state_dir / "erasures" / f"{erasure_id}.json"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(json.dumps(result.as_dict(), indent=2, default=str))  # no user id in it
        return result


def _some(names: list[str], shown: int = 8) -> str:
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" … and {more} more (`ga4lake branches`)" if more > 0 else "")


def render(result: Erasure, uid: str) -> str:
    """What the erasure removed, per table, and what still holds the user's data."""
    verb = "would remove" if result.status == "dry-run" else "removed"
    lines = [f"{result.erasure_id}: user_pseudo_id {uid} — {result.status}"]
    if result.days:
        lines.append(f"  days: {', '.join(d.isoformat() for d in result.days)}")
    for table, n in sorted(result.removed.items()):
        lines.append(f"  {verb} {n:>8} row(s) from {table}")
    if result.recomputed:
        lines.append(f"  recomputed for those days: {', '.join('gold.' + n for n in result.recomputed)}")
    if result.postgres_left:
        left = sum(result.postgres_left.values())
        lines.append(f"  PostgreSQL gold re-synced: {left} row(s) of the user left")
    if result.main_after and result.main_after != result.main_before:
        lines.append(f"  main {result.main_before[:12]} -> {result.main_after[:12]}")
    if result.landing_files:
        lines.append(
            f"  NOT erased: {len(result.landing_files)} landed original export file(s) still hold the user's "
            "raw rows (docs/privacy.md: landing zone):"
        )
        lines += [f"    {uri}" for uri in result.landing_files]
    lines.append(
        "  NOT erased yet: earlier Nessie commits/Iceberg snapshots until table maintenance expires them (docs/privacy.md)"
        + (f"; other references: {_some(result.other_refs)}" if result.other_refs else "")
    )
    return "\n".join(lines)
