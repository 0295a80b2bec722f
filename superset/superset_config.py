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


# Flask-Compress would zstd/brotli-encode every response on the fly, the ≈ 15 MB of JavaScript of a first
# open included (≈ 0.25 s of a worker per 7.6 MB chunk, measured on the loaded two cores), to save bytes
# on a 127.0.0.1 link where they cost nothing; the browser then spends time decoding them too.
COMPRESS_REGISTER = False


class _NoEventLogger(AbstractEventLogger):
    """Superset writes an audit row per request and per frontend event into its `logs` table; the
    stack has one local admin and nothing reads them (a DB write per chart request saved)."""

    def log(self, *args, **kwargs):
        pass


EVENT_LOGGER = _NoEventLogger()

# --- charts appear finished, not animated; funnel labels readable -----------------------------------------
# ECharts animates every chart in (lines grow from the left over a second or more; longer while the
# two cores are busy with the other charts), so a person, a screenshot or the render timing met
# half-drawn lines (issue #21). A dashboard read every morning gains nothing from the animation:
# charts are drawn once, finished. The funnel plugin sets `animation: true` on its series, which
# outranks the option-wide switch, hence the per-chart-type override (merged into every series).
# Funnels: the plugin centres each stage and its label and draws dark text with a white outline,
# which blurs on a coloured stage and crosses the thin late stages; aligned left, every label starts
# on the same line, inside its stage (dark on the light stage colours of the dashboard's
# label_colors) or on the white beside a thin one.
from superset.config import THEME_DARK, THEME_DEFAULT  # noqa: E402  (defined before this file is read)

_CHART_OVERRIDES = {
    "echartsOptionsOverrides": {"animation": False},
    "echartsOptionsOverridesByChartType": {
        "funnel": {
            "series": {
                "animation": False,
                "funnelAlign": "left",
                "label": {"position": "insideLeft", "textBorderWidth": 0},
            }
        }
    },
}
THEME_DEFAULT = {**THEME_DEFAULT, **_CHART_OVERRIDES}
THEME_DARK = {**THEME_DARK, **_CHART_OVERRIDES} if THEME_DARK else THEME_DARK
