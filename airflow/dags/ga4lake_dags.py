"""Shared pieces of the Airflow DAGs (imported only inside the Airflow virtualenv).

It lives beside the DAG files, not in the ``ga4lake`` package, because it imports Airflow: the package
holds only code that loads in the main virtualenv. Airflow puts the DAG folder (the dags-folder bundle)
on ``sys.path`` when it parses a DAG file or runs a task, so the DAGs import it as ``ga4lake_dags``;
``.airflowignore`` keeps the DAG processor from parsing it as a DAG file of its own.

The four DAGs — ingest/bronze, silver, gold + Postgres sync, validation — are chained by these assets:
each layer's last task emits its asset with the load(s) it wrote in the event's ``extra``, and the next
layer's DAG is scheduled on that asset (data-aware scheduling, no sensors polling). The one sensor is at
the start: the daily ingest run waits for its day's GA4 export file (:class:`ExportSensor`).

The stack's services are Airflow Connections (``ga4lake_postgres``, ``ga4lake_trino``, ``ga4lake_s3``;
``AIRFLOW_CONN_*`` set by ``ga4lake.stack.airflow``, replaceable by a secrets backend): Cosmos builds the
dbt profile from ``ga4lake_postgres``, and the parity check reaches Trino through ``ga4lake_trino`` with
the Trino provider's hook (:class:`StackTrinoHook`).
"""

from __future__ import annotations

import dataclasses
import logging
import subprocess
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from airflow.providers.trino.hooks.trino import TrinoHook
from airflow.sdk import Asset, BaseSensorOperator
from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout

from ga4lake.clients.trino import Connector, connect_to
from ga4lake.config import REPO_ROOT, load_settings
from ga4lake.errors import ExitCode
from ga4lake.load import step_args
from ga4lake.orchestrate import (
    StepFailed,
    daily_schedule,
    dbt_env,
    export_source,
    overrides,
    run_step,
    window,
)
from ga4lake.stack.airflow import POSTGRES_CONN_ID, TRINO_CONN_ID

log = logging.getLogger(__name__)

BRONZE = Asset(name="ga4lake_bronze", uri="s3://ga4lake/warehouse/bronze/events")
SILVER = Asset(name="ga4lake_silver", uri="s3://ga4lake/warehouse/silver/events")
GOLD = Asset(name="ga4lake_gold", uri="postgres://127.0.0.1:5433/ga4lake/gold/fact_sessions")
VALIDATED = Asset(name="ga4lake_validated", uri="postgres://127.0.0.1:5433/ga4lake/gold/parity_results")

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "ga4lake",
    "retries": 2,  # safe: every step is idempotent (day replace on the load branch, resumable plan)
    "retry_delay": timedelta(seconds=20),
    "execution_timeout": timedelta(hours=2),
}
AUDIT_EXIT = ExitCode.GATE_FAILED  # `ga4lake load publish` exit status for a failed audit or parity gate


def step(
    args: list[str], over: dict[str, str] | None = None, final: tuple[int, ...] = (AUDIT_EXIT,)
) -> dict[str, Any]:
    """Run a ga4lake step; a failed audit/parity gate fails the task for good (a retry cannot fix data)."""
    try:
        return run_step(args, over)
    except StepFailed as exc:
        if exc.code in final:
            raise AirflowFailException(str(exc)) from exc
        raise


def loads_from(triggering_asset_events: Any) -> list[dict[str, Any]]:
    """The loads named by the asset events that triggered this run, oldest first, each once."""
    seen: dict[str, dict[str, Any]] = {}
    for events in (triggering_asset_events or {}).values():
        for event in events:
            for load in (event.extra or {}).get("loads", []):
                seen.setdefault(load["load_id"], load)
    if not seen:
        raise AirflowFailException(
            "triggered without a load in the asset event (trigger the ingest DAG instead)"
        )
    return [seen[k] for k in sorted(seen)]


