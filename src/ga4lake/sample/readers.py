"""Read a GA4 export file as BigQuery writes it (Parquet, Avro, NDJSON) into one Arrow schema.

The canonical shape is the Parquet one (``schema.EXPORT_SCHEMA``): INT64 that NDJSON carries as
quoted strings is parsed back, Avro unions and records become nullable Arrow fields, list child
names and field order are normalised, REPEATED fields are never NULL. Fields newer exports add
(``schema.DRIFT_SCHEMA``) get their declared types when present; fields nobody declared are kept
with the type the file gives them, after the known ones, so schema drift reaches the lake
instead of being dropped.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.json as pj
import pyarrow.parquet as pq

from .arrowutil import ConformError, conform_array
from .schema import DRIFT_SCHEMA, EXPORT_SCHEMA
from .writers import json_type

#: Columns without which a file is not a GA4 event export.
CORE_COLUMNS = ("event_date", "event_timestamp", "event_name")
#: Fields whose type differs between the sample and current exports (docs/ga4-export.md#type-differences): a
#: value that does not fit the sample's type keeps the file's type instead of failing the read.
LENIENT_FIELDS = frozenset(
    {
        "stream_id",
        "privacy_info.analytics_storage",
        "privacy_info.ads_storage",
        "device.is_limited_ad_tracking",
        "device.vendor_id",
        "device.advertising_id",
        "device.mobile_os_hardware_model",
        "user_properties",
    }
)


class ExportReadError(Exception):
    """A file that cannot be read as a GA4 export; names the file and the reason."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot read GA4 export {self.path}: {reason}")


def read_export(path: str | Path) -> pa.Table:
    """Read ``events_*.parquet`` / ``.avro`` / ``.json`` / ``.ndjson`` (optionally ``.gz``) canonically."""
    p = Path(path)
    name = p.name.lower()
    if not p.is_file():
        raise ExportReadError(p, "no such file")
    try:
        if name.endswith(".parquet"):
            raw = pq.read_table(p)
        elif name.endswith(".avro"):
            raw = _read_avro(p)
        elif name.endswith((".json", ".ndjson", ".jsonl", ".json.gz", ".ndjson.gz", ".jsonl.gz")):
            raw = _read_ndjson(p)
        else:
            raise ExportReadError(
                p, "unsupported file type (expected .parquet, .avro, .json or .ndjson[.gz])"
            )
        return canonicalize(raw, p)
    except ExportReadError:
        raise
    except Exception as exc:  # any parser failure means a corrupt or foreign file
        raise ExportReadError(p, f"{type(exc).__name__}: {exc}") from exc


def canonicalize(raw: pa.Table, path: str | Path = "<table>") -> pa.Table:
    """Bring a table read from any export format onto the declared schema (keeping unknown fields)."""
    # NDJSON cannot tell an absent column from an all-NULL one, so both count as missing.
    missing = [
        c
        for c in CORE_COLUMNS
        if c not in raw.column_names or (raw.num_rows and raw.column(c).null_count == raw.num_rows)
    ]
    if missing:
        raise ExportReadError(path, f"not a GA4 events export: missing column(s) {', '.join(missing)}")
    raw = raw.combine_chunks()
    base_names = set(EXPORT_SCHEMA.names)
    arrays: list[pa.Array] = []
    fields: list[pa.Field] = []
    for field in DRIFT_SCHEMA:
        base_type = EXPORT_SCHEMA.field(field.name).type if field.name in base_names else None
        if field.name in raw.column_names:
            col = raw.column(field.name)
            src = (
                col.chunk(0)
                if col.num_chunks == 1
                else pa.concat_arrays(col.chunks)
                if col.num_chunks
                else pa.nulls(0, col.type)
            )
            arr = _conform(src, field.type, base_type, field.name, path)
        elif base_type is not None:
            arr = _empty_or_null(raw.num_rows, base_type)
        else:
            continue  # a newer field this file does not have
        arrays.append(arr)
        fields.append(pa.field(field.name, arr.type))
    for name in raw.column_names:
        if name not in DRIFT_SCHEMA.names:
            col = raw.column(name)
            arrays.append(pa.concat_arrays(col.chunks) if col.num_chunks else pa.nulls(0, col.type))
            fields.append(raw.schema.field(name))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _empty_or_null(n: int, t: pa.DataType) -> pa.Array:
    if pa.types.is_list(t):
        return pa.ListArray.from_arrays(
            pa.array([0] * (n + 1), pa.int32()), pa.array([], t.value_type), type=t
        )
    return pa.nulls(n, t)


