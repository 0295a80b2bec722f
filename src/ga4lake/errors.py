"""Exit codes of the `ga4lake` command line, in one place, and the one-line message for a service that is down.

Scripts and Airflow tasks branch on the exit code (retry a service outage, page someone for a failed gate),
so every command maps its failures through this table; README's "Exit codes" section is the same table.
"""

from __future__ import annotations

import errno
import re
from enum import IntEnum

from ga4lake.config import Ports


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


class UserError(Exception):
    """An expected failure the user can fix (no data loaded yet, a missing input): one line, exit 2."""


# messages of connection failures from psycopg2, requests/urllib3 (Nessie, Trino, Airflow) and botocore
_DOWN = re.compile(
    r"connection refused|could not connect to server|failed to establish a new connection"
    r"|max retries exceeded|connection reset|could not connect to the endpoint url|name or service not known",
    re.I,
)
_PORT = re.compile(r"(?:port[ =]+\"?|:)(\d{2,5})\b")


def is_service_down(exc: BaseException) -> bool:
    """True when the exception (or its cause) says a server did not answer, as opposed to a query error."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionError) or _DOWN.search(str(seen)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def service_down_message(exc: BaseException, ports: Ports) -> str:
    """One line naming the service (found by the port in the error) and the fix."""
    by_port = {port: name for name, port in ports.as_dict().items()}
    names = [by_port[int(p)] for p in _PORT.findall(str(exc)) if int(p) in by_port]
    service = names[0] if names else "a service of the stack"
    return (
        f"{service} is not answering ({_first_line(exc)}); start the stack with `make up` "
        "(`ga4lake stack status` shows what is down)"
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:160]


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
