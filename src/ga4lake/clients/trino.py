"""Trino access: run SQL on the stack's Trino, optionally at another Nessie branch or commit.

Trino reads the lake through Nessie's Iceberg REST endpoint; the catalog ``iceberg`` is branch ``main``.
Another reference is read through a dynamic catalog whose REST prefix is that reference
(``branch``, ``branch@<commit>``), created on first use and named ``ref_<reference>``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from ga4lake.config import Settings

_HASH = re.compile(r"^[0-9a-f]{8,64}$")


def ref_prefix(ref: str) -> str:
    """Nessie REST prefix for a reference: ``branch``, ``branch@hash``; a bare commit hash reads from main."""
    if _HASH.match(ref):
        return f"main@{ref}"
    return ref


def ref_catalog_name(ref: str) -> str:
    return "ref_" + re.sub(r"[^0-9a-z_]", "_", ref.lower())[:60]


def _loopback_proxy_session(port: int):
    """A requests session that plays the TLS-terminating proxy Trino believes it sits behind.

    Trino accepts a password only on a request it considers secure; with ``http-server.process-forwarded``
    a request saying ``X-Forwarded-Proto: https`` is one, and Trino then hands back ``https://`` URIs
    for the next pages of a result. Trino listens on loopback only, so there is no wire to protect: this
    session sends those follow-up requests to the same loopback port over plain HTTP."""
    import requests
    from requests.adapters import HTTPAdapter

    secure_prefix = f"https://127.0.0.1:{port}/"

    class _Downgrade(HTTPAdapter):
        def send(self, request, *args, **kwargs):
            request.url = "http://" + request.url[len("https://") :]
            return super().send(request, *args, **kwargs)

    session = requests.Session()
    session.headers["X-Forwarded-Proto"] = "https"
    session.mount(secure_prefix, _Downgrade())
    return session


def connect_to(
    host: str,
    port: int,
    user: str,
    password: str,
    catalog: str = "iceberg",
    schema: str | None = None,
    source: str | None = None,
):
    """A DB-API connection to a Trino on ``host:port`` (loopback) with basic auth: the one place that
    knows how this stack's Trino takes a password (:func:`_loopback_proxy_session`). Airflow's
    ``ga4lake_trino`` connection comes through here too, with the fields of that connection."""
    import trino

    return trino.dbapi.connect(
        host=host,
        port=port,
        user=user,
        auth=trino.auth.BasicAuthentication(user, password),
        allow_insecure_auth=True,
        http_session=_loopback_proxy_session(port),
        catalog=catalog,
        schema=schema,
        source=source or trino.constants.DEFAULT_SOURCE,
        http_scheme="http",
        request_timeout=600,
    )


def connect(
    settings: Settings,
    catalog: str = "iceberg",
    schema: str | None = None,
    user: str | None = None,
    password: str | None = None,
):
    """A DB-API connection as ``GA4LAKE_TRINO_USER`` with its password (``user``/``password`` override
    both, for tests of the access rules). Basic auth over plain HTTP is accepted because Trino listens
    on loopback only (docs/security.md)."""
    from ga4lake.clients.secrets import trino_password

    return connect_to(
        "127.0.0.1",
        settings.ports.trino,
        user or settings.trino_user,
        password or trino_password(settings),
        catalog=catalog,
        schema=schema,
    )


# Where a Trino DB-API connection comes from: catalog (and schema) in, connection out. The default is
# :func:`connect` with the Settings; Airflow tasks pass one built from the ``ga4lake_trino`` connection.
Connector = Callable[..., Any]


def settings_connector(settings: Settings) -> Connector:
    return lambda catalog="iceberg", schema=None: connect(settings, catalog=catalog, schema=schema)


def ensure_ref_catalog(settings: Settings, ref: str, connector: Connector | None = None) -> str:
    """Create (once) a Trino catalog that reads the lake at Nessie reference ``ref``."""
    name = ref_catalog_name(ref)
    props = {
        "iceberg.catalog.type": "rest",
        "iceberg.rest-catalog.uri": f"http://127.0.0.1:{settings.ports.nessie}/iceberg",
        "iceberg.rest-catalog.prefix": ref_prefix(ref),
        "fs.native-s3.enabled": "true",
        "s3.endpoint": settings.s3_endpoint,
        "s3.region": settings.s3_region,
        "s3.path-style-access": str(settings.s3_path_style).lower(),
        "s3.aws-access-key": settings.s3_access_key,
        "s3.aws-secret-key": settings.s3_secret_key,
    }
    conn = (connector or settings_connector(settings))(catalog="system")
    cur = conn.cursor()
    cur.execute("SELECT catalog_name FROM system.metadata.catalogs")
    if name not in {r[0] for r in cur.fetchall()}:
        with_clause = ", ".join(f"\"{k}\" = '{v.replace(chr(39), chr(39) * 2)}'" for k, v in props.items())
        cur.execute(f"CREATE CATALOG {name} USING iceberg WITH ({with_clause})")
        cur.fetchall()
    conn.close()
    return name


def run_sql(
    settings: Settings,
    query: str,
    ref: str | None = None,
    catalog: str = "iceberg",
    schema: str | None = None,
    connector: Connector | None = None,
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run one statement; with ``ref`` the default catalog is that reference's catalog. ``connector``:
    where the connection comes from (default: the Settings' Trino and user)."""
    connector = connector or settings_connector(settings)
    if ref and ref != "main":
        catalog = ensure_ref_catalog(settings, ref, connector)
    conn = connector(catalog=catalog, schema=schema)
    try:
        cur = conn.cursor()
        cur.execute(query.strip().rstrip(";"))
        rows = [tuple(r) for r in cur.fetchall()]
        columns = [d[0] for d in (cur.description or [])]
    finally:
        conn.close()
    return columns, rows


def format_result(columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str = "table") -> str:
    if fmt == "json":
        return json.dumps([dict(zip(columns, r, strict=True)) for r in rows], default=str, indent=2) + "\n"
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(columns)
        w.writerows(rows)
        return buf.getvalue()
    cells = [[("NULL" if v is None else str(v)) for v in r] for r in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    lines = [
        " | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)),
        "-+-".join("-" * w for w in widths),
    ]
    lines += [" | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines) + "\n"
