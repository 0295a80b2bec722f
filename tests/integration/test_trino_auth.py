"""Trino asks every client for a password and lets the stack's user do exactly what ga4lake needs: read
the configured catalogs, create and drop the per-reference ``ref_*`` catalogs (docs/security.md)."""

from __future__ import annotations

import stat

import pytest
import requests

from ga4lake.clients import secrets as secretfiles
from ga4lake.clients.trino import connect, ensure_ref_catalog, run_sql
from ga4lake.config import Settings
from ga4lake.load.maintain import drop_catalog, trino_catalogs
from ga4lake.stack.manager import require_healthy

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def trino(settings: Settings) -> Settings:
    require_healthy(settings, ("trino", "nessie"))
    return settings


def _post(s: Settings, headers: dict[str, str], auth: tuple[str, str] | None = None) -> requests.Response:
    return requests.post(
        f"{s.trino_url}/v1/statement",
        data="SELECT 1",
        headers={"X-Trino-User": s.trino_user, **headers},
        auth=auth,
        timeout=10,
    )


def _refusal(s: Settings, sql: str, **kw: str) -> str:
    conn = connect(s, catalog="system", **kw)
    try:
        cur = conn.cursor()
        cur.execute(sql)
        cur.fetchall()
    except Exception as exc:  # noqa: BLE001 - the refusal is the point: return its message
        return str(exc)
    finally:
        conn.close()
    raise AssertionError(f"Trino ran {sql!r} for {kw or s.trino_user}")


def test_a_request_without_the_password_is_refused(trino):
    plain = _post(trino, {})
    assert plain.status_code == 403, plain.text  # plain HTTP without authentication is off
    proxied = _post(trino, {"X-Forwarded-Proto": "https"})
    assert proxied.status_code == 401, proxied.text
    assert "Basic" in proxied.headers.get("WWW-Authenticate", "")
    wrong = _post(trino, {"X-Forwarded-Proto": "https"}, auth=(trino.trino_user, "not-the-password"))
    assert wrong.status_code == 401, wrong.text
    right = _post(
        trino, {"X-Forwarded-Proto": "https"}, auth=(trino.trino_user, secretfiles.trino_password(trino))
    )
    assert right.status_code == 200, right.text
    assert requests.get(f"{trino.trino_url}/v1/info", timeout=5).status_code == 200  # health stays public


def test_the_projects_client_works_with_the_password(trino):
    _, rows = run_sql(trino, "SELECT catalog_name FROM system.metadata.catalogs")
    assert {"iceberg", "postgresql", "system"} <= {r[0] for r in rows}
    _, schemas = run_sql(trino, "SHOW SCHEMAS", catalog="iceberg")
    assert "information_schema" in {r[0] for r in schemas}
    _, pg = run_sql(trino, "SELECT count(*) FROM postgresql.information_schema.schemata")
    assert pg[0][0] >= 1


def test_only_the_stack_user_manages_only_ref_catalogs(trino):
    name = ensure_ref_catalog(trino, "main")  # what `ga4lake sql --ref main@<hash>` and history do
    assert name.startswith("ref_") and name in trino_catalogs(trino)
    drop_catalog(trino, name)  # what `ga4lake maintain` does with stale ones
    assert name not in trino_catalogs(trino)

    other = "CREATE CATALOG scratch USING iceberg WITH (\"iceberg.catalog.type\" = 'rest', " + (
        "\"iceberg.rest-catalog.uri\" = 'http://127.0.0.1:1/iceberg')"
    )
    assert "Cannot create catalog scratch" in _refusal(trino, other)
    assert "Cannot drop catalog postgresql" in _refusal(trino, "DROP CATALOG postgresql")
    assert "Access Denied" in _refusal(trino, "CREATE SCHEMA iceberg.scratch")  # no writes through Trino
    # another user: unknown to the password file, and the stack user may not impersonate it
    assert "401" in _refusal(trino, "SELECT 1", user="analyst", password=secretfiles.trino_password(trino))
    impersonate = _post(
        trino,
        {"X-Forwarded-Proto": "https", "X-Trino-User": "analyst"},
        auth=(trino.trino_user, secretfiles.trino_password(trino)),
    )
    body = impersonate.json() if impersonate.status_code == 200 else {}
    while impersonate.status_code == 200 and "error" not in body and body.get("nextUri"):
        impersonate = requests.get(
            body["nextUri"].replace("https://", "http://", 1),
            headers={"X-Forwarded-Proto": "https"},
            auth=(trino.trino_user, secretfiles.trino_password(trino)),
            timeout=10,
        )
        body = impersonate.json() if impersonate.status_code == 200 else {}
    assert "cannot impersonate" in (impersonate.text + str(body.get("error", ""))).lower(), impersonate.text


def test_trino_secrets_are_private_files(trino):
    etc = trino.state_dir / "trino" / "etc"
    for path in (
        secretfiles.secrets_dir(trino) / "trino_password",
        secretfiles.secrets_dir(trino) / "trino_shared_secret",
        etc / "password.db",
        etc / "rules.json",
    ):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(etc.stat().st_mode) == 0o700
    stored = (etc / "password.db").read_text()
    assert stored.startswith(f"{trino.trino_user}:") and secretfiles.trino_password(trino) not in stored
