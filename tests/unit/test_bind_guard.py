"""A stack listening beyond loopback refuses to start with the repository's published passwords."""

from __future__ import annotations

import pytest

from ga4lake.cli import main
from ga4lake.config import ConfigError, default_secrets_in_use, load_settings, refuse_exposed_defaults
from ga4lake.errors import ExitCode

STRONG = {
    "GA4LAKE_PG_PASSWORD": "pg-7f3a9c",
    "GA4LAKE_S3_SECRET_KEY": "s3-9b1e44",
    "GA4LAKE_PG_READER_PASSWORD": "rd-5521aa",
    "GA4LAKE_PG_TRINO_PASSWORD": "tr-0c8d17",
    "GA4LAKE_AIRFLOW_ADMIN_PASSWORD": "af-e2b9c0",
    "GA4LAKE_SUPERSET_ADMIN_PASSWORD": "ss-41d7f2",
}


def _env(tmp_path, **extra: str) -> dict[str, str]:
    return {"GA4LAKE_ENV_FILE": str(tmp_path / "absent.env"), "GA4LAKE_STATE_DIR": str(tmp_path), **extra}


def test_every_published_password_counts_and_generated_ones_do_not(tmp_path):
    keys = default_secrets_in_use(_env(tmp_path))
    assert set(STRONG) == set(keys)  # GA4LAKE_TRINO_PASSWORD, _PII_SALT, _SUPERSET_SECRET_KEY are empty
    assert default_secrets_in_use(_env(tmp_path, **STRONG)) == []


def test_loopback_starts_with_the_defaults(tmp_path):
    env = _env(tmp_path)
    refuse_exposed_defaults(load_settings(env), env)  # no error: the dev stack on 127.0.0.1


def test_a_wide_bind_with_one_default_left_is_refused_naming_it(tmp_path):
    env = _env(
        tmp_path, GA4LAKE_BIND_HOST="0.0.0.0", **{**STRONG, "GA4LAKE_PG_TRINO_PASSWORD": "ga4lake-trino-dev"}
    )
    with pytest.raises(ConfigError, match=r"GA4LAKE_BIND_HOST=0\.0\.0\.0 .*: GA4LAKE_PG_TRINO_PASSWORD —"):
        refuse_exposed_defaults(load_settings(env), env)
    all_set = _env(tmp_path, GA4LAKE_BIND_HOST="0.0.0.0", **STRONG)
    refuse_exposed_defaults(load_settings(all_set), all_set)


def test_stack_up_exits_2_with_one_line_before_starting_anything(tmp_path, monkeypatch, capsys):
    for key, value in _env(tmp_path, GA4LAKE_BIND_HOST="0.0.0.0").items():
        monkeypatch.setenv(key, value)
    assert main(["stack", "up"]) == ExitCode.USAGE
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "GA4LAKE_PG_PASSWORD" in err and "GA4LAKE_S3_SECRET_KEY" in err
    assert not (tmp_path / "logs").exists()  # refused before any service (or its log dir) was touched


def test_a_bind_host_that_local_clients_cannot_reach_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="GA4LAKE_BIND_HOST"):
        load_settings(_env(tmp_path, GA4LAKE_BIND_HOST="10.0.0.5"))
