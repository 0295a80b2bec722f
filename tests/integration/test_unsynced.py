"""A load that reached main but not PostgreSQL (the process died between the merge and the sync, or
PostgreSQL was down then) is finished by simply re-running the same command: the re-run finds nothing
new to load, syncs the published load, and PostgreSQL equals the lake again — no manual `ga4lake sync`.
"""

from __future__ import annotations

import dataclasses
from datetime import date

import psycopg2
import pytest

from ga4lake.load.plan import LoadPlan, read_plans
from ga4lake.load.run import ingest
from tests.integration.test_rollback import assert_same, lake_fingerprint, pg_fingerprint, sample

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def iso(lake, tmp_path_factory):
    """The module's lake with its own state directory, so its plans and load lock are its own."""
    return dataclasses.replace(lake, state_dir=tmp_path_factory.mktemp("state"))


def _pg_tables(settings) -> set[str]:
    conn = psycopg2.connect(settings.pg_dsn())
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (settings.pg_gold_schema,),
            )
            return {r[0] for r in cur.fetchall()}
    finally:
        conn.close()


def test_a_rerun_syncs_a_load_that_published_without_its_sync(
    iso, nessie, spark, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("GA4LAKE_PARITY_GATE", "0")  # the gate has its own tests; here it only adds minutes
    src = sample(tmp_path / "day", "2020-11-01", 1, seed=11)
    head_before = nessie.get_reference(iso.lake_branch).hash

    monkeypatch.setenv("GA4LAKE_FAULT_AFTER", "load.published")
    with pytest.raises(RuntimeError, match="injected fault after load.published"):
        ingest(iso, str(src))
    (plan,) = [p for p in read_plans(iso) if p.days == [date(2020, 11, 1)]]
    assert plan.phase == "published"
    assert nessie.get_reference(iso.lake_branch).hash != head_before  # on the lake branch …
    assert "fact_sessions" not in _pg_tables(iso)  # … but never synced

    monkeypatch.delenv("GA4LAKE_FAULT_AFTER")
    capsys.readouterr()
    res = ingest(iso, str(src))  # the same command again
    assert res.status == "noop"
    assert res.synced["fact_sessions"] > 0
    assert "never synced to PostgreSQL" in capsys.readouterr().err
    assert LoadPlan.read(iso, plan.load_id).phase == "synced"
    assert_same(pg_fingerprint(spark, iso), lake_fingerprint(spark, iso))

    # nothing left to finish: a third run is a plain no-op
    assert ingest(iso, str(src)).synced == {}
