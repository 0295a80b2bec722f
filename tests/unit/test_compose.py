"""compose/docker-compose.yml cannot run here (no Docker engine): keep it consistent with the native stack."""

import dataclasses
import json
import re

import yaml

from ga4lake.config import DEFAULTS_FILE, REPO_ROOT, UI_SERVICES, load_settings, parse_env_file
from ga4lake.stack.services import build_services

COMPOSE = REPO_ROOT / "compose" / "docker-compose.yml"


def _compose():
    return yaml.safe_load(COMPOSE.read_text())


def test_same_services_as_the_native_stack():
    every = dataclasses.replace(load_settings({}), ui_services=UI_SERVICES)
    native = {s.name for s in build_services(every, with_spark=True)}
    assert set(_compose()["services"]) == native


def test_every_published_port_comes_from_the_port_map_on_loopback():
    port_keys = {k for k in parse_env_file(DEFAULTS_FILE) if k.endswith("_PORT")}
    for name, svc in _compose()["services"].items():
        for mapping in svc.get("ports", []):
            m = re.fullmatch(r"127\.0\.0\.1:\$\{(GA4LAKE_[A-Z0-9_]+)\}:\d+", mapping)
            assert m, f"{name}: port {mapping!r} must be 127.0.0.1:${{GA4LAKE_..._PORT}}:<container port>"
            assert m.group(1) in port_keys


def test_native_primary_ports_are_published_by_compose():
    text = COMPOSE.read_text()
    for key in (
        "GA4LAKE_PG_PORT",
        "GA4LAKE_S3_PORT",
        "GA4LAKE_NESSIE_PORT",
        "GA4LAKE_TRINO_PORT",
        "GA4LAKE_SPARK_MASTER_PORT",
    ):
        assert "${" + key + "}" in text


def test_every_variable_is_defined_in_the_env_file():
    defined = set(parse_env_file(DEFAULTS_FILE))
    used = set(re.findall(r"\$\{(?:ENV:)?([A-Z0-9_]+)\}", COMPOSE.read_text()))
    for extra in (REPO_ROOT / "compose" / "trino" / "catalog").glob("*.properties"):
        used |= set(re.findall(r"\$\{ENV:([A-Z0-9_]+)\}", extra.read_text()))
    assert used and used <= defined, used - defined


def test_seaweedfs_identity_matches_the_dev_credentials():
    env = parse_env_file(DEFAULTS_FILE)
    ident = json.loads((REPO_ROOT / "compose" / "seaweedfs-s3.json").read_text())["identities"][0]
    assert ident["credentials"][0] == {
        "accessKey": env["GA4LAKE_S3_ACCESS_KEY"],
        "secretKey": env["GA4LAKE_S3_SECRET_KEY"],
    }


def test_same_pinned_versions_as_the_native_stack():
    from ga4lake import versions

    images = {n: s["image"] for n, s in _compose()["services"].items()}
    assert images["trino"] == f"trinodb/trino:{versions.TRINO}"
    assert images["nessie"].endswith(f":{versions.NESSIE}")
    assert all(":" in i and not i.endswith(":latest") for i in images.values())
