"""The generator's configuration points (issue 19 item 7): logins with a user_id, a second (app) stream,
custom event parameters, and item fields the public sample leaves `(not set)` — each present, shaped as
the export ships it, consistent across a user's events, and deterministic for a seed."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from ga4lake.sample import catalog as cat
from ga4lake.sample.columns import promotion_id
from ga4lake.sample.generator import SampleConfig, SampleGenerator
from ga4lake.sample.identity import user_id_number
from ga4lake.sample.schema import EXPORT_SCHEMA
from ga4lake.sample.stats import param

CONFIG = SampleConfig(date(2020, 11, 1), 14, 0.05, 7)


@pytest.fixture(scope="module")
def export() -> pa.Table:
    gen = SampleGenerator(CONFIG)
    return pa.concat_tables(gen.day(i) for i in range(CONFIG.days)).combine_chunks()


@pytest.fixture(scope="module")
def items(export: pa.Table) -> pa.Table:
    """One row per item line, with its event's name and params of interest."""
    lists = export.column("items").combine_chunks()
    owner = np.repeat(np.arange(export.num_rows), pc.list_value_length(lists).to_numpy(zero_copy_only=False))
    flat = lists.flatten()
    names = export.column("event_name").take(pa.array(owner))
    fields = {flat.type.field(i).name: flat.field(i) for i in range(flat.type.num_fields)}
    return pa.table({"event_name": names, "owner": pa.array(owner), **fields})


def _col(t: pa.Table, name: str) -> list:
    return t.column(name).to_pylist()


def test_schema_is_the_samples(export: pa.Table) -> None:
    assert export.schema.equals(EXPORT_SCHEMA)


def test_a_realistic_share_of_users_log_in_and_keep_one_user_id(export: pa.Table) -> None:
    users = set(_col(export, "user_pseudo_id"))
    ids: dict[str, set[str]] = defaultdict(set)
    for pseudo, uid in zip(_col(export, "user_pseudo_id"), _col(export, "user_id"), strict=True):
        if uid is not None:
            ids[pseudo].add(uid)
    assert 0.07 < len(ids) / len(users) < 0.20
    assert all(len(v) == 1 for v in ids.values())  # one login id per browser
    assert all(next(iter(v)).isdigit() for v in ids.values())


def test_logged_in_from_a_session_on_every_event_carries_the_user_id(export: pa.Table) -> None:
    sn = param(export, "ga_session_number", "int_value").to_pylist()
    by_session: dict[tuple[str, int], set[bool]] = defaultdict(set)
    for pseudo, n, uid in zip(_col(export, "user_pseudo_id"), sn, _col(export, "user_id"), strict=True):
        by_session[(pseudo, n)].add(uid is not None)
    assert all(len(v) == 1 for v in by_session.values())  # a session is wholly logged in or not
    logged: dict[str, list[tuple[int, bool]]] = defaultdict(list)
    for (pseudo, n), flags in by_session.items():
        logged[pseudo].append((n, next(iter(flags))))
    later_logins = 0
    for sessions in logged.values():
        states = [flag for _, flag in sorted(sessions)]
        assert states == sorted(states)  # never logged out again once logged in
        later_logins += (not states[0]) and states[-1]
    assert later_logins > 0  # some log in only from a later session


def test_second_devices_share_a_user_id_for_stitching(export: pa.Table) -> None:
    clients: dict[str, set[str]] = defaultdict(set)
    for pseudo, uid in zip(_col(export, "user_pseudo_id"), _col(export, "user_id"), strict=True):
        if uid is not None:
            clients[uid].add(pseudo)
    multi = [u for u, c in clients.items() if len(c) > 1]
    assert 0.03 < len(multi) / len(clients) < 0.30


def test_user_id_numbers_are_unique_per_cohort_day_and_person() -> None:
    ids = np.concatenate([user_id_number(day, np.arange(5_000)) for day in (7_600, 7_601, 7_602)])
    assert np.unique(ids).size == ids.size and ids.min() >= 0


def test_app_users_send_from_the_app_stream(export: pa.Table) -> None:
    stream = np.array(_col(export, "stream_id"))
    assert set(stream) == {cat.STREAM_ID, cat.APP_STREAM_ID}
    app = stream == cat.APP_STREAM_ID
    assert 0.01 < app.mean() < 0.10
    platform = np.array(_col(export, "platform"))
    assert set(platform[app]) == {"IOS", "ANDROID"} and set(platform[~app]) == {"WEB"}
    info = export.column("app_info").is_valid().to_numpy(zero_copy_only=False)
    assert np.array_equal(info, app)
    device = pc.struct_field(export.column("device"), "category").to_numpy(zero_copy_only=False)
    assert set(device[app]) == {"mobile"}
    per_user: dict[str, set[int]] = defaultdict(set)
    for pseudo, s in zip(_col(export, "user_pseudo_id"), stream.tolist(), strict=True):
        per_user[pseudo].add(s)
    assert all(len(v) == 1 for v in per_user.values())  # a device stays on its stream
    app_info = export.column("app_info").filter(pa.array(app)).to_pylist()
    by_platform = {p: i["id"] for p, i in zip(platform[app], app_info, strict=True)}
    assert by_platform == {"IOS": cat.APP_INFO["IOS"][0], "ANDROID": cat.APP_INFO["ANDROID"][0]}