class ExportSensor(BaseSensorOperator):
    """Wait until the run's day has its export file in the source (and no other load is open), then let
    ``open_load`` plan it.

    GA4 writes the day's table hours after midnight, so the run firing at D+1 00:00 would otherwise find
    nothing. Reschedule mode: between pokes the task is ``up_for_reschedule`` and holds no worker slot, so
    a week of waiting runs costs nothing. Poke interval and timeout come from
    :func:`ga4lake.orchestrate.daily_schedule` (config, or the run's conf). After the timeout the run
    *fails* (never a silent skip), naming the day and the source; a later run catches the day up once
    its file lands. A backfill (range mode) does not wait."""

    def __init__(self, **kwargs: Any) -> None:
        wait = daily_schedule()
        super().__init__(
            mode="reschedule",
            poke_interval=wait.poke_seconds,
            timeout=wait.wait_seconds,
            soft_fail=False,
            **kwargs,
        )

    def execute(self, context: Any) -> Any:
        conf = context["dag_run"].conf or {}
        logical = context.get("logical_date")
        day = window(conf, logical.date() if logical else None).day
        if day is None:
            self.log.info("range mode (backfill): nothing to wait for")
            return None
        wait = daily_schedule(conf)
        self.poke_interval, self.timeout = wait.poke_seconds, wait.wait_seconds
        self._args = ["load", "arrived", "--from", export_source(conf), "--day", day.isoformat()]
        self._over = overrides(conf)
        self._last: dict[str, Any] = {}
        try:
            return super().execute(context)
        except AirflowSensorTimeout as exc:
            raise AirflowSensorTimeout(
                f"gave up after {wait.wait_seconds / 3600:.2f} h: "
                f"{self._last.get('message') or f'no export file for {day} yet'}. "
                "A later daily run loads the day once its file lands (catch-up), or run "
                f"`ga4lake airflow run --day {day}`."
            ) from exc

    def poke(self, context: Any) -> bool:
        self._last = run_step(self._args, self._over)
        return self._last.get("status") == "ready"


class StackTrinoHook(TrinoHook):
    """The Trino provider's hook, connecting the way this stack's Trino takes a password.

    The stock hook sends basic auth over plain HTTP, which the trino client refuses and this Trino (password
    only on a "secure" request) would reject: Trino listens on loopback only and the clients say
    ``X-Forwarded-Proto: https`` as a TLS-terminating proxy would (docs/security.md). So only
    :meth:`get_conn` is ours, from the connection's fields via :func:`ga4lake.clients.trino.connect_to`;
    the connection lookup (environment, or a secrets backend), ``get_records`` & co. are the provider's."""

    def get_conn(self, catalog: str | None = None, schema: str | None = None) -> Any:
        conn = self.get_connection(self.get_conn_id())
        if conn.extra_dejson.get("protocol") == "https":
            # a real TLS Trino (e.g. from a secrets backend): the provider's own connect, any of its auth
            # modes; parity still needs to pick the catalog (a lake branch's) per connection
            trino_conn = super().get_conn()
            if catalog:
                trino_conn.catalog = catalog
                trino_conn._client_session.catalog = catalog  # what the next request sends
            return trino_conn
        return connect_to(
            conn.host or "127.0.0.1",
            int(conn.port or 8080),
            conn.login or "",
            conn.password or "",
            catalog=catalog or conn.extra_dejson.get("catalog", "iceberg"),
            schema=schema or conn.schema or None,
            source="airflow",
        )

    def connector(self) -> Connector:
        """Catalog in, connection out: what :func:`ga4lake.validate.parity.run_parity` takes."""
        return lambda catalog="iceberg", schema=None: self.get_conn(catalog, schema)


