"""Superset as a native service: its own virtualenv, gunicorn on 127.0.0.1, metadata in the stack's
PostgreSQL, and the dashboard bundle (``superset/bundle``) imported on every start.

Stdlib + ga4lake.config/ga4lake.stack only at module level: the installer imports this module with
the system Python before any virtualenv exists.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import urllib.parse
from pathlib import Path

from ga4lake.clients.postgres import connect as pg_connect
from ga4lake.config import REPO_ROOT, Settings, load_env
from ga4lake.errors import StackError
from ga4lake.sqlident import check_identifier
from ga4lake.stack.install import _apt_install, venv_step
from ga4lake.stack.process import Service

SUPERSET_VERSION = "6.1.0"
REQUIREMENTS = REPO_ROOT / "requirements" / "superset.txt"
ASSETS = REPO_ROOT / "superset"
# Debian packages for the browser checks and the walkthrough video (package -> its executable)
SYSTEM_PACKAGES = {"chromium": Path("/usr/bin/chromium"), "ffmpeg": Path("/usr/bin/ffmpeg")}
# gunicorn: 2 gthread workers use both cores for a dashboard's parallel chart requests
WORKERS, THREADS = 2, 4
# values that must never sign Superset's sessions (Superset's own placeholder and obvious fakes)
PLACEHOLDER_KEYS = {"CHANGE_ME_SECRET_KEY", "changeme", "secret", "TEST_NON_DEV_SECRET"}


def venv_dir(s: Settings) -> Path:
    return s.venvs_dir / "superset"


def state_dir(s: Settings) -> Path:
    return s.state_dir / "superset"


def base_url(s: Settings) -> str:
    return f"http://127.0.0.1:{s.ports.superset}"


# ---------------------------------------------------------------------------------------------
# install
# ---------------------------------------------------------------------------------------------
def install(s: Settings) -> None:
    """The Superset venv from the locked requirements (stamped), and from Debian the chromium and
    ffmpeg that the browser tests and the demo video use (Playwright's own downloads are not
    reachable here)."""
    missing = [pkg for pkg, exe in SYSTEM_PACKAGES.items() if not exe.exists()]
    if missing:
        _apt_install([*missing, "fonts-liberation"])
    venv_step(s, "superset", REQUIREMENTS, "gunicorn")


# ---------------------------------------------------------------------------------------------
# configuration handed to superset/superset_config.py and superset/bootstrap.py
# ---------------------------------------------------------------------------------------------
def secret_key(s: Settings) -> str:
    """GA4LAKE_SUPERSET_SECRET_KEY, else a random key generated once into <state>/superset/secret_key.

    The key signs sessions and encrypts the stored database password, so it must stay stable."""
    key = load_env().get("GA4LAKE_SUPERSET_SECRET_KEY", "").strip()
    if not key:
        path = state_dir(s) / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            os.chmod(path, 0o600)
        key = path.read_text().strip()
    if key in PLACEHOLDER_KEYS or len(key) < 32:
        raise StackError(
            "superset: GA4LAKE_SUPERSET_SECRET_KEY is a placeholder or shorter than 32 characters; "
            "leave it empty (a random key is generated) or set a long random value"
        )
    return key


def insights_schema(s: Settings) -> str:
    """The schema dbt writes the insight models to (the rule of dbt/profiles.yml and validate.dbt)."""
    from ga4lake.clients.postgres import insights_schema as dbt_insights_schema

    explicit = load_env().get("GA4LAKE_PG_INSIGHTS_SCHEMA", "")
    schema = explicit if explicit and s.pg_gold_schema == "gold" else dbt_insights_schema(s.pg_gold_schema)
    return check_identifier(schema, "GA4LAKE_PG_INSIGHTS_SCHEMA")


def metadata_db(s: Settings) -> str:
    return load_env().get("GA4LAKE_PG_SUPERSET_DB") or "superset"


def metadata_uri(s: Settings) -> str:
    pw = urllib.parse.quote(s.pg_password, safe="")
    return f"postgresql+psycopg2://{s.pg_user}:{pw}@{s.pg_host}:{s.ports.postgres}/{metadata_db(s)}"


def superset_env(s: Settings) -> dict[str, str]:
    """Everything superset_config.py and bootstrap.py read; secrets never touch the repo."""
    env = load_env()
    return {
        "SUPERSET_CONFIG_PATH": str(ASSETS / "superset_config.py"),
        "SUPERSET_HOME": str(state_dir(s)),
        "SUPERSET_SECRET_KEY": secret_key(s),
        "GA4LAKE_SUPERSET_METADATA_URI": metadata_uri(s),
        "GA4LAKE_SUPERSET_ADMIN_USER": admin_user(),
        "GA4LAKE_SUPERSET_ADMIN_PASSWORD": admin_password(),
        "GA4LAKE_PG_HOST": s.pg_host,
        "GA4LAKE_PG_PORT": str(s.ports.postgres),
        "GA4LAKE_PG_GOLD_DB": s.pg_gold_db,
        "GA4LAKE_PG_GOLD_SCHEMA": s.pg_gold_schema,
        "GA4LAKE_PG_READER_PASSWORD": env.get("GA4LAKE_PG_READER_PASSWORD", ""),
        "GA4LAKE_PG_INSIGHTS_SCHEMA": insights_schema(s),
        "PYTHONUNBUFFERED": "1",
    }


def admin_user() -> str:
    return load_env().get("GA4LAKE_SUPERSET_ADMIN_USER") or "admin"


def admin_password() -> str:
    pw = load_env().get("GA4LAKE_SUPERSET_ADMIN_PASSWORD", "")
    if not pw:
        raise StackError("superset: GA4LAKE_SUPERSET_ADMIN_PASSWORD is empty (config/defaults.env or .env)")
    return pw


def venv_bin(s: Settings, name: str) -> Path:
    exe = venv_dir(s) / "bin" / name
    if not exe.exists():
        raise StackError(
            f"superset: {exe} missing: run `ga4lake install --only superset` (or `make install`)"
        )
    return exe


# ---------------------------------------------------------------------------------------------
# service
# ---------------------------------------------------------------------------------------------
def ensure_metadata_db(s: Settings) -> None:
    """Create the metadata database as the stack's superuser (idempotent)."""
    import psycopg2  # the stack manager runs in the main virtualenv

    db = metadata_db(s)
    try:
        conn = pg_connect(s, "postgres")
    except psycopg2.OperationalError as exc:
        raise StackError(
            f"superset: PostgreSQL on port {s.ports.postgres} is not reachable for the metadata database "
            f"{db!r} (start the stack: `ga4lake stack up`): {exc}"
        ) from exc
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{db}"')
    finally:
        conn.close()