def test_custom_event_params_are_typed_as_the_export_types_them(export: pa.Table) -> None:
    names = np.array(_col(export, "event_name"))
    group = param(export, "content_group", "string_value").to_numpy(zero_copy_only=False)
    has_group = group != None  # noqa: E711 (object array)
    assert np.array_equal(has_group, np.isin(names, ["page_view", "select_item"]))
    assert set(group[has_group]) <= set(cat.content_groups()) and len(set(group[has_group])) > 10
    pos = param(export, "list_position", "int_value")
    listed = np.isin(names, ["select_item", "view_item_list"])
    assert np.array_equal(pos.is_valid().to_numpy(zero_copy_only=False), listed)
    assert set(pos.drop_null().to_pylist()) == set(range(1, 13))
    margin = param(export, "gross_margin", "double_value").to_numpy(zero_copy_only=False)
    value = param(export, "value", "double_value").to_numpy(zero_copy_only=False)
    paid = ~np.isnan(value)
    assert np.array_equal(~np.isnan(margin), paid) and paid.sum() > 20
    share = margin[paid & (value > 0)] / value[paid & (value > 0)]
    assert share.min() > 0.29 and share.max() < 0.47
    # a custom param has the value field of its type only
    flat = export.column("event_params").combine_chunks().flatten()
    values = flat.field("value").filter(pc.equal(flat.field("key"), "list_position"))
    assert values.field("int_value").null_count == 0 and values.field("string_value").null_count == len(
        values
    )


def test_items_carry_categories_lists_promotions_and_coupons(items: pa.Table) -> None:
    def values(field: str, event: str | None = None) -> set[str]:
        t = items if event is None else items.filter(pc.equal(items.column("event_name"), event))
        return set(_col(t, field))

    assert values("item_category3") - {cat.NOT_SET}
    assert values("item_category4") == {cat.COLLECTION4, cat.NOT_SET}
    assert values("item_category5") == {cat.COLLECTION5, cat.NOT_SET}
    assert values("coupon", "purchase") == {cat.NOT_SET, *cat.COUPONS}
    assert values("coupon", "view_item") == {cat.NOT_SET}
    assert values("item_list_name", "select_item") <= set(cat.content_groups())
    assert values("item_list_name", "view_item") == {"Related Products", "Not available in demo dataset"}
    assert values("promotion_id", "view_promotion") == {promotion_id(p[0]) for p in cat.PROMOTIONS}
    assert values("creative_slot", "select_promotion") <= {p[2] for p in cat.PROMOTIONS}
    # the selected item's list index is the event's list_position
    si = items.filter(pc.equal(items.column("event_name"), "select_item"))
    assert si.num_rows > 10
    return_pos = _col(si, "item_list_index")
    assert all(p.isdigit() and 1 <= int(p) <= 12 for p in return_pos)


def test_select_item_list_index_matches_its_list_position(export: pa.Table, items: pa.Table) -> None:
    pos = param(export, "list_position", "int_value").to_pylist()
    si = items.filter(pc.equal(items.column("event_name"), "select_item"))
    for owner, index in zip(_col(si, "owner"), _col(si, "item_list_index"), strict=True):
        assert int(index) == pos[owner]


def test_same_seed_same_day_other_seed_other_logins() -> None:
    a = SampleGenerator(SampleConfig(date(2020, 11, 1), 3, 0.03, 11)).day(2)
    b = SampleGenerator(SampleConfig(date(2020, 11, 1), 3, 0.03, 11)).day(2)
    c = SampleGenerator(SampleConfig(date(2020, 11, 1), 3, 0.03, 12)).day(2)
    assert a.equals(b)
    assert set(_col(a, "user_id")) != set(_col(c, "user_id"))


def test_generated_logins_stitch_and_streams_key_apart(spark, export: pa.Table) -> None:
    """The real bronze -> silver -> stitching code on generated rows: second devices become one person's
    clients, and client_key separates the app stream from the web stream (dbt-ga4's md5(pseudo ‖ stream))."""
    from ga4lake.gold.models.stitching import identified_events, user_id_mapping
    from ga4lake.lake.silver import build_silver

    keep = pc.or_(
        pc.is_valid(export.column("user_id")), pc.equal(export.column("stream_id"), cat.APP_STREAM_ID)
    )
    rows = export.filter(keep)
    n = rows.num_rows
    shard = [datetime.strptime(d, "%Y%m%d").date() for d in _col(rows, "event_date")]
    meta = {
        "_shard_date": pa.array(shard, pa.date32()),
        "_source_file": pa.array([f"events_{d:%Y%m%d}.parquet" for d in shard]),
        "_checksum": pa.nulls(n, pa.string()),
        "_load_id": pa.array(["unit"] * n),
        "_ingested_at": pa.array([datetime(2030, 1, 1, tzinfo=UTC)] * n, pa.timestamp("us", tz="UTC")),
        "_rescued_data": pa.nulls(n, pa.string()),
    }
    for name, arr in meta.items():
        rows = rows.append_column(name, arr)
    bronze = spark.createDataFrame(rows).localCheckpoint()
    mapping = {
        r["user_pseudo_id"]: r["user_id"] for r in user_id_mapping(identified_events(bronze)).collect()
    }
    expected = {
        p: u
        for p, u in zip(_col(rows, "user_pseudo_id"), _col(rows, "user_id"), strict=True)
        if u is not None
    }
    assert mapping == expected
    persons: dict[str, set[str]] = defaultdict(set)
    for pseudo, uid in mapping.items():
        persons[uid].add(pseudo)
    assert any(len(c) > 1 for c in persons.values())
    silver = build_silver(bronze).events
    keys = silver.select("user_pseudo_id", "stream_id", "client_key").distinct().collect()
    assert {r["stream_id"] for r in keys} == {str(cat.STREAM_ID), str(cat.APP_STREAM_ID)}
    assert len({r["client_key"] for r in keys}) == len({(r["user_pseudo_id"], r["stream_id"]) for r in keys})
