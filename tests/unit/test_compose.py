"""compose/ cannot run here (no Docker engine): keep it consistent with the native stack instead.

Every container runs the project image and starts one native service with ``ga4lake stack serve <name>``,
so these tests pin what could still drift: the set of services, their order, the image's build inputs
(Dockerfile, COPY sources, base images against the pinned versions) and the settings it relies on."""

from __future__ import annotations

import dataclasses
import re
import shlex
from pathlib import Path

import yaml

from ga4lake import versions
from ga4lake.cli import build_parser
from ga4lake.config import DEFAULTS_FILE, REPO_ROOT, UI_SERVICES, load_settings, parse_env_file
from ga4lake.stack.services import build_services

COMPOSE_DIR = REPO_ROOT / "compose"
COMPOSE = COMPOSE_DIR / "docker-compose.yml"
CLIENT = "ga4lake"  # the tools container: `make demo`, the tests


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _native_order() -> list[str]:
    every = dataclasses.replace(load_settings({}), ui_services=UI_SERVICES)
    return [s.name for s in build_services(every, with_spark=True)]


def _services() -> dict[str, dict]:
    return {n: s for n, s in _compose()["services"].items() if n != CLIENT}


def _dockerfiles() -> dict[Path, Path]:
    """Dockerfile -> its build context, for every service that builds."""
    out = {}
    for name, svc in _compose()["services"].items():
        assert "build" in svc, f"{name}: every image is built from this checkout"
        ctx = (COMPOSE_DIR / svc["build"]["context"]).resolve()
        out[ctx / svc["build"]["dockerfile"]] = ctx
    return out


def _instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    out = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_one_container_per_native_service_and_nothing_else():
    assert list(_services()) == _native_order()
    assert set(_compose()["services"]) == {*_native_order(), CLIENT}


def test_each_container_serves_its_own_service_and_probes_it():
    for name, svc in _services().items():
        assert svc["command"] == ["ga4lake", "stack", "serve", name]
        assert svc["healthcheck"]["test"] == ["CMD", "ga4lake", "stack", "probe", name]


def test_serve_and_probe_are_commands_the_cli_parses():
    parser = build_parser()
    for name in _native_order():
        assert parser.parse_args(["stack", "serve", name]).service == name
        assert parser.parse_args(["stack", "probe", name]).action == "probe"


def test_dependencies_point_backwards_in_the_native_start_order_and_wait_for_health():
    order = _native_order()
    for name, svc in _compose()["services"].items():
        for dep, cond in (svc.get("depends_on") or {}).items():
            assert dep in order, f"{name} depends on unknown {dep}"
            assert name == CLIENT or order.index(dep) < order.index(name), f"{name} starts before {dep}"
            assert cond == {"condition": "service_healthy"}
    client_deps = set(_compose()["services"][CLIENT]["depends_on"])
    default_stack = {s.name for s in build_services(load_settings({}))}
    assert client_deps == default_stack  # `make demo` in the client needs what `make up` starts


def test_optional_services_sit_behind_profiles_like_their_native_flags():
    services = _compose()["services"]
    assert services["spark-master"]["profiles"] == services["spark-worker"]["profiles"] == ["spark"]
    assert services[CLIENT]["profiles"] == ["tools"]
    default_stack = {s.name for s in build_services(load_settings({}))}
    assert {n for n, s in services.items() if "profiles" not in s} == default_stack


def test_host_network_and_one_state_volume_keep_native_addresses_and_state():
    """Host networking: every service listens where the port map says, as natively (no `ports:` to drift);
    the state volume is the image's GA4LAKE_STATE_DIR, shared as var/ is."""
    env = dict(
        kv.split("=", 1)
        for word, rest in _instructions(next(iter(_dockerfiles())))
        if word == "ENV"
        for kv in shlex.split(rest)
    )
    for name, svc in _compose()["services"].items():
        assert svc["network_mode"] == "host" and "ports" not in svc, name
        assert svc["init"] is True, name  # a PID 1 that reaps: `stack serve` does not
        assert svc["volumes"] == [f"state:{env['GA4LAKE_STATE_DIR']}"], name
    assert env["GA4LAKE_STACK"] == "compose"
    assert set(_compose()["volumes"]) == {"state"}


def test_every_image_is_built_from_a_dockerfile_that_exists():
    images = {s["image"] for s in _compose()["services"].values()}
    assert images == {"ga4lake:local"}  # no third-party image whose version could drift from versions.py
    for dockerfile, ctx in _dockerfiles().items():
        assert dockerfile.is_file(), dockerfile
        assert ctx == REPO_ROOT
        assert Path(f"{dockerfile}.dockerignore").is_file()


def test_every_copy_source_exists_in_the_build_context():
    for dockerfile, ctx in _dockerfiles().items():
        copies = [rest for word, rest in _instructions(dockerfile) if word == "COPY"]
        assert copies
        for rest in copies:
            args = [a for a in shlex.split(rest) if not a.startswith("--")]
            if "--from=" in rest:
                continue  # from another image
            for src in args[:-1]:
                assert (ctx / src).exists(), f"{dockerfile.name}: COPY {src} not in the build context"


def test_base_images_match_the_pinned_runtimes():
    dockerfile = next(iter(_dockerfiles()))
    froms = [rest.split()[0] for word, rest in _instructions(dockerfile) if word == "FROM"]
    python = parse_env_file(DEFAULTS_FILE)["GA4LAKE_PYTHON"].removeprefix("python")
    assert froms[-1].startswith(f"python:{python}-"), froms  # GA4LAKE_PYTHON builds the venvs
    assert any(f.startswith("eclipse-temurin:25") for f in froms)  # Java 25: Trino and Nessie
    assert all(":" in f and not f.endswith(":latest") for f in froms)
    text = dockerfile.read_text()
    assert f"postgresql-{versions.POSTGRES_MAJOR}" in text.split()
    assert "openjdk-17-jdk-headless" in text.split()  # Spark's Java 17 (ga4lake.clients.spark.java17_home)


def test_the_image_installs_with_the_native_installer_every_default_step():
    """Versions come from versions.py and the locks only if the image runs the installer's steps."""
    from ga4lake.stack.install import STEPS

    text = re.sub(r"\\\n", " ", next(iter(_dockerfiles())).read_text())
    steps = {s for m in re.findall(r"ga4lake\.stack\.install --only ([a-z0-9 ]+)", text) for s in m.split()}
    assert steps <= set(STEPS)
    assert steps == set(STEPS)  # minio included (built when GA4LAKE_S3=minio)


def test_settings_the_files_use_are_declared():
    declared = set(parse_env_file(DEFAULTS_FILE))
    texts = [COMPOSE.read_text(), *(p.read_text() for p in _dockerfiles())]
    used = {k for t in texts for k in re.findall(r"\b(GA4LAKE_[A-Z0-9_]+)\b", t)}
    assert used and used <= declared, used - declared
    assert "GA4LAKE_STACK" in declared


def test_the_object_store_is_the_projects_default():
    assert parse_env_file(DEFAULTS_FILE)["GA4LAKE_S3"] == "seaweedfs"
    assert "ARG GA4LAKE_S3=seaweedfs" in next(iter(_dockerfiles())).read_text()
    assert versions.SEAWEEDFS_MODULE  # what the installer's seaweedfs step builds
