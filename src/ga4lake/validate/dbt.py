"""Run the dbt project (``dbt/``) in its own virtualenv and summarise its artifacts.

dbt-core lives in ``$GA4LAKE_HOME/venvs/dbt`` (requirements/dbt.txt), apart from the main venv, so it
runs as a subprocess. The connection comes from the same settings as everything else: the profile
(``dbt/profiles.yml``) reads the ``GA4LAKE_PG_*`` variables this module sets from :class:`Settings`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ga4lake.clients.postgres import insights_schema
from ga4lake.config import REPO_ROOT, Settings, setting
from ga4lake.project import DEFAULT_FUNNEL_STAGES, load_project
from ga4lake.sqlident import check_identifier

DBT_DIR = REPO_ROOT / "dbt"
DEFAULT_THREADS = 2

_THREADED = (["docs", "generate"], ["source", "freshness"])

# statuses dbt writes to run_results.json / sources.json that mean "not OK"
_BAD = {"fail", "error", "runtime error"}


@dataclass
class DbtFailure:
    unique_id: str
    status: str
    message: str
    failures: int | None = None

    @property
    def name(self) -> str:
        return (
            self.unique_id.split(".")[-1]
            if self.unique_id.startswith("source.")
            else self.unique_id.split(".")[2]
        )


@dataclass
class DbtSummary:
    """What one dbt command did: counts per status (tests, models, freshness checks) and the failures."""

    command: str
    returncode: int
    seconds: float
    counts: Counter = field(
        default_factory=Counter
    )  # status -> n (pass, fail, error, warn, skipped, success)
    tests: Counter = field(default_factory=Counter)  # status -> n, data tests only
    failures: list[DbtFailure] = field(default_factory=list)
    warnings: list[DbtFailure] = field(default_factory=list)
    output_tail: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.failures

    def line(self) -> str:
        t = self.tests
        parts = [f"dbt {self.command}:"]
        if self.command in {"build", "test"} or t:
            parts.append(
                f"{t['pass']} tests passed, {t['fail']} failed, {t['error']} errors, {t['warn']} warnings"
                + (f", {t['skipped']} skipped" if t["skipped"] else "")
                + f"; models: {self.counts['models_ok']} ok"
                + (
                    f", {self.counts['error']} errors"
                    if self.command == "build" and self.counts["error"]
                    else ""
                )
            )
        elif self.command == "source freshness":
            c = self.counts
            parts.append(
                f"{c['pass']} fresh, {c['warn']} warn, {c['error'] + c['runtime error']} stale/errors"
            )
        else:
            parts.append("ok" if self.ok else "FAILED")
        parts.append(f"({self.seconds:.1f} s)")
        return " ".join(parts)


def dbt_executable(settings: Settings) -> Path:
    return settings.venvs_dir / "dbt" / "bin" / "dbt"


def dbt_env(
    settings: Settings, gold_schema: str | None = None, base: dict[str, str] | None = None
) -> dict[str, str]:
    """Environment for the dbt subprocess: connection and schemas from ``settings``, no tracking."""
    env = dict(os.environ if base is None else base)
    schema = check_identifier(gold_schema or settings.pg_gold_schema, "gold schema")
    env.update(
        {
            "GA4LAKE_PG_HOST": settings.pg_host,
            "GA4LAKE_PG_PORT": str(settings.ports.postgres),
            "GA4LAKE_PG_USER": settings.pg_user,
            "GA4LAKE_PG_PASSWORD": settings.pg_password,
            "GA4LAKE_PG_GOLD_DB": settings.pg_gold_db,
            "GA4LAKE_PG_GOLD_SCHEMA": schema,
            "DO_NOT_TRACK": "1",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
    )
    # an explicit insights schema applies to the real gold only: other gold schemas never touch the real views
    explicit = setting("GA4LAKE_PG_INSIGHTS_SCHEMA") if schema == "gold" else ""
    env["GA4LAKE_PG_INSIGHTS_SCHEMA"] = explicit or insights_schema(schema)
    env["GA4LAKE_DBT_THREADS"] = setting("GA4LAKE_DBT_THREADS")
    check_identifier(env["GA4LAKE_PG_INSIGHTS_SCHEMA"], "GA4LAKE_PG_INSIGHTS_SCHEMA")
    return env


def dbt_command(
    settings: Settings,
    args: Sequence[str],
    *,
    target_path: Path | None = None,
    threads: int = DEFAULT_THREADS,
    variables: dict[str, Any] | None = None,
) -> list[str]:
    cmd = [
        str(dbt_executable(settings)),
        *args,
        "--project-dir",
        str(DBT_DIR),
        "--profiles-dir",
        str(DBT_DIR),
    ]
    if target_path is not None:
        cmd += ["--target-path", str(target_path)]
    if args and (
        args[0] in {"build", "run", "test", "seed", "snapshot", "compile"} or list(args[:2]) in _THREADED
    ):
        cmd += ["--threads", str(threads)]
    # the modelling choices dbt's own SQL must share with gold (ga4lake.yml), then the caller's
    cmd += ["--vars", json.dumps({**project_variables(settings), **(variables or {})})]
    return cmd


def project_variables(settings: Settings) -> dict[str, Any]:
    """dbt vars from ga4lake.yml: ``ga4lake_retention_return_on`` (``retention.return_on``) always, so dbt's
    retention insight counts returns as gold does, and ``ga4lake_funnel_stages`` (``funnel.stages``) when
    it differs from dbt_project.yml's default, so funnel_segments_daily and the funnel tests follow the
    stages gold was built with (the default list is not repeated on every command line)."""
    project = load_project(settings.project_file)
    out: dict[str, Any] = {"ga4lake_retention_return_on": project.retention.return_on}
    if project.funnel.stages != DEFAULT_FUNNEL_STAGES:
        out["ga4lake_funnel_stages"] = list(project.funnel.stages)
    return out


def run_dbt(
    settings: Settings,
    args: Sequence[str],
    *,
    gold_schema: str | None = None,
    target_path: Path | None = None,
    threads: int = DEFAULT_THREADS,
    variables: dict[str, Any] | None = None,
    echo: bool = False,
) -> tuple[int, str, float]:
    """Run one dbt command; returns (exit code, combined output, seconds)."""
    exe = dbt_executable(settings)
    if not exe.exists():
        raise FileNotFoundError(f"dbt is not installed at {exe}: run `make install` (requirements/dbt.txt)")
    cmd = dbt_command(settings, args, target_path=target_path, threads=threads, variables=variables)
    t0 = time.monotonic()
    proc = subprocess.Popen(
        cmd,
        cwd=str(DBT_DIR),
        env=dbt_env(settings, gold_schema),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    assert proc.stdout is not None
    for raw in proc.stdout:
        lines.append(raw)
        if echo:
            sys.stderr.write(raw)
    proc.wait()
    return proc.returncode, "".join(lines), time.monotonic() - t0


def parse_run_results(
    data: dict[str, Any], command: str = "build", returncode: int = 0, seconds: float = 0.0
) -> DbtSummary:
    """Summarise a ``run_results.json`` (build/test/run) or ``sources.json`` (source freshness)."""
    summary = DbtSummary(command=command, returncode=returncode, seconds=seconds)
    for r in data.get("results", []):
        status = str(r.get("status", "")).lower()
        uid = str(r.get("unique_id", ""))
        summary.counts[status] += 1
        if uid.startswith("test."):
            summary.tests[status] += 1
        if uid.startswith("model.") and status == "success":
            summary.counts["models_ok"] += 1
        if status in _BAD or status == "warn":
            message = r.get("message") or r.get("error") or _freshness_message(r)
            item = DbtFailure(uid, status, str(message).strip(), r.get("failures"))
            (summary.failures if status in _BAD else summary.warnings).append(item)
    if not summary.seconds:
        summary.seconds = float(data.get("elapsed_time") or 0.0)
    return summary


def _freshness_message(result: dict[str, Any]) -> str:
    """'newest date is 3.2 days behind (warn after 2 day, error after 3 day)' for a freshness result."""
    ago = result.get("max_loaded_at_time_ago_in_s")
    if ago is None:
        return ""
    crit = result.get("criteria") or {}
    limits = ", ".join(
        f"{k.replace('_', ' ')} {v.get('count')} {v.get('period')}"
        for k, v in crit.items()
        if isinstance(v, dict) and v.get("count") is not None
    )
    return f"newest date is {float(ago) / 86400:.1f} days behind ({limits})"


def load_results(path: Path, command: str, returncode: int, seconds: float) -> DbtSummary:
    if not path.exists():
        return DbtSummary(command, returncode if returncode else 2, seconds)
    return parse_run_results(json.loads(path.read_text()), command, returncode, seconds)


def _summarise(settings: Settings, args: Sequence[str], artifact: str, command: str, **kw: Any) -> DbtSummary:
    target = kw.get("target_path") or DBT_DIR / "target"
    artifact_path = Path(target) / artifact
    artifact_path.unlink(missing_ok=True)  # never read a previous run's results
    code, output, seconds = run_dbt(settings, args, **kw)
    summary = load_results(artifact_path, command, code, seconds)
    summary.output_tail = "\n".join(output.rstrip().splitlines()[-40:])
    if code != 0 and not summary.failures:
        summary.failures.append(DbtFailure(f"dbt.{command}.run", "error", _last_error(output)))
    return summary


def _last_error(output: str) -> str:
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    interesting = [ln for ln in lines if "rror" in ln or "Failure" in ln]
    return (interesting or lines or ["dbt failed without output"])[-1][:500]


def _selected(args: list[str], select: str | None) -> list[str]:
    return [*args, "--select", select] if select else args


def build(settings: Settings, select: str | None = None, **kw: Any) -> DbtSummary:
    """``dbt build``: the insight views and every data test (sources and models)."""
    return _summarise(settings, _selected(["build"], select), "run_results.json", "build", **kw)


def run_tests(settings: Settings, select: str | None = None, **kw: Any) -> DbtSummary:
    """``dbt test`` (data tests only), e.g. ``select="source:gold.fact_sessions,test_name:not_null"``."""
    return _summarise(settings, _selected(["test"], select), "run_results.json", "test", **kw)


def source_freshness(settings: Settings, as_of: str | None = None, **kw: Any) -> DbtSummary:
    """``dbt source freshness``; ``as_of`` (YYYY-MM-DD) measures the gold dates against that day instead
    of today (``ga4lake validate`` passes the lake's last event date: Postgres lagging the lake)."""
    if as_of:
        kw["variables"] = {**(kw.get("variables") or {}), "ga4lake_freshness_as_of": as_of}
    return _summarise(settings, ["source", "freshness"], "sources.json", "source freshness", **kw)


def docs_generate(settings: Settings, **kw: Any) -> DbtSummary:
    """``dbt docs generate``: manifest.json, catalog.json and index.html (lineage sources -> insights)."""
    code, output, seconds = run_dbt(settings, ["docs", "generate"], **kw)
    summary = DbtSummary("docs generate", code, seconds, output_tail="\n".join(output.splitlines()[-40:]))
    if code != 0:
        summary.failures.append(DbtFailure("dbt.docs.generate", "error", _last_error(output)))
    return summary


def format_summary(summary: DbtSummary, max_failures: int = 20) -> str:
    out = [summary.line()]
    for f in [*summary.failures, *summary.warnings][:max_failures]:
        rows = f" ({f.failures} failing rows)" if f.failures else ""
        msg = f.message.splitlines()[0] if f.message else ""
        out.append(f"  {f.status.upper()} {f.name}{rows}: {msg}"[:300])
    more = len(summary.failures) + len(summary.warnings) - max_failures
    if more > 0:
        out.append(f"  ... and {more} more")
    return "\n".join(out) + "\n"
