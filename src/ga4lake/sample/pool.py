"""A string pool: every generated string column is ``pool.take(indices)``.

Building Arrow string columns from integer indices keeps generation vectorized (no Python
string per event); the static part is built once, the per-day part (transaction ids, click
ids) is appended to it.
"""

from __future__ import annotations

from functools import cache

import pyarrow as pa

from . import catalog as cat


class Pool:
    """Named groups of strings laid end to end; ``base[name]`` is a group's first index."""

    def __init__(self) -> None:
        self._strings: list[str] = []
        self.base: dict[str, int] = {}
        self.size: dict[str, int] = {}

    def add(self, name: str, values: list[str] | tuple[str, ...]) -> int:
        self.base[name] = len(self._strings)
        self.size[name] = len(values)
        self._strings.extend(values)
        return self.base[name]

    def __len__(self) -> int:
        return len(self._strings)

    def array(self) -> pa.Array:
        return pa.array(self._strings, type=pa.string())


@cache
def static_pool() -> tuple[Pool, pa.Array]:
    """All constant strings: page URLs/titles, sources, and the small value lists."""
    p = Pool()
    prods = cat.products()
    url = cat.BASE_URL
    # URL and title groups share their layout: home, categories, others, products, funnel, search.
    p.add("url_home", [url + cat.HOME_PAGE[0]])
    p.add("url_cat", [url + path for path, _ in cat.CATEGORY_PAGES])
    p.add("url_other", [url + path for path, _ in cat.OTHER_PAGES])
    p.add("url_product", [url + path for path in prods.page_path])
    p.add("url_funnel", [url + path for path, _ in cat.FUNNEL_PAGES])
    p.add("url_search", [f"{url}/store.html?search={t.replace(' ', '+')}" for t in cat.SEARCH_TERMS])
    p.add("title_home", [cat.HOME_PAGE[1]])
    p.add("title_cat", [title for _, title in cat.CATEGORY_PAGES])
    p.add("title_other", [title for _, title in cat.OTHER_PAGES])
    p.add("title_product", prods.item_name)
    p.add("title_funnel", [title for _, title in cat.FUNNEL_PAGES])
    p.add("title_search", ["Store search results"] * len(cat.SEARCH_TERMS))
    p.add("content_group", list(cat.content_groups()))  # same layout as the url/title groups
    p.add("referrer", [r if r is not None else "" for r in cat.SOURCE_REFERRER])
    p.add("source", [s[0] for s in cat.SOURCES])
    p.add("medium", [s[1] for s in cat.SOURCES])
    p.add("campaign", [s[2] for s in cat.SOURCES])
    p.add("cpc_campaign", list(cat.CPC_CAMPAIGNS))
    p.add("search_term", list(cat.SEARCH_TERMS))
    p.add("payment_type", list(cat.PAYMENT_TYPES))
    p.add("shipping_tier", list(cat.SHIPPING_TIERS))
    p.add("coupon", list(cat.COUPONS))
    p.add("promotion_name", [pr[0] for pr in cat.PROMOTIONS])
    p.add("link_url", [u for u, _ in cat.OUTBOUND_LINKS])
    p.add("link_domain", [d for _, d in cat.OUTBOUND_LINKS])
    for name, value in (
        ("gtm", "gtm.js"),
        ("one", "1"),
        ("zero", "0"),
        ("usd", "USD"),
        ("not_provided", "(not provided)"),
        ("gclsrc", "aw.ds"),
        ("true", "true"),
        ("link_classes", "btn btn-outbound"),
        ("not_set", cat.NOT_SET),
        ("self_referral", cat.BASE_URL + "/"),
    ):
        p.add(name, [value])
    return p, p.array()
