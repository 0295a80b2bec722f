"""Superset configuration for the ga4lake stack (SUPERSET_CONFIG_PATH points here).

Every secret and location comes from the environment that ga4lake.stack.superset sets for the
service and its bootstrap, so nothing secret is committed: the secret key (GA4LAKE_SUPERSET_SECRET_KEY
or a key generated once into <state>/superset/secret_key) and the metadata database URI (the stack's
PostgreSQL, database GA4LAKE_PG_SUPERSET_DB).
"""

import os

from superset.utils.log import AbstractEventLogger  # already imported by superset.config

SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]
SQLALCHEMY_DATABASE_URI = os.environ["GA4LAKE_SUPERSET_METADATA_URI"]
# two gunicorn workers x four threads, plus the bootstrap: keep the metadata pool small
SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 4, "max_overflow": 4, "pool_pre_ping": True}

# Charts read the gold/insight tables live (no result cache): a dashboard never shows data older
# than the last sync + dbt build. Filter and explore state stay in the metastore (shared by workers).
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}

SUPERSET_WEBSERVER_TIMEOUT = 120
APP_NAME = "ga4lake"

# 127.0.0.1 only and plain HTTP: Talisman's HTTPS-oriented headers stay default, cookies not secure
SESSION_COOKIE_SECURE = False

# --- a dashboard render on two shared cores: skip work nobody reads ---------------------------------
# (drill-by / drill-to-detail fetch per-dataset metadata on every dashboard open)
FEATURE_FLAGS = {"DRILL_BY": False, "DRILL_TO_DETAIL": False}


class _NoEventLogger(AbstractEventLogger):
    """Superset writes an audit row per request and per frontend event into its `logs` table; the
    stack has one local admin and nothing reads them (a DB write per chart request saved)."""

    def log(self, *args, **kwargs):
        pass


EVENT_LOGGER = _NoEventLogger()
