"""Default channel grouping (docs/semantics.md#default-channel-grouping) and a source -> category mapping.

The mapping below is written for ga4lake from common knowledge of the big search engines, social
networks, video sites and shopping sites; it is deliberately **partial** (195 sources, where
dbt-ga4's seed has 819 and Google's own list more). Unknown sources get no category, so their
channel falls back to the medium-based rules (Organic Search only via ``medium = organic``, Referral,
Unassigned …). Keys are lower-case because silver lower-cases ``event_source``; dbt-ga4's seed has a
few capitalised entries (e.g. ``Google Shopping``) that can never match there, whereas ours do.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

SEARCH = "SEARCH"
SOCIAL = "SOCIAL"
VIDEO = "VIDEO"
SHOPPING = "SHOPPING"

_SEARCH = (
    "google",
    "google.com",
    "www.google.com",
    "google.co.uk",
    "google.de",
    "google.fr",
    "google.ca",
    "google.co.in",
    "google.com.au",
    "google.co.jp",
    "google.es",
    "google.it",
    "google.com.br",
    "google.nl",
    "bing",
    "bing.com",
    "cn.bing.com",
    "yahoo",
    "yahoo.com",
    "search.yahoo.com",
    "yahoo.co.jp",
    "search.yahoo.co.jp",
    "baidu",
    "baidu.com",
    "m.baidu.com",
    "duckduckgo",
    "duckduckgo.com",
    "yandex",
    "yandex.ru",
    "yandex.com",
    "ecosia",
    "ecosia.org",
    "naver",
    "naver.com",
    "search.naver.com",
    "daum",
    "daum.net",
    "sogou",
    "sogou.com",
    "so.com",
    "seznam",
    "seznam.cz",
    "ask",
    "ask.com",
    "aol",
    "search.aol.com",
    "startpage",
    "startpage.com",
    "qwant",
    "qwant.com",
    "search.brave.com",
    "brave",
    "yep.com",
    "msn",
    "msn.com",
    "coccoc.com",
    "dogpile.com",
    "onet.pl",
    "rambler.ru",
    "mail.ru",
    "go.mail.ru",
    "search-results.com",
)

_SOCIAL = (
    "facebook",
    "facebook.com",
    "m.facebook.com",
    "l.facebook.com",
    "lm.facebook.com",
    "web.facebook.com",
    "fb",
    "fb.com",
    "instagram",
    "instagram.com",
    "l.instagram.com",
    "ig",
    "twitter",
    "twitter.com",
    "mobile.twitter.com",
    "t.co",
    "x",
    "x.com",
    "linkedin",
    "linkedin.com",
    "lnkd.in",
    "reddit",
    "reddit.com",
    "old.reddit.com",
    "out.reddit.com",
    "pinterest",
    "pinterest.com",
    "pin.it",
    "quora",
    "quora.com",
    "tiktok",
    "tiktok.com",
    "snapchat",
    "snapchat.com",
    "tumblr",
    "tumblr.com",
    "threads.net",
    "vk.com",
    "ok.ru",
    "weibo",
    "weibo.com",
    "wechat",
    "whatsapp",
    "whatsapp.com",
    "web.whatsapp.com",
    "messenger",
    "messenger.com",
    "telegram",
    "t.me",
    "discord",
    "discord.com",
    "line",
    "line.me",
    "kakaotalk",
    "meetup.com",
    "medium.com",
    "news.ycombinator.com",
    "slack",
    "slack.com",
    "xing.com",
    "mastodon.social",
    "bsky.app",
    "flickr.com",
    "stackoverflow.com",
    "yelp.com",
    "tripadvisor.com",
    "glassdoor.com",
    "producthunt.com",
    "blogger.com",
    "wordpress.com",
)

_VIDEO = (
    "youtube",
    "youtube.com",
    "m.youtube.com",
    "youtu.be",
    "vimeo",
    "vimeo.com",
    "twitch",
    "twitch.tv",
    "dailymotion",
    "dailymotion.com",
    "netflix",
    "netflix.com",
    "hulu",
    "hulu.com",
    "bilibili",
    "bilibili.com",
    "iqiyi.com",
    "youku.com",
    "rumble.com",
    "ted.com",
    "wistia.com",
    "disneyplus.com",
    "primevideo.com",
)

_SHOPPING = (
    "google shopping",
    "shopping.google.com",
    "igshopping",
    "amazon",
    "amazon.com",
    "amazon.co.uk",
    "amazon.de",
    "ebay",
    "ebay.com",
    "ebay.co.uk",
    "etsy",
    "etsy.com",
    "walmart",
    "walmart.com",
    "target.com",
    "bestbuy.com",
    "alibaba",
    "alibaba.com",
    "aliexpress",
    "aliexpress.com",
    "shopify",
    "shopify.com",
    "shopzilla",
    "shopzilla.com",
    "mercadolibre",
    "mercadolibre.com",
    "rakuten",
    "rakuten.com",
    "rakuten.co.jp",
    "stripe",
    "stripe.com",
    "checkout.stripe.com",
    "paypal.com",
    "wish.com",
    "zalando",
    "zalando.de",
    "idealo.de",
    "pricegrabber.com",
    "shopping.yahoo.com",
    "bing shopping",
)

#: source (lower-case) -> SEARCH | SOCIAL | VIDEO | SHOPPING. Partial by design (see module doc).
SOURCE_CATEGORIES: dict[str, str] = {
    **{s: SEARCH for s in _SEARCH},
    **{s: SOCIAL for s in _SOCIAL},
    **{s: VIDEO for s in _VIDEO},
    **{s: SHOPPING for s in _SHOPPING},
}

# rlike is a substring search, so whole-string patterns are anchored
_PAID = r"^(.*cp.*|ppc|retargeting|paid.*)$"
_SHOP = r"^(.*(([^a-df-z]|^)shop|shopping).*)$"
_EMAIL = r"email|e-mail|e_mail|e mail"
_DISPLAY = ("display", "banner", "expandable", "interstitial", "cpm")
_SOCIAL_MEDIA = ("social", "social-network", "social-media", "sm", "social network", "social media")


def source_category(source: Column) -> Column:
    """Category of a source, NULL when the source is NULL or not in the (partial) mapping."""
    return F.when(source.isNotNull(), F.try_element_at(_category_map(), source))


def _category_map() -> Column:
    # one SQL literal map (parsed once by the JVM) instead of hundreds of F.lit round trips
    if any("'" in k or "\\" in k for k in SOURCE_CATEGORIES):
        raise ValueError("source categories must not contain quotes or backslashes")
    pairs = ", ".join(f"'{k}', '{v}'" for k, v in SOURCE_CATEGORIES.items())
    return F.expr(f"map({pairs})")


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


def channel_of_source(source: Column, medium: Column, campaign: Column) -> Column:
    """Channel for raw source/medium/campaign values (category looked up from the source)."""
    return default_channel_group(source, medium, source_category(source), campaign)
