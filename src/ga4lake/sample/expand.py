"""Expand a group of planned sessions into pages, events and item lines (numpy only).

A session is a run of page loads; every event hangs off a page, at an offset after the page
load. Session start, first visit and the page view share the load's timestamp (as in the
sample), other events fall inside the page's dwell time. Funnel pages (cart, checkout steps,
confirmation) come after the browsing pages, so the funnel's order is the page order.
Everything is drawn as whole arrays: the cost is per day, not per event.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import catalog as cat
from .catalog import EV
from .plan import Plan
from .pool import Pool
from .timeline import US_PER_S

MS = 1000
HOUR_US = 3600 * US_PER_S
MAX_SESSION_US = 3 * HOUR_US  # sessions are compressed to at most 3 h so only late ones cross midnight

# --- per-session / per-page event rates (calibrated against the sample's event shares) -----------
VI_EXTRA = 4.0  # view_item events per product-viewing session: 1 + NB(mean)
BROWSE_EXTRA = 2.40  # browsing pages: 1 + NB(r=0.5, mean) + 0.4 per view_item
VI_PAGE_SHARE = 0.4
DWELL_MEDIAN_S = 12.0
DWELL_SIGMA = 1.2
P_SESSION_START = 0.9857  # ~5k of 360k sessions have no session_start
P_UE_SESSION, P_UE_PAGE = 0.82, 0.94
P_SCROLL_SESSION, P_SCROLL_PAGE = 0.50, 0.70
P_VP_SESSION, P_VP_PAGE = 0.60, 0.23
P_SELECT_PROMOTION = 0.05  # per view_promotion
P_SELECT_ITEM_SESSION, P_SELECT_ITEM = 0.25, 0.33  # per view_item of a selecting session
P_SEARCH_SESSION, SEARCH_EXTRA = 0.040, 0.85
P_CLICK_SESSION, CLICK_EXTRA = 0.0029, 0.4
P_VIL_SESSION, VIL_EXTRA = 0.000125, 0.6
ATC_EXTRA, BC_EXTRA, ASI_EXTRA, API_EXTRA = 2.59, 2.67, 0.97, 1.31
P_CONT_ATC = 0.25  # a continued checkout re-adds to cart on the cart page
P_UNENGAGED_SINGLE = 0.35  # one-page sessions without conversion that stay unengaged
# item lines per event
P_ITEMS = {
    EV["view_item"]: 0.6265,
    EV["begin_checkout"]: 0.8254,
    EV["view_item_list"]: 0.6056,
    EV["purchase"]: 0.9996,
}
VI_ITEMS_EXTRA = 11.5
VIL_ITEMS_EXTRA = 6.0
VP_ITEMS_EXTRA = 4.0
CART_EXTRA = 1.2


@dataclass
class Frame:
    """Pages, events (sorted by timestamp) and item lines of a group of sessions."""

    sess: np.ndarray  # plan session index per local session
    engaged: np.ndarray
    gclid: np.ndarray  # pool index of the session's gclid, -1 if none
    dclid: np.ndarray
    explicit_source: np.ndarray  # session sends source/medium/campaign params
    pg_sess: np.ndarray
    pg_rank: np.ndarray
    pg_load: np.ndarray
    pg_dwell: np.ndarray
    pg_url: np.ndarray
    pg_title: np.ndarray
    pg_ref: np.ndarray  # -1: no referrer
    pg_bundle: np.ndarray
    pg_source_params: np.ndarray  # 0 none, 1 session source, 2 secondary (direct) source
    ev_sess: np.ndarray
    ev_page: np.ndarray
    ev_ts: np.ndarray
    ev_code: np.ndarray
    ev_aux: np.ndarray  # product / promotion / order / search term / link, by event type
    it_event: np.ndarray
    it_product: np.ndarray
    it_qty: np.ndarray  # -1 NULL
    it_revenue: np.ndarray  # NaN NULL
    it_promo: np.ndarray  # -1 not a promotion line
    dynamic: pa.Array  # strings appended to the static pool for this frame
    txn_index: np.ndarray  # plan order -> pool index of its transaction id (only this frame's)


def _ranks(counts: np.ndarray) -> np.ndarray:
    """0..c-1 for each group of a ``np.repeat`` with ``counts``."""
    starts = np.cumsum(counts) - counts
    return np.arange(int(counts.sum())) - np.repeat(starts, counts)


def _nb(rng: np.random.Generator, mean: float, n: int, r: float = 1.0) -> np.ndarray:
    return rng.negative_binomial(r, r / (r + mean), n)


def _tokens(rng: np.random.Generator, n: int, prefix: bytes, length: int) -> pa.Array:
    """``n`` random click-id-like strings."""
    alphabet = np.frombuffer(
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", dtype=np.uint8
    )
    body = alphabet[rng.integers(0, alphabet.size, (n, length))]
    head = np.frombuffer(prefix, dtype=np.uint8)
    raw = np.concatenate([np.broadcast_to(head, (n, head.size)), body], axis=1)
    return pa.array(raw.view(f"S{raw.shape[1]}").ravel()).cast(pa.string())


def expand(plan: Plan, sess: np.ndarray, rng: np.random.Generator, pool: Pool, pool_array: pa.Array) -> Frame:
    """Pages, events and item lines for plan sessions ``sess`` (one day's group)."""
    ns = sess.size
    stage = plan.s_stage[sess].astype(np.int64)
    cont = plan.s_continuation[sess]
    start = plan.s_start[sess]
    src = plan.s_source[sess].astype(np.int64)
    order_lo, order_hi = plan.s_order_start[sess], plan.s_order_start[sess + 1]

    # --- page counts -----------------------------------------------------------------------------
    n_vi = np.where((stage >= 1) & ~cont, 1 + _nb(rng, VI_EXTRA, ns), 0)
    n_browse = np.where(
        cont,
        (rng.random(ns) < 0.2).astype(np.int64),
        1 + _nb(rng, BROWSE_EXTRA, ns, r=0.5) + (n_vi * VI_PAGE_SHARE).astype(np.int64),
    )
    n_funnel = (stage >= 3) * 2 + (stage >= 4) + (stage >= 5) + (stage >= 6)
    n_pv = n_browse + n_funnel
    engaged = (n_pv >= 2) | (stage >= 1) | (rng.random(ns) >= P_UNENGAGED_SINGLE)

    # --- pages -----------------------------------------------------------------------------------
    npg = int(n_pv.sum())
    pg_sess = np.repeat(np.arange(ns), n_pv)
    pg_rank = _ranks(n_pv)
    pg_first = np.cumsum(n_pv) - n_pv
    dwell = np.minimum(rng.lognormal(np.log(DWELL_MEDIAN_S), DWELL_SIGMA, npg), 1800.0) * US_PER_S
    total = np.bincount(pg_sess, weights=dwell, minlength=ns)
    dwell *= np.minimum(1.0, MAX_SESSION_US / np.maximum(total, 1.0))[pg_sess]
    dwell = dwell.astype(np.int64) + 1000
    csum = np.cumsum(dwell)
    before = csum - dwell - (csum - dwell)[pg_first][pg_sess]
    pg_load = start[pg_sess] + before
    funnel_k = pg_rank - n_browse[pg_sess]  # >= 0 on funnel pages
    is_browse = funnel_k < 0

    # --- events ----------------------------------------------------------------------------------
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]] = []  # (page, offset, aux, code)

    def add(page: np.ndarray, offset: np.ndarray, code: int, aux: np.ndarray | None = None) -> None:
        parts.append((page, offset.astype(np.int64), np.full(page.size, -1) if aux is None else aux, code))

    landing = np.flatnonzero(pg_rank == 0)
    all_pages = np.arange(npg)
    zeros = np.zeros  # offset 0: these share the page load's timestamp
    ss_pages = landing[rng.random(ns) < P_SESSION_START]
    add(ss_pages, zeros(ss_pages.size), EV["session_start"])
    fv_pages = landing[plan.s_first_visit[sess]]
    add(fv_pages, zeros(fv_pages.size), EV["first_visit"])
    add(all_pages, zeros(npg), EV["page_view"])

    ue_ok = (rng.random(ns) < P_UE_SESSION)[pg_sess] & (rng.random(npg) < P_UE_PAGE)
    ue_pages = all_pages[ue_ok]
    add(
        ue_pages,
        np.maximum(dwell[ue_pages] - rng.integers(1, 300 * MS, ue_pages.size), 0),
        EV["user_engagement"],
    )

    sc_ok = (rng.random(ns) < P_SCROLL_SESSION)[pg_sess] & (rng.random(npg) < P_SCROLL_PAGE)
    sc_pages = all_pages[sc_ok]
    add(sc_pages, dwell[sc_pages] * rng.uniform(0.2, 0.9, sc_pages.size), EV["scroll"])

    vp_ok = (rng.random(ns) < P_VP_SESSION)[pg_sess] & (rng.random(npg) < P_VP_PAGE) & is_browse
    vp_pages = all_pages[vp_ok]
    vp_off = np.where(
        rng.random(vp_pages.size) < 0.5, 0, dwell[vp_pages] * rng.uniform(0, 0.2, vp_pages.size)
    )
    add(vp_pages, vp_off, EV["view_promotion"], rng.integers(0, len(cat.PROMOTIONS), vp_pages.size))
    sp = rng.random(vp_pages.size) < P_SELECT_PROMOTION
    sp_pages = vp_pages[sp]
    add(
        sp_pages,
        vp_off[sp] + (dwell[sp_pages] - vp_off[sp]) * rng.uniform(0.1, 0.9, sp_pages.size),
        EV["select_promotion"],
        parts[-1][2][sp],
    )

    prods = cat.products()
    # view_item on browsing pages; the page shows the (first) viewed product.
    vi_sess = np.repeat(np.arange(ns), n_vi)
    vi_pages = pg_first[vi_sess] + (rng.random(vi_sess.size) * n_browse[vi_sess]).astype(np.int64)
    vi_prod = 1 + rng.choice(prods.weight.size, vi_sess.size, p=prods.weight)
    vi_off = np.where(rng.random(vi_sess.size) < 0.3, 0, dwell[vi_pages] * rng.uniform(0, 0.3, vi_sess.size))
    add(vi_pages, vi_off, EV["view_item"], vi_prod)
    si = (rng.random(ns) < P_SELECT_ITEM_SESSION)[vi_sess] & (rng.random(vi_sess.size) < P_SELECT_ITEM)
    add(vi_pages[si], vi_off[si] * rng.uniform(0, 1, int(si.sum())), EV["select_item"], vi_prod[si])
    first_vi_rank = np.full(ns, 1 << 30)
    np.minimum.at(first_vi_rank, vi_sess, vi_pages - pg_first[vi_sess])

    # add_to_cart: after the first product view, or on the cart page of a continued checkout.
    atc_browse = (stage >= 2) & ~cont
    atc_cont = cont & (rng.random(ns) < P_CONT_ATC)
    n_atc = np.where(atc_browse | atc_cont, 1 + _nb(rng, ATC_EXTRA, ns), 0)
    atc_sess = np.repeat(np.arange(ns), n_atc)
    lo = np.where(atc_browse, np.minimum(first_vi_rank, n_browse - 1), n_browse)[atc_sess]
    hi = np.where(atc_browse, n_browse, n_browse + 1)[atc_sess]
    atc_pages = pg_first[atc_sess] + lo + (rng.random(atc_sess.size) * (hi - lo)).astype(np.int64)
    add(
        atc_pages,
        dwell[atc_pages] * rng.uniform(0.3, 1.0, atc_sess.size),
        EV["add_to_cart"],
        1 + rng.choice(prods.weight.size, atc_sess.size, p=prods.weight),
    )

    for code, min_stage, extra, k in (
        (EV["begin_checkout"], 3, BC_EXTRA, 1),
        (EV["add_shipping_info"], 4, ASI_EXTRA, 2),
        (EV["add_payment_info"], 5, API_EXTRA, 3),
    ):
        n_step = np.where(
            stage >= min_stage,
            1 + (_nb(rng, extra, ns) if code == EV["begin_checkout"] else rng.poisson(extra, ns)),
            0,
        )
        st_sess = np.repeat(np.arange(ns), n_step)
        st_pages = pg_first[st_sess] + n_browse[st_sess] + k
        add(st_pages, dwell[st_pages] * rng.uniform(0, 1, st_sess.size), code)

    # purchase: every planned event of every order, on the confirmation page.
    n_orders = np.where(stage >= 6, order_hi - order_lo, 0)
    ord_sess = np.repeat(np.arange(ns), n_orders)
    ord_idx = np.repeat(order_lo, n_orders) + _ranks(n_orders)
    ord_ev = plan.o_events[ord_idx].astype(np.int64)
    pu_sess = np.repeat(ord_sess, ord_ev)
    pu_order = np.repeat(ord_idx, ord_ev)
    pu_pages = pg_first[pu_sess] + n_browse[pu_sess] + 4
    # The first purchase shares the confirmation page's timestamp; repeats come seconds later.
    pu_off = _ranks(np.bincount(pu_sess, minlength=ns)) * rng.integers(
        5 * US_PER_S, 90 * US_PER_S, pu_sess.size
    )
    add(pu_pages, pu_off, EV["purchase"], pu_order)

    vsr_n = np.where(rng.random(ns) < P_SEARCH_SESSION, 1 + rng.poisson(SEARCH_EXTRA, ns), 0)
    vsr_n = np.where(n_browse > 0, vsr_n, 0)
    vsr_sess = np.repeat(np.arange(ns), vsr_n)
    vsr_pages = pg_first[vsr_sess] + (rng.random(vsr_sess.size) * n_browse[vsr_sess]).astype(np.int64)
    add(
        vsr_pages,
        dwell[vsr_pages] * rng.uniform(0, 0.5, vsr_sess.size),
        EV["view_search_results"],
        rng.integers(0, len(cat.SEARCH_TERMS), vsr_sess.size),
    )

    cl_n = np.where(rng.random(ns) < P_CLICK_SESSION, 1 + rng.poisson(CLICK_EXTRA, ns), 0)
    cl_sess = np.repeat(np.arange(ns), cl_n)
    cl_pages = pg_first[cl_sess] + n_pv[cl_sess] - 1
    add(
        cl_pages,
        dwell[cl_pages] * rng.uniform(0.5, 1.0, cl_sess.size),
        EV["click"],
        rng.integers(0, len(cat.OUTBOUND_LINKS), cl_sess.size),
    )

    vil_n = np.where((rng.random(ns) < P_VIL_SESSION) & (n_browse > 0), 1 + rng.poisson(VIL_EXTRA, ns), 0)
    vil_sess = np.repeat(np.arange(ns), vil_n)
    vil_pages = pg_first[vil_sess] + (rng.random(vil_sess.size) * n_browse[vil_sess]).astype(np.int64)
    add(vil_pages, dwell[vil_pages] * rng.uniform(0, 0.5, vil_sess.size), EV["view_item_list"])

    ev_page = np.concatenate([p[0] for p in parts])
    ev_off = np.concatenate([p[1] for p in parts])
    ev_aux = np.concatenate([p[2] for p in parts]).astype(np.int64)
    ev_code = np.concatenate([np.full(p[0].size, p[3], dtype=np.int8) for p in parts])
    ev_sess = pg_sess[ev_page]
    ev_ts = pg_load[ev_page] + ev_off
    order = np.lexsort((ev_code, ev_sess, ev_ts))
    ev_page, ev_ts, ev_aux, ev_code, ev_sess = (a[order] for a in (ev_page, ev_ts, ev_aux, ev_code, ev_sess))
    # Same-named events of a session never share a microsecond (the sample has no such groups).
    same = np.zeros(ev_ts.size, dtype=bool)
    same[1:] = (ev_ts[1:] == ev_ts[:-1]) & (ev_sess[1:] == ev_sess[:-1]) & (ev_code[1:] == ev_code[:-1])
    run_start = np.maximum.accumulate(np.where(~same, np.arange(ev_ts.size), 0))
    ev_ts = ev_ts + (np.arange(ev_ts.size) - run_start)

    # --- page URLs, titles, referrers ------------------------------------------------------------
    pg_product = np.zeros(npg, dtype=np.int64)
    vi_mask = ev_code == EV["view_item"]
    pg_product[ev_page[vi_mask][::-1]] = ev_aux[vi_mask][::-1]  # first view of the page wins
    base = pool.base
    kind_u = rng.random(npg)
    landing_p = pg_rank == 0
    home_cut = np.where(landing_p, 0.45, 0.15)
    cat_cut = home_cut + np.where(landing_p, 0.30, 0.55)
    n_cat, n_other = len(cat.CATEGORY_PAGES), len(cat.OTHER_PAGES)
    cat_i = rng.integers(0, n_cat, npg)
    other_i = rng.integers(0, n_other, npg)
    rel = np.where(kind_u < home_cut, 0, np.where(kind_u < cat_cut, 1 + cat_i, 1 + n_cat + other_i))
    rel = np.where(pg_product > 0, 1 + n_cat + n_other + pg_product, rel)
    rel = np.where(~is_browse, 1 + n_cat + n_other + len(prods.item_name) + funnel_k, rel)
    pg_url = base["url_home"] + rel
    pg_title = base["title_home"] + rel

    ref_by_source = np.array(
        [base["referrer"] + i if r is not None else -1 for i, r in enumerate(cat.SOURCE_REFERRER)]
    )
    prev_url = np.concatenate([[-1], pg_url[:-1]])
    pg_ref = np.where(landing_p, ref_by_source[src][pg_sess], prev_url)
    pg_ref = np.where(landing_p & cont[pg_sess], base["self_referral"], pg_ref)
    pg_bundle = rng.integers(1, 1 << 31, npg) * np.where(rng.random(npg) < 0.5, -1, 1)

    # --- session-level click ids and source params ----------------------------------------------
    dyn: list[pa.Array] = []
    dyn_base = len(pool)
    cpc = np.flatnonzero((src == cat.SRC_CPC) & (rng.random(ns) < 0.75))
    gclid = np.full(ns, -1, dtype=np.int64)
    if cpc.size:
        tok = _tokens(rng, cpc.size, b"Cj0KCQiA", 48)
        dyn.append(tok)
        gclid[cpc] = dyn_base + np.arange(cpc.size)
        dyn_base += cpc.size
        # The landing page of a paid click carries the gclid in its URL.
        landing_urls = pc.binary_join_element_wise(
            pool_array.take(pa.array(pg_url[landing[cpc]])), pa.repeat("?gclid=", cpc.size), tok, ""
        )
        dyn.append(landing_urls)
        pg_url[landing[cpc]] = dyn_base + np.arange(cpc.size)
        dyn_base += cpc.size
    disp = np.flatnonzero((src == cat.SRC_OTHER) & (rng.random(ns) < 0.035))
    dclid = np.full(ns, -1, dtype=np.int64)
    if disp.size:
        dyn.append(_tokens(rng, disp.size, b"CL", 24))
        dclid[disp] = dyn_base + np.arange(disp.size)
        dyn_base += disp.size
    explicit = np.where(src == cat.SRC_DIRECT, rng.random(ns) < 0.7, rng.random(ns) < 0.985)
    later = rng.random(npg) < 0.23
    pg_source_params = np.where(landing_p, 1, np.where(later, np.where(rng.random(npg) < 0.6, 1, 2), 0))
    pg_source_params = np.where(explicit[pg_sess], pg_source_params, 0).astype(np.int8)

    # --- transaction ids of this frame's orders --------------------------------------------------
    orders_here = np.unique(ev_aux[ev_code == EV["purchase"]])
    txn_index = np.full(plan.o_kind.size, -1, dtype=np.int64)
    real = orders_here[plan.o_txn[orders_here] >= 0]
    if real.size:
        dyn.append(pa.array(plan.o_txn[real]).cast(pa.string()))
        txn_index[real] = dyn_base + np.arange(real.size)
        dyn_base += real.size
    txn_index[orders_here[plan.o_txn[orders_here] == -1]] = base["not_set"]

    items = _items(plan, rng, ev_code, ev_aux, ev_sess, ns, stage, order_lo, order_hi)
    return Frame(
        sess=sess,
        engaged=engaged,
        gclid=gclid,
        dclid=dclid,
        explicit_source=explicit,
        pg_sess=pg_sess,
        pg_rank=pg_rank,
        pg_load=pg_load,
        pg_dwell=dwell,
        pg_url=pg_url,
        pg_title=pg_title,
        pg_ref=pg_ref,
        pg_bundle=pg_bundle,
        pg_source_params=pg_source_params,
        ev_sess=ev_sess,
        ev_page=ev_page,
        ev_ts=ev_ts,
        ev_code=ev_code,
        ev_aux=ev_aux,
        dynamic=pa.concat_arrays(dyn) if dyn else pa.array([], pa.string()),
        txn_index=txn_index,
        **items,
    )


