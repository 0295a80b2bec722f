from pathlib import Path

import pytest

from ga4lake.config import DEFAULTS_FILE, ConfigError, load_settings, parse_env_file


def test_defaults_give_a_complete_collision_free_port_map():
    s = load_settings({})
    ports = list(s.ports.as_dict().values())
    assert len(ports) == len(set(ports))
    assert s.ports.trino != s.ports.airflow and s.ports.nessie_mgmt != 9000  # the documented traps


def test_environment_overrides_defaults(tmp_path):
    s = load_settings({"GA4LAKE_TRINO_PORT": "18081", "GA4LAKE_STATE_DIR": str(tmp_path)})
    assert s.ports.trino == 18081 and s.trino_url == "http://127.0.0.1:18081"
    assert s.state_dir == tmp_path and s.logs_dir == tmp_path / "logs"


def test_local_env_file_sits_between_defaults_and_environment(tmp_path):
    local = tmp_path / "local.env"
    local.write_text("GA4LAKE_S3_BUCKET=from-file\nGA4LAKE_PG_PORT=6543\n")
    s = load_settings({"GA4LAKE_ENV_FILE": str(local), "GA4LAKE_PG_PORT": "7654"})
    assert s.s3_bucket == "from-file" and s.ports.postgres == 7654


def test_port_collision_is_rejected():
    with pytest.raises(ConfigError, match="collisions"):
        load_settings({"GA4LAKE_TRINO_PORT": "8080", "GA4LAKE_AIRFLOW_PORT": "8080"})


def test_bad_values_name_the_key():
    with pytest.raises(ConfigError, match="GA4LAKE_PG_PORT"):
        load_settings({"GA4LAKE_PG_PORT": "abc"})
    with pytest.raises(ConfigError, match="GA4LAKE_S3"):
        load_settings({"GA4LAKE_S3": "ceph"})
    with pytest.raises(ConfigError, match="GA4LAKE_S3_ENDPOINT"):
        load_settings({"GA4LAKE_S3": "external"})


def test_external_s3_uses_the_given_endpoint():
    s = load_settings(
        {
            "GA4LAKE_S3": "external",
            "GA4LAKE_S3_ENDPOINT": "https://s3.eu-west-1.amazonaws.com/",
            "GA4LAKE_S3_PATH_STYLE": "false",
        }
    )
    assert s.s3_endpoint == "https://s3.eu-west-1.amazonaws.com" and s.s3_path_style is False
    assert s.warehouse == f"s3://{s.s3_bucket}/warehouse"


def test_env_file_parser_reports_line(tmp_path: Path):
    bad = tmp_path / "bad.env"
    bad.write_text("# ok\nGA4LAKE_X='quoted'\nthis is wrong\n")
    with pytest.raises(ConfigError, match=r"bad.env:3"):
        parse_env_file(bad)
    bad.write_text("GA4LAKE_X='quoted'\n")
    assert parse_env_file(bad) == {"GA4LAKE_X": "quoted"}


def test_defaults_file_holds_only_ga4lake_keys():
    assert all(k.startswith("GA4LAKE_") for k in parse_env_file(DEFAULTS_FILE))
