"""Bring Superset's metadata database to what the stack needs, in one process (runs in the Superset venv).

    python superset/bootstrap.py all      # migrate if behind, roles, admin user, import the bundle
    python superset/bootstrap.py import   # import the bundle only (what `ga4lake dashboard import` runs)

One process instead of `superset db upgrade`, `fab create-admin`, `init` and `import-*`: every
`superset` CLI call loads the whole app, seconds each on two cores. Everything is idempotent: the
migrations run only when the database is behind, the roles are synced only after a migration (or when
the Admin role has no permissions), the admin password follows GA4LAKE_SUPERSET_ADMIN_PASSWORD, and the
bundle import updates rows only where the YAML differs from the database.

Configuration comes from the environment set by ga4lake.stack.superset (superset_env).
Prints one JSON line with what it did.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

BUNDLE = Path(__file__).resolve().parent / "bundle"
MASKED_PASSWORD = "XXXXXXXXXX"  # what Superset writes into exported database URIs


def bundle_contents(env: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """The bundle as Superset's importer wants it ({path: yaml}), with the connection and schemas of
    this stack filled in, plus the reader password per database file (never stored in the YAML)."""
    import yaml

    if not (BUNDLE / "metadata.yaml").exists():
        raise SystemExit(f"no Superset bundle at {BUNDLE} (metadata.yaml missing)")
    schemas = {
        "insights": env["GA4LAKE_PG_INSIGHTS_SCHEMA"],
        "gold": env.get("GA4LAKE_PG_GOLD_SCHEMA", "gold"),
    }
    contents: dict[str, str] = {}
    passwords: dict[str, str] = {}
    for path in sorted(BUNDLE.rglob("*.yaml")):
        name = path.relative_to(BUNDLE).as_posix()
        config = yaml.safe_load(path.read_text())
        if name.startswith("databases/"):
            config["sqlalchemy_uri"] = (
                f"postgresql+psycopg2://ga4lake_reader:{MASKED_PASSWORD}@{env['GA4LAKE_PG_HOST']}:"
                f"{env['GA4LAKE_PG_PORT']}/{env['GA4LAKE_PG_GOLD_DB']}"
            )
            passwords[name] = env["GA4LAKE_PG_READER_PASSWORD"]
        elif name.startswith("datasets/"):
            config["schema"] = schemas.get(config["schema"], config["schema"])
        contents[name] = yaml.safe_dump(config, sort_keys=False)
    return contents, passwords


def migrate() -> bool:
    """Alembic upgrade to head when the database is behind; True when it ran."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from flask import current_app
    from flask_migrate import upgrade
    from superset import db

    config = current_app.extensions["migrate"].migrate.get_config()
    heads = set(ScriptDirectory.from_config(config).get_heads())
    with db.engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    if current == heads:
        return False
    upgrade()
    return True


def sync_roles(force: bool) -> bool:
    """`superset init` (permissions and built-in roles) after a migration or when roles are missing."""
    from superset import appbuilder, security_manager

    admin = security_manager.find_role("Admin")
    if not force and admin is not None and admin.permissions:
        return False
    appbuilder.add_permissions(update_perms=True)
    security_manager.sync_role_definitions()
    return True


def ensure_admin(username: str, password: str) -> str:
    from superset import security_manager
    from werkzeug.security import check_password_hash

    user = security_manager.find_user(username=username)
    if user is None:
        role = security_manager.find_role("Admin")
        security_manager.add_user(username, "ga4lake", "admin", f"{username}@ga4lake.local", role, password)
        return "created"
    if not check_password_hash(user.password, password):
        security_manager.reset_password(user.id, password)
        return "password reset"
    return "unchanged"


def import_bundle(env: dict[str, str], username: str) -> dict[str, int]:
    """Superset's own asset importer (what POST /api/v1/assets/import/ runs), as the admin user."""
    from flask import g
    from superset import security_manager
    from superset.commands.importers.v1.assets import ImportAssetsCommand

    class IdempotentImport(ImportAssetsCommand):
        """Superset assigns the YAML's uuid strings over the stored UUID objects, which SQLAlchemy sees
        as a change: every re-import would bump changed_on on every row. Typed UUIDs make an
        unchanged bundle a no-op (rows are updated only where the YAML really differs)."""

        @staticmethod
        def _import(configs: dict[str, Any], sparse: bool = False) -> None:
            for config in configs.values():
                if isinstance(config.get("uuid"), str):
                    config["uuid"] = uuid.UUID(config["uuid"])
            ImportAssetsCommand._import(configs, sparse)

    g.user = security_manager.find_user(username=username)
    contents, passwords = bundle_contents(env)
    try:
        IdempotentImport(contents, passwords=passwords).run()
    except Exception as exc:  # Superset wraps the cause in a generic "Import failed"; name it
        details = getattr(exc, "normalized_messages", lambda: None)()
        cause = exc.__cause__
        raise SystemExit(f"bundle import failed: {exc}; {details or ''} cause: {cause!r}") from exc
    kinds = [name.split("/")[0] for name in contents if "/" in name]
    return {kind: kinds.count(kind) for kind in sorted(set(kinds))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["all", "import"])
    args = parser.parse_args(argv)
    env = dict(os.environ)
    t0 = time.monotonic()
    from superset.app import create_app

    app = create_app()
    done: dict[str, Any] = {}
    with app.app_context():
        username = env["GA4LAKE_SUPERSET_ADMIN_USER"]
        if args.step == "all":
            done["migrated"] = migrate()
            done["roles_synced"] = sync_roles(force=done["migrated"])
            done["admin"] = ensure_admin(username, env["GA4LAKE_SUPERSET_ADMIN_PASSWORD"])
        done["imported"] = import_bundle(env, username)
    done["seconds"] = round(time.monotonic() - t0, 1)
    print(json.dumps(done), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
