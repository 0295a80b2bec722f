"""Personal data on the real stack: bronze holds a keyed hash of user_id, and `ga4lake erase` removes one
user_pseudo_id from bronze, silver, the quarantine, gold and PostgreSQL in one atomic Nessie merge."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from pathlib import Path

import psycopg2
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from pyspark.sql import functions as F

from ga4lake.clients.nessie import NessieClient
from ga4lake.clients.spark import branch_catalog
from ga4lake.clients.trino import run_sql
from ga4lake.gold.models import GOLD_TABLES, build_gold
from ga4lake.lake import landing
from ga4lake.lake.privacy import pii_key
from ga4lake.lake.tables import BRONZE_EVENTS, LOAD_MANIFEST, QUARANTINE, SILVER_EVENTS
from ga4lake.load.erase import USER_COLUMNS, erase_user, render
from ga4lake.load.run import ingest
from ga4lake.sample.cli import main as sample_main
from tests.integration.test_gold import pg_counts

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """Two small days whose logged-in users carry a user_id (the sample's is always NULL)."""
    out = tmp_path_factory.mktemp("privacy") / "export"
    args = ["--start", "2020-11-01", "--days", "2", "--scale", "0.05", "--seed", "7", "--out", str(out)]
    assert sample_main([*args, "--bad-rows", "0.01", "--consent-denied", "0.01"]) == 0
    for path in sorted(out.glob("events_*.parquet")):
        table = pq.read_table(path)
        pseudo = table.column("user_pseudo_id")
        # every other user logs in: user_id = a made-up e-mail address derived from the pseudo id
        logged_in = pc.equal(pc.utf8_slice_codeunits(pseudo, -1, None), pa.scalar("1"))
        logged_in = pc.fill_null(
            pc.or_(logged_in, pc.equal(pc.utf8_slice_codeunits(pseudo, -1, None), "3")), False
        )
        emails = pc.binary_join_element_wise("user-", pseudo, "@example.com", "")
        user_id = pc.if_else(logged_in, emails, pa.nulls(len(table), pa.string()))
        idx = table.schema.get_field_index("user_id")
        pq.write_table(table.set_column(idx, table.schema.field(idx), user_id.cast(pa.string())), path)
    return out


def raw_user_ids(data: Path) -> dict[str, str]:
    """user_pseudo_id -> raw user_id in the export files."""
    out = {}
    for path in sorted(data.glob("events_*.parquet")):
        t = pq.read_table(path, columns=["user_pseudo_id", "user_id"]).to_pylist()
        out.update({r["user_pseudo_id"]: r["user_id"] for r in t if r["user_id"]})
    return out


def user_rows(spark, cat: str, table: str, column: str, values: list[str]) -> int:
    return spark.table(f"{cat}.{table}").where(F.col(column).isin(values)).count() if values else 0


@pytest.fixture(scope="module")
def loaded(lake, spark, data, monkeypatch_module, tmp_path_factory):
    """The module's lake with its own state directory: its load lock, plans, staging and generated PII key
    are private, so this module neither waits for nor blocks loads of other modules on the shared stack
    (their branches never meet)."""
    monkeypatch_module.setenv("GA4LAKE_PARITY_GATE", "0")  # parity is test_gold's subject, not ours
    settings = dataclasses.replace(lake, state_dir=tmp_path_factory.mktemp("privacy_state"))
    res = ingest(settings, str(data))
    assert res.status == "published" and len(res.days) == 2
    return settings


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def test_bronze_user_id_is_a_keyed_hash_never_the_raw_value(loaded, spark, data):
    raw = raw_user_ids(data)
    assert len(raw) > 20  # the fixture really has logged-in users
    cat = branch_catalog(spark, loaded, loaded.lake_branch)
    bronze = {
        r.user_pseudo_id: r.user_id
        for r in spark.table(f"{cat}.{BRONZE_EVENTS}")
        .where(F.col("user_id").isNotNull())
        .select("user_pseudo_id", "user_id")
        .distinct()
        .collect()
    }
    assert set(bronze) == set(raw)
    key = pii_key(loaded)
    for pseudo, raw_id in raw.items():
        assert bronze[pseudo] != raw_id
        assert bronze[pseudo] == hmac.new(key, raw_id.encode(), hashlib.sha256).hexdigest()
    # Trino (what analysts and Superset's SQL Lab reach) cannot read a raw user_id in bronze or quarantine
    ids = ", ".join(f"'{v}'" for v in list(raw.values())[:200])
    _, rows = run_sql(
        loaded, f"SELECT count(*) FROM bronze.events WHERE user_id IN ({ids})", ref=loaded.lake_branch
    )
    assert rows[0][0] == 0
    _, rows = run_sql(
        loaded,
        "SELECT count(*) FROM bronze.events WHERE user_id LIKE '%@example.com'",
        ref=loaded.lake_branch,
    )
    assert rows[0][0] == 0
    _, rows = run_sql(
        loaded,
        "SELECT count(*), count_if(raw_row LIKE '%@example.com%') FROM silver.quarantine",
        ref=loaded.lake_branch,
    )
    assert rows[0][0] > 0 and rows[0][1] == 0  # quarantined rows exist; none carries a raw user_id


def _victim(spark, cat: str) -> str:
    """A user with a quarantined row and the most silver events (so every table is exercised)."""
    q = spark.table(f"{cat}.{QUARANTINE}").select(
        F.get_json_object("raw_row", "$.user_pseudo_id").alias("user_pseudo_id")
    )
    silver = spark.table(f"{cat}.{SILVER_EVENTS}")
    best = (
        silver.join(q.distinct(), "user_pseudo_id", "left_semi")
        .groupBy("user_pseudo_id")
        .agg(F.count_distinct("event_date").alias("days"), F.count("*").alias("n"))
        .orderBy(F.desc("days"), F.desc("n"), "user_pseudo_id")
        .first()
    )
    assert best is not None, "fixture has no quarantined row of a known user"
    return best.user_pseudo_id


def per_user_counts(spark, cat: str, table: str, exclude: str):
    return (
        spark.table(f"{cat}.{table}")
        .where(F.col("user_pseudo_id").isNull() | (F.col("user_pseudo_id") != F.lit(exclude)))
        .groupBy("user_pseudo_id")
        .count()
    )


def pg_user_rows(settings, keys: dict[str, list[str]]) -> dict[str, int]:
    conn = psycopg2.connect(settings.pg_dsn())
    out = {}
    with conn.cursor() as cur:
        for name in GOLD_TABLES:
            cur.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
                (settings.pg_gold_schema, name),
            )
            cols = {r[0] for r in cur.fetchall()}
            col = next((c for c in USER_COLUMNS if c in cols), None)
            if col:
                cur.execute(
                    f'SELECT count(*) FROM {settings.pg_gold_schema}."{name}" WHERE "{col}" = ANY(%s)',
                    (keys[col],),
                )
                out[name] = cur.fetchone()[0]
    conn.close()
    return out


