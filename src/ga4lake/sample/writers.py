"""Write a day table the way BigQuery exports it: Parquet, Avro or newline-delimited JSON.

Files are written to a temporary name in the target directory and renamed into place, so an
interrupted run never leaves a half-written ``events_YYYYMMDD`` file. ``s3://`` targets are a
thin upload of the finished local file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .arrowutil import conform_table

FORMATS: dict[str, str] = {"parquet": ".parquet", "avro": ".avro", "ndjson": ".json"}


def shard_name(day: date, fmt: str) -> str:
    """BigQuery's daily shard name with the format's extension, e.g. ``events_20201101.parquet``."""
    return f"events_{day:%Y%m%d}{FORMATS[fmt]}"


# --- Avro --------------------------------------------------------------------------------------------
def avro_schema(schema: pa.Schema) -> dict[str, Any]:
    """BigQuery's Avro encoding: nullable columns as ["null", T] unions, REPEATED as plain arrays."""
    return {"type": "record", "name": "Root", "fields": [_avro_field(f, "root") for f in schema]}


def _avro_type(t: pa.DataType, name: str, namespace: str) -> Any:
    if pa.types.is_string(t):
        return "string"
    if pa.types.is_int64(t) or pa.types.is_int32(t):
        return "long"
    if pa.types.is_floating(t):
        return "double"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_struct(t):
        return {
            "type": "record",
            "name": name,
            "namespace": namespace,
            "fields": [_avro_field(t.field(i), f"{namespace}.{name}") for i in range(t.num_fields)],
        }
    if pa.types.is_list(t):
        return {"type": "array", "items": _avro_type(t.value_type, name, namespace)}
    raise TypeError(f"no Avro mapping for {t}")


def _avro_field(field: pa.Field, namespace: str) -> dict[str, Any]:
    t = _avro_type(field.type, field.name, namespace)
    if not pa.types.is_list(field.type):
        return {"name": field.name, "type": ["null", t], "default": None}
    return {"name": field.name, "type": t}


def _write_avro(table: pa.Table, fo: Any, sync_marker: bytes) -> None:
    import fastavro

    schema = fastavro.parse_schema(avro_schema(table.schema))
    list_cols = [f.name for f in table.schema if pa.types.is_list(f.type)]
    records = table.to_pylist()
    for rec in records:  # REPEATED fields are never NULL in BigQuery
        for c in list_cols:
            if rec[c] is None:
                rec[c] = []
    fastavro.writer(fo, schema, records, codec="deflate", sync_marker=sync_marker)


# --- NDJSON ------------------------------------------------------------------------------------------
def json_type(t: pa.DataType) -> pa.DataType:
    """INT64 as strings: BigQuery quotes them in JSON to keep 64-bit precision."""
    if pa.types.is_struct(t):
        return pa.struct([pa.field(t.field(i).name, json_type(t.field(i).type)) for i in range(t.num_fields)])
    if pa.types.is_list(t):
        return pa.list_(pa.field("element", json_type(t.value_type)))
    if pa.types.is_integer(t):
        return pa.string()
    return t


def _strip_nulls(value: Any) -> Any:
    """NULL fields are left out of BigQuery's JSON rows."""
    if type(value) is dict:
        return {k: _strip_nulls(v) for k, v in value.items() if v is not None}
    if type(value) is list:
        return [_strip_nulls(v) for v in value]
    return value


def _write_ndjson(table: pa.Table, fo: Any) -> None:
    json_schema = pa.schema([pa.field(f.name, json_type(f.type)) for f in table.schema])
    as_json = conform_table(table, json_schema)  # casts INT64 -> string in Arrow, not per value
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    for batch in as_json.to_batches(max_chunksize=8192):
        lines = [dumps(_strip_nulls(rec)) for rec in batch.to_pylist()]
        if lines:
            fo.write(("\n".join(lines) + "\n").encode("utf-8"))


# --- files -------------------------------------------------------------------------------------------
def atomic_write(path: Path, write: Callable[[Any], None]) -> None:
    """Write through ``write(fileobj)`` to a temp file next to ``path``, then rename over it."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fo:
            write(fo)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_table(
    table: pa.Table, path: str | Path, fmt: str, sync_marker: bytes = b"ga4lake-sample-0"
) -> Path:
    """Write ``table`` as ``fmt`` to ``path`` atomically; returns the path."""
    path = Path(path)
    if fmt == "parquet":
        atomic_write(path, lambda fo: pq.write_table(table, fo, compression="snappy"))
    elif fmt == "avro":
        atomic_write(path, lambda fo: _write_avro(table, fo, sync_marker[:16].ljust(16, b"\0")))
    elif fmt == "ndjson":
        atomic_write(path, lambda fo: _write_ndjson(table, fo))
    else:
        raise ValueError(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")
    return path


# --- S3 ----------------------------------------------------------------------------------------------
def split_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` -> (bucket, prefix without trailing slash)."""
    rest = url[len("s3://") :]
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise ValueError(f"no bucket in {url!r}")
    return bucket, prefix.strip("/")


def s3_client() -> Any:
    """boto3 client for the lake's object store, as configured (the stack's own S3 unless GA4LAKE_S3 says otherwise)."""
    from ga4lake.clients.s3 import s3_client as client
    from ga4lake.config import load_settings

    return client(load_settings())


def upload(client: Any, local: Path, bucket: str, prefix: str) -> str:
    """Upload one finished file; an S3 PUT is atomic, so no temporary key is needed."""
    key = f"{prefix}/{local.name}" if prefix else local.name
    client.upload_file(str(local), bucket, key)
    return f"s3://{bucket}/{key}"