def _items(
    plan: Plan,
    rng: np.random.Generator,
    ev_code: np.ndarray,
    ev_aux: np.ndarray,
    ev_sess: np.ndarray,
    ns: int,
    stage: np.ndarray,
    order_lo: np.ndarray,
    order_hi: np.ndarray,
) -> dict[str, np.ndarray]:
    """Item lines of every event, grouped by event (events are already in final order)."""
    prods = cat.products()
    nprod = prods.weight.size
    n_ev = ev_code.size
    idx = np.arange(n_ev)
    chunks: list[dict[str, np.ndarray]] = []

    def lines(
        owner: np.ndarray,
        product: np.ndarray,
        qty: np.ndarray | None = None,
        revenue: np.ndarray | None = None,
        promo: np.ndarray | None = None,
    ) -> None:
        n = owner.size
        chunks.append(
            {
                "it_event": owner,
                "it_product": product.astype(np.int64),
                "it_qty": np.ones(n, dtype=np.int64) if qty is None else qty.astype(np.int64),
                "it_revenue": np.full(n, np.nan) if revenue is None else revenue,
                "it_promo": np.full(n, -1, dtype=np.int64) if promo is None else promo.astype(np.int64),
            }
        )

    def has_items(code: int) -> np.ndarray:
        sel = idx[ev_code == code]
        p = P_ITEMS.get(code)
        return sel if p is None else sel[rng.random(sel.size) < p]

    # view_item: the viewed product first, then the other products listed on the page.
    vi = has_items(EV["view_item"])
    n = 1 + _nb(rng, VI_ITEMS_EXTRA, vi.size)
    owner = np.repeat(vi, n)
    product = 1 + rng.choice(nprod, owner.size, p=prods.weight)
    first = _ranks(n) == 0
    product[first] = ev_aux[vi]
    lines(owner, product)
    vil = has_items(EV["view_item_list"])
    n = 1 + rng.poisson(VIL_ITEMS_EXTRA, vil.size)
    owner = np.repeat(vil, n)
    lines(owner, 1 + rng.choice(nprod, owner.size, p=prods.weight))
    si = has_items(EV["select_item"])
    lines(si, ev_aux[si])
    atc = has_items(EV["add_to_cart"])
    lines(atc, ev_aux[atc], qty=1 + (rng.random(atc.size) < 0.15))
    # view_promotion lists the carousel's slides; select_promotion the chosen one.
    vp = has_items(EV["view_promotion"])
    n = 1 + np.minimum(rng.poisson(VP_ITEMS_EXTRA, vp.size), 2 * len(cat.PROMOTIONS))
    owner = np.repeat(vp, n)
    promo = (np.repeat(ev_aux[vp], n) + _ranks(n)) % len(cat.PROMOTIONS)
    lines(owner, np.zeros(owner.size), qty=np.full(owner.size, -1), promo=promo)
    sp = has_items(EV["select_promotion"])
    lines(sp, np.zeros(sp.size), qty=np.full(sp.size, -1), promo=ev_aux[sp])

    # Checkout steps show the cart: the first order's lines in purchasing sessions, else a random cart.
    has_order = (stage >= 6) & (order_hi > order_lo)
    first_order = np.where(has_order, order_lo, 0)
    ois = plan.o_item_start
    o_n = np.where(has_order, ois[np.minimum(first_order + 1, ois.size - 1)] - ois[first_order], 0)
    rnd_n = np.where(has_order, 0, 1 + rng.poisson(CART_EXTRA, ns))
    cart_n = np.where(has_order, o_n, rnd_n)
    cart_start = np.cumsum(cart_n) - cart_n
    tot = int(cart_n.sum())
    cart_sess = np.repeat(np.arange(ns), cart_n)
    r = _ranks(cart_n)
    from_order = has_order[cart_sess]
    oi = plan.o_item_start[first_order[cart_sess]] + r
    oi = np.where(from_order, oi, 0)
    cart_product = np.where(
        from_order,
        plan.oi_product[oi] if plan.oi_product.size else 0,
        1 + rng.choice(nprod, tot, p=prods.weight),
    )
    cart_qty = np.where(
        from_order,
        np.maximum(plan.oi_quantity[oi] if plan.oi_quantity.size else 1, 1),
        rng.geometric(0.78, tot),
    )
    for code in (EV["begin_checkout"], EV["add_shipping_info"], EV["add_payment_info"]):
        sel = has_items(code)
        s = ev_sess[sel]
        owner = np.repeat(sel, cart_n[s])
        pos = np.repeat(cart_start[s], cart_n[s]) + _ranks(cart_n[s])
        lines(owner, cart_product[pos], qty=cart_qty[pos])

    # purchase: the order's own lines with item revenue (quantity NULL on a few lines).
    pu = has_items(EV["purchase"])
    o = ev_aux[pu]
    n = plan.o_item_start[o + 1] - plan.o_item_start[o]
    owner = np.repeat(pu, n)
    pos = np.repeat(plan.o_item_start[o], n) + _ranks(n)
    qty = plan.oi_quantity[pos]
    product = plan.oi_product[pos]
    revenue = np.where(qty > 0, prods.price[product] * np.maximum(qty, 0), np.nan)
    lines(owner, product, qty=qty, revenue=revenue)

    out = {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}
    order = np.argsort(out["it_event"], kind="stable")
    return {k: v[order] for k, v in out.items()}
