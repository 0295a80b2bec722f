"""Every load audit (``ga4lake.lake.audit``) fails on input built to break exactly it, and the load is
then not published: the target branch's head is unchanged and the load's branch is kept.

The module's lake (its own throw-away Nessie branch, see conftest) first publishes four days of a
consent-heavy site (35 % of sessions consent-denied, so every day has a NULL client_key share near
35 %). Each failing test then loads 2020-11-05 broken one way; since it never reaches the target,
the next test starts from the same four days. The last test publishes a normal consent-heavy day
(2020-11-06) and follows its flag into gold in PostgreSQL.

Three audits cannot be broken by an export file, because the pipeline keeps them true by construction
(landing = bronze, bronze = silver + quarantine + duplicates, non-NULL event keys): those tests run the
load's real steps (as Airflow does) and lose rows or keys on the load branch between two steps, as a
partial write would.

The parity gate is off here (it has its own test in test_lake.py); the audits run before it. The loads
keep their plans, staging files and load lock in a private state directory: they publish only to this
module's branch, so they need not queue behind the shared stack's other loads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import psycopg2
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from pyspark.sql import functions as F

from ga4lake.clients.spark import branch_catalog
from ga4lake.clients.trino import run_sql
from ga4lake.errors import AuditFailed
from ga4lake.load.lock import load_lock
from ga4lake.load.plan import wait_for_open_loads
from ga4lake.load.run import ingest, plan_ingest
from ga4lake.load.steps import open_load, publish, write_bronze, write_gold, write_silver
from ga4lake.sample.cli import main as sample_main

pytestmark = pytest.mark.integration
SCALE = "0.05"
CONSENT = "0.35"  # share of consent-denied sessions of the site (an EU site under Consent Mode)
DAY = "2020-11-05"  # the day every failing test loads (it never reaches the target)
GOOD_DAY = "2020-11-06"


def sample(out: Path, start: str, days: int, *extra: str, scale: str = SCALE) -> Path:
    rc = sample_main(
        ["--start", start, "--days", str(days), "--scale", scale, "--seed", "7", "--out", str(out), *extra]
    )
    assert rc == 0
    return out


def scalar(settings, sql: str, ref: str | None = None) -> int:
    return int(run_sql(settings, sql, ref=ref or settings.lake_branch)[1][0][0] or 0)


@pytest.fixture(autouse=True)
def _no_parity_gate(monkeypatch):
    monkeypatch.setenv("GA4LAKE_PARITY_GATE", "0")


@pytest.fixture(scope="module")
def base(lake, tmp_path_factory):
    """Four published days of a consent-heavy site: the trailing history every test is judged against."""
    src = sample(tmp_path_factory.mktemp("base"), "2020-11-01", 4, "--consent-denied", CONSENT)
    lake = dataclasses.replace(lake, state_dir=tmp_path_factory.mktemp("state"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GA4LAKE_PARITY_GATE", "0")
        res = ingest(lake, str(src))
    assert res.status == "published"
    shares = [c for c in res.report.checks if c.name == "null_client_key_ratio"]
    assert len(shares) == 4 and all(c.passed for c in shares), res.report.render()
    assert all(0.2 < float(c.observed.split()[0]) < 0.5 for c in shares), res.report.render()
    return lake


def assert_blocked_by(err: pytest.ExceptionInfo, audit: str, lake, nessie, head: str) -> AuditFailed:
    """The load failed on ``audit`` alone, named in the message; the target is unchanged."""
    exc = err.value
    failed = {c.name for c in exc.report.failures}
    assert failed == {audit}, exc.report.render()
    msg = str(exc)
    assert f"FAIL {audit}" in msg and "NOT published" in msg
    assert nessie.get_reference(lake.lake_branch).hash == head  # the target never moved
    assert nessie.has_reference(exc.branch)  # kept for inspection
    assert scalar(lake, f"SELECT count(*) FROM silver.events WHERE event_date = DATE '{DAY}'") == 0
    nessie.delete_branch(exc.branch)
    return exc


def load_with(lake, spark, src: Path, after: str, tamper: Callable[[str], None]) -> None:
    """The load's real steps (what ``ingest`` and the Airflow tasks run), with ``tamper(catalog)`` applied
    to the load branch right after step ``after`` (bronze, silver or gold)."""
    with load_lock(lake):
        todo, kinds, _ = plan_ingest(lake, spark, str(src), None, None, False, print)
        wait_for_open_loads(lake, print)
        plan = open_load(lake, todo, kinds, print)
        try:
            for name, step in (
                ("bronze", write_bronze),
                ("silver", write_silver),
                ("gold", write_gold),
            ):
                step(spark, lake, plan)
                if name == after:
                    tamper(branch_catalog(spark, lake, plan.branch))
            publish(spark, lake, plan)
        except BaseException as exc:
            plan.fail(lake, exc)  # as ingest does: the failed load's branch blocks no later load
            raise


def test_volume_drop_fails_the_volume_audit(base, nessie, tmp_path):
    # the same site at a twelfth of its traffic (a lost export shard, a broken tag on most pages)
    src = sample(tmp_path / "small", DAY, 1, scale="0.004")
    head = nessie.get_reference(base.lake_branch).hash
    with pytest.raises(AuditFailed) as err:
        ingest(base, str(src))
    exc = assert_blocked_by(err, "volume_vs_trailing_median", base, nessie, head)
    check = exc.report.failures[0]
    assert check.day == DAY and float(check.observed.split("x")[0]) < 0.2
    assert "median of 4 trailing days" in check.expected


def test_duplicate_event_keys_fail_the_uniqueness_audit(base, nessie, tmp_path):
    # consent-denied pings have no client_key, so their event_key ignores the stream: the same ping
    # sent by a second web stream survives de-duplication (the stream differs) with the same event_key
    src = sample(tmp_path / "dups", DAY, 1, "--consent-denied", CONSENT)
    path = next(src.glob("events_*.parquet"))
    table = pq.read_table(path)
    denied = table.filter(pc.is_null(table.column("user_pseudo_id"))).slice(0, 5)
    assert denied.num_rows == 5
    i = table.schema.get_field_index("stream_id")
    other = denied.set_column(i, table.schema.field(i), pa.array([999] * 5, table.schema.field(i).type))
    pq.write_table(pa.concat_tables([table, other]), path)
    head = nessie.get_reference(base.lake_branch).hash
    with pytest.raises(AuditFailed) as err:
        ingest(base, str(src))
    exc = assert_blocked_by(err, "event_key_unique", base, nessie, head)
    parts = exc.report.failures[0].observed.split()  # "<distinct> distinct / <keys>"
    assert int(parts[3]) - int(parts[0]) == 5


def test_quarantine_share_fails_the_quarantine_audit(base, nessie, tmp_path):
    src = sample(tmp_path / "bad", DAY, 1, "--consent-denied", CONSENT, "--bad-rows", "0.2")
    head = nessie.get_reference(base.lake_branch).hash
    with pytest.raises(AuditFailed) as err:
        ingest(base, str(src))
    exc = assert_blocked_by(err, "quarantine_ratio", base, nessie, head)
    assert 0.15 < float(exc.report.failures[0].observed) < 0.25


def test_null_client_key_spike_fails_the_consent_audit(base, nessie, tmp_path):
    # 85 % of sessions without ids: under the 0.95 ceiling, but far above 2 x the site's own ~35 %
    src = sample(tmp_path / "spike", DAY, 1, "--consent-denied", "0.85")
    head = nessie.get_reference(base.lake_branch).hash
    with pytest.raises(AuditFailed) as err:
        ingest(base, str(src))
    exc = assert_blocked_by(err, "null_client_key_ratio", base, nessie, head)
    check = exc.report.failures[0]
    share = float(check.observed.split()[0])
    limit = float(check.expected.split()[1])
    assert 0.75 < share < 0.95 and 0.5 < limit < share, check
    assert "of 4 trailing days" in check.expected and "events)" in check.observed  # names its figures


def test_every_key_null_fails_the_consent_audit(base, nessie, tmp_path):
    src = sample(tmp_path / "all_null", DAY, 1, "--consent-denied", "1")
    head = nessie.get_reference(base.lake_branch).hash
    with pytest.raises(AuditFailed) as err:
        ingest(base, str(src))
    exc = assert_blocked_by(err, "null_client_key_ratio", base, nessie, head)
    assert exc.report.failures[0].observed.startswith("1.0000")


def test_rows_lost_between_landing_and_bronze_fail_landing_eq_bronze(base, spark, nessie, tmp_path):
    src = sample(tmp_path / "lost_bronze", DAY, 1, "--consent-denied", CONSENT)
    head = nessie.get_reference(base.lake_branch).hash

    def lose_bronze_rows(cat: str) -> None:
        spark.sql(
            f"DELETE FROM {cat}.bronze.events WHERE pmod(xxhash64(event_timestamp, event_name), 20) = 0"
        )

    with pytest.raises(AuditFailed) as err:
        load_with(base, spark, src, "bronze", lose_bronze_rows)
    exc = assert_blocked_by(err, "landing_eq_bronze", base, nessie, head)
    check = exc.report.failures[0]
    assert check.day == DAY and 0 < int(check.observed) < int(check.expected)


def test_rows_lost_in_silver_fail_the_reconciliation(base, spark, nessie, tmp_path):
    src = sample(tmp_path / "lost_silver", DAY, 1, "--consent-denied", CONSENT)
    head = nessie.get_reference(base.lake_branch).hash

    def lose_silver_rows(cat: str) -> None:
        spark.sql(f"DELETE FROM {cat}.silver.events WHERE pmod(xxhash64(event_key), 20) = 0")

    with pytest.raises(AuditFailed) as err:
        load_with(base, spark, src, "gold", lose_silver_rows)
    exc = assert_blocked_by(err, "bronze_eq_silver_quarantine_dups", base, nessie, head)
    check = exc.report.failures[0]
    assert int(check.observed.rsplit("=", 1)[1]) < int(check.expected)


def test_null_event_keys_fail_the_not_null_audit(base, spark, nessie, tmp_path):
    src = sample(tmp_path / "null_keys", DAY, 1, "--consent-denied", CONSENT)
    head = nessie.get_reference(base.lake_branch).hash

    def null_keys(cat: str) -> None:
        # (Spark 4.1 has no Iceberg SQL extensions here, so no UPDATE: delete the rows, append them keyless)
        hit = "pmod(xxhash64(event_key), 50) = 0"
        table = f"{cat}.silver.events"
        rows = (
            spark.table(table)
            .where(hit)
            .withColumn("event_key", F.lit(None).cast("string"))
            .localCheckpoint()
        )
        spark.sql(f"DELETE FROM {table} WHERE {hit}")
        rows.writeTo(table).append()

    with pytest.raises(AuditFailed) as err:
        load_with(base, spark, src, "gold", null_keys)
    exc = assert_blocked_by(err, "event_key_not_null", base, nessie, head)
    assert int(exc.report.failures[0].observed) > 0


def test_a_consent_heavy_day_passes_and_gold_flags_its_pings(base, nessie, tmp_path):
    src = sample(tmp_path / "good", GOOD_DAY, 1, "--consent-denied", CONSENT)
    head = nessie.get_reference(base.lake_branch).hash
    res = ingest(base, str(src))
    assert res.status == "published" and res.main_before == head != res.main_after
    check = next(c for c in res.report.checks if c.name == "null_client_key_ratio" and c.day == GOOD_DAY)
    assert check.passed and 0.2 < float(check.observed.split()[0]) < 0.5, check
    assert "median" in check.expected and "of 4 trailing days" in check.expected  # judged by the median
    null_keys = scalar(
        base,
        f"SELECT count(*) FROM silver.events WHERE event_date = DATE '{GOOD_DAY}' AND client_key IS NULL",
    )
    conn = psycopg2.connect(base.pg_dsn())
    with conn, conn.cursor() as cur:
        cur.execute(
            f"SELECT count(*) FILTER (WHERE consent_denied), count(*) FILTER (WHERE consent_denied IS NULL), "
            f"count(*) FILTER (WHERE consent_denied <> (user_pseudo_id IS NULL)) "
            f"FROM {base.pg_gold_schema}.fact_events WHERE event_date = DATE '{GOOD_DAY}'"
        )
        flagged, unset, inconsistent = cur.fetchone()
    conn.close()
    assert flagged == null_keys > 0 and unset == 0 and inconsistent == 0
