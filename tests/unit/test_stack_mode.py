"""GA4LAKE_STACK: native starts the services, compose only waits for the containers' health probes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from ga4lake.cli import main as cli_main
from ga4lake.config import ConfigError, load_settings, stack_mode
from ga4lake.errors import ExitCode, StackError, exit_code
from ga4lake.stack import manager
from ga4lake.stack.compose import wait_healthy
from ga4lake.stack.process import Service


def _never_started() -> list[str]:
    raise AssertionError("compose mode must not start a process")


def _svc(name: str, port: int, health, tmp: Path) -> Service:
    return Service(
        name=name,
        port=port,
        command=_never_started,
        health=health,
        log_file=tmp / f"{name}.log",
        pid_file=tmp / f"{name}.pid",
        timeout=30,
    )


def test_default_is_native_and_compose_is_chosen_by_the_key():
    assert stack_mode({}) == "native"
    assert stack_mode({"GA4LAKE_STACK": "compose"}) == "compose"
    assert stack_mode({"GA4LAKE_STACK": " Compose "}) == "compose"
    assert stack_mode({"GA4LAKE_STACK": ""}) == "native"


def test_an_unknown_mode_is_a_config_error_naming_the_choices():
    with pytest.raises(ConfigError, match="native, compose.*'docker'"):
        stack_mode({"GA4LAKE_STACK": "docker"})


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += s


def test_wait_returns_once_every_service_answers_its_probe(tmp_path):
    clock = _Clock()
    late = _svc("nessie", 19120, lambda: clock.t >= 6, tmp_path)
    svcs = [_svc("postgres", 5433, lambda: True, tmp_path), late]
    lines: list[str] = []
    waited = wait_healthy(svcs, 60, lines.append, clock.now, clock.sleep)
    assert waited["postgres"] == 0 and 6 <= waited["nessie"] < 10
    assert [ln.split()[0] for ln in lines] == ["postgres", "nessie"]


def test_a_service_still_down_fails_loudly_naming_it_and_its_port(tmp_path):
    clock = _Clock()
    svcs = [_svc("postgres", 5433, lambda: True, tmp_path), _svc("trino", 8081, lambda: False, tmp_path)]
    with pytest.raises(StackError) as err:
        wait_healthy(svcs, 20, lambda _: None, clock.now, clock.sleep)
    msg = str(err.value)
    assert "trino (port 8081)" in msg and "docker compose -f compose/docker-compose.yml logs trino" in msg
    assert "postgres" not in msg and "1 service(s) not healthy after 20s" in msg
    assert clock.t >= 20
    assert exit_code(err.value) == ExitCode.SERVICE_DOWN


def test_a_probe_that_raises_counts_as_down(tmp_path):
    def boom() -> bool:
        raise OSError("connection refused")

    clock = _Clock()
    with pytest.raises(StackError, match="s3 \\(port 8333\\)"):
        wait_healthy([_svc("s3", 8333, boom, tmp_path)], 4, lambda _: None, clock.now, clock.sleep)


def test_up_in_compose_mode_waits_and_starts_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("GA4LAKE_STACK", "compose")
    settings = dataclasses.replace(load_settings(), state_dir=tmp_path)
    fake = [_svc("postgres", 5433, lambda: True, tmp_path), _svc("s3", 8333, lambda: True, tmp_path)]
    monkeypatch.setattr(manager, "build_services", lambda s, with_spark=None: fake)
    assert set(manager.up(settings, progress=lambda _: None)) == {"postgres", "s3"}
    assert not (tmp_path / "logs").exists()  # the native path would have created its log directory


def test_up_in_native_mode_starts_what_is_down(tmp_path, monkeypatch):
    monkeypatch.setenv("GA4LAKE_STACK", "native")
    settings = dataclasses.replace(load_settings(), state_dir=tmp_path)
    started: list[str] = []

    class Fake(Service):
        def start(self, progress=print) -> str:
            started.append(self.name)
            return "started"

    fake = [Fake("postgres", 5433, _never_started, lambda: False, tmp_path / "p.log", tmp_path / "p.pid")]
    monkeypatch.setattr(manager, "build_services", lambda s, with_spark=None: fake)
    manager.up(settings, progress=lambda _: None)
    assert started == ["postgres"]


def test_down_in_compose_mode_points_at_docker_compose(monkeypatch):
    monkeypatch.setenv("GA4LAKE_STACK", "compose")
    with pytest.raises(StackError, match="docker compose -f compose/docker-compose.yml stop"):
        manager.down(load_settings(), progress=lambda _: None)


def test_status_in_compose_mode_reports_the_probe_not_a_pid(tmp_path, monkeypatch):
    monkeypatch.setenv("GA4LAKE_STACK", "compose")
    fake = [_svc("postgres", 5433, lambda: True, tmp_path), _svc("trino", 8081, lambda: False, tmp_path)]
    monkeypatch.setattr(manager, "_everything", lambda s: fake)
    rows = {r["service"]: r for r in manager.status_rows(load_settings())}
    assert rows["postgres"]["health"] == "healthy" and rows["postgres"]["pid"] == "-"
    assert rows["trino"]["health"] == "stopped"


@pytest.mark.parametrize("action", ["serve", "probe"])
def test_serve_and_probe_need_a_service_name(action, capsys):
    assert cli_main(["stack", action]) == 2
    assert f"ga4lake stack {action}" in capsys.readouterr().err


def test_probe_of_an_unknown_service_names_the_known_ones(capsys):
    assert cli_main(["stack", "probe", "kafka"]) != 0
    assert "known: postgres, s3, nessie, trino" in capsys.readouterr().err


def _process(tmp: Path, code: str) -> Service:
    import sys

    return Service(
        name="fake",
        port=1,
        command=lambda: [sys.executable, "-c", code],
        health=lambda: True,
        log_file=tmp / "logs" / "fake.log",
        pid_file=tmp / "run" / "fake.pid",
        timeout=30,
    )


def test_serve_streams_the_log_and_exits_1_when_the_service_dies(tmp_path, capfd):
    from ga4lake.stack.compose import serve

    (tmp_path / "run").mkdir()
    settings = dataclasses.replace(load_settings({}), state_dir=tmp_path)
    svc = _process(tmp_path, "import time; print('service says hello', flush=True); time.sleep(1.5)")
    assert serve(settings, svc, progress=lambda _: None) == 1
    assert "service says hello" in capfd.readouterr().out


def test_serve_stops_the_service_on_sigterm(tmp_path):
    import os
    import signal
    import threading

    from ga4lake.stack.compose import serve

    settings = dataclasses.replace(load_settings({}), state_dir=tmp_path)
    svc = _process(tmp_path, "import time; time.sleep(60)")
    threading.Timer(2.0, os.kill, (os.getpid(), signal.SIGTERM)).start()
    before = signal.getsignal(signal.SIGTERM)
    assert serve(settings, svc, progress=lambda _: None) == 0
    assert svc.pid() is None  # stopped, not left running
    assert signal.getsignal(signal.SIGTERM) is before  # handlers restored
