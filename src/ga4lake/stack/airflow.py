"""Airflow 3 as a native service: its own virtualenv, metadata in the stack's PostgreSQL, LocalExecutor.

One supervised process group runs the three components a single node needs (scheduler, DAG processor,
API server); if one dies the group exits and the health check reports it. Tasks shell out to the main
virtualenv's ``ga4lake`` (Spark, boto3, trino live there), Cosmos to the dbt virtualenv's ``dbt``.
Stdlib only at import time: the installer loads this module before any virtualenv exists.
"""

from __future__ import annotations

import json
import secrets
import shlex
import urllib.request
from pathlib import Path

from ga4lake.config import REPO_ROOT, Settings, load_env
from ga4lake.stack.process import Service

DAGS_DIR = REPO_ROOT / "airflow" / "dags"


def venv(s: Settings) -> Path:
    return s.venvs_dir / "airflow"


def home(s: Settings) -> Path:
    return s.state_dir / "airflow"


def admin(s: Settings) -> tuple[str, str]:
    env = load_env()
    return env.get("GA4LAKE_AIRFLOW_ADMIN_USER", "admin"), env.get("GA4LAKE_AIRFLOW_ADMIN_PASSWORD", "")


def api_url(s: Settings) -> str:
    return f"http://127.0.0.1:{s.ports.airflow}"


def _secret(s: Settings, name: str) -> str:
    """A random secret generated once per stack (state dir), never in git."""
    path = home(s) / f".{name}"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


# The stack's services as Airflow Connections (ids used by the DAGs; docs/airflow.md has the table)
POSTGRES_CONN_ID = "ga4lake_postgres"
TRINO_CONN_ID = "ga4lake_trino"
S3_CONN_ID = "ga4lake_s3"


def conn_env_name(conn_id: str) -> str:
    """The environment variable Airflow reads a connection from (``AIRFLOW_CONN_<ID>``)."""
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def connections(s: Settings) -> dict[str, dict[str, object]]:
    """The stack's PostgreSQL, Trino and S3 as Airflow Connections, in Airflow's JSON form.

    They reach Airflow as ``AIRFLOW_CONN_*`` environment variables (:func:`connection_env`), the lowest
    rung of Airflow's lookup: a configured secrets backend (Vault, AWS Secrets Manager ...) is asked first,
    so a connection stored there under the same id replaces the stack's without a code change. Built from
    the same Settings and generated secrets the rest of the stack uses, never written to disk."""
    from ga4lake.clients.secrets import trino_password  # stdlib only

    return {
        POSTGRES_CONN_ID: {
            "conn_type": "postgres",
            "host": s.pg_host,
            "port": s.ports.postgres,
            "login": s.pg_user,
            "password": s.pg_password,
            "schema": s.pg_gold_db,  # an Airflow postgres connection's "schema" is the database
        },
        TRINO_CONN_ID: {
            "conn_type": "trino",
            "host": "127.0.0.1",
            "port": s.ports.trino,
            "login": s.trino_user,
            "password": trino_password(s),
            "extra": {"catalog": "iceberg", "protocol": "http"},
        },
        S3_CONN_ID: {
            "conn_type": "aws",
            "login": s.s3_access_key,
            "password": s.s3_secret_key,
            "extra": {
                "endpoint_url": s.s3_endpoint,
                "region_name": s.s3_region,
                "service_config": {"s3": {"addressing_style": "path" if s.s3_path_style else "auto"}},
            },
        },
    }


def connection_env(s: Settings) -> dict[str, str]:
    """``AIRFLOW_CONN_<ID>`` variables holding :func:`connections` as JSON."""
    return {conn_env_name(cid): json.dumps(conn) for cid, conn in connections(s).items()}


