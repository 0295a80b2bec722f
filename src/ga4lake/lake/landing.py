"""Landing: find export files, validate and checksum them, keep the originals in the object store, and
stage a canonical Parquet copy (plus load metadata) for Spark.

Validation happens here, before any Nessie branch exists, so a corrupt, foreign or empty file stops
the load with an error naming the file while main stays untouched. Values whose *type* changed
(e.g. a string where the export has INT64) do not fail the file: they are rescued per row into
``_rescued_data`` (JSON of the original values) and the contract later quarantines those rows.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ga4lake.config import Settings
from ga4lake.sample import readers
from ga4lake.sample.schema import DRIFT_SCHEMA

SHARD = re.compile(r"^events_(\d{8})\.(parquet|avro|json|ndjson|jsonl)(\.gz)?$")
LANDING_PREFIX = "landing/ga4"


class LandingError(RuntimeError):
    """A file cannot be landed; the message names it."""


@dataclass(frozen=True)
class ExportFile:
    shard_date: date
    name: str
    local_path: Path  # the file itself, or a downloaded copy of an s3:// source
    source_uri: str


@dataclass(frozen=True)
class StagedFile:
    shard_date: date
    name: str
    source_uri: str
    sha256: str
    size_bytes: int
    rows: int
    rescued_rows: int
    format: str
    landing_uri: str
    staged_path: Path


def parse_shard(name: str) -> date | None:
    m = SHARD.match(name)
    if not m:
        return None
    try:
        return datetime.strptime(m.group(1), "%Y%m%d").date()
    except ValueError:
        return None


def s3_client(settings: Settings):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint,
        aws_access_key_id=settings.s3_access_key,
        aws_secret_access_key=settings.s3_secret_key,
        region_name=settings.s3_region,
        config=Config(
            s3={"addressing_style": "path" if settings.s3_path_style else "auto"}, retries={"max_attempts": 5}
        ),
    )


def split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


def discover(
    source: str, settings: Settings, download_dir: Path, start: date | None = None, end: date | None = None
) -> list[ExportFile]:
    """Export files ``events_YYYYMMDD.*`` in a local directory (or a single file) or under an s3:// prefix."""
    found: list[tuple[date, str, str]] = []  # (day, name, uri)
    if source.startswith("s3://"):
        bucket, prefix = split_s3(source)
        client = s3_client(settings)
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                name = obj["Key"].rsplit("/", 1)[-1]
                day = parse_shard(name)
                if day:
                    found.append((day, name, f"s3://{bucket}/{obj['Key']}"))
    else:
        root = Path(source)
        if not root.exists():
            raise LandingError(f"{source}: no such file or directory")
        paths = [root] if root.is_file() else sorted(p for p in root.iterdir() if p.is_file())
        for p in paths:
            day = parse_shard(p.name)
            if day:
                found.append((day, p.name, str(p.resolve())))
            elif root.is_file():
                raise LandingError(
                    f"{p}: not an export shard name (expected events_YYYYMMDD.parquet|avro|json)"
                )
    found = [f for f in found if (start is None or f[0] >= start) and (end is None or f[0] <= end)]
    if not found:
        span = f" between {start} and {end}" if start or end else ""
        raise LandingError(f"no export files events_YYYYMMDD.(parquet|avro|json) in {source}{span}")
    by_day: dict[date, list[str]] = {}
    for day, _name, uri in found:
        by_day.setdefault(day, []).append(uri)
    clashes = {d: u for d, u in by_day.items() if len(u) > 1}
    if clashes:
        d, uris = sorted(clashes.items())[0]
        raise LandingError(f"two export files for {d}: {', '.join(uris)} — keep one per day")
    files = []
    for day, name, uri in sorted(found):
        if uri.startswith("s3://"):
            local = download_dir / name
            download_dir.mkdir(parents=True, exist_ok=True)
            bucket, key = split_s3(uri)
            s3_client(settings).download_file(bucket, key, str(local))
        else:
            local = Path(uri)
        files.append(ExportFile(day, name, local, uri))
    return files


def sha256_of(path: Path) -> str:
    """Checksum of a file; computed once per (path, size, mtime) — planning and staging both ask."""
    st = os.stat(path)
    return _sha256(str(path), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=1024)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _raw_table(path: Path) -> pa.Table:
    name = path.name.lower()
    if name.endswith(".parquet"):
        return pq.read_table(path)
    if name.endswith(".avro"):
        return readers._read_avro(path)
    return readers._read_ndjson(path)


