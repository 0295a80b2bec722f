"""errors.exit_code is the one place an exception becomes an exit status; README's table is what it returns."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ga4lake.airflow_client import AirflowError
from ga4lake.clients.nessie import NessieError
from ga4lake.config import ConfigError
from ga4lake.errors import (
    EXIT_CODES,
    AuditFailed,
    DiskFull,
    ExitCode,
    Ga4lakeError,
    GateFailed,
    LoadBusy,
    LoadError,
    ParityGateFailed,
    StackError,
    UserError,
    exit_code,
)
from ga4lake.lake.landing import LandingError
from ga4lake.load.erase import ErasureError

ROOT = Path(__file__).resolve().parents[2]


class _Report:
    load_id = "load_x"

    def render(self) -> str:
        return "audit null_client_key_ratio FAIL"


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (ParityGateFailed("fact_events FAIL; NOT published"), ExitCode.GATE_FAILED),
        (AuditFailed(_Report(), "load_x"), ExitCode.GATE_FAILED),  # type: ignore[arg-type]
        (LoadBusy("held by ga4lake ingest"), ExitCode.BUSY),
        (LoadError("unknown load"), ExitCode.USAGE),
        (ErasureError("not published"), ExitCode.USAGE),
        (UserError("load data first"), ExitCode.USAGE),
        (DiskFull("no space left"), ExitCode.USAGE),
        (ConfigError("bad port"), ExitCode.USAGE),
        (NessieError("conflict"), ExitCode.USAGE),
        (LandingError("not a GA4 export"), ExitCode.USAGE),
        (StackError("trino did not start"), ExitCode.USAGE),
        (AirflowError("run failed"), ExitCode.USAGE),
        (LoadError("sync failed: Connection refused"), ExitCode.SERVICE_DOWN),
        (RuntimeError("java.net.ConnectException: port 19120"), ExitCode.SERVICE_DOWN),
        (ValueError("a bug"), None),  # unexpected: keeps its traceback
    ],
)
def test_each_failure_maps_to_its_documented_exit_code(exc: BaseException, code: ExitCode | None) -> None:
    assert exit_code(exc) == code


def test_a_gate_or_a_refusal_keeps_its_code_when_its_text_mentions_a_connection() -> None:
    # a parity table or a lock holder may quote a connection error; the gate's meaning wins
    assert exit_code(ParityGateFailed("... connection refused ...")) == ExitCode.GATE_FAILED
    assert exit_code(LoadBusy("... connection refused ...")) == ExitCode.BUSY


def test_the_gates_are_one_class_and_every_expected_failure_one_base() -> None:
    assert issubclass(AuditFailed, GateFailed) and issubclass(ParityGateFailed, GateFailed)
    for cls in (UserError, LoadError, NessieError, LandingError, StackError, AirflowError):
        assert issubclass(cls, Ga4lakeError)


def test_readme_exit_code_table_is_the_table_in_errors_py() -> None:
    readme = (ROOT / "README.md").read_text()
    rows = dict(
        re.findall(r"^\| (\d+) \| (.+?) \|$", readme.split("## Exit codes", 1)[1].split("\n## ", 1)[0], re.M)
    )
    assert {int(k) for k in rows} == set(EXIT_CODES)
    assert "audit or parity gate" in rows[str(int(ExitCode.GATE_FAILED))]
