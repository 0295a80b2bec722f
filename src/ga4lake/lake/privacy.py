"""Personal data at the bronze edge: what bronze keeps of the export's ``user_id`` (docs/privacy.md).

GA4's ``user_id`` is the site's own login id — directly identifying, unlike ``user_pseudo_id`` (a random
cookie id). Silver and gold never read it, but bronze holds the export rows as they are and the quarantine
copies bronze rows into ``raw_row``; both are readable through Trino. So the bronze write replaces it:

* ``hash`` (default): HMAC-SHA256 of the value under a secret key, as 64 hex characters. Equal ids still
  hash equal (user stitching across devices keeps working inside the lake), but without the key nobody
  can test a guessed id against the hash — a plain, unkeyed sha2 of an e-mail address or a customer
  number is reversed by hashing candidates.
* ``drop``: NULL.
* ``keep``: the raw value, for deployments that stitch users and accept the personal data in bronze.

The HMAC is built from Spark's own ``sha2``/``unhex``/``concat`` (no UDF): the key's inner and outer pads
are fixed bytes computed here, so ``sha2(opad ‖ unhex(sha2(ipad ‖ value)))`` is exactly RFC 2104's HMAC
and equals Python's ``hmac.new(key, value, sha256)`` (tested).
"""

from __future__ import annotations

import hashlib
import ipaddress
from pathlib import Path
from urllib.parse import urlparse

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ga4lake.clients.secrets import generated_secret
from ga4lake.config import ConfigError, Settings

USER_ID = "user_id"
_BLOCK = 64  # SHA-256 block size in bytes (RFC 2104's B)
MIN_SALT_CHARS = 16


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """(inner, outer) padded keys of HMAC-SHA256 (RFC 2104): a key longer than a block is hashed first."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def hmac_sha256(value: Column, key: bytes) -> Column:
    """HMAC-SHA256 of a string column as lower-case hex (NULL stays NULL)."""
    inner, outer = hmac_pads(key)
    inner_digest = F.unhex(F.sha2(F.concat(F.lit(inner), F.encode(value, "UTF-8")), 256))
    return F.sha2(F.concat(F.lit(outer), inner_digest), 256)


def protect_user_id(df: DataFrame, mode: str, key: bytes) -> DataFrame:
    """``df`` with ``user_id`` hashed, NULLed or kept per ``mode`` (hash | drop | keep); column order,
    name and type are unchanged, so bronze's schema is the same in every mode. A frame without the
    column (an export without it) is returned as it is."""
    if mode not in ("hash", "drop", "keep"):
        raise ValueError(f"unknown user_id mode {mode!r}: hash, drop or keep")
    if mode == "keep" or USER_ID not in df.columns:
        return df
    if mode == "hash":
        if not key:
            raise ValueError("hashing user_id needs a non-empty key")
        value = hmac_sha256(F.col(USER_ID).cast("string"), key)
    else:
        value = F.lit(None)
    dtype = df.schema[USER_ID].dataType
    return df.select(*[(value.cast(dtype).alias(c) if c == USER_ID else F.col(c)) for c in df.columns])


# -- the key (I/O edge) ------------------------------------------------------------------------------------


def _loopback(endpoint: str) -> bool:
    host = urlparse(endpoint).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def salt_file(settings: Settings) -> Path:
    return settings.state_dir / "secrets" / "pii_salt"


def pii_key(settings: Settings) -> bytes:
    """The HMAC key: ``GA4LAKE_PII_SALT``, else (a loopback dev stack only) a random key generated once
    into ``<state>/secrets/pii_salt`` with mode 0600. A stack whose S3 is not on loopback must set its own
    key: a generated one would silently differ between machines, and so would every hash."""
    if settings.pii_salt:
        if len(settings.pii_salt) < MIN_SALT_CHARS:
            raise ConfigError(f"GA4LAKE_PII_SALT must be at least {MIN_SALT_CHARS} characters")
        return settings.pii_salt.encode()
    if not _loopback(settings.s3_endpoint):
        raise ConfigError(
            f"GA4LAKE_PII_SALT is empty but S3 ({settings.s3_endpoint}) is not on loopback: set a secret "
            "key of at least 16 characters (e.g. `openssl rand -hex 32`) outside git, or "
            "GA4LAKE_PII_USER_ID=drop (docs/privacy.md)"
        )
    return generated_secret(salt_file(settings)).encode()


def bronze_user_id(df: DataFrame, settings: Settings) -> DataFrame:
    """The bronze write's one call: ``user_id`` as ``GA4LAKE_PII_USER_ID`` says."""
    mode = settings.pii_user_id
    return protect_user_id(df, mode, pii_key(settings) if mode == "hash" else b"")
