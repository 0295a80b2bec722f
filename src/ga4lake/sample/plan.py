"""Who visits when: the user/session/order plan behind every generated day.

New users arrive in daily cohorts; each cohort's random stream is keyed by (seed, cohort date),
and a cohort's users schedule their own returns (same day or δ days later, P(δ) ∝ (δ+0.7)^-1.28), so
retention emerges from the schedule instead of from mutable state, and any single day can be
regenerated identically. Cohorts up to ``MAX_GAP`` days before the window are simulated too:
their in-window returns are the "old" users that have no ``first_visit`` in the sample.

The plan stays compact (numpy arrays per session, ~30 bytes each): the session-level facts that
must be consistent across days (session number, lifetime value, funnel depth, orders) are fixed
here; ``generator`` expands each day's sessions into events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import catalog as cat
from .identity import draw_identity
from .timeline import US_PER_S, day_bounds, day_start_us, daynum, expected_events, sample_time_of_day

MIN_US = 60 * US_PER_S

# --- calibration (scale 1 targets from docs/ga4-export.md; measured figures in docs/sample.md) -------
EVENTS_PER_SESSION = 11.93  # 4,295,584 events / 360,129 sessions
P_RETURN = 0.17  # share of new users with at least one more session (before window truncation)
EXTRA_MEAN = 2.2  # mean number of extra sessions of a returning user
SAME_DAY = 0.37  # share of extra sessions on the first visit's day
DECAY = 1.28  # P(return after δ days) ∝ (δ + GAP_SHIFT)^-DECAY
GAP_SHIFT = 0.70
MAX_GAP = 120  # days
P_SHOPPER = (0.10, 0.42)  # P(shopper) for one-session users, returning users
P_VIEW_ITEM = (0.116, 0.50)  # P(session has view_item) for non-shoppers, shoppers
P_ADD_TO_CART = 0.197  # | view_item (times the source's conversion multiplier)
P_BEGIN_CHECKOUT = 0.393  # | add_to_cart, same session
P_SHIPPING = 0.95  # | begin_checkout
P_PAYMENT = 0.60  # | add_shipping_info
P_PURCHASE = 0.75  # | add_payment_info
P_CONTINUATION = 0.50  # cart without checkout -> checkout in a new (cross-domain) session
P_RESAMPLE_SOURCE = 0.35  # a later session gets a different traffic_source (obfuscation)
P_SECOND_ORDER = 0.19
ORDER_KIND_P = (0.83, 0.165, 0.005)  # transaction_id: real id, "(not set)", NULL
P_REPEAT = (0.07, 0.10, 0.0)  # repeated purchase event of the same order, per kind
P_NULL_REVENUE = 0.079  # 450 of 5,692 purchases have NULL purchase_revenue
P_MISMATCH = 0.286  # item revenue does not reconcile with order revenue
P_SHARED_TXN = 0.0034  # 15 transaction ids used by two users
P_NULL_QUANTITY = 0.026  # purchase item lines failing "quantity > 0"
ITEMS_PER_ORDER = 1.0  # 1 + Poisson(mean)
STAGES = (
    "none",
    "view_item",
    "add_to_cart",
    "begin_checkout",
    "add_shipping_info",
    "add_payment_info",
    "purchase",
)


def _rng(seed: int, d: date, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed & 0xFFFFFFFF, seed >> 32, daynum(d) + 100_000, stream])


@cache
def _gap_p() -> np.ndarray:
    w = (np.arange(1, MAX_GAP + 1, dtype=np.float64) + GAP_SHIFT) ** -DECAY
    return w / w.sum()


@cache
def _kernel() -> tuple[float, np.ndarray]:
    """Expected sessions of one new user on its first day (g0) and δ days later (g[δ-1])."""
    ek = P_RETURN * EXTRA_MEAN
    return 1.0 + ek * SAME_DAY, ek * (1.0 - SAME_DAY) * _gap_p()


@cache
def arrivals(d: date) -> float:
    """New users expected on ``d`` at scale 1, so that new + returning sessions follow the curve.

    A pure function of the date (one explicit correction step from the steady state), so cohorts do
    not depend on where the requested window starts.
    """
    g0, g = _kernel()
    total = g0 + g.sum()
    returning = sum(g[k] * expected_events(d - timedelta(days=k + 1)) for k in range(MAX_GAP)) / total
    return max(0.0, (expected_events(d) - returning) / EVENTS_PER_SESSION / g0)


@dataclass
class Plan:
    """Sessions (sorted by start) of users active in the window, with their users and orders."""

    start: date
    days: int
    bounds: np.ndarray  # days + 1 local-midnight boundaries, UTC µs
    # users (index = position)
    user_pseudo_id: pa.Array
    user_first_touch: np.ndarray
    user_device: np.ndarray
    user_geo: np.ndarray
    user_is_new: np.ndarray  # first session inside the window
    user_uid: np.ndarray  # login id number (identity.user_id_number), -1 = no account
    user_login: np.ndarray  # session number from which the user is logged in, 0 = never
    user_stream: np.ndarray  # identity.STREAM_WEB / STREAM_APP
    # sessions
    s_user: np.ndarray
    s_start: np.ndarray
    s_day: np.ndarray
    s_number: np.ndarray
    s_first_visit: np.ndarray  # emits first_visit (first session, plus a rare second one)
    s_traffic: np.ndarray  # traffic_source row (user-scoped first touch as exported)
    s_source: np.ndarray  # source collected in event params this session
    s_stage: np.ndarray  # deepest funnel step, index into STAGES
    s_continuation: np.ndarray  # checkout that continued in a new session
    s_shopper: np.ndarray
    s_ltv: np.ndarray  # lifetime revenue before this session
    s_u: np.ndarray  # uniform draw for quirk switches that act per session (consent)
    s_order_start: np.ndarray  # orders of session i: o_*[s_order_start[i]:s_order_start[i+1]]
    # orders
    o_kind: np.ndarray
    o_events: np.ndarray
    o_revenue: np.ndarray  # NaN when purchase_revenue is NULL
    o_tax: np.ndarray
    o_txn: np.ndarray  # int64 id; -1 -> "(not set)", -2 -> NULL
    o_item_start: np.ndarray  # len(orders) + 1
    oi_product: np.ndarray
    oi_quantity: np.ndarray  # -1 = NULL

    @property
    def n_sessions(self) -> int:
        return int(self.s_start.size)

    def sessions_of_day(self, i: int) -> np.ndarray:
        """Indices of sessions that start on window day ``i``."""
        lo, hi = np.searchsorted(self.s_day, [i, i + 1])
        return np.arange(lo, hi)


def _stoch_round(rng: np.random.Generator, x: float) -> int:
    base = int(np.floor(x))
    return base + int(rng.random() < x - base)


def _cohort(seed: int, d: date, scale: float) -> dict[str, np.ndarray]:
    """Users first seen on ``d`` and all their sessions (some may fall outside the window)."""
    rng = _rng(seed, d, 1)
    n = _stoch_round(rng, arrivals(d) * scale)
    t0 = day_start_us(d)
    first = t0 + sample_time_of_day(rng, n)
    k = np.where(rng.random(n) < P_RETURN, rng.geometric(1.0 / EXTRA_MEAN, n), 0)
    shopper = rng.random(n) < np.where(k > 0, P_SHOPPER[1], P_SHOPPER[0])
    device = rng.choice(len(cat.DEVICE_PROFILES), n, p=cat.device_probabilities()).astype(np.int16)
    geo = rng.choice(len(cat.geo().prob), n, p=cat.geo().prob).astype(np.int16)
    src_p = np.array([s[3] for s in cat.SOURCES])
    src_p /= src_p.sum()
    traffic = rng.choice(len(src_p), n, p=src_p).astype(np.int8)
    pid_a = rng.integers(10_000_000, 2_147_483_647, n)
    pid_b = rng.integers(1_000_000_000, 9_999_999_999, n)
    # logins and streams: their own random stream, so they move none of the draws above or below
    ident = draw_identity(_rng(seed, d, 2), daynum(d), k > 0, device)

    m = int(k.sum())
    owner = np.repeat(np.arange(n), k)
    same = rng.random(m) < SAME_DAY
    gap = rng.choice(np.arange(1, MAX_GAP + 1), m, p=_gap_p())
    t_same = first[owner] + 35 * MIN_US + rng.exponential(90 * MIN_US, m).astype(np.int64)
    t_later = t0 + gap * 86_400 * US_PER_S + sample_time_of_day(rng, m)
    s_user = np.concatenate([np.arange(n), owner])
    s_start = np.concatenate([first, np.where(same, t_same, t_later)])
    ns = s_user.size
    resample = rng.random(ns) < P_RESAMPLE_SOURCE
    resample[:n] = False
    s_traffic = np.where(resample, rng.choice(len(src_p), ns, p=src_p), traffic[s_user]).astype(np.int8)

    # Funnel depth: a Markov chain per session, shoppers browse products far more often.
    conv = np.array([s[4] for s in cat.SOURCES])[s_traffic]
    sh = shopper[s_user]
    u = rng.random((ns, 6))
    stage = np.zeros(ns, dtype=np.int8)
    ok = u[:, 0] < np.where(sh, P_VIEW_ITEM[1], P_VIEW_ITEM[0])
    stage[ok] = 1
    for step, p in enumerate((None, P_ADD_TO_CART, P_BEGIN_CHECKOUT, P_SHIPPING, P_PAYMENT, P_PURCHASE)):
        if p is None:
            continue
        prob = np.minimum(p * conv, 0.95) if step == 1 else p
        ok &= u[:, step] < prob
        stage[ok] = step + 1

    # Checkout continued in a new session (cross-domain checkout starts a self-referral session).
    cont_parent = np.flatnonzero((stage == 2) & (rng.random(ns) < P_CONTINUATION))
    nc = cont_parent.size
    uc = rng.random((nc, 3))
    c_stage = np.full(nc, 3, dtype=np.int8)
    okc = np.ones(nc, dtype=bool)
    for j, p in enumerate((P_SHIPPING, P_PAYMENT, P_PURCHASE)):
        okc &= uc[:, j] < p
        c_stage[okc] = 4 + j
    s_user = np.concatenate([s_user, s_user[cont_parent]])
    s_start = np.concatenate([s_start, s_start[cont_parent] + rng.integers(3 * MIN_US, 25 * MIN_US, nc)])
    s_traffic = np.concatenate([s_traffic, s_traffic[cont_parent]])
    s_source = s_traffic.copy()
    s_source[ns:] = cat.SRC_SELF
    stage = np.concatenate([stage, c_stage])
    s_cont = np.zeros(s_user.size, dtype=bool)
    s_cont[ns:] = True

    order = np.lexsort((s_start, s_user))
    s_user, s_start, s_traffic, s_source, stage, s_cont = (
        a[order] for a in (s_user, s_start, s_traffic, s_source, stage, s_cont)
    )
    ns = s_user.size
    first_of_user = np.ones(ns, dtype=bool)
    first_of_user[1:] = s_user[1:] != s_user[:-1]
    grp_start = np.maximum.accumulate(np.where(first_of_user, np.arange(ns), 0))
    s_number = (np.arange(ns) - grp_start + 1).astype(np.int32)
    # ~0.06 % of users send first_visit again later (257,462 events for 257,314 users).
    s_first_visit = first_of_user | (rng.random(ns) < 0.0017)

    orders = _orders(rng, d, np.flatnonzero(stage == 6))
    revenue_by_session = np.bincount(
        orders["session"], weights=np.nan_to_num(orders["revenue"]), minlength=ns
    )
    csum = np.cumsum(revenue_by_session)
    s_ltv = csum - revenue_by_session - (csum - revenue_by_session)[grp_start]

    return {
        "n_users": np.array([n]),
        "u_first": first,
        "u_device": device,
        "u_geo": geo,
        "u_pid_a": pid_a,
        "u_pid_b": pid_b,
        **ident,
        "s_user": s_user,
        "s_start": s_start,
        "s_number": s_number,
        "s_first_visit": s_first_visit,
        "s_traffic": s_traffic,
        "s_source": s_source,
        "s_stage": stage,
        "s_cont": s_cont,
        "s_shopper": shopper[s_user],
        "s_ltv": np.round(s_ltv, 2),
        "s_u": rng.random(ns),
        **{f"o_{k}": v for k, v in orders.items()},
    }


def _orders(rng: np.random.Generator, d: date, sessions: np.ndarray) -> dict[str, np.ndarray]:
    """Orders of purchasing sessions with their items, revenue and transaction-id quirks."""
    n_orders = 1 + (rng.random(sessions.size) < P_SECOND_ORDER)
    session = np.repeat(sessions, n_orders)
    no = session.size
    kind = rng.choice(3, no, p=ORDER_KIND_P).astype(np.int8)
    events = 1 + (rng.random(no) < np.array(P_REPEAT)[kind])
    n_items = 1 + rng.poisson(ITEMS_PER_ORDER, no)
    item_start = np.concatenate([[0], np.cumsum(n_items)])
    ni = int(item_start[-1])
    prods = cat.products()
    product = 1 + rng.choice(prods.weight.size, ni, p=prods.weight)
    qty = rng.geometric(0.78, ni)
    qty = np.where(rng.random(ni) < P_NULL_QUANTITY, -1, qty)
    line = np.where(qty > 0, prods.price[product] * np.maximum(qty, 0), 0.0)
    revenue = np.add.reduceat(line, item_start[:-1]) if no else np.zeros(0)
    mismatch = rng.random(no) < P_MISMATCH
    revenue = np.round(np.where(mismatch, revenue * rng.uniform(0.6, 1.4, no), revenue), 2)
    revenue = np.where(rng.random(no) < P_NULL_REVENUE, np.nan, revenue)
    tax = np.round(revenue * rng.uniform(0.05, 0.10, no), 2)
    # Transaction ids: unique per (cohort date, order), scrambled into a 10-digit space.
    x = np.int64(daynum(d)) * 1_000_000 + np.arange(no, dtype=np.int64)
    txn = (x * 7_919 + 1_234_567) % 10_000_000_000
    shared = rng.random(no) < P_SHARED_TXN
    if no > 1:
        txn = np.where(shared, txn[rng.integers(0, no, no)], txn)
    txn = np.where(kind == 1, -1, np.where(kind == 2, -2, txn))
    return {
        "session": session,
        "kind": kind,
        "events": events.astype(np.int8),
        "revenue": revenue,
        "tax": tax,
        "txn": txn,
        "n_items": n_items,
        "product": product,
        "qty": qty,
    }


def build_plan(start: date, days: int, scale: float, seed: int) -> Plan:
    """All sessions starting inside ``[start, start + days)`` and the users and orders they need."""
    bounds = day_bounds(start, days)
    parts = [_cohort(seed, start + timedelta(days=i), scale) for i in range(-MAX_GAP, days)]

    # Concatenate cohorts with global user/session offsets.
    u_off = np.cumsum([0] + [int(p["n_users"][0]) for p in parts])
    s_off = np.cumsum([0] + [p["s_user"].size for p in parts])
    cat_ = {k: np.concatenate([p[k] for p in parts]) for k in parts[0] if k not in ("n_users", "o_session")}
    s_user = np.concatenate([p["s_user"] + u_off[i] for i, p in enumerate(parts)])
    o_session = np.concatenate([p["o_session"] + s_off[i] for i, p in enumerate(parts)])

    s_start = cat_["s_start"]
    keep = (s_start >= bounds[0]) & (s_start < bounds[-1])
    order = np.flatnonzero(keep)
    order = order[np.argsort(s_start[order], kind="stable")]
    old_to_new = np.full(s_start.size, -1, dtype=np.int64)
    old_to_new[order] = np.arange(order.size)

    users_kept, s_user_new = np.unique(s_user[order], return_inverse=True)
    u_first = cat_["u_first"][users_kept]
    pid = pc.binary_join_element_wise(
        pa.array(cat_["u_pid_a"][users_kept]).cast(pa.string()),
        pa.array(cat_["u_pid_b"][users_kept]).cast(pa.string()),
        ".",
    )

    # Orders of kept sessions, grouped by (new) session index.
    o_new = old_to_new[o_session]
    o_keep = np.flatnonzero(o_new >= 0)
    o_keep = o_keep[np.argsort(o_new[o_keep], kind="stable")]
    n_items_all = cat_["o_n_items"]
    item_start_all = np.concatenate([[0], np.cumsum(n_items_all)])
    sel_items = n_items_all[o_keep]
    item_idx = np.repeat(item_start_all[o_keep], sel_items) + (
        np.arange(int(sel_items.sum())) - np.repeat(np.cumsum(sel_items) - sel_items, sel_items)
    )
    s_order_start = np.searchsorted(o_new[o_keep], np.arange(order.size + 1))

    s_start_k = s_start[order]
    return Plan(
        start=start,
        days=days,
        bounds=bounds,
        user_pseudo_id=pid,
        user_first_touch=u_first,
        user_device=cat_["u_device"][users_kept],
        user_geo=cat_["u_geo"][users_kept],
        user_is_new=u_first >= bounds[0],
        user_uid=cat_["u_uid"][users_kept],
        user_login=cat_["u_login"][users_kept],
        user_stream=cat_["u_stream"][users_kept],
        s_user=s_user_new.astype(np.int64),
        s_start=s_start_k,
        s_day=(np.searchsorted(bounds, s_start_k, side="right") - 1).astype(np.int32),
        s_number=cat_["s_number"][order],
        s_first_visit=cat_["s_first_visit"][order],
        s_traffic=cat_["s_traffic"][order],
        s_source=cat_["s_source"][order],
        s_stage=cat_["s_stage"][order],
        s_continuation=cat_["s_cont"][order],
        s_shopper=cat_["s_shopper"][order],
        s_ltv=cat_["s_ltv"][order],
        s_u=cat_["s_u"][order],
        s_order_start=s_order_start,
        o_kind=cat_["o_kind"][o_keep],
        o_events=cat_["o_events"][o_keep],
        o_revenue=cat_["o_revenue"][o_keep],
        o_tax=cat_["o_tax"][o_keep],
        o_txn=cat_["o_txn"][o_keep],
        o_item_start=np.concatenate([[0], np.cumsum(sel_items)]),
        oi_product=cat_["o_product"][item_idx],
        oi_quantity=cat_["o_qty"][item_idx],
    )
