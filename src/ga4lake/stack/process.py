"""Supervising native service processes: pid files, logs, health gates, clean stops.

No daemon manager: each service is a child process in its own session whose pid is recorded under
``<state>/run``, whose output goes to ``<state>/logs/<name>.log`` and whose readiness is a real probe.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ga4lake.errors import StackError

# environment entry (<name>=<service>) of every process a service starts: see Service.orphans
SERVICE_MARKER = "ga4lake_stack_service"  # lower case: a marker, not a setting


@dataclass
class Service:
    """One native process of the stack."""

    name: str
    port: int
    command: Callable[[], list[str]]
    health: Callable[[], bool]
    log_file: Path
    pid_file: Path
    env: Callable[[], dict[str, str]] = dict
    prepare: Callable[[], None] | None = None  # init data dirs / render configs (idempotent)
    after_start: Callable[[], None] | None = None  # create databases, buckets (idempotent)
    user: str | None = None  # run as this OS user (PostgreSQL refuses to run as root)
    cwd: Path | None = None
    timeout: int = 120
    extra_ports: tuple[int, ...] = field(default_factory=tuple)
    # how to ask it to stop; PostgreSQL's SIGTERM is a "smart" shutdown that waits for every client
    # (Nessie's pool never disconnects), so it stops with SIGINT, its "fast" shutdown
    stop_signal: int = signal.SIGTERM

    # ---- state -------------------------------------------------------------------------------
    def pid(self) -> int | None:
        """The running process this service started, or None (no pid file, dead, or a reused pid)."""
        pid = read_pid_file(self.pid_file)
        return pid if pid is not None and pid_alive(pid) else None

    def orphans(self) -> list[int]:
        """Live processes of this service's last run whose leader has died (empty while it lives).

        A component can outlive the process that started it — Airflow's API server kept its port after
        the scheduler, and so the leader, exited during a PostgreSQL outage — and would block the next
        start with "port in use". They are ours for sure: the pid file names the leader's process group
        on this boot, and Linux never hands out a number that is still some group's id."""
        recorded = recorded_leader(self.pid_file)
        if recorded is None or self.pid() is not None:
            return []
        leader, ticks = recorded
        if pid_alive(leader):  # the number now names another process: the old group is gone
            return []
        return [
            pid
            for pid in group_members(leader)
            if (proc_start_ticks(pid) or -1) >= ticks and _environ_has(pid, self._marker())
        ]

    def _marker(self) -> bytes:
        """Set in the environment of everything this service starts, so its orphans can be told apart
        from a later, unrelated process group that happens to reuse the number."""
        return f"{SERVICE_MARKER}={self.name}".encode()

    def _reap_orphans(self, progress: Callable[[str], None], timeout: float = 20) -> None:
        leftover = self.orphans()
        if not leftover:
            return
        progress(
            f"  {self.name}: its last run left {len(leftover)} process(es) behind "
            f"(pids {', '.join(map(str, leftover[:6]))}); stopping them first"
        )
        recorded = recorded_leader(self.pid_file)
        assert recorded is not None  # orphans() found members of this group
        stop_group(recorded[0], self.stop_signal, timeout)

    def healthy(self) -> bool:
        try:
            return bool(self.health())
        except Exception:  # a probe that raises means "not ready"
            return False

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_file.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return "(no log written)"
        return "\n".join(text[-lines:])

    # ---- lifecycle ---------------------------------------------------------------------------
    def start(self, progress: Callable[[str], None] = print) -> str:
        """Start unless already running and healthy; block until healthy or raise StackError."""
        pid = self.pid()
        if pid and self.healthy():
            return "already running"
        if pid is None:
            self._reap_orphans(progress)
            for port in (self.port, *self.extra_ports):
                if port_in_use(port):
                    raise StackError(
                        f"{self.name}: port {port} on 127.0.0.1 is already in use by another process "
                        f"(not started by ga4lake). Stop it or change the port in config/defaults.env. "
                        f"Log: {self.log_file}"
                    )
            if self.prepare:
                self.prepare()
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            self.pid_file.parent.mkdir(parents=True, exist_ok=True)
            env = {**os.environ, **self.env(), SERVICE_MARKER: self.name}
            with open(self.log_file, "ab") as log:
                log.write(f"\n=== ga4lake: starting {self.name} at {time.strftime('%F %T')} ===\n".encode())
                log.flush()
                try:
                    proc = subprocess.Popen(
                        self.command(),
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        env=env,
                        cwd=self.cwd,
                        start_new_session=True,
                        user=self.user,
                    )
                except OSError as exc:
                    raise StackError(
                        f"{self.name}: cannot execute {self.command()[0]}: {exc}. Log: {self.log_file}"
                    ) from exc
            write_pid_file(self.pid_file, proc.pid)
            pid = proc.pid
            progress(f"  {self.name}: started pid {pid}, waiting for health on port {self.port} …")
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.healthy():
                if self.after_start:
                    self.after_start()
                return "started"
            if not pid_alive(pid):
                self.pid_file.unlink(missing_ok=True)
                raise StackError(
                    f"{self.name} exited during start-up (port {self.port}). Log: {self.log_file}\n"
                    f"--- last log lines ---\n{self.log_tail()}"
                )
            time.sleep(0.5)
        raise StackError(
            f"{self.name} did not become healthy within {self.timeout}s (port {self.port}). "
            f"Log: {self.log_file}\n--- last log lines ---\n{self.log_tail()}"
        )

    def stop(self, timeout: float = 60) -> str:
        pid = self.pid()
        if pid is None:
            leftover = self.orphans()
            if leftover:
                recorded = recorded_leader(self.pid_file)
                assert recorded is not None
                stop_group(recorded[0], self.stop_signal, timeout)
                self.pid_file.unlink(missing_ok=True)
                return f"stopped {len(leftover)} process(es) its dead leader had left"
            stale = self.pid_file.exists()
            self.pid_file.unlink(missing_ok=True)
            return "not running (stale pid file removed, nothing signalled)" if stale else "not running"
        try:
            pgid = os.getpgid(pid)  # taken while the verified leader lives: the group is ours
        except ProcessLookupError:
            pgid = pid
        kill_group(pid, self.stop_signal)
        stop_group(pgid, self.stop_signal, timeout, leader=pid)
        self.pid_file.unlink(missing_ok=True)
        return "stopped"


