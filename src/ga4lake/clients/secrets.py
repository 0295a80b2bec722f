"""Secrets the stack generates for itself, each in its own 0600 file under ``<state>/secrets/``.

A secret nobody has to choose (Trino's password and internal shared secret, the PII hash key) is made
once, on first use, by whichever process needs it first — ``stack up`` or a client — and read by
everyone after. Created with ``os.link`` from a private temporary file, so two first users at once
agree on one value and no reader ever sees a half-written file.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from ga4lake.config import TRINO_PASSWORD_FILE, Settings

# PBKDF2 iterations of the Trino password file entry (Trino requires at least 1000)
PBKDF2_ITERATIONS = 100_000


def secrets_dir(settings: Settings) -> Path:
    return settings.state_dir / "secrets"


def generated_secret(path: Path, nbytes: int = 32) -> str:
    """The secret in ``path``, created (random, hex, mode 0600 from the start) if it does not exist."""
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(nbytes))
        try:  # link is atomic and never replaces: two first users at once agree on one value
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


def trino_password(settings: Settings) -> str:
    """The password of ``GA4LAKE_TRINO_USER``: ``GA4LAKE_TRINO_PASSWORD``, else generated once into
    ``<state>/secrets/trino_password``."""
    return settings.trino_password or generated_secret(settings.state_dir / TRINO_PASSWORD_FILE, 24)


def trino_shared_secret(settings: Settings) -> str:
    """Trino's ``internal-communication.shared-secret`` (required once authentication is on)."""
    return generated_secret(secrets_dir(settings) / "trino_shared_secret", 32)


def pbkdf2_entry(
    user: str, password: str, salt: bytes | None = None, iterations: int = PBKDF2_ITERATIONS
) -> str:
    """One line of a Trino password file: ``user:iterations:salt-hex:hash-hex`` (PBKDF2 with HMAC-SHA1,
    the format Trino's file authenticator accepts besides bcrypt; stdlib only, so no bcrypt dependency)."""
    if ":" in user or not user:
        raise ValueError(f"a Trino user name cannot be empty or contain ':', got {user!r}")
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha1", password.encode(), salt, iterations, dklen=64)
    return f"{user}:{iterations}:{salt.hex()}:{digest.hex()}"