def airflow_env(s: Settings) -> dict[str, str]:
    """Airflow's whole configuration, as environment variables (no airflow.cfg to drift)."""
    env = load_env()
    user, password = admin(s)
    db = env.get("GA4LAKE_PG_AIRFLOW_DB", "airflow")
    return {
        "AIRFLOW_HOME": str(home(s)),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        # how airflow/dags/.airflowignore is read (Airflow 3's default, pinned: the file is written in it)
        "AIRFLOW__CORE__DAG_IGNORE_FILE_SYNTAX": "glob",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": env["GA4LAKE_AIRFLOW_PARALLELISM"],
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api_url(s)}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{user}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home(s) / "passwords.json"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": (
            f"postgresql+psycopg2://{s.pg_user}:{s.pg_password}@{s.pg_host}:{s.ports.postgres}/{db}"
        ),
        "AIRFLOW__API__HOST": s.bind_host,
        "AIRFLOW__API__PORT": str(s.ports.airflow),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__SECRET_KEY": _secret(s, "api_secret"),
        "AIRFLOW__API_AUTH__JWT_SECRET": _secret(s, "jwt_secret"),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "20",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "30",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home(s) / "logs"),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(s.ports.airflow_logs),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        # no usage telemetry (machines may be offline; every attempt costs a DNS timeout per task)
        "AIRFLOW__USAGE_DATA_COLLECTION__ENABLED": "False",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "DO_NOT_TRACK": "1",
        "SCARF_ANALYTICS": "false",
        # what the DAG files and tasks need to find the project and the other virtualenvs
        "GA4LAKE_HOME": str(s.home),
        "GA4LAKE_STATE_DIR": str(s.state_dir),
        # the DAGs and in-process tasks (parity) import this checkout's ga4lake, whatever checkout the
        # venv's editable install last pointed at (a second worktree runs its own code)
        "PYTHONPATH": str(REPO_ROOT / "src"),
        "NO_PROXY": "127.0.0.1,localhost",
        # tasks use the stack's Spark Connect server when it runs (no JVM start per task), else local Spark
        "GA4LAKE_SPARK_REMOTE": f"sc://127.0.0.1:{s.ports.spark_connect}"
        if "spark-connect" in s.ui_services
        else "",
        # the stack's services as Airflow Connections (a secrets backend's entry of the same id wins)
        **connection_env(s),
    }


def service(s: Settings) -> Service:
    bin_ = venv(s) / "bin"

    def prepare() -> None:
        user, password = admin(s)
        if not password:
            from ga4lake.errors import StackError

            raise StackError(
                "airflow: GA4LAKE_AIRFLOW_ADMIN_PASSWORD is empty (set it in .env or the environment)"
            )
        home(s).mkdir(parents=True, exist_ok=True)
        pw = home(s) / "passwords.json"
        pw.write_text(json.dumps({user: password}))
        pw.chmod(0o600)
        if not (bin_ / "airflow").exists():
            from ga4lake.errors import StackError

            raise StackError(f"airflow is not installed in {venv(s)}: run `make install`")

    def command() -> list[str]:
        a = shlex.quote(str(bin_ / "airflow"))
        py = shlex.quote(str(bin_ / "python"))
        # The scheduler's own log server (serve-logs) binds every interface ([::] and 0.0.0.0, not
        # configurable): it is skipped and the same app is served on loopback, on the port map's port.
        logs = (
            f"{py} -m uvicorn --factory airflow.utils.serve_logs.log_server:get_app "
            f"--host 127.0.0.1 --port {s.ports.airflow_logs} --log-level warning"
        )
        # This shell supervises the four components and restarts one that exits: Airflow's scheduler and
        # DAG processor exit when their metadata database goes away (a PostgreSQL restart), and without
        # a restart Airflow stayed half-up — API server still on its port, nothing scheduling.
        keep = (
            'keep() { while :; do "$@"; echo "ga4lake: airflow component \'$*\' exited ($?);'
            ' restarting in 5 s" >&2; sleep 5; done; }; '
        )
        script = (
            f"set -e; {a} db migrate; set +e; {keep}"
            f"keep {a} scheduler --skip-serve-logs & keep {a} dag-processor & "
            f"keep {a} api-server --host {s.bind_host} --port {s.ports.airflow} & keep {logs} & "
            "wait"
        )
        return ["bash", "-c", script]

    def env() -> dict[str, str]:
        return {**airflow_env(s), "PATH": f"{bin_}:/usr/local/bin:/usr/bin:/bin"}

    def health() -> bool:
        with urllib.request.urlopen(f"{api_url(s)}/api/v2/monitor/health", timeout=3) as resp:
            body = json.load(resp)
        return all(
            body.get(part, {}).get("status") == "healthy"
            for part in ("metadatabase", "scheduler", "dag_processor")
        )

    return Service(
        name="airflow",
        port=s.ports.airflow,
        extra_ports=(s.ports.airflow_logs,),
        command=command,
        health=health,
        prepare=prepare,
        env=env,
        log_file=s.logs_dir / "airflow.log",
        pid_file=s.run_dir / "airflow.pid",
        cwd=REPO_ROOT,
        timeout=max(s.start_timeout, 240),
    )


def install(s: Settings) -> None:
    """The Airflow virtualenv (pinned requirements) plus this checkout, without its dependencies."""
    from ga4lake.stack.install import run, venv_step

    v = venv_step(s, "airflow", REPO_ROOT / "requirements" / "airflow.txt", "airflow")
    # DAG files import ga4lake's stdlib-only modules (config, orchestrate) from this checkout
    pip = [str(v / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    run([*pip, "install", "--no-deps", "--no-build-isolation", "-e", str(REPO_ROOT)])