def stop_group(pgid: int, sig: int, timeout: float, leader: int | None = None) -> None:
    """Signal process group ``pgid`` and wait for all of it (and ``leader``) to exit; SIGKILL what is left.

    The whole group, not just its leader: a worker that outlives a shell leader (Airflow's API server
    under bash) would otherwise keep its port after `down`."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)

    def alive() -> bool:
        return bool(group_members(pgid)) or (leader is not None and pid_alive(leader))

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        time.sleep(0.2)
    if alive():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        if leader is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(leader, signal.SIGKILL)
        time.sleep(0.5)


# ---- pid files that name one process, not just a number --------------------------------------------
# A pid file outlives its process: after a crash or a reboot the number may belong to anything, and
# signalling its process group could stop an unrelated program. So the file records the process's
# start time (clock ticks since boot, /proc/<pid>/stat field 22) and the kernel's boot id; a pid counts
# as ours only while both still match.
PID_SLACK_S = 5.0  # legacy one-number files: how much later than the file the process may have started


def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown"


def proc_start_ticks(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot (None: no such process)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _proc_start_epoch(pid: int) -> float | None:
    ticks = proc_start_ticks(pid)
    if ticks is None:
        return None
    with open("/proc/stat") as fh:
        btime = next(int(line.split()[1]) for line in fh if line.startswith("btime"))
    return btime + ticks / os.sysconf("SC_CLK_TCK")


def write_pid_file(path: Path, pid: int) -> None:
    """``<pid> <start ticks> <boot id>``: enough to tell this process from a later one with its number."""
    path.write_text(f"{pid} {proc_start_ticks(pid)} {boot_id()}\n")


def read_pid_file(path: Path) -> int | None:
    """The pid recorded in ``path`` if that very process still exists, else None (never a reused pid).

    A file from before start times were recorded (one number) is trusted only for a process that
    started no later than the file was written: after a reboot or a pid wrap every process is younger."""
    try:
        text = path.read_text()
        mtime = path.stat().st_mtime
    except OSError:
        return None
    fields = text.split()
    try:
        pid = int(fields[0])
    except (IndexError, ValueError):
        return None
    if len(fields) >= 3:
        try:
            recorded = int(fields[1])
        except ValueError:
            return None
        return pid if fields[2] == boot_id() and proc_start_ticks(pid) == recorded else None
    started = _proc_start_epoch(pid)
    return pid if started is not None and started <= mtime + PID_SLACK_S else None


def recorded_leader(path: Path) -> tuple[int, int] | None:
    """(pid, start ticks) a pid file recorded on this boot, alive or not (None: no file, legacy, other boot).

    Used as a process-group id to find what a dead leader left behind."""
    try:
        fields = path.read_text().split()
    except OSError:
        return None
    if len(fields) < 3 or fields[2] != boot_id():
        return None
    try:
        return int(fields[0]), int(fields[1])
    except ValueError:
        return None


def _environ_has(pid: int, entry: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            return entry in fh.read().split(b"\0")
    except OSError:  # gone, or not ours to read
        return False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child of ours is dead for our purposes
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group ``pgid``."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
            out.append(int(entry))
    return out


def kill_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(os.getpgid(pid), sig)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def _tree_pids(roots: tuple[int, ...]) -> set[int]:
    pids: set[int] = set()
    for root in roots:
        pids.add(root)
        pids.update(descendants(root))
    return pids


def _tree_kb(roots: tuple[int, ...], proc_file: str, field: str) -> int:
    """Sum of ``field`` over the processes of the trees under ``roots``, each process counted once (a root may
    sit inside another root's tree: services started by the process that measures them)."""
    return sum(_proc_kb(p, proc_file, field) for p in sorted(_tree_pids(roots)))


def rss_kb(pid: int) -> int:
    """Resident memory of a process and all its descendants, in KiB (Linux /proc)."""
    return _tree_kb((pid,), "status", "VmRSS:")


def footprint_kb(*roots: int) -> int:
    """Memory of process trees for sampling under load, in KiB: RSS for JVMs (single processes, nothing
    shared to split), PSS for everything else (forked workers). Reading a JVM's smaps_rollup walks its
    multi-GB page tables under the mmap lock and stalls it: sampled every second, it doubled Spark's times."""
    return sum(footprint_by_root(*roots).values())


def footprint_by_root(*roots: int) -> dict[int, int]:
    """:func:`footprint_kb` per root, each process counted once, for the first root whose tree holds it."""
    seen: set[int] = set()
    out: dict[int, int] = {}
    for root in roots:
        pids = _tree_pids((root,)) - seen
        seen |= pids
        out[root] = sum(_footprint_of(p) for p in sorted(pids))
    return out


def _footprint_of(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/comm") as fh:
            java = fh.read().strip() == "java"
    except OSError:
        return 0
    return _proc_kb(pid, "status", "VmRSS:") if java else _proc_kb(pid, "smaps_rollup", "Pss:")


def _proc_kb(pid: int, proc_file: str, field: str) -> int:
    try:
        with open(f"/proc/{pid}/{proc_file}") as fh:
            for line in fh:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kb(*roots: int) -> int:
    """Proportional memory of process trees in KiB: pages shared by forked workers (Airflow's executor,
    gunicorn) are split between them instead of counted once per process as RSS does."""
    return _tree_kb(roots, "smaps_rollup", "Pss:")


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


# ---- what a process tree listens on --------------------------------------------------------------
TCP_LISTEN = "0A"


def _proc_net_listeners() -> dict[int, tuple[str, int]]:
    """Socket inode -> (address, port) of every listening TCP socket (IPv4 and IPv6) in this namespace."""
    import ipaddress

    out: dict[int, tuple[str, int]] = {}
    for table, width in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) < 10 or cols[3] != TCP_LISTEN:
                continue
            hex_addr, hex_port = cols[1].split(":")
            raw = bytes.fromhex(hex_addr)
            # the kernel prints each 32-bit word in host (little-endian) order
            raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            addr = ipaddress.ip_address(raw) if width == 4 else ipaddress.IPv6Address(raw)
            out[int(cols[9])] = (str(addr), int(hex_port, 16))
    return out


def _socket_inodes(pid: int) -> set[int]:
    inodes: set[int] = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return inodes
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def listening_sockets(root: int) -> list[tuple[int, str, int]]:
    """(pid, address, port) of every listening TCP socket held by ``root`` or any of its descendants —
    whatever the service declared, so a helper process's socket (a log server) cannot go unnoticed."""
    listeners = _proc_net_listeners()
    found: set[tuple[int, str, int]] = set()
    for pid in sorted(_tree_pids((root,))):
        for inode in _socket_inodes(pid):
            if inode in listeners:
                found.add((pid, *listeners[inode]))
    return sorted(found)


def is_loopback(address: str) -> bool:
    import ipaddress

    ip = ipaddress.ip_address(address)
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or (mapped is not None and mapped.is_loopback)


def tree_cmdlines(root: int) -> dict[int, str]:
    """The command line of every process in the tree under ``root`` (NUL separators as spaces)."""
    out: dict[int, str] = {}
    for pid in sorted(_tree_pids((root,))):
        try:
            out[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
    return out
