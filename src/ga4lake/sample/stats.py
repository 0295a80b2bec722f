"""Measure an export against the sample's published statistics (used by tests, docs and benchmarks).

Works on a slim projection of each day (``slim``), so whole 92-day runs can be measured without
holding the nested tables in memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

FUNNEL = ("view_item", "add_to_cart", "begin_checkout", "add_shipping_info", "add_payment_info", "purchase")


def param(table: pa.Table, key: str, field: str) -> pa.Array:
    """Per-event value of event param ``key`` (NULL if absent)."""
    params = table.column("event_params").combine_chunks()
    lengths = pc.fill_null(pc.list_value_length(params), 0).to_numpy(zero_copy_only=False)
    flat = params.flatten()
    owner = np.repeat(np.arange(len(params)), lengths)
    hit = pc.equal(flat.field("key"), key).to_numpy(zero_copy_only=False)
    values = flat.field("value").field(field).filter(pa.array(hit))
    idx = np.full(len(params), -1, dtype=np.int64)
    idx[owner[hit][::-1]] = np.arange(int(hit.sum()))[::-1]  # first occurrence wins
    return values.take(pa.array(idx, mask=idx < 0))


def slim(table: pa.Table) -> pa.Table:
    """The columns the statistics need, flattened."""
    ecom = table.column("ecommerce").combine_chunks()
    items = table.column("items").combine_chunks()
    return pa.table(
        {
            "event_date": table.column("event_date"),
            "ts": table.column("event_timestamp"),
            "name": table.column("event_name"),
            "user": table.column("user_pseudo_id"),
            "sid": param(table, "ga_session_id", "int_value"),
            "has_source": pc.is_valid(param(table, "source", "string_value")),
            "has_gclid": pc.is_valid(param(table, "gclid", "string_value")),
            "engaged": param(table, "session_engaged", "string_value"),
            "device": pc.struct_field(table.column("device"), "category"),
            "country": pc.struct_field(table.column("geo"), "country"),
            "ts_source": pc.struct_field(table.column("traffic_source"), "source"),
            "ts_medium": pc.struct_field(table.column("traffic_source"), "medium"),
            "txn": ecom.field("transaction_id"),
            "revenue": ecom.field("purchase_revenue"),
            "revenue_usd": ecom.field("purchase_revenue_in_usd"),
            "n_items": pc.fill_null(pc.list_value_length(items), 0),
        }
    )


def summarize(slims: Iterable[pa.Table]) -> dict[str, Any]:
    """Headline figures of the export, comparable with docs/ga4-export.md#headline-figures."""
    t = pa.concat_tables(list(slims)).combine_chunks()
    n = t.num_rows
    name = t.column("name").to_numpy(zero_copy_only=False).astype(str)
    user_codes = pc.dictionary_encode(t.column("user")).combine_chunks()
    user = user_codes.indices.to_numpy(zero_copy_only=False)
    has_user = t.column("user").is_valid().to_numpy(zero_copy_only=False)
    sid = pc.fill_null(t.column("sid"), -1).to_numpy()
    day_codes = pc.dictionary_encode(t.column("event_date")).combine_chunks()
    dates = np.array(day_codes.dictionary.to_pylist())
    day = day_codes.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    order = np.argsort(dates)
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    day = rank[day]
    dates = dates[order]
    ok = has_user & (sid >= 0)
    skey = np.where(ok, user.astype(np.int64) * (1 << 34) + sid, -1)
    sessions, s_idx = np.unique(skey[ok], return_inverse=True)
    n_users = int(np.unique(user[has_user]).size)
    out: dict[str, Any] = {
        "events": n,
        "users": n_users,
        "sessions": int(sessions.size),
        "days": int(dates.size),
    }
    out["events_per_user"] = n / max(n_users, 1)
    out["events_per_session"] = n / max(sessions.size, 1)
    out["sessions_per_user"] = sessions.size / max(n_users, 1)

    names, counts = np.unique(name, return_counts=True)
    out["event_share"] = {k: int(c) / n for k, c in zip(names, counts, strict=True)}
    out["event_count"] = {k: int(c) for k, c in zip(names, counts, strict=True)}
    out["event_users"] = {k: int(np.unique(user[(name == k) & has_user]).size) for k in names}

    per_day = np.bincount(day, minlength=dates.size)
    out["daily_events"] = dict(zip(dates.tolist(), per_day.tolist(), strict=True))
    out["max_day"], out["min_day"] = str(dates[per_day.argmax()]), str(dates[per_day.argmin()])

    dev, dev_n = np.unique(t.column("device").to_numpy(zero_copy_only=False).astype(str), return_counts=True)
    out["device_share"] = {k: int(c) / n for k, c in zip(dev, dev_n, strict=True)}

    # Session-level attributes: first event of each session.
    s_ev = np.flatnonzero(ok)
    first = np.full(sessions.size, -1, dtype=np.int64)
    first[s_idx[::-1]] = s_ev[::-1]
    country = t.column("country").to_numpy(zero_copy_only=False).astype(str)[first]
    c, cn = np.unique(country, return_counts=True)
    top = np.argsort(-cn)[:8]
    out["country_session_share"] = {c[i]: int(cn[i]) / sessions.size for i in top}
    src = t.column("ts_source").to_numpy(zero_copy_only=False).astype(str)[first]
    med = t.column("ts_medium").to_numpy(zero_copy_only=False).astype(str)[first]
    sm, smn = np.unique(np.char.add(np.char.add(src, " / "), med), return_counts=True)
    out["source_medium_session_share"] = {k: int(v) / sessions.size for k, v in zip(sm, smn, strict=True)}
    engaged = t.column("engaged").to_numpy(zero_copy_only=False) == "1"
    s_engaged = np.zeros(sessions.size, dtype=bool)
    np.logical_or.at(s_engaged, s_idx, engaged[ok])
    out["engaged_session_share"] = float(s_engaged.mean()) if sessions.size else 0.0
    out["source_param_event_share"] = float(t.column("has_source").to_numpy(zero_copy_only=False).mean())
    out["gclid_events"] = int(t.column("has_gclid").to_numpy(zero_copy_only=False).sum())

    # Funnel: sessions / users reaching each step, and the closed session funnel.
    s_has = {}
    for step in (*FUNNEL,):
        m = np.zeros(sessions.size, dtype=bool)
        m[s_idx[name[ok] == step]] = True
        s_has[step] = m
    s_user = (sessions >> 34).astype(np.int64)
    out["funnel_sessions"] = {k: int(v.sum()) for k, v in s_has.items()}
    out["funnel_users"] = {k: out["event_users"].get(k, 0) for k in FUNNEL}
    closed = np.ones(sessions.size, dtype=bool)
    out["closed_session_funnel"] = {}
    for step in ("view_item", "add_to_cart", "begin_checkout", "purchase"):
        closed &= s_has[step]
        out["closed_session_funnel"][step] = int(closed.sum())
    out["purchase_sessions"] = int(s_has["purchase"].sum())
    out["purchase_users"] = int(np.unique(s_user[s_has["purchase"]]).size)

    # Purchases and transaction-id quirks.
    pur = name == "purchase"
    txn = t.column("txn").to_numpy(zero_copy_only=False)[pur]
    txn_null = np.array([x is None for x in txn])
    txn_str = np.where(txn_null, "", txn.astype(object)).astype(str)
    not_set = txn_str == "(not set)"
    real = ~txn_null & ~not_set
    pu_user = user[pur]
    keys = np.char.add(np.char.add(pu_user.astype(str), "|"), txn_str)[real]
    uk, ukn = np.unique(keys, return_counts=True)
    tx_users: dict[str, set[int]] = {}
    for tx, u in zip(txn_str[real].tolist(), pu_user[real].tolist(), strict=True):
        tx_users.setdefault(tx, set()).add(u)
    revenue = t.column("revenue").to_numpy(zero_copy_only=False)[pur]
    out["purchase"] = {
        "events": int(pur.sum()),
        "txn_null": int(txn_null.sum()),
        "txn_not_set": int(not_set.sum()),
        "user_txn_keys": int(uk.size),
        "repeated_keys": int((ukn > 1).sum()),
        "repeated_extra_events": int((ukn - 1).sum()),
        "txn_shared_by_users": sum(1 for s in tx_users.values() if len(s) > 1),
        "revenue_null": int(np.array([x is None or x != x for x in revenue]).sum()),
        "revenue_usd_sum": float(pc.sum(t.column("revenue_usd")).as_py() or 0.0),
    }

    # Users: single-session share and day-N retention by first active day.
    n_sess_user = np.bincount(s_user, minlength=len(user_codes.dictionary))
    active_users = n_sess_user[n_sess_user > 0]
    out["single_session_user_share"] = float((active_users == 1).mean()) if active_users.size else 0.0
    first_day = np.full(len(user_codes.dictionary), 1 << 30)
    np.minimum.at(first_day, user[has_user], day[has_user])
    ud = np.unique(user[has_user].astype(np.int64) * 4096 + day[has_user])
    ndays = dates.size
    out["retention"] = {}
    for k in (1, 7, 30):
        elig = np.flatnonzero((first_day + k < ndays) & (first_day < (1 << 30)))
        if elig.size == 0:
            continue
        hit = np.isin(elig.astype(np.int64) * 4096 + first_day[elig] + k, ud)
        out["retention"][f"D{k}"] = float(hit.mean())
    fv_users = np.unique(user[(name == "first_visit") & has_user]).size
    out["new_users"] = int(fv_users)

    # Sessions crossing midnight; events sharing their user's timestamp.
    s_days = np.unique(s_idx.astype(np.int64) * 4096 + day[ok]) >> 12
    out["midnight_sessions"] = int(np.count_nonzero(np.bincount(s_days) > 1))
    ukts = np.where(has_user, user.astype(np.int64), -1)
    ts = t.column("ts").to_numpy()
    pair = np.lexsort((ts, ukts))
    same = (ts[pair][1:] == ts[pair][:-1]) & (ukts[pair][1:] == ukts[pair][:-1])
    out["shared_timestamp_events"] = int(same.sum())
    out["item_rows"] = int(pc.sum(t.column("n_items")).as_py() or 0)
    out["session_start_minus_sessions"] = out["event_count"].get("session_start", 0) - out["sessions"]
    return out