def landed_files_holding(settings, spark, cat: str, uid: str, tmp: Path) -> list[str]:
    """Every landed object of the manifest (all versions) whose rows include ``uid``, by reading it."""
    client = landing.s3_client(settings)
    found = []
    for r in spark.table(f"{cat}.{LOAD_MANIFEST}").select("file_name", "landing_uri").distinct().collect():
        for name, uri in landing.landed_parts(r["file_name"], r["landing_uri"]):
            local = tmp / name
            client.download_file(*landing.split_s3(uri), str(local))
            if uid in pq.read_table(local, columns=["user_pseudo_id"]).column(0).to_pylist():
                found.append(uri)
    return sorted(found)


def test_erase_removes_one_user_everywhere_and_keeps_everyone_else(loaded, spark, tmp_path):
    nessie = NessieClient(loaded.nessie_api)
    cat = branch_catalog(spark, loaded, loaded.lake_branch)
    uid = _victim(spark, cat)
    silver = spark.table(f"{cat}.{SILVER_EVENTS}").where(F.col("user_pseudo_id") == uid)
    keys = {
        "user_pseudo_id": [uid],
        "client_key": [r[0] for r in silver.select("client_key").distinct().collect()],
        "session_key": [r[0] for r in silver.select("session_key").distinct().collect() if r[0]],
    }
    assert keys["session_key"]
    before_pg = pg_user_rows(loaded, keys)
    assert before_pg["dim_user"] == 1 and before_pg["fact_sessions"] > 0
    others_before = {
        t: per_user_counts(spark, cat, t, uid).localCheckpoint() for t in (BRONZE_EVENTS, SILVER_EVENTS)
    }
    totals_before = {t: spark.table(f"{cat}.{t}").count() for t in (BRONZE_EVENTS, SILVER_EVENTS, QUARANTINE)}
    head_before = nessie.get_reference(loaded.lake_branch).hash

    dry = erase_user(loaded, uid, dry_run=True, spark=spark)
    assert dry.status == "dry-run" and nessie.get_reference(loaded.lake_branch).hash == head_before
    assert (
        dry.removed[BRONZE_EVENTS] > 0 and dry.removed[QUARANTINE] > 0 and dry.removed["gold.dim_user"] == 1
    )

    res = erase_user(loaded, uid, spark=spark)
    print(render(res, uid))
    lake_removed = {t: n for t, n in res.removed.items() if not t.startswith("postgres ")}
    assert res.status == "erased" and lake_removed == dry.removed and res.days == dry.days
    # the landed originals are not rewritten (docs/privacy.md): erase lists exactly those that hold the user
    holding = landed_files_holding(loaded, spark, cat, uid, tmp_path)
    assert holding and res.landing_files == dry.landing_files == holding

    # one commit on the lake branch, whose parent is the head before: main never showed a half-erased state
    log = nessie.log(loaded.lake_branch, limit=5)
    assert log[0].hash == res.main_after and log[0].properties["ga4lake.erasure_id"] == res.erasure_id
    assert uid not in log[0].message and uid not in str(log[0].properties)
    assert log[1].hash == head_before
    assert not nessie.has_reference(res.erasure_id)

    # zero rows of the user in every lake table ...
    assert user_rows(spark, cat, BRONZE_EVENTS, "user_pseudo_id", [uid]) == 0
    assert user_rows(spark, cat, SILVER_EVENTS, "user_pseudo_id", [uid]) == 0
    q = spark.table(f"{cat}.{QUARANTINE}")
    assert q.where(F.get_json_object("raw_row", "$.user_pseudo_id") == uid).count() == 0
    for name in GOLD_TABLES:
        df = spark.table(f"{cat}.gold.{name}")
        col = next((c for c in USER_COLUMNS if c in df.columns), None)
        if col:
            assert df.where(F.col(col).isin(keys[col])).count() == 0, name
    # ... and in PostgreSQL
    assert res.postgres_left and not any(res.postgres_left.values())
    assert pg_user_rows(loaded, keys) == dict.fromkeys(before_pg, 0)

    # everyone else's rows are untouched
    for table, before in others_before.items():
        after = per_user_counts(spark, cat, table, uid)
        assert after.exceptAll(before).count() == 0 and before.exceptAll(after).count() == 0, table
    for table, total in totals_before.items():
        assert spark.table(f"{cat}.{table}").count() == total - res.removed[table], table

    # gold (aggregates included) equals a full rebuild over the remaining events
    full = build_gold(spark.table(f"{cat}.{SILVER_EVENTS}"))
    for name, expected in full.items():
        actual = spark.table(f"{cat}.gold.{name}").select(*expected.columns)
        assert actual.exceptAll(expected).count() == 0, f"{name}: rows only in the erased gold"
        assert expected.exceptAll(actual).count() == 0, f"{name}: rows only in the full rebuild"
    lake_counts = {name: spark.table(f"{cat}.gold.{name}").count() for name in GOLD_TABLES}
    assert pg_counts(loaded) == lake_counts

    # Nessie history stays consistent: the commit before the erasure still reads (until snapshots expire,
    # docs/privacy.md) and still holds the user — erasure rewrites the present, not the past
    _, rows = run_sql(
        loaded,
        f"SELECT count(*) FROM bronze.events WHERE user_pseudo_id = '{uid}'",
        ref=f"{loaded.lake_branch}@{head_before}",
    )
    assert rows[0][0] == res.removed[BRONZE_EVENTS]

    # a second erasure finds nothing and changes nothing
    again = erase_user(loaded, uid, spark=spark)
    assert again.status == "nothing" and nessie.get_reference(loaded.lake_branch).hash == res.main_after


def test_erase_lists_only_the_landed_files_that_hold_the_user(loaded, spark, tmp_path):
    """A user seen on one of the two days: one landed file holds them, and that is the one listed."""
    cat = branch_catalog(spark, loaded, loaded.lake_branch)
    one_day = (
        spark.table(f"{cat}.{BRONZE_EVENTS}")
        .groupBy("user_pseudo_id")
        .agg(F.count_distinct("_source_file").alias("files"))
        .where((F.col("files") == 1) & F.col("user_pseudo_id").isNotNull())
        .orderBy("user_pseudo_id")
        .first()["user_pseudo_id"]
    )
    dry = erase_user(loaded, one_day, dry_run=True, spark=spark)
    assert len(dry.landing_files) == 1 and dry.landing_files == landed_files_holding(
        loaded, spark, cat, one_day, tmp_path
    )
    assert dry.landing_files[0] in render(dry, one_day)


def test_erase_rejects_a_malformed_id(loaded):
    from ga4lake.load.erase import ErasureError

    with pytest.raises(ErasureError, match="not a user_pseudo_id"):
        erase_user(loaded, "x'; DROP TABLE bronze.events; --")
