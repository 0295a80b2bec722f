"""Gold on the real stack: built on the load branch, published with silver, synced to PostgreSQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import psycopg2
import pytest

from ga4lake.clients.spark import branch_catalog
from ga4lake.config import load_env
from ga4lake.gold.models import GOLD_TABLES, build_gold
from ga4lake.gold.sync import sync
from ga4lake.lake.tables import SILVER_EVENTS
from ga4lake.load.run import ingest
from ga4lake.sample.cli import main as sample_main

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gold") / "export"
    args = ["--start", "2020-11-01", "--days", "9", "--scale", "0.05", "--seed", "11", "--out", str(out)]
    assert sample_main([*args, "--consent-denied", "0.01", "--duplicates", "0.005"]) == 0
    return out


def pg_counts(settings) -> dict[str, int]:
    conn = psycopg2.connect(settings.pg_dsn())
    with conn.cursor() as cur:
        out = {}
        for name in GOLD_TABLES:
            cur.execute(f'SELECT count(*) FROM {settings.pg_gold_schema}."{name}"')
            out[name] = cur.fetchone()[0]
    conn.close()
    return out


def lake_counts(spark, settings) -> dict[str, int]:
    cat = branch_catalog(spark, settings, settings.lake_branch)
    return {name: spark.table(f"{cat}.gold.{name}").count() for name in GOLD_TABLES}


def test_first_load_builds_gold_and_syncs_postgres(lake, spark, data):
    res = ingest(lake, str(data), end=date(2020, 11, 7))
    assert res.status == "published"
    assert 0 < res.seconds["parity_gate"] <= res.seconds["audit_publish"]  # the gate ran and is timed
    iceberg = lake_counts(spark, lake)
    assert all(n > 0 for n in iceberg.values()), iceberg
    assert res.synced == iceberg
    assert pg_counts(lake) == iceberg


def test_incremental_day_equals_full_rebuild_and_sync_follows(lake, spark, data):
    res = ingest(lake, str(data))  # days 8 and 9: incremental
    assert res.status == "published" and set(res.kinds.values()) == {"new"}
    cat = branch_catalog(spark, lake, lake.lake_branch)
    full = build_gold(spark.table(f"{cat}.{SILVER_EVENTS}"))
    for name, expected in full.items():
        actual = spark.table(f"{cat}.gold.{name}").select(*expected.columns)
        assert actual.exceptAll(expected).count() == 0, f"{name}: rows only in the incremental table"
        assert expected.exceptAll(actual).count() == 0, f"{name}: rows only in the full rebuild"
    assert pg_counts(lake) == lake_counts(spark, lake)
    # the counts the sync records without scanning (before − deleted + copied) are the real ones
    assert res.synced == pg_counts(lake)


def test_sessions_match_silver_session_keys_and_business_rules(lake, spark):
    cat = branch_catalog(spark, lake, lake.lake_branch)
    keys = spark.sql(f"SELECT count(DISTINCT session_key) FROM {cat}.{SILVER_EVENTS}").first()[0]
    sessions = spark.table(f"{cat}.gold.fact_sessions").count()
    assert abs(sessions - keys) / keys <= 0.005
    conn = psycopg2.connect(lake.pg_dsn())
    with conn.cursor() as cur:
        s = lake.pg_gold_schema
        cur.execute(f"""SELECT count(*) FROM (SELECT event_date, stage_order, closed_sessions,
                        lag(closed_sessions) OVER (PARTITION BY event_date ORDER BY stage_order) AS prev
                        FROM {s}.agg_funnel_daily) f WHERE prev IS NOT NULL AND closed_sessions > prev""")
        assert cur.fetchone()[0] == 0, "closed funnel must be monotone per day"
        cur.execute(f"""SELECT count(*) FROM {s}.agg_retention_daily
                        WHERE day_n = 0 AND returning_users <> cohort_users""")
        assert cur.fetchone()[0] == 0, "day 0 of each cohort is the cohort"
    conn.close()


def test_resync_changes_nothing_and_repairs_postgres(lake, spark):
    before = pg_counts(lake)
    conn = psycopg2.connect(lake.pg_dsn())
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(
            f"DELETE FROM {lake.pg_gold_schema}.fact_sessions WHERE ctid IN "
            f"(SELECT ctid FROM {lake.pg_gold_schema}.fact_sessions LIMIT 5)"
        )
    conn.close()
    assert pg_counts(lake)["fact_sessions"] == before["fact_sessions"] - 5
    assert sync(spark, lake, progress=lambda _m: None) == before
    assert pg_counts(lake) == before
    assert sync(spark, lake, progress=lambda _m: None) == before


def test_reader_role_can_read_but_not_write(lake):
    conn = psycopg2.connect(
        host=lake.pg_host,
        port=lake.ports.postgres,
        dbname=lake.pg_gold_db,
        user="ga4lake_reader",
        password=load_env()["GA4LAKE_PG_READER_PASSWORD"],
    )
    with conn.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {lake.pg_gold_schema}.fact_sessions")
        assert cur.fetchone()[0] > 0
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute(f"DELETE FROM {lake.pg_gold_schema}.fact_sessions")
    conn.close()


def test_report_numbers_equal_gold(lake, spark):
    from ga4lake.report import build_report

    rep = build_report(lake)
    cat = branch_catalog(spark, lake, lake.lake_branch)
    funnel = {
        r.stage: (r.o, r.c)
        for r in spark.sql(
            f"SELECT stage, sum(open_sessions) AS o, sum(closed_sessions) AS c FROM {cat}.gold.agg_funnel_daily "
            "GROUP BY stage"
        ).collect()
    }
    assert {f["stage"]: (f["open_sessions"], f["closed_sessions"]) for f in rep.funnel} == funnel
    assert (
        rep.sessions == spark.sql(f"SELECT sum(sessions) FROM {cat}.gold.agg_traffic_source_daily").first()[0]
    )
    assert rep.funnel[0]["stage"] == "session_start" and rep.funnel[-1]["stage"] == "purchase"
    assert rep.retention["d1_pct"] is not None and 0 <= rep.retention["d1_pct"] <= 100
