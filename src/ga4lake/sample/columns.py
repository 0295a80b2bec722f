"""Turn an expanded ``Frame`` into an Arrow table with the export's nested columns.

Nested columns are assembled from flat buffers (``ListArray.from_arrays`` /
``StructArray.from_arrays``), strings by taking from the string pool. ``event_params`` is laid
out as an (events x keys) presence matrix whose non-zero cells, read row by row, are exactly the
flattened list in event order.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import catalog as cat
from . import schema as sc
from .catalog import EV
from .expand import Frame
from .identity import APP_OS_BY_PROFILE, STREAM_APP
from .plan import Plan
from .pool import Pool

# (key, value field): s = string_value, i = int_value, d = double_value, n = no value at all.
SLOTS: tuple[tuple[str, str], ...] = (
    ("page_location", "s"),
    ("ga_session_id", "i"),
    ("ga_session_number", "i"),
    ("page_title", "s"),
    ("engaged_session_event", "i"),
    ("session_engaged", "s"),
    ("session_engaged", "i"),  # first_visit carries it as an integer in the sample
    ("debug_mode", "i"),
    ("page_referrer", "s"),
    ("all_data", "n"),
    ("clean_event", "s"),
    ("engagement_time_msec", "i"),
    ("source", "s"),
    ("medium", "s"),
    ("campaign", "s"),
    ("term", "s"),
    ("percent_scrolled", "i"),
    ("entrances", "i"),
    ("gclid", "s"),
    ("gclsrc", "s"),
    ("dclid", "s"),
    ("currency", "s"),
    ("search_term", "s"),
    ("unique_search_term", "i"),
    ("transaction_id", "s"),
    ("tax", "d"),
    ("value", "d"),
    ("payment_type", "s"),
    ("shipping_tier", "s"),
    ("coupon", "s"),
    ("promotion_name", "s"),
    ("outbound", "s"),
    ("link_url", "s"),
    ("link_domain", "s"),
    ("link_classes", "s"),
    # site-specific custom parameters (not in the public sample; docs/sample.md#configuration-points)
    ("content_group", "s"),
    ("list_position", "i"),
    ("gross_margin", "d"),
)
#: share of a paid order's value that is margin: 30 % plus (order index mod 16) %
MARGIN_BASE, MARGIN_STEPS = 0.30, 16
SLOT = {f"{k}:{t}": i for i, (k, t) in enumerate(SLOTS)}
_KEY_NAMES = pa.array([k for k, _ in SLOTS], pa.string())
_KIND = np.array([t for _, t in SLOTS])


def _codes(names: str) -> np.ndarray:
    return np.array([EV[n] for n in names.split()])


# Event types that report engagement_time_msec (page_view only from 2020-12-28, see
# docs/ga4-export.md#engagement-time-on-page-views).
_ENGAGEMENT_CODES = _codes(
    "user_engagement scroll view_item view_promotion select_promotion select_item view_item_list"
    " view_search_results add_to_cart begin_checkout add_shipping_info add_payment_info purchase click"
)
PAGE_VIEW_ENGAGEMENT_FROM = date(2020, 12, 28)
P_PAGE_VIEW_ENGAGEMENT = 0.39
_ECOM_CODES = _codes(
    "view_item view_item_list select_item view_promotion select_promotion add_to_cart begin_checkout"
    " add_shipping_info add_payment_info purchase"
)
# default_channel_group per catalog.SOURCES row (drift column session_traffic_source_last_click).
_CHANNEL = (
    "Organic Search",
    "Direct",
    "Unassigned",
    "Referral",
    "Referral",
    "Unassigned",
    "Paid Search",
    "Organic Search",
    "Unassigned",
)


def _f64(values: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    nan = np.isnan(values)
    return pa.array(values, type=pa.float64(), mask=nan if mask is None else (nan | mask))


def _const(value: str, n: int) -> pa.Array:
    return pa.repeat(pa.scalar(value, pa.string()), n)


def _struct(typ: pa.StructType, children: list[pa.Array], mask: np.ndarray | None = None) -> pa.StructArray:
    fields = [typ.field(i) for i in range(typ.num_fields)]
    m = None if mask is None else pa.array(mask, pa.bool_())
    return pa.StructArray.from_arrays(children, fields=fields, mask=m)


def _list(typ: pa.ListType, counts: np.ndarray, values: pa.Array) -> pa.ListArray:
    offsets = np.zeros(counts.size + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), values, type=typ)


def _strings(pool: pa.Array, idx: np.ndarray) -> pa.Array:
    """``pool[idx]`` with NULL where ``idx < 0``."""
    return pool.take(pa.array(idx, type=pa.int64(), mask=idx < 0))


def build_table(
    plan: Plan,
    f: Frame,
    pool: Pool,
    pool_static: pa.Array,
    dates: tuple[date, date],
    next_day_start: int,
    rng: np.random.Generator,
    drift: bool,
    consent_rate: float,
) -> pa.Table:
    """The events of ``f`` as an Arrow table (drift-stage-2 schema when ``drift``)."""
    strings = pa.concat_arrays([pool_static, f.dynamic])
    n = f.ev_code.size
    code = f.ev_code
    pg = f.ev_page
    ls = f.ev_sess
    ps = f.sess[ls]
    user = plan.s_user[ps]
    denied = (plan.s_u[f.sess] < consent_rate)[ls]
    is_ = {name: code == c for name, c in EV.items()}
    aux = f.ev_aux
    base = pool.base
    order_idx = np.where(is_["purchase"], aux, 0)
    has_orders = plan.o_kind.size > 0
    o_rev = plan.o_revenue[order_idx] if has_orders else np.zeros(n)
    o_rev = np.where(is_["purchase"], o_rev, np.nan)
    paid = is_["purchase"] & ~np.isnan(o_rev)

    params, present, sval = _event_params(
        plan, f, pool, strings, rng, dates[0], code, pg, ls, ps, denied, is_, aux, o_rev, paid
    )

    day_str = np.where(f.ev_ts >= next_day_start, 1, 0)
    date_arr = pa.array([d.strftime("%Y%m%d") for d in dates], pa.string()).take(pa.array(day_str))

    prof = plan.user_device[user].astype(np.int64)
    geo = plan.user_geo[user].astype(np.int64)
    profiles = cat.DEVICE_PROFILES
    g = cat.geo()

    def lookup(values: list[str] | tuple[str, ...], idx: np.ndarray) -> pa.Array:
        return pa.array(list(values), pa.string()).take(pa.array(idx))

    web_children = [lookup([p[5] for p in profiles], prof), lookup([p[6] for p in profiles], prof)]
    if drift:
        web_children.append(_const(cat.HOST, n))
    dev_type = sc.device_type(hostname=drift)
    i64_null = pa.nulls(n, pa.int64())
    device = _struct(
        dev_type,
        [
            lookup([p[0] for p in profiles], prof),
            lookup([p[1] for p in profiles], prof),
            lookup([p[2] for p in profiles], prof),
            _const(cat.OTHER, n),
            i64_null,
            lookup([p[3] for p in profiles], prof),
            lookup([p[4] for p in profiles], prof),
            i64_null,
            i64_null,
            lookup(g.language, geo),
            _const("No", n),
            i64_null,
            _struct(dev_type.field("web_info").type, web_children),
        ],
    )
    geo_arr = _struct(
        sc.GEO,
        [lookup(col, geo) for col in (g.continent, g.sub_continent, g.country, g.region, g.city, g.metro)],
    )
    traffic = plan.s_traffic[ps].astype(np.int64)
    traffic_arr = _struct(
        sc.TRAFFIC_SOURCE,
        [
            lookup([s[1] for s in cat.SOURCES], traffic),
            lookup([s[2] for s in cat.SOURCES], traffic),
            lookup([s[0] for s in cat.SOURCES], traffic),
        ],
    )
    items, item_qty, item_count = _items(f, n, rng, drift, base["title_home"])
    ecommerce = _ecommerce(
        plan, f, strings, n, is_, order_idx, o_rev, paid, item_qty, item_count, base["not_set"]
    )

    user_id, stream_id, platform, app_info = identity_columns(plan, user, plan.s_number[ps], denied)
    value_usd = np.where(paid, o_rev, np.nan)
    columns: list[pa.Array] = [
        date_arr,
        pa.array(f.ev_ts, pa.int64()),
        pa.array(list(cat.EVENT_NAMES), pa.string()).take(pa.array(code.astype(np.int64))),
        params,
        i64_null,
        _f64(value_usd),
        pa.array(f.pg_bundle[pg], pa.int64()),
        i64_null,
        user_id,
        plan.user_pseudo_id.take(pa.array(user, mask=denied)),
        _struct(sc.PRIVACY_INFO, [i64_null, i64_null, _const("No", n)]),
        _list(sc.list_of(sc.USER_PROPERTY), np.zeros(n, np.int64), pa.array([], sc.USER_PROPERTY)),
        pa.array(plan.user_first_touch[user], pa.int64(), mask=denied),
        _struct(sc.USER_LTV, [_f64(plan.s_ltv[ps]), _const("USD", n)], mask=denied),
        device,
        geo_arr,
        app_info,
        traffic_arr,
        stream_id,
        platform,
        pa.nulls(n, sc.EVENT_DIMENSIONS),
        ecommerce,
        items,
    ]
    schema = sc.schema_for_stage(2 if drift else 0)
    if drift:
        columns.extend(_drift_columns(plan, f, strings, present, sval, ls, pg))
    return pa.Table.from_arrays(columns, schema=schema)


def list_position(ts: np.ndarray) -> np.ndarray:
    """The 1-based position (1..12) of the product a list event refers to: a hash of the timestamp, so
    the event param and the item's ``item_list_index`` agree without a random draw."""
    return 1 + (ts // 7) % 12


def identity_columns(
    plan: Plan, user: np.ndarray, session_number: np.ndarray, denied: np.ndarray
) -> tuple[pa.Array, pa.Array, pa.Array, pa.Array]:
    """``user_id``, ``stream_id``, ``platform`` and ``app_info`` of events by ``user`` (plan user index)
    in sessions numbered ``session_number``: the login id from the user's login session on (never on a
    consent-denied ping), and the app stream's id, platform and app info for app users (identity.py)."""
    uid = plan.user_uid[user]
    logged = (uid >= 0) & (plan.user_login[user] > 0) & (session_number >= plan.user_login[user]) & ~denied
    user_id = pa.array(uid, pa.int64(), mask=~logged).cast(pa.string())
    app = plan.user_stream[user] == STREAM_APP
    os_kind = APP_OS_BY_PROFILE[plan.user_device[user]]  # 1 iOS, 2 Android
    stream_id = pa.array(np.where(app, cat.APP_STREAM_ID, cat.STREAM_ID), pa.int64())
    platforms = ("WEB", "IOS", "ANDROID")
    platform = pa.array(list(platforms), pa.string()).take(
        pa.array(np.where(app, os_kind, 0).astype(np.int64))
    )
    info_idx = np.where(app, os_kind - 1, 0).astype(np.int64)
    app_info = _struct(
        sc.APP_INFO,
        [
            pa.array([cat.APP_INFO[p][j] for p in platforms[1:]], pa.string()).take(pa.array(info_idx))
            for j in range(sc.APP_INFO.num_fields)
        ],
        mask=~app,
    )
    return user_id, stream_id, platform, app_info


def _event_params(
    plan: Plan,
    f: Frame,
    pool: Pool,
    strings: pa.Array,
    rng: np.random.Generator,
    day: date,
    code: np.ndarray,
    pg: np.ndarray,
    ls: np.ndarray,
    ps: np.ndarray,
    denied: np.ndarray,
    is_: dict[str, np.ndarray],
    aux: np.ndarray,
    o_rev: np.ndarray,
    paid: np.ndarray,
) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """``event_params`` plus the presence and string-index matrices (the drift columns reuse them)."""
    base = pool.base
    n = code.size
    k = len(SLOTS)
    present = np.zeros((n, k), dtype=bool)
    sval = np.full((n, k), -1, dtype=np.int64)
    ival = np.zeros((n, k), dtype=np.int64)
    dval: dict[int, np.ndarray] = {}

    def put(slot: str, mask: np.ndarray, value: np.ndarray | int | None = None) -> None:
        j = SLOT[slot]
        present[:, j] = mask
        if value is None:
            return
        if _KIND[j] == "s":
            sval[:, j] = value
        elif _KIND[j] == "i":
            ival[:, j] = value
        else:
            dval[j] = np.asarray(value, dtype=np.float64)

    everywhere = np.ones(n, dtype=bool)
    auto = is_["session_start"] | is_["first_visit"]
    vsr = is_["view_search_results"]
    term_idx = np.where(vsr, aux, 0)
    put("page_location:s", everywhere, np.where(vsr, base["url_search"] + term_idx, f.pg_url[pg]))
    put("ga_session_id:i", ~denied, plan.s_start[ps] // 1_000_000)
    put("ga_session_number:i", ~denied, plan.s_number[ps])
    put(
        "page_title:s",
        rng.random(n) >= 0.0045,
        np.where(vsr, base["title_search"] + term_idx, f.pg_title[pg]),
    )
    engaged = f.engaged[ls]
    put("engaged_session_event:i", engaged, 1)
    put("session_engaged:s", ~auto, np.where(engaged, base["one"], base["zero"]))
    put("session_engaged:i", is_["first_visit"], 1)
    put("debug_mode:i", rng.random(n) < 0.8574, 1)
    ref = f.pg_ref[pg]
    put("page_referrer:s", (ref >= 0) & ~is_["user_engagement"], ref)
    clean = ~(auto | is_["user_engagement"]) | (is_["user_engagement"] & (rng.random(n) < 0.19))
    put("all_data:n", clean)
    put("clean_event:s", clean, base["gtm"])

    eng = np.isin(code, _ENGAGEMENT_CODES)
    if day >= PAGE_VIEW_ENGAGEMENT_FROM:
        eng |= is_["page_view"] & (rng.random(n) < P_PAGE_VIEW_ENGAGEMENT)
    dwell_ms = f.pg_dwell[pg] // 1000
    ue_ms = (dwell_ms * rng.uniform(0.2, 1.0, n)).astype(np.int64)
    ue_ms = np.where(rng.random(n) < 2e-4, rng.integers(10 * 3_600_000, 19 * 3_600_000, n), ue_ms)
    since_load_ms = (f.ev_ts - f.pg_load[pg]) // 1000
    eng_val = np.where(
        is_["user_engagement"],
        ue_ms,
        np.where(is_["scroll"], since_load_ms, rng.integers(1, np.where(is_["page_view"], 30_000, 3_000), n)),
    )
    put("engagement_time_msec:i", eng, np.maximum(eng_val, 1))

    kind = f.pg_source_params[pg]
    with_src = (kind > 0) & ~auto
    src = np.where(kind == 2, cat.SRC_DIRECT, plan.s_source[ps]).astype(np.int64)
    put("source:s", with_src, base["source"] + src)
    put("medium:s", with_src, base["medium"] + src)
    campaign = np.where(
        src == cat.SRC_CPC, base["cpc_campaign"] + (ps % len(cat.CPC_CAMPAIGNS)), base["campaign"] + src
    )
    put("campaign:s", with_src, campaign)
    searchy = np.isin(src, [cat.SRC_ORGANIC, cat.SRC_CPC, cat.SRC_OTHER_ORGANIC])
    put("term:s", with_src & searchy & (rng.random(n) < 0.7), base["not_provided"])
    put("percent_scrolled:i", is_["scroll"], 90)
    first_pv = is_["page_view"] & (f.pg_rank[pg] == 0)
    # occasionally doubled entrances: docs/ga4-export.md#duplicates-and-repeated-events
    doubled = is_["page_view"] & (f.pg_rank[pg] == 1) & (rng.random(n) < 0.005)
    put("entrances:i", (first_pv & (rng.random(n) < 0.92)) | doubled, 1)
    gclid = f.gclid[ls]
    put("gclid:s", (gclid >= 0) & ~auto, gclid)
    put("gclsrc:s", (gclid >= 0) & ~auto & (rng.random(n) < 0.986), base["gclsrc"])
    dclid = f.dclid[ls]
    put("dclid:s", (dclid >= 0) & ~auto, dclid)
    put(
        "currency:s", is_["begin_checkout"] | (is_["add_shipping_info"] & (rng.random(n) < 0.03)), base["usd"]
    )
    put("search_term:s", vsr, base["search_term"] + term_idx)
    put("unique_search_term:i", vsr & (rng.random(n) < 0.8), 1)
    order_idx = np.where(is_["purchase"], aux, 0)
    has_txn = paid & (plan.o_txn[order_idx] != -2 if plan.o_kind.size else False)
    put("transaction_id:s", has_txn, f.txn_index[order_idx] if plan.o_kind.size else -1)
    tax = plan.o_tax[order_idx] if plan.o_kind.size else np.zeros(n)
    put("tax:d", paid, np.nan_to_num(tax))
    put("value:d", paid, np.nan_to_num(o_rev))
    put("payment_type:s", paid, base["payment_type"] + order_idx % len(cat.PAYMENT_TYPES))
    put(
        "shipping_tier:s",
        is_["add_shipping_info"] & (rng.random(n) < 0.21),
        base["shipping_tier"] + rng.integers(0, len(cat.SHIPPING_TIERS), n),
    )
    checkout = is_["begin_checkout"] | is_["add_shipping_info"] | is_["add_payment_info"]
    put("coupon:s", checkout & (rng.random(n) < 0.043), base["coupon"] + rng.integers(0, len(cat.COUPONS), n))
    promo = np.where(is_["select_promotion"], aux, 0)
    put("promotion_name:s", is_["select_promotion"] & (rng.random(n) < 0.24), base["promotion_name"] + promo)
    link = np.where(is_["click"], aux, 0)
    put("outbound:s", is_["click"], base["true"])
    put("link_url:s", is_["click"], base["link_url"] + link)
    put("link_domain:s", is_["click"], base["link_domain"] + link)
    put("link_classes:s", is_["click"] & (rng.random(n) < 0.004), base["link_classes"])
    # custom parameters: pure functions of the event (no draw from rng, so no other value moves)
    page_group = base["content_group"] + (f.pg_title[pg] - base["title_home"])
    put("content_group:s", is_["page_view"] | is_["select_item"], page_group)
    put("list_position:i", is_["select_item"] | is_["view_item_list"], list_position(f.ev_ts))
    margin = MARGIN_BASE + (order_idx % MARGIN_STEPS) / 100.0
    put("gross_margin:d", paid, np.round(np.nan_to_num(o_rev) * margin, 2))

    rows, cols = np.nonzero(present)
    counts = np.bincount(rows, minlength=n)
    kinds = _KIND[cols]
    s_idx = np.where(kinds == "s", sval[rows, cols], -1)
    is_int = kinds == "i"
    is_dbl = kinds == "d"
    dbl = np.zeros(rows.size)
    for j, values in dval.items():
        m = cols == j
        dbl[m] = values[rows[m]]
    m = rows.size
    value = _struct(
        sc.PARAM_VALUE,
        [
            _strings(strings, s_idx),
            pa.array(ival[rows, cols], pa.int64(), mask=~is_int),
            pa.nulls(m, pa.float64()),
            pa.array(dbl, pa.float64(), mask=~is_dbl),
        ],
    )
    entries = _struct(sc.EVENT_PARAM, [_KEY_NAMES.take(pa.array(cols.astype(np.int64))), value])
    return _list(sc.list_of(sc.EVENT_PARAM), counts, entries), present, sval


def _items(
    f: Frame, n: int, rng: np.random.Generator, drift: bool, title_home: int
) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """``items`` column, plus per-event total quantity and line count for ``ecommerce``."""
    lists = item_lists(f, title_home)
    prods = cat.products()
    m = f.it_event.size
    counts = np.bincount(f.it_event, minlength=n)
    qty = f.it_qty
    total_qty = np.bincount(f.it_event, weights=np.maximum(qty, 0), minlength=n).astype(np.int64)
    p = f.it_product

    def lookup(values: list[str], idx: np.ndarray) -> pa.Array:
        return pa.array(values, pa.string()).take(pa.array(idx))

    promo = f.it_promo + 1  # 0 = not a promotion line
    promo_names = [cat.NOT_SET] + [x[0] for x in cat.PROMOTIONS]
    creatives = [cat.NOT_SET] + [x[1] for x in cat.PROMOTIONS]
    slides = [cat.NOT_SET] + [x[2] for x in cat.PROMOTIONS]
    promo_ids = [cat.NOT_SET] + [promotion_id(x[0]) for x in cat.PROMOTIONS]
    not_set = _const(cat.NOT_SET, m)
    price = prods.price[p]
    f64_null = pa.nulls(m, pa.float64())
    children = [
        lookup(prods.item_id, p),
        lookup(prods.item_name, p),
        lookup(prods.item_brand, p),
        lookup(prods.item_variant, p),
        lookup(prods.item_category, p),
        lookup(prods.item_category2, p),
        lookup(prods.item_category3, p),
        lookup(prods.item_category4, p),
        lookup(prods.item_category5, p),
        _f64(price),
        _f64(price),
        pa.array(qty, pa.int64(), mask=qty < 0),
        _f64(f.it_revenue),
        _f64(f.it_revenue),
        f64_null,
        f64_null,
        lists["coupon"],
        not_set,
        not_set,
        lists["item_list_id"],
        lists["item_list_name"],
        pc.if_else(pa.array(promo > 0), lookup(slides, promo), lists["item_list_index"]),
        lookup(promo_ids, promo),
        lookup(promo_names, promo),
        lookup(creatives, promo),
        lookup(slides, promo),
    ]
    item_t = sc.item_type(item_params=drift)
    if drift:
        # Newer exports: item-scoped custom parameters on a share of purchase/cart lines.
        with_param = (f.it_revenue == f.it_revenue) | (rng.random(m) < 0.05)
        cnt = with_param.astype(np.int64)
        k = int(cnt.sum())
        colors = ["Black", "Navy", "White", "Grey", "Red"]
        value = _struct(
            sc.PARAM_VALUE,
            [
                lookup(colors, rng.integers(0, len(colors), k)),
                pa.nulls(k, pa.int64()),
                pa.nulls(k, pa.float64()),
                pa.nulls(k, pa.float64()),
            ],
        )
        entries = _struct(sc.EVENT_PARAM, [_const("item_color", k), value])
        children.append(_list(sc.list_of(sc.EVENT_PARAM), cnt, entries))
    items = _list(sc.list_of(item_t), counts, _struct(item_t, children))
    return items, total_qty, counts


def promotion_id(name: str) -> str:
    """A promotion's id as sites send it: ``promo_`` and the name's words, lower case."""
    return "promo_" + "_".join(name.lower().split())


#: item lines of these events are shown in a product list (the page's content group as the list)
_LIST_CODES = _codes("view_item_list select_item")
RELATED_LIST = ("related_products", "Related Products")
SAMPLE_LIST_NAME = "Not available in demo dataset"  # the public sample's item_list_name everywhere
ITEM_COUPON_EVERY = 12  # every 12th order carries an item-level coupon


def item_lists(f: Frame, title_home: int) -> dict[str, pa.Array]:
    """Per item line: ``item_list_id`` / ``item_list_name`` / ``item_list_index`` and ``coupon``.

    view_item_list and select_item lines come from the listing of their page's content group (index:
    the line's position, or the event's ``list_position`` for the selected item); view_item lines
    after the viewed product are its related products; other lines keep the sample's values. Purchase
    lines of every 12th order carry a coupon. Pure functions of the frame: no random draw."""
    owner = f.it_event
    m = owner.size
    code = f.ev_code[owner]
    starts = np.searchsorted(owner, owner, side="left")
    rank = np.arange(m) - starts  # position of the line in its event
    listed = np.isin(code, _LIST_CODES)
    related = (code == EV["view_item"]) & (rank > 0)
    groups = cat.content_groups()
    group = f.pg_title[f.ev_page[owner]] - title_home
    names = pa.array([*groups, RELATED_LIST[1], SAMPLE_LIST_NAME, cat.NOT_SET], pa.string())
    ids = pa.array(
        [*("_".join(g.lower().split()) for g in groups), RELATED_LIST[0], cat.NOT_SET, cat.NOT_SET],
        pa.string(),
    )
    k = len(groups)
    name_idx = np.where(listed, group, np.where(related, k, k + 1)).astype(np.int64)
    id_idx = np.where(listed, group, np.where(related, k, k + 2)).astype(np.int64)
    position = np.where(code == EV["select_item"], list_position(f.ev_ts[owner]), rank + 1)
    index = pa.array(position, pa.int64()).cast(pa.string())
    index = pc.if_else(pa.array(listed | related), index, pa.scalar(cat.NOT_SET))
    order = np.where(code == EV["purchase"], f.ev_aux[owner], -1)
    coupon_idx = np.where(
        (order >= 0) & (order % ITEM_COUPON_EVERY == 0),
        1 + (order // ITEM_COUPON_EVERY) % len(cat.COUPONS),
        0,
    )
    coupons = pa.array([cat.NOT_SET, *cat.COUPONS], pa.string())
    return {
        "item_list_id": ids.take(pa.array(id_idx)),
        "item_list_name": names.take(pa.array(name_idx)),
        "item_list_index": index,
        "coupon": coupons.take(pa.array(coupon_idx.astype(np.int64))),
    }


def _ecommerce(
    plan: Plan,
    f: Frame,
    strings: pa.Array,
    n: int,
    is_: dict[str, np.ndarray],
    order_idx: np.ndarray,
    o_rev: np.ndarray,
    paid: np.ndarray,
    item_qty: np.ndarray,
    item_count: np.ndarray,
    not_set_idx: int,
) -> pa.Array:
    ecom = np.isin(f.ev_code, _ECOM_CODES)
    pur = is_["purchase"]
    no_items = item_count == 0
    has_orders = plan.o_kind.size > 0
    tax = np.where(paid, plan.o_tax[order_idx] if has_orders else 0.0, np.nan)
    txn = np.where(pur, f.txn_index[order_idx] if has_orders else -1, -1)
    txn = np.where(ecom & ~pur, not_set_idx, txn)
    f64_null = pa.nulls(n, pa.float64())
    usd = np.where(pur, np.nan_to_num(o_rev), np.nan)
    return _struct(
        sc.ECOMMERCE,
        [
            pa.array(item_qty, pa.int64(), mask=no_items),
            _f64(usd),
            _f64(o_rev),
            f64_null,
            f64_null,
            f64_null,
            f64_null,
            _f64(tax),
            _f64(tax),
            pa.array(item_count.astype(np.int64), pa.int64(), mask=no_items),
            _strings(strings, txn),
        ],
        mask=~ecom,
    )


def _drift_columns(
    plan: Plan,
    f: Frame,
    strings: pa.Array,
    present: np.ndarray,
    sval: np.ndarray,
    ls: np.ndarray,
    pg: np.ndarray,
) -> list[pa.Array]:
    """Columns newer exports add: collected/last-click traffic sources, batch ids, is_active_user."""
    n = ls.size

    def param(slot: str) -> np.ndarray:
        j = SLOT[slot]
        return np.where(present[:, j], sval[:, j], -1)

    src, med, camp, term = param("source:s"), param("medium:s"), param("campaign:s"), param("term:s")
    gclid, dclid = param("gclid:s"), param("dclid:s")
    any_src = (src >= 0) | (gclid >= 0) | (dclid >= 0)
    nul = pa.nulls(n, pa.string())
    collected = _struct(
        sc.COLLECTED_TRAFFIC_SOURCE,
        [
            nul,
            _strings(strings, camp),
            _strings(strings, src),
            _strings(strings, med),
            _strings(strings, term),
            nul,
            nul,
            nul,
            nul,
            _strings(strings, gclid),
            _strings(strings, dclid),
            nul,
        ],
        mask=~any_src,
    )

    # batch_event_index: position among the session's events sharing a timestamp;
    # batch_ordering_id: ordinal of that timestamp on the page; batch_page_id: page load (ms).
    ts = f.ev_ts
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = (ts[1:] != ts[:-1]) | (ls[1:] != ls[:-1])
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(n), 0))
    batch_index = np.arange(n) - group_start
    order = np.lexsort((ts, pg))
    pg_o, ts_o = pg[order], ts[order]
    new_batch = np.ones(n, dtype=bool)
    new_batch[1:] = (pg_o[1:] != pg_o[:-1]) | (ts_o[1:] != ts_o[:-1])
    batch_no = np.cumsum(new_batch)
    new_page = np.ones(n, dtype=bool)
    new_page[1:] = pg_o[1:] != pg_o[:-1]
    page_first = np.maximum.accumulate(np.where(new_page, batch_no, 0))
    ordering = np.empty(n, dtype=np.int64)
    ordering[order] = batch_no - page_first + 1

    # Session-scoped last-click source, per local session then taken per event.
    s_src = plan.s_source[f.sess].astype(np.int64)
    k = f.sess.size
    srcs = [s[0] for s in cat.SOURCES]
    meds = [s[1] for s in cat.SOURCES]
    names = [s[2] for s in cat.SOURCES]

    def lk(values: list[str] | tuple[str, ...], idx: np.ndarray) -> pa.Array:
        return pa.array(list(values), pa.string()).take(pa.array(idx))

    knul = pa.nulls(k, pa.string())
    cpc = s_src == cat.SRC_CPC
    mc_t = sc.SESSION_TRAFFIC_SOURCE_LAST_CLICK.field("manual_campaign").type
    ga_t = sc.SESSION_TRAFFIC_SOURCE_LAST_CLICK.field("google_ads_campaign").type
    cc_t = sc.SESSION_TRAFFIC_SOURCE_LAST_CLICK.field("cross_channel_campaign").type
    manual = _struct(
        mc_t,
        [
            knul,
            lk(names, s_src),
            lk(srcs, s_src),
            lk(meds, s_src),
            knul,
            knul,
            _const("Manual", k),
            knul,
            knul,
        ],
    )
    ads = _struct(
        ga_t,
        [
            _const("5241796357", k),
            _const("Google Merchandise Store", k),
            _const("1009693", k),
            _const("Google Merch Shop - Search - US", k),
            _const("53478214", k),
            _const("Apparel", k),
        ],
        mask=~cpc,
    )
    channel = lk(_CHANNEL, s_src)
    cross = _struct(
        cc_t,
        [
            knul,
            lk(names, s_src),
            lk(srcs, s_src),
            lk(meds, s_src),
            lk(["Manual"] * len(srcs), s_src),
            channel,
            channel,
        ],
    )
    last_click = _struct(sc.SESSION_TRAFFIC_SOURCE_LAST_CLICK, [manual, ads, cross]).take(pa.array(ls))
    return [
        collected,
        pa.array(f.engaged[ls], pa.bool_()),
        pa.array(batch_index, pa.int64()),
        pa.array(f.pg_load[pg] // 1000, pa.int64()),
        pa.array(ordering, pa.int64()),
        last_click,
    ]
