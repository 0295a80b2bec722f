"""Secrets the stack generates for itself, and what Trino is given: the password file line and the rules."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import stat

from ga4lake.clients import secrets as secretfiles
from ga4lake.config import load_settings
from ga4lake.stack.services import trino_rules


def test_a_generated_secret_is_private_made_once_and_then_reused(tmp_path):
    path = tmp_path / "secrets" / "x"
    first = secretfiles.generated_secret(path)
    assert re.fullmatch(r"[0-9a-f]{64}", first) and secretfiles.generated_secret(path) == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["x"]  # no temporary file left behind


def test_the_trino_password_comes_from_the_setting_else_from_the_state_dir(tmp_path):
    s = dataclasses.replace(load_settings({"GA4LAKE_ENV_FILE": "/nonexistent"}), state_dir=tmp_path)
    generated = secretfiles.trino_password(dataclasses.replace(s, trino_password=""))
    assert (tmp_path / "secrets" / "trino_password").read_text() == generated
    assert secretfiles.trino_password(dataclasses.replace(s, trino_password="chosen")) == "chosen"
    # settings loaded later for that state dir carry it, so copies made for another dir still authenticate
    assert load_settings(
        {"GA4LAKE_ENV_FILE": "/nonexistent", "GA4LAKE_STATE_DIR": str(tmp_path)}
    ).trino_password == (generated)


def test_the_password_file_line_is_a_pbkdf2_hash_not_the_password():
    salt = bytes(range(16))
    line = secretfiles.pbkdf2_entry("ga4lake", "s3cret", salt=salt, iterations=1000)
    user, iterations, salt_hex, digest = line.split(":")
    assert (user, iterations, salt_hex) == ("ga4lake", "1000", salt.hex())
    assert digest == hashlib.pbkdf2_hmac("sha1", b"s3cret", salt, 1000, dklen=64).hex()
    assert "s3cret" not in line


def test_rules_give_the_stack_user_only_ref_catalogs_to_own():
    rules = trino_rules("ga4.lake")
    (own, read) = rules["catalogs"]
    assert own == {"user": r"ga4\.lake", "catalog": "ref_[a-z0-9_]+", "allow": "owner"}
    assert read["allow"] == "read-only" and re.fullmatch(read["catalog"], "postgresql")
    assert not re.fullmatch(own["catalog"], "postgresql") and not re.fullmatch(own["catalog"], "ref_x; drop")
    assert rules["impersonation"] == [
        {"original_user": r"ga4\.lake", "new_user": r"ga4\.lake", "allow": True}
    ]
