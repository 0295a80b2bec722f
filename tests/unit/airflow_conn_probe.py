"""Run inside the Airflow virtualenv: resolve the stack's connections the way a task does and write what
they became as JSON (no service is contacted: a trino DB-API connection opens no socket until a query).

Checks the round trip ``AIRFLOW_CONN_*`` JSON -> Airflow Connection -> what the DAGs build from it: the
Trino provider hook's connection (StackTrinoHook) and Cosmos' dbt profile (PostgresUserPasswordProfileMapping).
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, sys.argv[1])  # the DAG folder, as Airflow puts it on sys.path

from airflow.sdk import BaseHook  # noqa: E402
from airflow.sdk._shared.secrets_masker.secrets_masker import redact  # noqa: E402
from ga4lake_dags import (  # noqa: E402
    POSTGRES_CONN_ID,
    TRINO_CONN_ID,
    StackTrinoHook,
    dbt_profile,
    dbt_task_env,
)

out: dict = {"connections": {}}
for conn_id in (POSTGRES_CONN_ID, TRINO_CONN_ID, "ga4lake_s3"):
    c = BaseHook.get_connection(conn_id)
    out["connections"][conn_id] = {
        "conn_type": c.conn_type,
        "host": c.host,
        "port": c.port,
        "login": c.login,
        "password": c.password,
        "schema": c.schema,
        "extra": c.extra_dejson,
        # what a task log line naming the password shows once the connection was looked up
        "password_logged_as": redact(f"password={c.password}") if c.password else None,
    }

trino = StackTrinoHook(trino_conn_id=TRINO_CONN_ID).get_conn()
session = trino._http_session
out["trino"] = {
    "host": trino.host,
    "port": trino.port,
    "user": trino.user,
    "catalog": trino.catalog,
    "source": trino.source,
    "auth": type(trino.auth).__name__,
    "http_scheme": trino.http_scheme,
    "forwarded_proto": session.headers.get("X-Forwarded-Proto"),
}
ref = StackTrinoHook(trino_conn_id=TRINO_CONN_ID).connector()(catalog="system")
# the catalog the next request sends (what parity's branch catalog relies on)
out["trino"]["connector_catalog"] = ref._client_session.catalog

mapping = dbt_profile().profile_mapping
out["dbt_profile"] = {
    "conn_id": mapping.conn_id,
    "profile": mapping.profile,
    "env_vars": sorted(mapping.env_vars),
    "password_in_env": list(mapping.env_vars.values()),
}
out["dbt_task_env"] = dbt_task_env({"pg_gold_schema": "gold_probe"})
Path(sys.argv[2]).write_text(json.dumps(out, indent=1, default=str))
