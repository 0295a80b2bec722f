"""user_id at the bronze edge: keyed hash (= RFC 2104 HMAC-SHA256), NULL or kept; the quarantine follows."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import stat

import pytest

from ga4lake.config import ConfigError, load_settings
from ga4lake.lake.privacy import bronze_user_id, hmac_pads, pii_key, protect_user_id, salt_file
from ga4lake.lake.silver import build_silver
from tests.unit.test_silver import bronze, event

KEY = b"unit-test-key-0123456789"


def rows_with_user_ids(spark):
    return bronze(
        spark,
        [
            event(user="u1", user_id="alice@example.com", ts=1_604_217_600_000_001),
            event(user="u2", user_id="bob", ts=1_604_217_600_000_002),
            event(user="u3", user_id=None, ts=1_604_217_600_000_003),
            # breaks the contract: quarantined with its raw row
            event(user="u4", user_id="carol-42", platform="FRIDGE", ts=1_604_217_600_000_004),
        ],
    )


def expected_hash(value: str, key: bytes = KEY) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def test_hash_is_rfc2104_hmac_sha256(spark):
    df = protect_user_id(rows_with_user_ids(spark), "hash", KEY)
    got = {r.user_pseudo_id: r.user_id for r in df.select("user_pseudo_id", "user_id").collect()}
    assert got == {
        "u1": expected_hash("alice@example.com"),
        "u2": expected_hash("bob"),
        "u3": None,  # NULL stays NULL
        "u4": expected_hash("carol-42"),
    }


def test_hash_depends_on_the_key_and_long_keys_are_hashed_first(spark):
    long_key = b"k" * 100  # longer than SHA-256's block: RFC 2104 hashes it first
    df = rows_with_user_ids(spark)
    a = protect_user_id(df, "hash", KEY).where("user_pseudo_id = 'u2'").first().user_id
    b = protect_user_id(df, "hash", long_key).where("user_pseudo_id = 'u2'").first().user_id
    assert a != b and b == expected_hash("bob", long_key)
    assert hmac_pads(long_key) == hmac_pads(hashlib.sha256(long_key).digest())


def test_drop_nulls_and_keep_keeps_with_the_same_schema(spark):
    df = rows_with_user_ids(spark)
    dropped = protect_user_id(df, "drop", b"")
    kept = protect_user_id(df, "keep", b"")
    assert dropped.schema == df.schema == kept.schema  # column order and types unchanged
    assert dropped.where("user_id IS NOT NULL").count() == 0
    assert dropped.count() == 4
    assert sorted(r.user_id or "" for r in kept.collect()) == ["", "alice@example.com", "bob", "carol-42"]
    # every other column is untouched
    other = [c for c in df.columns if c != "user_id"]
    assert dropped.select(*other).exceptAll(df.select(*other)).count() == 0


def test_hash_without_a_key_or_unknown_mode_is_an_error(spark):
    df = rows_with_user_ids(spark)
    with pytest.raises(ValueError, match="non-empty key"):
        protect_user_id(df, "hash", b"")
    with pytest.raises(ValueError, match="unknown user_id mode"):
        protect_user_id(df, "pseudonymise", KEY)


def test_frame_without_user_id_is_returned_as_is(spark):
    df = rows_with_user_ids(spark).drop("user_id")
    assert protect_user_id(df, "hash", KEY) is df


def test_quarantine_raw_row_carries_the_hash_not_the_raw_value(spark):
    out = build_silver(protect_user_id(rows_with_user_ids(spark), "hash", KEY))
    raw = out.quarantine.collect()
    assert len(raw) == 1
    assert "carol-42" not in raw[0].raw_row
    assert expected_hash("carol-42") in raw[0].raw_row
    assert "user_id" not in out.events.columns  # silver never had it


def test_settings_parse_the_mode():
    assert load_settings({"GA4LAKE_PII_USER_ID": "DROP"}).pii_user_id == "drop"
    assert load_settings({}).pii_user_id == "hash"  # the default (config/defaults.env)
    with pytest.raises(ConfigError, match="GA4LAKE_PII_USER_ID"):
        load_settings({"GA4LAKE_PII_USER_ID": "md5"})


def test_dev_key_is_generated_once_with_0600(tmp_path):
    settings = load_settings({"GA4LAKE_STATE_DIR": str(tmp_path), "GA4LAKE_PII_SALT": ""})
    key = pii_key(settings)
    assert len(key) == 64 and pii_key(settings) == key  # stable across calls (and processes)
    mode = stat.S_IMODE(salt_file(settings).stat().st_mode)
    assert mode == 0o600
    assert stat.S_IMODE(salt_file(settings).parent.stat().st_mode) == 0o700


def test_explicit_key_wins_and_must_be_long_enough(tmp_path):
    settings = load_settings({"GA4LAKE_STATE_DIR": str(tmp_path), "GA4LAKE_PII_SALT": "s" * 32})
    assert pii_key(settings) == b"s" * 32
    assert not salt_file(settings).exists()
    with pytest.raises(ConfigError, match="at least 16"):
        pii_key(dataclasses.replace(settings, pii_salt="short"))


def test_non_loopback_s3_needs_an_explicit_key(tmp_path):
    settings = load_settings(
        {
            "GA4LAKE_STATE_DIR": str(tmp_path),
            "GA4LAKE_S3": "external",
            "GA4LAKE_S3_ENDPOINT": "https://s3.eu-west-1.amazonaws.com",
            "GA4LAKE_PII_SALT": "",
        }
    )
    with pytest.raises(ConfigError, match="not on loopback"):
        pii_key(settings)
    assert not salt_file(settings).exists()


def test_bronze_user_id_follows_the_settings(spark, tmp_path):
    df = rows_with_user_ids(spark)
    base = load_settings({"GA4LAKE_STATE_DIR": str(tmp_path), "GA4LAKE_PII_SALT": "x" * 20})
    hashed = bronze_user_id(df, base).where("user_pseudo_id = 'u2'").first().user_id
    assert hashed == expected_hash("bob", b"x" * 20)
    dropped = bronze_user_id(df, dataclasses.replace(base, pii_user_id="drop"))
    assert dropped.where("user_id IS NOT NULL").count() == 0
    kept = bronze_user_id(df, dataclasses.replace(base, pii_user_id="keep"))
    assert kept.where("user_id = 'bob'").count() == 1