def parity_check(
    start: str, end: str, over: dict[str, str], trino_conn_id: str = TRINO_CONN_ID
) -> dict[str, Any]:
    """Row-count and value parity of the run's gold (project logic: :mod:`ga4lake.validate.parity`), its
    Trino queries through the ``trino_conn_id`` connection; the run is stored in ``parity_results`` as
    ``ga4lake validate`` stores it. Over the threshold fails the task for good (data, not a transient
    error); Trino or PostgreSQL unreachable raises, so the task retries."""
    from ga4lake.validate.cli import parity_json
    from ga4lake.validate.parity import format_report, run_parity

    # the run's overrides, as run_step's GA4LAKE_LAKE_BRANCH / GA4LAKE_PG_GOLD_SCHEMA would set them
    fields = {"lake_branch": "lake_branch", "pg_gold_schema": "pg_gold_schema"}
    settings = dataclasses.replace(load_settings(), **{fields[k]: v for k, v in over.items() if k in fields})
    report = run_parity(
        settings,
        date.fromisoformat(start),
        date.fromisoformat(end),
        pg_schema=settings.pg_gold_schema,
        progress=log.info,
        connector=StackTrinoHook(trino_conn_id=trino_conn_id).connector(),
    )
    table = format_report(report)
    if report.failed:
        raise AirflowFailException(table)
    log.info("%s", table)
    return parity_json(report)


# what dbt_env sets for dbt/profiles.yml's connection; under Airflow it comes from the ga4lake_postgres
# connection (Cosmos' profile mapping) instead, so no password travels in a task's env or in XCom
PROFILE_CONNECTION_KEYS = frozenset(
    {"GA4LAKE_PG_HOST", "GA4LAKE_PG_PORT", "GA4LAKE_PG_USER", "GA4LAKE_PG_PASSWORD", "GA4LAKE_PG_GOLD_DB"}
)


def dbt_task_env(over: dict[str, str] | None = None) -> dict[str, str]:
    """The env a Cosmos dbt task needs beside its profile: the run's gold and insights schemas, threads,
    no tracking — :func:`ga4lake.orchestrate.dbt_env` without the connection (and its password)."""
    return {k: v for k, v in dbt_env(over).items() if k not in PROFILE_CONNECTION_KEYS}


def dbt_profile() -> Any:
    """Cosmos' dbt profile from the ``ga4lake_postgres`` connection: host, port, user, database and the
    password (Cosmos hands it to dbt as an environment variable) come from the connection; the schema and
    threads from the run's env, as dbt/profiles.yml reads them."""
    from cosmos import ProfileConfig
    from cosmos.profiles import PostgresUserPasswordProfileMapping

    return ProfileConfig(
        profile_name="ga4lake",
        target_name="dev",
        profile_mapping=PostgresUserPasswordProfileMapping(
            conn_id=POSTGRES_CONN_ID,
            profile_args={
                "schema": "{{ env_var('GA4LAKE_PG_INSIGHTS_SCHEMA') }}",
                "threads": "{{ env_var('GA4LAKE_DBT_THREADS', '2') | as_number }}",
                "connect_timeout": 10,
                "keepalives_idle": 0,
            },
        ),
    )


def dbt_manifest() -> Path:
    """A dbt manifest for Cosmos to render from, regenerated when the dbt project changed (``dbt parse``)."""
    settings = load_settings()
    target = settings.state_dir / "airflow" / "dbt"
    manifest = target / "manifest.json"
    project = REPO_ROOT / "dbt"
    sources = [p for sub in ("models", "macros", "tests") for p in (project / sub).rglob("*") if p.is_file()]
    newest = max(p.stat().st_mtime for p in [*sources, project / "dbt_project.yml"])
    if not manifest.is_file() or manifest.stat().st_mtime < newest:
        import os

        subprocess.run(
            [
                str(dbt_executable()),
                "parse",
                "--project-dir",
                str(project),
                "--profiles-dir",
                str(project),
                "--target-path",
                str(target),
                "--log-path",
                str(target / "logs"),
            ],
            check=True,
            capture_output=True,
            env={**os.environ, **dbt_env()},
        )
    return manifest


def dbt_executable() -> Path:
    return load_settings().venvs_dir / "dbt" / "bin" / "dbt"


__all__ = [
    "BRONZE",
    "POSTGRES_CONN_ID",
    "StackTrinoHook",
    "TRINO_CONN_ID",
    "DEFAULT_ARGS",
    "GOLD",
    "ExportSensor",
    "SILVER",
    "VALIDATED",
    "dbt_env",
    "dbt_executable",
    "dbt_manifest",
    "dbt_profile",
    "dbt_task_env",
    "loads_from",
    "parity_check",
    "step",
    "step_args",
]
