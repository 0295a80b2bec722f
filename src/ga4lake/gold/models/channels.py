"""Default channel grouping (docs/semantics.md#default-channel-grouping) and a source -> category mapping.

The mapping (``source_categories.csv`` beside this module) is written for ga4lake from common knowledge of the big search engines, social
networks, video sites and shopping sites; it is deliberately **partial** (195 sources, where
dbt-ga4's seed has 819 and Google's own list more). Unknown sources get no category, so their
channel falls back to the medium-based rules (Organic Search only via ``medium = organic``, Referral,
Unassigned …). Keys are lower-case because silver lower-cases ``event_source``; dbt-ga4's seed has a
few capitalised entries (e.g. ``Google Shopping``) that can never match there, whereas ours do.
"""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import Column
from pyspark.sql import functions as F

from ga4lake.source_categories import (
    CATEGORIES,
    SEARCH,
    SHOPPING,
    SOCIAL,
    SOURCE_CATEGORIES,
    SOURCE_CATEGORIES_CSV,
    VIDEO,
    load_source_categories,
)

__all__ = [
    "CATEGORIES",
    "SOURCE_CATEGORIES",
    "SOURCE_CATEGORIES_CSV",
    "channel_of_source",
    "default_channel_group",
    "load_source_categories",
    "source_category",
]

# rlike is a substring search, so whole-string patterns are anchored
_PAID = r"^(.*cp.*|ppc|retargeting|paid.*)$"
_SHOP = r"^(.*(([^a-df-z]|^)shop|shopping).*)$"
_EMAIL = r"email|e-mail|e_mail|e mail"
_DISPLAY = ("display", "banner", "expandable", "interstitial", "cpm")
_SOCIAL_MEDIA = ("social", "social-network", "social-media", "sm", "social network", "social media")


def source_category(source: Column, categories: Mapping[str, str] = SOURCE_CATEGORIES) -> Column:
    """Category of a source, NULL when the source is NULL or not in the (partial) mapping.

    ``categories``: the built-in mapping, or the project's (``Project.channels.source_categories``:
    built-in plus the rows of ga4lake.yml's ``channels.source_categories_csv``)."""
    return F.when(source.isNotNull(), F.try_element_at(_category_map(categories), source))


def _category_map(categories: Mapping[str, str]) -> Column:
    # one SQL literal map (parsed once by the JVM) instead of hundreds of F.lit round trips; the loader
    # refused quotes and backslashes, so the keys are safe inside SQL string literals
    pairs = ", ".join(f"'{k}', '{v}'" for k, v in categories.items())
    return F.expr(f"map({pairs})") if pairs else F.create_map().cast("map<string,string>")


def default_channel_group(source: Column, medium: Column, category: Column, campaign: Column) -> Column:
    """dbt-ga4's rule list, first match wins. NULL comparisons do not match (three-valued logic kept,
    no coalescing), exactly like the SQL macro."""
    paid = medium.rlike(_PAID)
    shop = campaign.rlike(_SHOP)
    return (
        F.when(
            (source.isNull() & medium.isNull())
            | ((source == F.lit("(direct)")) & medium.isin("(none)", "(not set)")),
            F.lit("Direct"),
        )
        .when(campaign.contains("cross-network"), F.lit("Cross-network"))
        .when(((category == F.lit(SHOPPING)) | shop) & paid, F.lit("Paid Shopping"))
        .when((category == F.lit(SEARCH)) & paid, F.lit("Paid Search"))
        .when((category == F.lit(SOCIAL)) & paid, F.lit("Paid Social"))
        .when((category == F.lit(VIDEO)) & paid, F.lit("Paid Video"))
        .when(medium.isin(*_DISPLAY), F.lit("Display"))
        .when(paid, F.lit("Paid Other"))
        .when((category == F.lit(SHOPPING)) | shop, F.lit("Organic Shopping"))
        .when((category == F.lit(SOCIAL)) | medium.isin(*_SOCIAL_MEDIA), F.lit("Organic Social"))
        .when((category == F.lit(VIDEO)) | medium.contains("video"), F.lit("Organic Video"))
        .when((category == F.lit(SEARCH)) | (medium == F.lit("organic")), F.lit("Organic Search"))
        .when(medium.isin("referral", "app", "link"), F.lit("Referral"))
        .when(source.rlike(_EMAIL) | medium.rlike(_EMAIL), F.lit("Email"))
        .when(medium == F.lit("affiliate"), F.lit("Affiliates"))
        .when(medium == F.lit("audio"), F.lit("Audio"))
        .when((source == F.lit("sms")) | (medium == F.lit("sms")), F.lit("SMS"))
        .when(
            medium.rlike(r"push$")
            | medium.contains("mobile")
            | medium.contains("notification")
            | (source == F.lit("firebase")),
            F.lit("Mobile Push Notifications"),
        )
        .otherwise(F.lit("Unassigned"))
    )


def channel_of_source(
    source: Column, medium: Column, campaign: Column, categories: Mapping[str, str] = SOURCE_CATEGORIES
) -> Column:
    """Channel for raw source/medium/campaign values (category looked up from the source)."""
    return default_channel_group(source, medium, source_category(source, categories), campaign)
