"""The Superset service definition: localhost binding, venv binaries, secrets, stamped install."""

from __future__ import annotations

import dataclasses
import os
import stat
from pathlib import Path

import pytest

from ga4lake.config import REPO_ROOT, load_settings
from ga4lake.errors import StackError
from ga4lake.stack import superset


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GA4LAKE_SUPERSET_SECRET_KEY", "")
    monkeypatch.setenv("GA4LAKE_ENV_FILE", str(tmp_path / "no.env"))
    s = load_settings(
        {**os.environ, "GA4LAKE_HOME": str(tmp_path / "home"), "GA4LAKE_STATE_DIR": str(tmp_path / "var")}
    )
    venv_bin = s.venvs_dir / "superset" / "bin"
    venv_bin.mkdir(parents=True)
    for exe in ("python", "gunicorn"):
        (venv_bin / exe).touch()
    return s


def test_gunicorn_binds_localhost_on_the_port_map_port_from_the_superset_venv(settings):
    svc = superset.service(settings)
    cmd = svc.command()
    assert cmd[0] == str(settings.venvs_dir / "superset" / "bin" / "gunicorn")
    assert cmd[cmd.index("--bind") + 1] == f"127.0.0.1:{settings.ports.superset}"
    assert cmd[-1] == "superset.app:create_app()"
    assert svc.port == settings.ports.superset == 8088
    assert (
        svc.pid_file == settings.run_dir / "superset.pid"
        and svc.log_file == settings.logs_dir / "superset.log"
    )


def test_missing_venv_names_the_install_command(settings):
    (settings.venvs_dir / "superset" / "bin" / "gunicorn").unlink()
    with pytest.raises(StackError, match="ga4lake install --only superset"):
        superset.service(settings).command()


def test_secret_key_is_generated_once_private_and_stable(settings):
    first = superset.secret_key(settings)
    path = settings.state_dir / "superset" / "secret_key"
    assert len(first) >= 32 and path.read_text() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert superset.secret_key(settings) == first  # sessions and the stored DB password survive restarts


@pytest.mark.parametrize("key", ["CHANGE_ME_SECRET_KEY", "short"])
def test_placeholder_or_short_secret_keys_are_refused(settings, monkeypatch, key):
    monkeypatch.setenv("GA4LAKE_SUPERSET_SECRET_KEY", key)
    with pytest.raises(StackError, match="placeholder or shorter"):
        superset.secret_key(settings)


def test_env_carries_config_metadata_db_and_credentials_not_the_placeholder(settings, monkeypatch):
    monkeypatch.setenv("GA4LAKE_SUPERSET_SECRET_KEY", "k" * 40)
    env = superset.superset_env(settings)
    assert env["SUPERSET_CONFIG_PATH"] == str(REPO_ROOT / "superset" / "superset_config.py")
    assert env["SUPERSET_SECRET_KEY"] == "k" * 40
    assert env["GA4LAKE_SUPERSET_METADATA_URI"] == (
        f"postgresql+psycopg2://{settings.pg_user}:{settings.pg_password}@127.0.0.1:{settings.ports.postgres}/superset"
    )
    assert env["GA4LAKE_PG_READER_PASSWORD"] and env["GA4LAKE_SUPERSET_ADMIN_PASSWORD"]
    assert env["GA4LAKE_PG_INSIGHTS_SCHEMA"] == "insights"


def test_a_throwaway_gold_schema_reads_its_own_insights(settings):
    s = dataclasses.replace(settings, pg_gold_schema="itest_gold_x")
    assert superset.superset_env(s)["GA4LAKE_PG_INSIGHTS_SCHEMA"] == "itest_gold_x_insights"


def test_config_file_reads_secrets_from_the_environment_only():
    text = (REPO_ROOT / "superset" / "superset_config.py").read_text()
    assert 'SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]' in text
    assert 'os.environ["GA4LAKE_SUPERSET_METADATA_URI"]' in text
    assert "ga4lake-dev" not in text and "CHANGE_ME" not in text


def test_install_is_stamped_and_skips_pip_when_done(settings, monkeypatch):
    calls: list[list[str]] = []
    monkeypatch.setattr(superset, "SYSTEM_PACKAGES", {"chromium": Path("/bin/sh")})  # present: no apt
    from ga4lake.stack import install

    def fake_run(cmd, **kw):
        calls.append(cmd)
        marker = settings.venvs_dir / "superset" / "bin" / "gunicorn"  # what a real pip install leaves
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()

    monkeypatch.setattr(install, "run", fake_run)
    superset.install(settings)
    lock = str(install.lock_file(superset.REQUIREMENTS))
    assert any("--require-hashes" in c and "-r" in c and lock in c for c in calls)
    calls.clear()
    superset.install(settings)
    assert calls == []


def test_requirements_pin_superset_6_1_0_and_every_line_exactly():
    lines = [
        ln.strip()
        for ln in superset.REQUIREMENTS.read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    assert superset.SUPERSET_VERSION == "6.1.0"
    assert f"apache-superset[postgres]=={superset.SUPERSET_VERSION}" in lines
    assert all("==" in ln for ln in lines), [ln for ln in lines if "==" not in ln]
    assert any(ln.lower().startswith("gunicorn==") for ln in lines)
