"""PostgreSQL: the one connection factory and the schema naming rule shared by the sync, dbt and Superset."""

from __future__ import annotations

from typing import Any

from ga4lake.config import Settings


def connect(settings: Settings, database: str | None = None) -> Any:
    """A psycopg2 connection to the stack's database (or ``database``) as the pipeline's role."""
    import psycopg2

    return psycopg2.connect(settings.pg_dsn(database) if database else settings.pg_dsn())


def insights_schema(gold_schema: str) -> str:
    """Where the insight views go: ``insights`` next to the real ``gold``, else ``<gold schema>_insights``
    (the same rule as dbt/profiles.yml, so a throw-away gold schema never touches the real views)."""
    return "insights" if gold_schema == "gold" else f"{gold_schema}_insights"
