"""GA4LAKE_STACK=compose: the same services, one per container of ``compose/docker-compose.yml``.

Every container runs the project image (``compose/ga4lake.Dockerfile``: this checkout installed by the native
installer) with host networking and one shared state volume, and starts its one service with
``ga4lake stack serve <name>``: the very ``Service`` the native stack starts (same command, config files,
secrets, ports, health probe, after-start work such as databases, bucket and namespaces), supervised in the
foreground so Docker owns its lifetime. Clients — ``make demo``, the integration fixtures, Airflow's tasks —
then never start anything: ``stack up`` waits until the selected services answer their health probes and
fails loudly, naming each service that does not, with its port and where its log is.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

from ga4lake.config import Settings
from ga4lake.errors import ExitCode, StackError
from ga4lake.stack.process import Service

COMPOSE_FILE = "compose/docker-compose.yml"
POLL_S = 2.0


class ComposeServiceDown(StackError):
    """A container's service is not healthy: a service down (exit 4), not a usage error."""

    exit_code = ExitCode.SERVICE_DOWN


def _hint(name: str) -> str:
    return f"`docker compose -f {COMPOSE_FILE} ps {name}` / `docker compose -f {COMPOSE_FILE} logs {name}`"


def wait_healthy(
    services: Sequence[Service],
    timeout: float,
    progress: Callable[[str], None] = print,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, float]:
    """Wait (never start) until every service's native health probe passes; seconds waited per service.

    The containers start on their own (``docker compose up``): a client that started a second copy would
    fight them for the ports, so a service still down after ``timeout`` is an error naming it."""
    waited: dict[str, float] = {}
    t0 = clock()
    pending = list(services)
    while pending:
        pending = [svc for svc in pending if not svc.healthy()]
        now = clock()
        for svc in services:
            if svc.name not in waited and svc not in pending:
                waited[svc.name] = now - t0
                progress(f"  {svc.name:<13} healthy (compose) port {svc.port:<6} ({waited[svc.name]:.1f}s)")
        if not pending:
            break
        if now - t0 >= timeout:
            lines = [f"  {svc.name} (port {svc.port}): check {_hint(svc.name)}" for svc in pending]
            raise ComposeServiceDown(
                f"GA4LAKE_STACK=compose: {len(pending)} service(s) not healthy after {timeout:.0f}s — "
                "they run in Docker Compose, which ga4lake does not start; run "
                f"`docker compose -f {COMPOSE_FILE} up -d` first\n" + "\n".join(lines)
            )
        sleep(POLL_S)
    return waited


def _follow(log: Path, offset: int) -> int:
    """Copy what the service appended to its log since ``offset`` to stdout (``docker compose logs``)."""
    try:
        with open(log, "rb") as fh:
            fh.seek(offset)
            chunk = fh.read()
    except FileNotFoundError:
        return offset
    if chunk:
        sys.stdout.buffer.write(chunk)
        sys.stdout.flush()
    return offset + len(chunk)


def serve(settings: Settings, svc: Service, progress: Callable[[str], None] = print) -> int:
    """A container's main process: start ``svc`` exactly as ``stack up`` does, then stay in the foreground
    while it lives, streaming its log; SIGTERM (``docker compose stop``) stops it cleanly. Exit 1 when the
    service dies, so the container's restart policy brings it back."""
    stopping = False

    def _stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        settings.logs_dir.mkdir(parents=True, exist_ok=True)
        offset = svc.log_file.stat().st_size if svc.log_file.exists() else 0
        progress(f"{svc.name}: {svc.start(progress)} on port {svc.port}")
        while not stopping:
            offset = _follow(svc.log_file, offset)
            if svc.pid() is None:
                _follow(svc.log_file, offset)
                progress(f"{svc.name}: process exited")
                return 1
            time.sleep(1.0)
        progress(f"{svc.name}: {svc.stop()}")
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