def _coerce(value: object, target: pa.DataType) -> object:
    """A value in the target type, parsing numeric text (as BigQuery's JSON does); raises when it can't."""
    if isinstance(value, str) and pa.types.is_integer(target):
        value = int(value)
    elif isinstance(value, str) and pa.types.is_floating(target):
        value = float(value)
    pa.array([value], type=target)
    return value


def rescue_type_changes(raw: pa.Table) -> tuple[pa.Table, int]:
    """Null out values whose type no longer fits the export schema, keeping them as JSON in ``_rescued_data``."""
    rescued: list[dict[str, object]] = [{} for _ in range(raw.num_rows)]
    columns, fields = [], []
    for name in raw.column_names:
        col = raw.column(name).combine_chunks()
        if name in DRIFT_SCHEMA.names and not col.type.equals(DRIFT_SCHEMA.field(name).type):
            target = DRIFT_SCHEMA.field(name).type
            try:
                readers.conform_array(
                    col, target, null_lists_empty=True, lenient=readers.LENIENT_FIELDS, path=name
                )
            except readers.ConformError:
                kept = []
                for i, value in enumerate(col.to_pylist()):
                    try:
                        kept.append(_coerce(value, target))
                    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
                        kept.append(None)
                        rescued[i][name] = value
                col = pa.array(kept, type=target)
        columns.append(col)
        fields.append(pa.field(name, col.type))
    n = sum(1 for r in rescued if r)
    texts = [json.dumps({"type_change": r}, default=str, sort_keys=True) if r else None for r in rescued]
    return pa.Table.from_arrays(
        [*columns, pa.array(texts, pa.string())],
        schema=pa.schema([*fields, pa.field("_rescued_data", pa.string())]),
    ), n


def read_validated(path: Path) -> tuple[pa.Table, int]:
    """Canonical table of an export file and the number of rows with rescued (type-changed) values."""
    try:
        table, n_rescued = readers.read_export(path), 0
    except readers.ExportReadError as exc:
        if "missing column" in exc.reason or "no such file" in exc.reason or "unsupported" in exc.reason:
            raise LandingError(str(exc)) from exc
        try:
            raw = _raw_table(path)
        except Exception as inner:  # unreadable: corrupt or foreign
            raise LandingError(str(exc)) from inner
        fixed, n_rescued = rescue_type_changes(raw)
        if not n_rescued:
            raise LandingError(str(exc)) from exc
        table = readers.canonicalize(fixed, path)
    if table.num_rows == 0:
        raise LandingError(f"{path}: empty export file (0 rows); GA4 never exports an empty day — not loaded")
    if "_rescued_data" not in table.column_names:
        table = table.append_column("_rescued_data", pa.nulls(table.num_rows, pa.string()))
    return table, n_rescued


def stage(
    f: ExportFile,
    settings: Settings,
    staging_dir: Path,
    load_id: str,
    ingested_at: datetime,
    upload: bool = True,
) -> StagedFile:
    """Validate one file, upload the original to the landing prefix, write the canonical staged copy."""
    table, n_rescued = read_validated(f.local_path)
    digest = sha256_of(f.local_path)
    n = table.num_rows
    meta = {
        "_shard_date": pa.array([f.shard_date] * n, pa.date32()),
        "_source_file": pa.array([f.name] * n, pa.string()),
        "_checksum": pa.array([digest] * n, pa.string()),
        "_load_id": pa.array([load_id] * n, pa.string()),
        "_ingested_at": pa.array([ingested_at] * n, pa.timestamp("us", tz="UTC")),
    }
    for key, arr in meta.items():
        table = table.append_column(key, arr)
    staging_dir.mkdir(parents=True, exist_ok=True)
    target = staging_dir / f"events_{f.shard_date:%Y%m%d}.parquet"
    fd, tmp = tempfile.mkstemp(dir=staging_dir, suffix=".tmp")
    os.close(fd)
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, target)
    key = f"{LANDING_PREFIX}/events_{f.shard_date:%Y%m%d}/{digest[:16]}/{f.name}"
    if upload:
        client = s3_client(settings)
        try:
            client.head_object(Bucket=settings.s3_bucket, Key=key)
        except client.exceptions.ClientError:
            client.upload_file(str(f.local_path), settings.s3_bucket, key)
    fmt = "parquet" if ".parquet" in f.name else "avro" if ".avro" in f.name else "ndjson"
    return StagedFile(
        shard_date=f.shard_date,
        name=f.name,
        source_uri=f.source_uri,
        sha256=digest,
        size_bytes=f.local_path.stat().st_size,
        rows=n,
        rescued_rows=n_rescued,
        format=fmt,
        landing_uri=f"s3://{settings.s3_bucket}/{key}",
        staged_path=target,
    )


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
