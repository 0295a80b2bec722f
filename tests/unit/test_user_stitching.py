"""Opt-in user stitching (issue 19): the ga4lake.yml key, the config-time PII check, user_id_mapping and
dim_user_stitched on hand-computed export rows that go through the real bronze -> silver code."""

from __future__ import annotations

import dataclasses
import hmac
from datetime import UTC, datetime
from decimal import Decimal
from hashlib import sha256
from pathlib import Path

import pytest

from ga4lake.config import load_settings
from ga4lake.errors import UserError
from ga4lake.gold.models import GOLD_TABLES, build_gold
from ga4lake.gold.models.stitching import (
    STITCHED_TABLES,
    dim_user_stitched,
    identified_events,
    user_id_mapping,
)
from ga4lake.lake.privacy import protect_user_id
from ga4lake.project import DEFAULTS, Users, check_stitching, load_project, parse_project, project_of
from tests.unit.conftest import export_bronze, ga4_event

# -- ga4lake.yml -------------------------------------------------------------------------------------------


def test_stitching_is_off_by_default_and_read_when_set():
    assert DEFAULTS.users == Users(stitching=False)
    assert parse_project({"users": {"stitching": True}}).users.stitching is True
    assert parse_project({"users": {"stitching": False}}) == DEFAULTS
    assert parse_project({"users": None}) == DEFAULTS


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"users": {"stitching": "yes"}},
            "ga4lake.yml: users.stitching: expected true or false, got a string",
        ),
        ({"users": {"stitching": 1}}, "ga4lake.yml: users.stitching: expected true or false, got int 1"),
        ({"users": {"stiching": True}}, "ga4lake.yml: users.stiching: unknown key; known: stitching"),
        ({"users": [True]}, "ga4lake.yml: users: expected a mapping of keys, got a list"),
    ],
)
def test_bad_stitching_values_name_the_key(raw, message):
    with pytest.raises(UserError) as err:
        parse_project(raw)
    assert str(err.value).startswith(message)


def test_stitching_with_user_id_dropped_is_refused_at_config_time(tmp_path: Path):
    path = tmp_path / "ga4lake.yml"
    path.write_text("users:\n  stitching: true\n")
    settings = dataclasses.replace(load_settings({}), project_file=path)
    assert project_of(dataclasses.replace(settings, pii_user_id="hash")).users.stitching is True
    assert project_of(dataclasses.replace(settings, pii_user_id="keep")).users.stitching is True
    with pytest.raises(UserError, match=r"ga4lake.yml: users.stitching: .*GA4LAKE_PII_USER_ID=drop"):
        project_of(dataclasses.replace(settings, pii_user_id="drop"))
    check_stitching(load_project(tmp_path / "absent.yml"), "drop")  # off: drop is fine


def test_stitched_tables_are_not_gold_tables():
    """Off by default means invisible by default: the sync, dbt, parity and erasure iterate GOLD_TABLES."""
    assert not {name for name, _, _ in STITCHED_TABLES} & set(GOLD_TABLES)


# -- the models --------------------------------------------------------------------------------------------


def _t(hms: str, day: int = 1) -> datetime:
    return datetime.fromisoformat(f"2024-03-0{day}T{hms}").replace(tzinfo=UTC)


def _ev(hms: str, name: str, user: str | None, sid: int, user_id: str | None, day: int = 1, **kw) -> dict:
    return {**ga4_event(_t(hms, day), name, user, sid, 1, **kw), "user_id": user_id}


def _rows() -> list[dict]:
    return [
        # a.1 logs in as u1, later as u2 (a shared browser): it belongs to u2; its NULL-id events don't count
        _ev("09:00:00", "page_view", "a.1", 1, "u1"),
        _ev("09:05:00", "page_view", "a.1", 1, None),
        _ev("10:00:00", "page_view", "a.1", 2, "u2", day=2),
        _ev("10:01:00", "purchase", "a.1", 2, "u2", day=2, transaction_id="T1", revenue=10.0),
        _ev("11:00:00", "page_view", "a.1", 3, None, day=3),
        # b.2: u2 on another device, a later NULL user_id does not unmap it
        _ev("08:00:00", "page_view", "b.2", 7, "u2"),
        _ev("08:30:00", "purchase", "b.2", 7, "u2", transaction_id="T2", revenue=5.5),
        _ev("12:00:00", "page_view", "b.2", 8, None, day=2),
        # c.3 never logs in: a person of its own
        _ev("07:00:00", "page_view", "c.3", 4, None),
        # consent denied: no client, no person
        _ev("07:30:00", "page_view", None, 5, "u9"),
    ]


