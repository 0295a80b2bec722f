"""fact_events: one row per silver event (dbt-ga4 ``stg_ga4__events``), the columns analysts query.

Differences from silver: URLs without click-id parameters plus page_path/hostname/page_id, the gclid
rule applied to source/medium/campaign, one ``transaction_id`` (ecommerce, else the event param),
and no raw maps, items, lineage or PII columns — except the custom params the project promotes to typed
``param_<name>`` columns (ga4lake.yml ``params.event``, after the fixed columns; none by default). Consent-denied events are kept (NULL client and
session keys), as dbt-ga4 keeps them, and flagged by ``consent_denied`` (true = no ``user_pseudo_id``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ga4lake.gold.models.common import DEVICE_GEO_SOURCE_FIELDS
from ga4lake.gold.models.spec import FullInputs, GoldDelta, TableSpec
from ga4lake.project import Param

if TYPE_CHECKING:  # the windows import the session model; the spec only reads DeltaInputs' attributes
    from ga4lake.gold.models.windows import DeltaInputs

FACT_EVENTS_COLUMNS = (
    "event_key",
    "event_date",
    "event_ts",
    "event_timestamp_us",
    "event_name",
    "stream_id",
    "platform",
    "user_pseudo_id",
    "client_key",
    "consent_denied",
    "session_key",
    "session_partition_key",
    "session_id",
    "session_number",
    "page_id",
    "page_location",
    "page_path",
    "page_hostname",
    "page_referrer",
    "page_title",
    "content_group",
    "page_type",
    "engagement_time_msec",
    "session_engaged",
    "entrances",
    "percent_scrolled",
    "search_term",
    "link_url",
    "link_domain",
    "outbound",
    "event_source",
    "event_medium",
    "event_campaign",
    "event_term",
    "event_content",
    "gclid",
    "event_value",
    "currency",
    "event_value_in_usd",
    "transaction_id",
    "purchase_revenue",
    "purchase_revenue_in_usd",
    "tax_value_in_usd",
    "total_item_quantity",
    "item_count",
    *DEVICE_GEO_SOURCE_FIELDS,
)


def fact_events_columns(params: tuple[Param, ...] = ()) -> list[str]:
    """fact_events' columns: the fixed ones, then one ``param_<name>`` per promoted event param."""
    return [*FACT_EVENTS_COLUMNS, *(p.column for p in params)]


def fact_events(prepared: DataFrame, params: tuple[Param, ...] = ()) -> DataFrame:
    return prepared.select(*[F.col(c) for c in fact_events_columns(params)])


def _full(f: FullInputs) -> DataFrame:
    return fact_events(f.prepared, f.project.params.event)


def _delta(d: DeltaInputs) -> GoldDelta:
    """Day-local: the touched days' events are their rows (spec.day_local, with the promoted params)."""
    return GoldDelta(fact_events(d.day_events, d.project.params.event), "event_date", d.touched("event_date"))


TABLES = (
    TableSpec(
        "fact_events",
        ("event_key",),
        "event_date",
        "one row per silver event (stg_ga4__events)",
        scope_column="event_date",
        full=_full,
        delta=_delta,
    ),
)
