"""Expected failures end with one line naming the cause and a documented exit code, never a traceback.

A service that does not answer is simulated honestly: the command is pointed at a loopback port where
nothing listens (what a stopped service looks like to a client), so no stack is needed.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ga4lake.errors import EXIT_CODES, ExitCode

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ga4lake(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ga4lake.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src"), **env},
    )


@pytest.mark.parametrize(
    ("port_key", "service", "args"),
    [
        ("GA4LAKE_PG_PORT", "postgres", ("report",)),
        ("GA4LAKE_TRINO_PORT", "trino", ("sql", "SELECT 1")),
        ("GA4LAKE_NESSIE_PORT", "nessie", ("history",)),
    ],
)
def test_a_service_that_is_down_is_one_line_and_exit_4(port_key: str, service: str, args: tuple) -> None:
    res = _ga4lake(*args, **{port_key: str(_free_port())})
    assert res.returncode == ExitCode.SERVICE_DOWN, res.stderr[-2000:]
    assert "Traceback" not in res.stderr
    lines = [line for line in res.stderr.splitlines() if line.startswith("ga4lake: error:")]
    assert len(lines) == 1 and f"{service} is not answering" in lines[0] and "make up" in lines[0]


def test_usage_errors_exit_2() -> None:
    res = _ga4lake("ingest")  # --from is required
    assert res.returncode == ExitCode.USAGE and "Traceback" not in res.stderr


def test_readme_documents_every_exit_code() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    documented = {int(code): text for code, text in re.findall(r"^\| (\d+) \| (.+?) \|$", section, re.M)}
    assert documented == EXIT_CODES
