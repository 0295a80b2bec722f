"""Exit codes of the `ga4lake` command line, in one place, and the one-line message for a service that is down.

Scripts and Airflow tasks branch on the exit code (retry a service outage, page someone for a failed gate),
so every command maps its failures through this table; README's "Exit codes" section is the same table.
"""

from __future__ import annotations

import errno
import re
from enum import IntEnum
from typing import TYPE_CHECKING

from ga4lake.config import ConfigError, Ports

if TYPE_CHECKING:
    from ga4lake.lake.audit import AuditReport


class ExitCode(IntEnum):
    """What a non-zero exit means. Expected failures print one line, never a traceback."""

    OK = 0
    CHECK_FAILED = 1  # a check ran and failed: validate (dbt tests, parity), stack status, airflow run
    USAGE = 2  # bad arguments, bad configuration or bad input files (argparse uses 2 as well)
    GATE_FAILED = 3  # a load's audit or parity gate failed: nothing published, main unchanged
    SERVICE_DOWN = 4  # a service the command needs does not answer (PostgreSQL, Trino, Nessie, S3, …)
    BUSY = 5  # refused, nothing changed: a load is open or another command holds the load lock


EXIT_CODES: dict[int, str] = {
    0: "success",
    1: "a check failed (validate, stack status, airflow run)",
    2: "usage, configuration or bad input (e.g. an export file that is not GA4), "
    "or no space left under the state directory",
    3: "a load's audit or parity gate failed; main is unchanged",
    4: "a service is down; start it with `make up` (`ga4lake stack status` shows which)",
    5: "refused, nothing changed: a load is open or holds the load lock; retry later (docs/operations.md)",
    130: "interrupted (Ctrl-C)",
}


class Ga4lakeError(Exception):
    """An expected failure: the command prints its message on one line (no traceback) and exits with
    ``exit_code``. Every failure class of the pipeline derives from it, so :func:`exit_code` is the one
    place that decides an exit status."""

    exit_code: ExitCode = ExitCode.USAGE


class UserError(Ga4lakeError):
    """An expected failure the user can fix (no data loaded yet, a missing input): one line, exit 2."""


class LoadError(Ga4lakeError, RuntimeError):
    """A load (or another command that changes main or gold) could not run; main is unchanged unless the
    message says otherwise. Exit 2."""


class LoadBusy(LoadError):
    """A command that needs the stack to itself (no load open, lock free) was refused; nothing changed."""

    exit_code = ExitCode.BUSY


class GateFailed(LoadError):
    """A load's audit or parity gate failed: nothing published, main unchanged, the branch kept. Exit 3;
    final for a scheduler (a retry would fail the same way)."""

    exit_code = ExitCode.GATE_FAILED


class AuditFailed(GateFailed):
    """An audit of the load branch failed (``report`` says which)."""

    def __init__(self, report: AuditReport, branch: str) -> None:
        self.report = report
        self.branch = branch
        super().__init__(
            f"{report.render()}\n\nload {report.load_id} NOT published: main is unchanged; "
            f"branch {branch} is kept for inspection (ga4lake sql ... --ref {branch})"
        )


class ParityGateFailed(GateFailed):
    """Gold on the load branch differs from the dbt-ga4 reference by more than the threshold."""


def exit_code(exc: BaseException) -> ExitCode | None:
    """The exit status of an expected failure (its message is printed on one line), None for an unexpected
    one (it keeps its traceback). A service that does not answer is :attr:`ExitCode.SERVICE_DOWN` whatever
    the class; a gate failure or a refusal keeps its own code even when its text mentions a connection."""
    if isinstance(exc, (GateFailed, LoadBusy)):
        return exc.exit_code
    if is_service_down(exc):
        return ExitCode.SERVICE_DOWN
    if isinstance(exc, Ga4lakeError):
        return exc.exit_code
    if isinstance(exc, ConfigError):
        return ExitCode.USAGE
    try:
        from trino.exceptions import TrinoQueryError  # a bad query (the main venv has trino)
    except ImportError:
        return None
    return ExitCode.USAGE if isinstance(exc, TrinoQueryError) else None


