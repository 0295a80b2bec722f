"""Pid files name one process: `stack down` never signals a process that merely reuses a recorded pid."""

import os
import subprocess
import time

import pytest

from ga4lake.config import load_settings
from ga4lake.stack import manager
from ga4lake.stack.process import boot_id, proc_start_ticks, read_pid_file, write_pid_file
from ga4lake.stack.services import build_services


@pytest.fixture
def unrelated():
    """A live process ga4lake did not start (what a reused pid points at after a reboot)."""
    proc = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def _stale_contents(pid: int) -> list[str]:
    ticks = proc_start_ticks(pid)
    assert ticks is not None
    return [
        f"{pid} {ticks - 1} {boot_id()}\n",  # same boot, an earlier process with this number
        f"{pid} {ticks} 00000000-0000-0000-0000-000000000000\n",  # recorded before a reboot
        f"{pid}\n",  # legacy one-number file written (mtime set below) long before the process started
    ]


def test_down_leaves_an_unrelated_process_behind_a_stale_pid_file_alone(tmp_path, unrelated):
    settings = load_settings({"GA4LAKE_STATE_DIR": str(tmp_path)})
    services = manager._everything(settings)
    assert len(services) >= 7
    settings.run_dir.mkdir(parents=True)
    contents = _stale_contents(unrelated.pid)
    hour_ago = time.time() - 3600
    for i, svc in enumerate(services):
        svc.pid_file.write_text(contents[i % len(contents)])
        os.utime(svc.pid_file, (hour_ago, hour_ago))
    manager.down(settings, progress=lambda _m: None)
    time.sleep(0.3)
    assert unrelated.poll() is None, "down signalled a process it did not start"
    assert not any(s.pid_file.exists() for s in services), "stale pid files are removed"
    assert all(s.pid() is None for s in build_services(settings, with_spark=True))


@pytest.mark.parametrize("index", [0, 1, 2])
def test_stale_pid_file_is_not_our_process(tmp_path, unrelated, index):
    path = tmp_path / "x.pid"
    path.write_text(_stale_contents(unrelated.pid)[index])
    hour_ago = time.time() - 3600
    os.utime(path, (hour_ago, hour_ago))
    assert read_pid_file(path) is None


def test_pid_file_of_the_process_itself_is_trusted(tmp_path, unrelated):
    path = tmp_path / "x.pid"
    write_pid_file(path, unrelated.pid)
    assert read_pid_file(path) == unrelated.pid
    # a one-number file written after the process started (the stack before this change) stays valid
    path.write_text(f"{unrelated.pid}\n")
    assert read_pid_file(path) == unrelated.pid


@pytest.mark.parametrize("text", ["", "abc", "123 notanumber x"])
def test_unreadable_pid_file_means_not_running(tmp_path, text):
    path = tmp_path / "x.pid"
    path.write_text(text)
    assert read_pid_file(path) is None


def test_stop_waits_for_the_whole_group_and_kills_what_ignores_sigterm(tmp_path):
    """A group member that survives its leader (it ignores SIGTERM) must not outlive `stop`."""
    from ga4lake.stack.process import Service, group_members

    svc = Service(
        name="toy",
        port=0,
        command=lambda: ["bash", "-c", "(trap '' TERM; exec sleep 60) & sleep 60"],
        health=lambda: True,
        log_file=tmp_path / "toy.log",
        pid_file=tmp_path / "toy.pid",
    )
    svc.start(progress=lambda _m: None)
    pid = svc.pid()
    for _ in range(50):
        if len(group_members(pid)) >= 3:
            break
        time.sleep(0.1)
    assert len(group_members(pid)) >= 3
    assert svc.stop(timeout=2) == "stopped"
    assert group_members(pid) == []