@pytest.fixture(scope="module")
def bronze(spark):
    return export_bronze(spark, _rows()).localCheckpoint()


@pytest.fixture(scope="module")
def mapping(bronze):
    return user_id_mapping(identified_events(bronze)).localCheckpoint()


def test_mapping_takes_the_latest_non_null_user_id(mapping):
    got = {r["user_pseudo_id"]: r.asDict() for r in mapping.collect()}
    assert set(got) == {"a.1", "b.2"}  # c.3 never sent one; the consent-denied event has no client
    a, b = got["a.1"], got["b.2"]
    assert (a["user_id"], a["user_ids"]) == ("u2", 2)  # logged in as two users: the later one
    assert (a["first_seen_ts"], a["last_seen_ts"]) == (
        _t("09:00:00").replace(tzinfo=None),
        _t("10:01:00", 2).replace(tzinfo=None),  # the day-3 event has no user_id
    )
    assert (b["user_id"], b["user_ids"], b["last_seen_ts"]) == ("u2", 1, _t("08:30:00").replace(tzinfo=None))
    assert mapping.columns == [
        "user_pseudo_id",
        "client_key",
        "user_id",
        "user_ids",
        "first_seen_ts",
        "last_seen_ts",
    ]


def test_equal_timestamps_are_broken_by_event_key(spark):
    ts = 1_700_000_000_000_000
    identified = spark.createDataFrame(
        [("x", "cx", "early", ts, "k1"), ("x", "cx", "late", ts, "k2"), ("x", "cx", None, ts + 1, "k0")],
        "user_pseudo_id string, client_key string, user_id string, event_timestamp_us long, event_key string",
    )
    for df in (identified, identified.orderBy("event_key", ascending=False)):
        assert [tuple(r) for r in user_id_mapping(df).select("user_id", "user_ids").collect()] == [
            ("late", 2)
        ]


def test_mapping_holds_the_hash_never_the_raw_id_under_hash(bronze):
    key = b"k" * 32
    hashed = user_id_mapping(identified_events(protect_user_id(bronze, "hash", key)))
    ids = {r["user_pseudo_id"]: r["user_id"] for r in hashed.collect()}
    assert ids == {u: hmac.new(key, b"u2", sha256).hexdigest() for u in ("a.1", "b.2")}


def test_bronze_without_user_id_maps_nobody(bronze):
    assert user_id_mapping(identified_events(bronze.drop("user_id"))).count() == 0
    assert user_id_mapping(identified_events(protect_user_id(bronze, "drop", b""))).count() == 0


def test_dim_user_stitched_groups_clients_by_person(to_silver, mapping):
    users = build_gold(to_silver(_rows()))["dim_user"]
    stitched = dim_user_stitched(mapping, users)
    got = {r["person_key"]: r.asDict() for r in stitched.collect()}
    assert set(got) == {"u2", "c.3"}
    u2, c3 = got["u2"], got["c.3"]
    assert (u2["identified"], u2["clients"], u2["sessions"], u2["transactions"]) == (True, 2, 5, 2)
    assert u2["purchase_revenue_in_usd"] == Decimal("15.50")
    assert u2["first_seen_ts"] == _t("08:00:00").replace(tzinfo=None)
    # a.1's unidentified day-3 event counts: the person is everything its clients did
    assert u2["last_seen_ts"] == _t("11:00:00", 3).replace(tzinfo=None)
    assert (c3["identified"], c3["clients"], c3["sessions"], c3["transactions"]) == (False, 1, 1, 0)
    assert stitched.columns == [
        "person_key", "identified", "clients", "first_seen_ts", "last_seen_ts",
        "sessions", "transactions", "purchase_revenue_in_usd",
    ]  # fmt: skip


def test_the_gold_step_reads_and_writes_nothing_when_stitching_is_off(spark):
    """Off: not even the bronze table is looked up (this catalog does not exist, so any read would fail)."""
    from ga4lake.gold.step import _write_stitched

    assert _write_stitched(spark, "no_such_catalog", False) is None
    with pytest.raises(Exception, match="no_such_catalog"):
        _write_stitched(spark, "no_such_catalog", True)