# messages of connection failures from psycopg2, requests/urllib3 (Nessie, Trino, Airflow) and botocore, and
# the Java ones Spark passes on (Py4JJavaError text): the Nessie client, the AWS SDK, the PostgreSQL driver
_DOWN = re.compile(
    r"connection refused|could not connect to server|failed to establish a new connection"
    r"|max retries exceeded|connection reset|could not connect to the endpoint url|name or service not known"
    r"|java\.net\.ConnectException|java\.net\.NoRouteToHostException|java\.net\.UnknownHostException"
    r"|server closed the connection unexpectedly|the database system is (?:shutting down|starting up)"
    r"|terminating connection due to (?:unexpected postmaster exit|administrator command)",
    re.I,
)
_PORT = re.compile(r"(?:port[ =]+\"?|:)(\d{2,5})\b")
# PostgreSQL's JDBC driver inside another service's error: Nessie keeps its version store in PostgreSQL, so
# with PostgreSQL down Nessie answers HTTP 500 "Unhandled SQL exception, caused by ...PSQLException: ..."
_POSTGRES = re.compile(r"org\.postgresql\.|PSQLException", re.I)
_LINE_MAX = 200


def is_service_down(exc: BaseException) -> bool:
    """True when the exception (or its cause) says a server did not answer, as opposed to a query error."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionError) or _DOWN.search(str(seen)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def service_down_message(exc: BaseException, ports: Ports) -> str:
    """One line naming the service and the fix. The service is PostgreSQL when its driver reports the
    failure (also from behind Nessie), else the one whose port the error names."""
    text = _chain_text(exc)
    by_port = {port: name for name, port in ports.as_dict().items()}
    down_lines = [line for line in text.splitlines() if _DOWN.search(line)]
    port: int | None  # None: no port of the stack named in the error
    if any(_POSTGRES.search(line) for line in down_lines):
        service, port = "postgres", ports.postgres
    else:
        found = [int(p) for p in _PORT.findall(text) if int(p) in by_port]
        service, port = (by_port[found[0]], found[0]) if found else ("a service of the stack", None)
    return (
        f"{service} is not answering ({_cause_line(text, port)}); start the stack with `make up` "
        "(`ga4lake stack status` shows what is down)"
    )


class DiskFull(UserError):
    """A work folder under the state directory ran out of space: nothing was published, retry with space."""


_NO_SPACE = re.compile(r"no space left on device|disk quota exceeded", re.I)


def disk_full(exc: BaseException, path: object) -> DiskFull | None:
    """A one-line :class:`DiskFull` naming ``path`` when ``exc`` (or its cause) is ENOSPC — raised by this
    process or reported by Spark, whose executors write the files — else None."""
    seen: BaseException | None = exc
    while seen is not None:
        if (isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT)) or _NO_SPACE.search(
            str(seen)
        ):
            return DiskFull(
                f"no space left on device in {path} (under GA4LAKE_STATE_DIR): free space there and run the "
                "command again; nothing was published or changed in PostgreSQL"
            )
        seen = seen.__cause__ or seen.__context__
    return None


def _chain_text(exc: BaseException) -> str:
    """The messages of the exception and its causes (a wrapper's message may hide the connection error)."""
    parts: list[str] = []
    seen: BaseException | None = exc
    while seen is not None and len(parts) < 10:
        parts.append(str(seen))
        seen = seen.__cause__ or seen.__context__
    return "\n".join(parts)


def _cause_line(text: str, port: int | None) -> str:
    """The line that says what failed: one naming the service's port or a connection failure (Java stack
    frames and Py4J's "An error occurred while calling o88.sql" say nothing), else the first line."""
    lines = [ln.strip().lstrip(":").strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("at ")]
    if not lines:
        return "no message"
    for wanted in (
        lambda ln: _DOWN.search(ln) and _POSTGRES.search(ln),
        lambda ln: port is not None and re.search(rf":{port}\b|port[ =]+\"?{port}\b", ln),
        lambda ln: _DOWN.search(ln),
    ):
        hit = next((ln for ln in lines if wanted(ln)), None)
        if hit:
            return _shorten(hit)
    return _shorten(lines[0])


def _shorten(line: str) -> str:
    """At most _LINE_MAX characters, keeping the end when that is where the connection failure is named."""
    if len(line) <= _LINE_MAX:
        return line
    m = _DOWN.search(line)
    if m and m.end() > _LINE_MAX:
        return "…" + line[max(0, m.end() - _LINE_MAX + 1) : m.end()]
    return line[: _LINE_MAX - 1] + "…"


class StackError(Ga4lakeError, RuntimeError):
    """A service could not be installed, started or stopped; the message names service, port and log."""
