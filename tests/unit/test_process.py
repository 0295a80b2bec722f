"""Supervisor behaviour with real (tiny) child processes — no services needed."""

import socket
import sys
import time

import pytest

from ga4lake.errors import StackError
from ga4lake.stack.process import Service, port_in_use


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _service(tmp_path, cmd, health, port=None, timeout=5):
    return Service(
        name="toy",
        port=port or _free_port(),
        command=lambda: cmd,
        health=health,
        log_file=tmp_path / "logs" / "toy.log",
        pid_file=tmp_path / "run" / "toy.pid",
        timeout=timeout,
    )


def test_process_that_dies_during_start_up_reports_log_tail(tmp_path):
    svc = _service(tmp_path, ["sh", "-c", "echo boom-at-start; exit 3"], lambda: False)
    with pytest.raises(StackError) as err:
        svc.start(progress=lambda _m: None)
    msg = str(err.value)
    assert "toy exited during start-up" in msg and str(svc.log_file) in msg and "boom-at-start" in msg
    assert svc.pid() is None


def test_unhealthy_process_times_out_and_names_port_and_log(tmp_path):
    svc = _service(tmp_path, ["sleep", "30"], lambda: False, timeout=2)
    t0 = time.monotonic()
    with pytest.raises(StackError, match=r"did not become healthy within 2s \(port \d+\)"):
        svc.start(progress=lambda _m: None)
    assert time.monotonic() - t0 < 5
    svc.stop()


def test_start_is_idempotent_and_stop_cleans_up(tmp_path):
    port = _free_port()
    server = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    svc = _service(tmp_path, server, lambda: port_in_use(port), port=port, timeout=20)
    assert svc.start(progress=lambda _m: None) == "started"
    pid = svc.pid()
    assert svc.start(progress=lambda _m: None) == "already running" and svc.pid() == pid
    assert svc.stop() == "stopped"
    assert svc.pid() is None and not svc.pid_file.exists() and not port_in_use(port)
    assert svc.stop() == "not running"


def test_foreign_process_on_the_port_is_refused(tmp_path):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        svc = _service(tmp_path, ["sleep", "1"], lambda: False, port=port)
        with pytest.raises(StackError, match=rf"toy: port {port} on 127.0.0.1 is already in use"):
            svc.start(progress=lambda _m: None)


def test_pss_counts_each_process_once_across_overlapping_trees():
    """The bench samples services and its own tree; a service it started is in both."""
    import subprocess
    import time

    from ga4lake.stack.process import descendants, footprint_kb, pss_kb

    parent = subprocess.Popen(["bash", "-c", "sleep 30 & wait"])
    try:
        for _ in range(50):
            kids = descendants(parent.pid)
            if kids:
                break
            time.sleep(0.05)
        (child,) = kids
        tree, child_only = pss_kb(parent.pid), pss_kb(child)
        assert 0 < child_only < tree
        # the child is inside the parent's tree: counted once (PSS of shared libraries drifts by a few KiB
        # as other processes come and go, so compare against the child's own size, not exactly)
        assert abs(pss_kb(parent.pid, child) - tree) < child_only / 2
        assert abs(footprint_kb(parent.pid, child) - footprint_kb(parent.pid)) < child_only / 2
    finally:
        subprocess.run(["pkill", "-P", str(parent.pid)], check=False)  # the sleep, before its parent
        parent.kill()
        parent.wait()


def _leader_that_leaves_a_server(port: int, marker) -> list[str]:
    """A shell that starts a server in its own group, then exits: the server outlives its leader."""
    server = f"{sys.executable} -m http.server {port} --bind 127.0.0.1"
    return ["bash", "-c", f"{server} >/dev/null 2>&1 & while [ ! -e {marker} ]; do sleep 0.1; done; exit 0"]


def test_start_stops_what_a_dead_leader_left_holding_the_port(tmp_path):
    """A component that outlived its leader (Airflow's API server after the scheduler died in a PostgreSQL
    outage) held the port, and the next start refused with "port in use"; now it is found and stopped."""
    port, marker = _free_port(), tmp_path / "leave"
    svc = _service(tmp_path, _leader_that_leaves_a_server(port, marker), lambda: port_in_use(port), port, 20)
    assert svc.start(progress=lambda _m: None) == "started"
    leader = svc.pid()
    marker.touch()
    deadline = time.monotonic() + 10
    while svc.pid() is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    orphans = svc.orphans()
    assert svc.pid() is None and orphans and leader not in orphans and port_in_use(port)
    marker.unlink()
    said: list[str] = []
    assert svc.start(progress=said.append) == "started"
    assert any("left 1 process(es) behind" in line for line in said), said
    assert all(not _alive(p) for p in orphans) and svc.pid() not in (None, leader)
    marker.touch()  # the new leader exits too: stop() then stops its orphan
    while svc.pid() is not None and time.monotonic() < deadline + 10:
        time.sleep(0.1)
    assert svc.stop().startswith("stopped 1 process(es)") and not port_in_use(port) and not svc.orphans()


def _alive(pid: int) -> bool:
    from ga4lake.stack.process import pid_alive

    return pid_alive(pid)
