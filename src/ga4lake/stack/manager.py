"""`ga4lake stack up|down|status`: start in dependency order, stop in reverse, report health and memory."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from ga4lake.config import UI_SERVICES, Settings, refuse_exposed_defaults, stack_mode
from ga4lake.errors import StackError
from ga4lake.log import say as _say  # progress lines (stderr; -q hides them)
from ga4lake.stack.process import Service, rss_kb
from ga4lake.stack.services import build_services


def up(
    settings: Settings,
    with_spark: bool | None = None,
    progress: Callable[[str], None] = _say,
    only: tuple[str, ...] = (),
) -> dict[str, float]:
    """Start every service not already healthy; returns seconds spent per service. Refuses (nothing
    started) to listen beyond loopback while a password is still a published default.

    ``only``: start just these (in dependency order; a name may be any service, optional ones included),
    e.g. a second, private stack of postgres, s3 and nessie for fault drills beside a shared one."""
    refuse_exposed_defaults(settings)
    chosen = select(settings, only) if only else build_services(settings, with_spark)
    if stack_mode() == "compose":  # Docker Compose runs them: wait for their health, start nothing
        from ga4lake.stack.compose import wait_healthy

        return wait_healthy(chosen, max(s.timeout for s in chosen), progress)
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    for svc in chosen:
        t0 = time.monotonic()
        outcome = svc.start(progress)
        timings[svc.name] = time.monotonic() - t0
        progress(f"  {svc.name:<13} {outcome:<16} port {svc.port:<6} ({timings[svc.name]:.1f}s)")
    return timings


def _everything(settings: Settings) -> list[Service]:
    """Every service we may have started, whatever the current settings select."""
    return build_services(dataclasses.replace(settings, ui_services=UI_SERVICES), with_spark=True)


def select(settings: Settings, names: tuple[str, ...]) -> list[Service]:
    """The named services in start order; an unknown name is a usage error listing the known ones."""
    every = _everything(settings)
    known = [s.name for s in every]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise StackError(f"unknown service(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return [s for s in every if s.name in names]


def down(settings: Settings, progress: Callable[[str], None] = _say, only: tuple[str, ...] = ()) -> None:
    """Stop in reverse start order (``only``: just these, e.g. one service for a fault drill)."""
    if stack_mode() == "compose":
        raise StackError(
            "GA4LAKE_STACK=compose: the services are containers; stop them with "
            "`docker compose -f compose/docker-compose.yml stop` (docs/compose.md)"
        )
    for svc in reversed(select(settings, only) if only else _everything(settings)):
        outcome = svc.stop()
        progress(f"  {svc.name:<13} {outcome}")


def status_rows(settings: Settings) -> list[dict[str, object]]:
    rows = []
    compose = stack_mode() == "compose"
    for svc in _everything(settings):
        # under compose the processes live in other containers: only the health probe can see them
        pid = None if compose else svc.pid()
        if compose:
            health = "healthy" if svc.healthy() else "stopped"
        elif pid:
            health = "healthy" if svc.healthy() else "unhealthy"
        else:
            health = "orphaned" if svc.orphans() else "stopped"
        rows.append(
            {
                "service": svc.name,
                "port": svc.port,
                "pid": pid or "-",
                "health": health,
                "rss_mb": round(rss_kb(pid) / 1024) if pid else 0,
                "log": str(svc.log_file),
            }
        )
    return rows


def require_healthy(settings: Settings, names: tuple[str, ...]) -> None:
    """Fail fast with a clear message when a command needs services that are down."""
    by_name: dict[str, Service] = {s.name: s for s in _everything(settings)}
    down_ = [n for n in names if n in by_name and not by_name[n].healthy()]
    if down_:
        raise StackError(f"service(s) not running: {', '.join(down_)} — start the stack with `make up`")
