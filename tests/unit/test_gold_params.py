"""ga4lake.yml ``params.event`` reaches fact_events: one typed ``param_<name>`` column per promoted param,
cast from whichever GA4 value field the event set, in the full and the incremental build; none by default.

Hand fixture (UTC, one client, session 11 on 01-01 and 12 on 01-02): every event carries the params
``p_int``, ``p_dbl``, ``p_str`` and ``p_bool`` with the same raw value, one value per event — int 7,
double 2.9, string "12", string "abc", string "TRUE", int 0, or nothing — so each configured type's cast
rule is asserted on every kind of raw value. A generated sample checks the three custom params the
generator emits against the raw export.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from ga4lake.gold.models import apply_delta, build_gold, build_gold_incremental
from ga4lake.gold.models.events import FACT_EVENTS_COLUMNS
from ga4lake.lake.silver import build_silver
from ga4lake.project import DEFAULTS, Param, Params, Project
from ga4lake.sample.generator import SampleConfig, SampleGenerator
from ga4lake.sample.stats import param
from tests.unit.conftest import ga4_event

D1, D2 = date(2021, 1, 1), date(2021, 1, 2)
NAMES = ("p_int", "p_dbl", "p_str", "p_bool")
PROJECT = Project(
    params=Params(
        (
            Param("p_int", "int"),
            Param("p_dbl", "double"),
            Param("p_str", "string"),
            Param("p_bool", "bool"),
            Param("content_group", "string"),  # a standard param: silver's own column
        )
    )
)
# raw value (field, value) -> expected (int, double, string, bool)
CASES: list[tuple[tuple[str, object] | None, tuple]] = [
    (("int_value", 7), (7, 7.0, "7", True)),
    (("double_value", 2.9), (2, 2.9, "2.9", True)),
    (("string_value", "12"), (12, 12.0, "12", None)),
    (("string_value", "abc"), (None, None, "abc", None)),
    (("string_value", "TRUE"), (None, None, "TRUE", True)),
    (("int_value", 0), (0, 0.0, "0", False)),
    (None, (None, None, None, None)),
]


def raw_param(key: str, field: str, value: object) -> dict:
    v: dict[str, object] = {
        "string_value": None,
        "int_value": None,
        "float_value": None,
        "double_value": None,
    }
    v[field] = value
    return {"key": key, "value": v}


def fixture_rows(days: tuple[date, ...] = (D1, D2)) -> list[dict]:
    rows = []
    for day, sid in ((D1, 11), (D2, 12)):
        if day not in days:
            continue
        for minute, (raw, _) in enumerate(CASES):
            ts = datetime(day.year, day.month, day.day, 9, minute, tzinfo=UTC)
            row = ga4_event(ts, "page_view", "u.1", sid, sid - 10, content_group=f"group-{minute}")
            if raw is not None:
                row["event_params"] += [raw_param(n, *raw) for n in NAMES]
            rows.append(row)
    return rows


@pytest.fixture(scope="module")
def silver(to_silver):
    return to_silver(fixture_rows())


def promoted(df) -> dict:
    cols = [f"param_{n}" for n in (*NAMES, "content_group")]
    return {(r["event_date"], r["event_ts"]): tuple(r[c] for c in cols) for r in df.collect()}


def expected(days: tuple[date, ...] = (D1, D2)) -> dict:
    out = {}
    for day in days:
        for minute, (_, values) in enumerate(CASES):
            ts = datetime(day.year, day.month, day.day, 9, minute)  # Spark collects UTC, naive
            out[(day, ts)] = (*values, f"group-{minute}")
    return out


def test_default_adds_no_column(silver):
    gold = build_gold(silver, project=DEFAULTS)
    assert gold["fact_events"].columns == list(FACT_EVENTS_COLUMNS)
    # the prefix keeps a promoted column apart from every fixed one
    assert not [c for c in FACT_EVENTS_COLUMNS if c.startswith("param_")]


def test_each_type_is_cast_from_whichever_field_is_set(silver):
    events = build_gold(silver, project=PROJECT)["fact_events"]
    assert events.columns == [*FACT_EVENTS_COLUMNS, *(p.column for p in PROJECT.params.event)]
    types = {f.name: f.dataType.simpleString() for f in events.schema.fields}
    assert [types[f"param_{n}"] for n in NAMES] == ["bigint", "double", "string", "boolean"]
    assert promoted(events) == expected()


def test_incremental_fact_events_has_the_promoted_columns(to_silver, silver):
    old = build_gold(to_silver(fixture_rows((D1,))), project=PROJECT)
    delta = build_gold_incremental(silver, [D2], prior=old, project=PROJECT)["fact_events"]
    assert delta.rows.columns == old["fact_events"].columns
    assert promoted(apply_delta(old["fact_events"], delta)) == expected()
    empty = build_gold_incremental(silver, [], prior=old, project=PROJECT)["fact_events"]
    assert empty.rows.schema == old["fact_events"].schema and empty.rows.count() == 0


# -- the generator's custom params ------------------------------------------------------------------------

SAMPLE = SampleConfig(date(2020, 11, 1), 3, 0.05, 7)
CUSTOM = Project(
    params=Params(
        (Param("content_group", "string"), Param("list_position", "int"), Param("gross_margin", "double"))
    )
)
CUSTOM_COLUMNS = [p.column for p in CUSTOM.params.event]


def sample_bronze(spark, table: pa.Table):
    """The generated export as bronze holds it (``conftest.export_bronze`` for an arrow table)."""
    n = table.num_rows
    shard = pc.strptime(table.column("event_date"), format="%Y%m%d", unit="s").cast(pa.date32())
    meta = {
        "_shard_date": shard,
        "_source_file": pa.array(["sample.parquet"] * n),
        "_checksum": pa.nulls(n, pa.string()),
        "_load_id": pa.array(["unit"] * n),
        "_ingested_at": pa.array([datetime(2030, 1, 1, tzinfo=UTC)] * n, pa.timestamp("us", tz="UTC")),
        "_rescued_data": pa.nulls(n, pa.string()),
    }
    for name, column in meta.items():
        table = table.append_column(name, column)
    return spark.createDataFrame(table)


def test_generated_custom_params_equal_the_raw_values(spark):
    gen = SampleGenerator(SAMPLE)
    export = pa.concat_tables(gen.day(i) for i in range(SAMPLE.days)).combine_chunks()
    silver = build_silver(sample_bronze(spark, export)).events
    events = build_gold(silver, project=CUSTOM)["fact_events"]
    types = {f.name: f.dataType.simpleString() for f in events.schema.fields}
    assert (types["param_content_group"], types["param_list_position"], types["param_gross_margin"]) == (
        "string",
        "bigint",
        "double",
    )
    rows = events.select("user_pseudo_id", "event_timestamp_us", "event_name", *CUSTOM_COLUMNS).collect()
    assert len(rows) == export.num_rows
    keys = list(
        zip(
            export.column("user_pseudo_id").to_pylist(),
            export.column("event_timestamp").to_pylist(),
            export.column("event_name").to_pylist(),
            strict=True,
        )
    )
    for i, (key, field) in enumerate(
        [("content_group", "string_value"), ("list_position", "int_value"), ("gross_margin", "double_value")]
    ):
        raw = param(export, key, field).to_pylist()
        want = sorted(((*k, v) for k, v in zip(keys, raw, strict=True) if v is not None), key=repr)
        got = sorted(((r[0], r[1], r[2], r[3 + i]) for r in rows if r[3 + i] is not None), key=repr)
        assert len(want) >= 3, key  # each param is sent (gross_margin on paid events only)
        assert got == want, key
