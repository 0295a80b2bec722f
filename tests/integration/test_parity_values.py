"""Value-level parity catches logic bugs that keep every row count right.

A bug is injected into the gold transform itself (the session aggregate the gold build calls), the load
runs through the real stack, and its pre-publish parity gate must stop it naming the measure — while
every row-count check still passes, which is exactly what row-count parity alone would have let through.
"""

from __future__ import annotations

import pytest
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ga4lake.clients.nessie import NessieClient
from ga4lake.errors import ParityGateFailed
from ga4lake.gold.models import build
from ga4lake.load.run import ingest
from ga4lake.sample.cli import main as sample_main

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("parity_values") / "export"
    # seed 23: 13 purchase events of 10 orders (repeated purchases, so the order-counting bug shows)
    args = ["--start", "2020-11-10", "--days", "2", "--scale", "0.1", "--seed", "23", "--out", str(out)]
    assert sample_main(args) == 0
    return str(out)


def _inject(monkeypatch, bug) -> None:
    original = build.session_base
    monkeypatch.setattr(build, "session_base", lambda *args, **kwargs: bug(original(*args, **kwargs)))


def _engaged_by_engagement_time(sessions: DataFrame) -> DataFrame:
    """A plausible wrong rule: 'engaged' from engagement time instead of GA4's session_engaged flag."""
    return sessions.withColumn("is_engaged", F.col("engagement_time_msec") > F.lit(0))


def _every_purchase_event_an_order(sessions: DataFrame) -> DataFrame:
    """A plausible wrong rule: a repeated purchase of one transaction id counted as another order."""
    return sessions.withColumn("transactions", F.col("purchase_events"))


def _referrals_as_organic_search(sessions: DataFrame) -> DataFrame:
    """A plausible wrong channel rule: referral traffic grouped as Organic Search (a rule order swapped;
    the sample's referral sessions are about a sixth of all)."""
    channel = F.col("session_default_channel_group")
    return sessions.withColumn(
        "session_default_channel_group",
        F.when(channel == F.lit("Referral"), F.lit("Organic Search")).otherwise(channel),
    )


@pytest.mark.parametrize(
    ("bug", "measure"),
    [
        (_engaged_by_engagement_time, "engaged_sessions"),
        (_every_purchase_event_an_order, "orders"),
        (_referrals_as_organic_search, "channel_weighted_sessions"),
    ],
)
def test_a_logic_bug_in_gold_fails_the_gate_on_its_measure(lake, export, monkeypatch, bug, measure) -> None:
    head = NessieClient(lake.nessie_api).get_reference(lake.lake_branch).hash
    _inject(monkeypatch, bug)
    with pytest.raises(ParityGateFailed) as failed:
        ingest(lake, export, force=True)
    report = str(failed.value)
    fails = [line for line in report.splitlines() if line.strip().startswith("FAIL ")]
    # the measure is named; no row count failed (each row-count check is a line ending in "pass")
    assert len(fails) == 1 and f" {measure} than " in fails[0], report
    assert "FAILED (1 of" in report, report
    assert NessieClient(lake.nessie_api).get_reference(lake.lake_branch).hash == head  # nothing published