def bootstrap(s: Settings, *args: str, log_file: Path | None = None) -> str:
    """Run superset/bootstrap.py in the Superset venv (migrate, roles, admin, bundle import).

    One process instead of four `superset` CLI calls: each loads the whole app (seconds on 2 cores)."""
    log_file = log_file or s.logs_dir / "superset.log"
    state_dir(s).mkdir(parents=True, exist_ok=True)
    cmd = [str(venv_bin(s, "python")), str(ASSETS / "bootstrap.py"), *args]
    res = subprocess.run(
        cmd, env={**os.environ, **superset_env(s)}, capture_output=True, text=True, cwd=state_dir(s)
    )
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "a") as fh:
        fh.write(f"=== ga4lake: superset bootstrap {' '.join(args)} ===\n{res.stdout}{res.stderr}")
    if res.returncode != 0:
        tail = "\n".join((res.stdout + res.stderr).strip().splitlines()[-15:])
        raise StackError(
            f"superset: bootstrap {' '.join(args)} failed (exit {res.returncode}). Log: {log_file}\n{tail}"
        )
    return res.stdout


def service(s: Settings) -> Service:
    def prepare() -> None:
        ensure_metadata_db(s)
        bootstrap(s, "all")

    def command() -> list[str]:
        return [
            str(venv_bin(s, "gunicorn")),
            "--bind",
            f"{s.bind_host}:{s.ports.superset}",
            "--workers",
            str(WORKERS),
            "--worker-class",
            "gthread",
            "--threads",
            str(THREADS),
            "--timeout",
            "120",
            "--limit-request-line",
            "0",
            "--limit-request-field_size",
            "0",
            "superset.app:create_app()",
        ]

    def health() -> bool:
        import urllib.request

        with urllib.request.urlopen(f"{base_url(s)}/health", timeout=2) as resp:
            return resp.status == 200 and resp.read().strip() == b"OK"

    return Service(
        name="superset",
        port=s.ports.superset,
        command=command,
        env=lambda: superset_env(s),
        health=health,
        prepare=prepare,
        log_file=s.logs_dir / "superset.log",
        pid_file=s.run_dir / "superset.pid",
        cwd=state_dir(s),
        timeout=max(s.start_timeout, 180),
    )
