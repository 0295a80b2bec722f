"""The data contract of a GA4 export row, declared once: what silver requires before it accepts a row.

A row that breaks any rule goes to the quarantine table with every broken rule's reason and the raw
row — never dropped silently, never failing the whole load. NULL ``user_pseudo_id`` (consent-denied
traffic) is *allowed*: GA4 exports it and dbt-ga4 keeps it with a NULL client_key; the share of such
rows is an audit instead (see audit.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column
from pyspark.sql import functions as F

KNOWN_PLATFORMS = ("WEB", "IOS", "ANDROID")
# event_timestamp is UTC, event_date is the property's local date: allow one day either side (+2 h slack)
TIMESTAMP_SLACK_US = 26 * 3600 * 1_000_000


@dataclass(frozen=True)
class Rule:
    name: str
    reason: str
    violated: Column  # true when the row breaks the rule (NULL counts as "not broken")


def rules() -> list[Rule]:
    """Contract rules over a bronze row (export columns plus ``_shard_date``, ``_rescued_data``, ``_params``)."""
    day_start_us = F.unix_micros(F.to_timestamp(F.col("_shard_date")))
    keys = F.col("event_params.key")  # field extraction, not a lambda: code-generated
    session_id = F.col("_params")["ga_session_id"]
    return [
        Rule(
            "type_change",
            "a field's type differs from the export schema (raw value kept in _rescued_data)",
            F.col("_rescued_data").isNotNull(),
        ),
        Rule(
            "event_date_format",
            "event_date is not a YYYYMMDD date",
            ~F.coalesce(F.col("event_date").rlike(r"^\d{8}$"), F.lit(False))
            | F.try_to_date(F.col("event_date"), "yyyyMMdd").isNull(),
        ),
        Rule(
            "event_date_mismatch",
            "event_date differs from the export shard's date",
            F.col("event_date").rlike(r"^\d{8}$")
            & (F.try_to_date(F.col("event_date"), "yyyyMMdd") != F.col("_shard_date")),
        ),
        Rule("null_timestamp", "event_timestamp is NULL", F.col("event_timestamp").isNull()),
        Rule(
            "timestamp_out_of_day",
            "event_timestamp is more than a day away from event_date",
            (F.col("event_timestamp") < day_start_us - F.lit(TIMESTAMP_SLACK_US))
            | (F.col("event_timestamp") > day_start_us + F.lit(86_400_000_000 + TIMESTAMP_SLACK_US)),
        ),
        Rule(
            "null_event_name",
            "event_name is NULL or empty",
            F.coalesce(F.trim(F.col("event_name")) == F.lit(""), F.lit(True)),
        ),
        Rule(
            "empty_user_pseudo_id",
            "user_pseudo_id is an empty string (NULL is allowed: consent denied)",
            F.trim(F.col("user_pseudo_id")) == F.lit(""),
        ),
        Rule(
            "session_id_not_int",
            "ga_session_id is present but not an integer",
            session_id.isNotNull() & session_id["int_value"].isNull(),
        ),
        Rule(
            "duplicate_param_key",
            "event_params repeats a key",
            F.size(keys) != F.size(F.array_distinct(keys)),
        ),
        Rule("negative_value", "event_value_in_usd is negative", F.col("event_value_in_usd") < 0),
        Rule(
            "unknown_platform",
            f"platform is not one of {', '.join(KNOWN_PLATFORMS)}",
            ~F.coalesce(F.col("platform").isin(*KNOWN_PLATFORMS), F.lit(False)),
        ),
    ]


def violations(rule_list: list[Rule] | None = None) -> Column:
    """The reasons a row breaks, joined by '; ' (empty when the row is valid). Needs ``_params``
    (silver.with_param_map). No lambdas: Spark interprets higher-order functions row by row."""
    rule_list = rule_list or rules()
    reasons = [
        F.when(F.coalesce(r.violated, F.lit(False)), F.lit(f"{r.name}: {r.reason}")) for r in rule_list
    ]
    return F.concat_ws("; ", *reasons)