def _target(src: pa.DataType, known: pa.DataType, base: pa.DataType | None) -> pa.DataType:
    """The canonical type for data of type ``src`` given the declared (drift) and base types.

    Declared fields come first, in declared order: base fields always, newer ones only when the
    file has them; undeclared fields follow with the file's own types.
    """
    if pa.types.is_struct(known) and pa.types.is_struct(src):
        src_fields = {src.field(i).name: src.field(i).type for i in range(src.num_fields)}
        base_fields = (
            {base.field(i).name: base.field(i).type for i in range(base.num_fields)}
            if (base is not None and pa.types.is_struct(base))
            else {}
        )
        out = []
        for i in range(known.num_fields):
            kf = known.field(i)
            # Inside a newer struct (no base) every declared field exists; inside a base struct a
            # newer field only when the file has it.
            sub_base = base_fields.get(kf.name) if base is not None else kf.type
            if kf.name in src_fields:
                out.append(pa.field(kf.name, _target(src_fields[kf.name], kf.type, sub_base)))
            elif sub_base is not None:
                out.append(pa.field(kf.name, sub_base))
        known_names = set(known.names)
        out.extend(pa.field(name, t) for name, t in src_fields.items() if name not in known_names)
        return pa.struct(out)
    if pa.types.is_list(known) and (pa.types.is_list(src) or pa.types.is_large_list(src)):
        base_value = base.value_type if base is not None and pa.types.is_list(base) else None
        return pa.list_(pa.field("element", _target(src.value_type, known.value_type, base_value)))
    if pa.types.is_null(src):
        return base if base is not None else known
    return known


def _conform(
    src: pa.Array, known: pa.DataType, base: pa.DataType | None, name: str, path: str | Path
) -> pa.Array:
    target = _target(src.type, known, base)
    try:
        return conform_array(src, target, null_lists_empty=True, lenient=LENIENT_FIELDS, path=name)
    except ConformError as exc:
        raise ExportReadError(path, str(exc)) from exc


# --- Avro --------------------------------------------------------------------------------------------
def _avro_to_arrow(t: Any, named: dict[str, pa.DataType] | None = None) -> pa.DataType:
    """Arrow type of an Avro schema node (as fastavro parses BigQuery's Avro schemas)."""
    named = {} if named is None else named
    if isinstance(t, list):
        branches = [b for b in t if b != "null"]
        if len(branches) != 1:
            raise ValueError(f"unsupported Avro union {t}")
        return _avro_to_arrow(branches[0], named)
    if isinstance(t, dict):
        kind = t.get("type")
        logical = t.get("logicalType")
        if kind == "record":
            typ = pa.struct([pa.field(f["name"], _avro_to_arrow(f["type"], named)) for f in t["fields"]])
            named[t["name"]] = typ  # fastavro gives the full name; later uses may refer to it
            return typ
        if kind == "array":
            return pa.list_(pa.field("element", _avro_to_arrow(t["items"], named)))
        if logical in ("timestamp-micros", "timestamp-millis"):
            return pa.timestamp("us", tz="UTC")
        if logical == "date":
            return pa.date32()
        if logical == "decimal":
            return pa.decimal128(t.get("precision", 38), t.get("scale", 9))
        return _avro_to_arrow(kind, named)
    mapping = {
        "string": pa.string(),
        "long": pa.int64(),
        "int": pa.int64(),
        "double": pa.float64(),
        "float": pa.float64(),
        "boolean": pa.bool_(),
        "bytes": pa.binary(),
        "null": pa.null(),
    }
    if t in mapping:
        return mapping[t]
    if t in named:
        return named[t]
    raise ValueError(f"unsupported Avro type {t!r}")


def _read_avro(path: Path) -> pa.Table:
    import fastavro

    with open(path, "rb") as fo:
        reader = fastavro.reader(fo)
        schema = _avro_to_arrow(reader.writer_schema)
        records = list(reader)
    return pa.Table.from_pylist(records, schema=pa.schema(list(schema)))


# --- NDJSON ------------------------------------------------------------------------------------------
_JSON_SCHEMA = pa.schema([pa.field(f.name, json_type(f.type)) for f in EXPORT_SCHEMA])


def _read_ndjson(path: Path) -> pa.Table:
    data = path.read_bytes()
    if path.name.lower().endswith(".gz"):
        data = gzip.decompress(data)
    if not data.strip():
        return EXPORT_SCHEMA.empty_table()
    opts = pj.ReadOptions(block_size=min(len(data) + 1, 2**31 - 1))
    parse = pj.ParseOptions(explicit_schema=_JSON_SCHEMA, unexpected_field_behavior="infer")
    return pj.read_json(io.BytesIO(data), read_options=opts, parse_options=parse)
