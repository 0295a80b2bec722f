"""Row-level quirk switches applied to a generated day: duplicates, bad rows, late events.

Each switch is off by default and draws from its own random stream keyed by (seed, date), so
switching one on does not change anything else, and a re-export of a day differs from its
first export only by the late events. ``--drift`` and ``--consent-denied`` act while
generating (see ``generator``), because they change columns or whole sessions.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .timeline import US_PER_S, daynum

#: Malformed values ``--bad-rows`` injects (one kind per bad row), each something a data contract
#: on the export should reject.
BAD_KINDS: tuple[str, ...] = (
    "event_date_format",  # '2020-11-01' instead of '20201101'
    "event_date_mismatch",  # a date that is not the shard's
    "timestamp_out_of_day",  # event_timestamp three days before the shard's day
    "null_timestamp",
    "null_event_name",
    "empty_user_pseudo_id",
    "session_id_as_string",  # ga_session_id sent as string_value, int_value NULL
    "duplicate_param_key",  # a second ga_session_id key with another value
    "negative_value",  # event_value_in_usd < 0
    "unknown_platform",
)
LATE_RATE = 0.02  # share of a day's page_view/user_engagement/scroll events that arrive late
_LATE_NAMES = ("page_view", "user_engagement", "scroll")


def _rng(seed: int, day: date, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed & 0xFFFFFFFF, seed >> 32, daynum(day) + 100_000, stream])


def add_duplicates(table: pa.Table, rate: float, seed: int, day: date) -> pa.Table:
    """Exact copies of a ``rate`` share of rows, each right after its original."""
    if rate <= 0 or table.num_rows == 0:
        return table
    rng = _rng(seed, day, 31)
    copies = 1 + (rng.random(table.num_rows) < rate)
    return table.take(pa.array(np.repeat(np.arange(table.num_rows), copies)))


def add_bad_rows(table: pa.Table, rate: float, seed: int, day: date) -> pa.Table:
    """Corrupt a ``rate`` share of rows in place with one of ``BAD_KINDS`` each."""
    if rate <= 0 or table.num_rows == 0:
        return table
    rng = _rng(seed, day, 32)
    n = table.num_rows
    bad = rng.random(n) < rate
    kind = np.where(bad, rng.integers(0, len(BAD_KINDS), n), -1)

    def rows(name: str) -> np.ndarray:
        return kind == BAD_KINDS.index(name)

    table = table.combine_chunks()
    cols = {name: table.column(name).chunk(0) for name in table.column_names}

    def replace(col: str, mask: np.ndarray, value: pa.Array | pa.Scalar) -> None:
        if mask.any():
            cols[col] = pc.if_else(pa.array(mask), value, cols[col])

    replace("event_date", rows("event_date_format"), pa.scalar(day.isoformat(), pa.string()))
    replace(
        "event_date",
        rows("event_date_mismatch"),
        pa.scalar((day - timedelta(days=1)).strftime("%Y%m%d"), pa.string()),
    )
    ts = cols["event_timestamp"]
    replace("event_timestamp", rows("timestamp_out_of_day"), pc.subtract(ts, 3 * 86_400 * US_PER_S))
    replace("event_timestamp", rows("null_timestamp"), pa.scalar(None, pa.int64()))
    replace("event_name", rows("null_event_name"), pa.scalar(None, pa.string()))
    replace("user_pseudo_id", rows("empty_user_pseudo_id"), pa.scalar("", pa.string()))
    value = cols["event_value_in_usd"]
    replace(
        "event_value_in_usd",
        rows("negative_value"),
        pc.negate(pc.fill_null(value, pa.scalar(9.99, pa.float64()))),
    )
    replace("platform", rows("unknown_platform"), pa.scalar("UNKNOWN", pa.string()))
    cols["event_params"] = _corrupt_params(
        cols["event_params"], rows("session_id_as_string"), rows("duplicate_param_key")
    )
    return pa.Table.from_arrays([cols[name] for name in table.column_names], schema=table.schema)


def _corrupt_params(params: pa.ListArray, as_string: np.ndarray, dup_key: np.ndarray) -> pa.ListArray:
    """Move ga_session_id to string_value / rename ga_session_number to ga_session_id, per row."""
    if not (as_string.any() or dup_key.any()):
        return params
    lengths = pc.fill_null(pc.list_value_length(params), 0).to_numpy(zero_copy_only=False)
    owner = np.repeat(np.arange(len(params)), lengths)
    flat = params.flatten()
    key = flat.field("key")
    value = flat.field("value")
    sid = pc.equal(key, "ga_session_id").to_numpy(zero_copy_only=False)
    snum = pc.equal(key, "ga_session_number").to_numpy(zero_copy_only=False)
    move = pa.array(sid & as_string[owner])
    string_value = pc.if_else(
        move, pc.cast(value.field("int_value"), pa.string()), value.field("string_value")
    )
    int_value = pc.if_else(move, pa.scalar(None, pa.int64()), value.field("int_value"))
    key = pc.if_else(pa.array(snum & dup_key[owner]), pa.scalar("ga_session_id"), key)
    value_type = value.type
    new_value = pa.StructArray.from_arrays(
        [string_value, int_value, value.field("float_value"), value.field("double_value")],
        fields=[value_type.field(i) for i in range(value_type.num_fields)],
    )
    entry_type = flat.type
    entries = pa.StructArray.from_arrays([key, new_value], fields=[entry_type.field(0), entry_type.field(1)])
    offsets = np.zeros(len(params) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), entries, type=params.type)


def add_late_events(table: pa.Table, seed: int, day: date, day_end_us: int) -> pa.Table:
    """Append events that reached GA4 late (as a re-export within 72 h would carry them).

    They are copies of some of the day's page_view/user_engagement/scroll events a few seconds
    later, with ``event_server_timestamp_offset`` set to the delay (24-70 h).
    """
    if table.num_rows == 0:
        return table
    rng = _rng(seed, day, 33)
    names = table.column("event_name").to_numpy(zero_copy_only=False)
    eligible = np.isin(names.astype(str), _LATE_NAMES)
    pick = np.flatnonzero(eligible & (rng.random(table.num_rows) < LATE_RATE))
    late = table.take(pa.array(pick)).combine_chunks()
    k = late.num_rows
    ts = late.column("event_timestamp").to_numpy()
    new_ts = np.minimum(ts + rng.integers(1, 120, k) * US_PER_S, day_end_us - 1)
    offset = rng.integers(24 * 3600, 70 * 3600, k) * US_PER_S
    bundle = rng.integers(1, 1 << 31, k) * np.where(rng.random(k) < 0.5, -1, 1)
    late = late.set_column(
        late.schema.get_field_index("event_timestamp"), "event_timestamp", pa.array(new_ts, pa.int64())
    )
    late = late.set_column(
        late.schema.get_field_index("event_bundle_sequence_id"),
        "event_bundle_sequence_id",
        pa.array(bundle, pa.int64()),
    )
    late = late.set_column(
        late.schema.get_field_index("event_server_timestamp_offset"),
        "event_server_timestamp_offset",
        pa.array(offset, pa.int64()),
    )
    return pa.concat_tables([table, late]).combine_chunks()


def apply_row_quirks(table: pa.Table, seed: int, day: date, bad_rows: float, duplicates: float) -> pa.Table:
    """Bad rows first, then duplicates, so a duplicate is always an exact copy."""
    return add_duplicates(add_bad_rows(table, bad_rows, seed, day), duplicates, seed, day)
