"""Landing: find export files, validate and checksum them, keep the originals in the object store, and
stage a canonical Parquet copy (plus load metadata) for Spark.

Validation happens here, before any Nessie branch exists, so a corrupt, foreign or empty file stops
the load with an error naming the file while main stays untouched. Values whose *type* changed
(e.g. a string where the export has INT64) do not fail the file: they are rescued per row into
``_rescued_data`` (JSON of the original values) and the contract later quarantines those rows.

A *day* is the set of its export files: BigQuery writes a table above 1 GB as several parts
(``events_YYYYMMDD-000000000000.parquet``, ``-000000000001`` …), so every part of a day is landed
together and the day carries one checksum over all of them. A source folder is read completely:
a file that is not an export shard is an error (never a silently skipped day), see :func:`scan`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ga4lake.clients.s3 import s3_client
from ga4lake.config import Settings
from ga4lake.errors import Ga4lakeError
from ga4lake.sample import readers
from ga4lake.sample.schema import DRIFT_SCHEMA

# events_[intraday_|fresh_]YYYYMMDD[-N].parquet|avro|json|ndjson|jsonl[.gz]
SHARD = re.compile(
    r"^events_(?:(?P<table>intraday|fresh)_)?(?P<day>\d{8})(?:-(?P<part>\d+))?"
    r"\.(?P<ext>parquet|avro|json|ndjson|jsonl)(?P<gz>\.gz)?$"
)
NAMING = "events_[intraday_|fresh_]YYYYMMDD[-N].(parquet|avro|json|ndjson|jsonl)[.gz]"
LANDING_PREFIX = "landing/ga4"
DAILY, INTRADAY = "daily", "intraday"  # what a day was loaded from; `fresh` tables count as daily


class LandingError(Ga4lakeError, RuntimeError):
    """A file cannot be landed; the message names it."""


class NoExportFiles(LandingError):
    """The source (or the asked date range of it) holds no export file: for a scheduled day, "not yet"."""


@dataclass(frozen=True)
class ShardName:
    """What an export file's name says: its day, table (daily / intraday / fresh), part and format."""

    name: str
    shard_date: date
    table: str  # daily | intraday | fresh
    part: int | None  # the -N suffix of a split table; None when the name has none
    format: str  # parquet | avro | ndjson

    @property
    def kind(self) -> str:
        return INTRADAY if self.table == INTRADAY else DAILY


@dataclass(frozen=True)
class ExportPart:
    name: str
    local_path: Path  # the file itself, or a downloaded copy of an s3:// source
    source_uri: str


@dataclass(frozen=True)
class ExportDay:
    """One day of the export: every part file of its table, in part order."""

    shard_date: date
    kind: str  # daily | intraday (provisional: replaced when the daily table arrives)
    parts: tuple[ExportPart, ...]

    @property
    def name(self) -> str:
        """The part names, comma-separated (as recorded in ``load_manifest.file_name``)."""
        return ",".join(p.name for p in self.parts)

    @property
    def source_uri(self) -> str:
        return ",".join(p.source_uri for p in self.parts)


ExportFile = ExportDay  # the earlier name, from when a day was one file


@dataclass(frozen=True)
class StagedFile:
    """A landed day (all its parts); ``name``/``source_uri`` list the parts comma-separated, ``staged_path``
    is a folder of canonical Parquet files (one per non-empty part)."""

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


def parse_name(name: str) -> ShardName | None:
    """The shard a file name denotes, or None when it is not an export shard name."""
    m = SHARD.match(name)
    if not m:
        return None
    try:
        day = datetime.strptime(m["day"], "%Y%m%d").date()
    except ValueError:
        return None
    fmt = {"parquet": "parquet", "avro": "avro"}.get(m["ext"], "ndjson")
    part = int(m["part"]) if m["part"] is not None else None
    return ShardName(name, day, m["table"] or DAILY, part, fmt)


def parse_shard(name: str) -> date | None:
    parsed = parse_name(name)
    return parsed.shard_date if parsed else None


def ignorable(name: str) -> bool:
    """Files any writer leaves beside exports and that are never data: hidden or ``_``-prefixed names
    (``_SUCCESS``, ``.events_….tmp`` of an unfinished write) and Hadoop ``.crc`` checksums."""
    return name.startswith((".", "_")) or name.endswith(".crc")


def _part_order(s: ShardName) -> tuple[int, int, str]:
    return (0 if s.part is None else 1, s.part or 0, s.name)


def group_days(
    found: Iterable[tuple[ShardName, str]],
) -> tuple[list[tuple[date, str, list[tuple[ShardName, str]]]], list[str]]:
    """Group (shard name, uri) pairs into days: ``[(day, kind, [(shard, uri), …] in part order)]`` and notes.

    A day with a daily (or fresh) table and an intraday one is the daily (the intraday files are listed
    in a note); a day with only intraday files is provisional (kind ``intraday``). Raises
    :class:`LandingError` naming the files when a day is ambiguous: a daily and a fresh table, two formats,
    or the same part twice (e.g. ``.json`` and ``.json.gz``)."""
    by_day: dict[date, list[tuple[ShardName, str]]] = {}
    for shard, uri in found:
        by_day.setdefault(shard.shard_date, []).append((shard, uri))
    days, notes = [], []
    for day, entries in sorted(by_day.items()):
        tables = {s.table for s, _ in entries}

        def names(pick: Callable[[ShardName], bool], entries=entries) -> str:
            return ", ".join(sorted(uri for s, uri in entries if pick(s)))

        if {DAILY, "fresh"} <= tables:
            raise LandingError(
                f"{day}: both a daily and a fresh export table ({names(lambda s: s.table != INTRADAY)}); "
                "keep one of them (fresh tables are daily tables under another name)"
            )
        chosen = [(s, u) for s, u in entries if s.table != INTRADAY] or entries
        kind = chosen[0][0].kind
        if kind == DAILY and INTRADAY in tables:
            notes.append(
                f"{day}: intraday file(s) ignored, the daily export of the day is there: "
                f"{names(lambda s: s.table == INTRADAY)}"
            )
        formats = {s.format for s, _ in chosen}
        if len(formats) > 1:
            raise LandingError(
                f"{day}: export files in {len(formats)} formats ({', '.join(sorted(formats))}): "
                f"{', '.join(sorted(u for _, u in chosen))} — keep one format per day"
            )
        seen: dict[int | None, str] = {}
        for s, uri in chosen:
            if s.part in seen:
                label = f"part {s.part}" if s.part is not None else "the unsplit file"
                raise LandingError(f"{day}: {label} twice: {seen[s.part]}, {uri} — keep one")
            seen[s.part] = uri
        days.append((day, kind, sorted(chosen, key=lambda e: _part_order(e[0]))))
    return days, notes


def day_checksum(kind: str, parts: Iterable[tuple[str, str]]) -> str:
    """One checksum of a day from its parts' (name, sha256): independent of listing order, changed by any
    part's content, name, an added or a missing part. A day of one daily file keeps that file's sha256 (as
    landed before days could have parts); an intraday day's checksum never equals a daily one's, so the
    daily table always restates a provisional day."""
    items = sorted(parts)
    if kind == DAILY and len(items) == 1:
        return items[0][1]
    h = hashlib.sha256(f"ga4lake-day {kind}\n".encode())
    for name, digest in items:
        h.update(f"{name}\t{digest}\n".encode())
    return h.hexdigest()


def day_sha256(day: ExportDay) -> str:
    return day_checksum(day.kind, [(p.name, sha256_of(p.local_path)) for p in day.parts])


def landed_parts(file_name: str, landing_uri: str) -> list[tuple[str, str]]:
    """(name, landing uri) of each part of a manifest entry: one file's ``landing_uri`` is the object; a
    split day's is the folder (ending in ``/``) holding its parts."""
    names = [n.strip() for n in file_name.split(",") if n.strip()]
    if len(names) == 1 and not landing_uri.endswith("/"):
        return [(names[0], landing_uri)]
    return [(n, landing_uri + n) for n in names]


def kind_of_names(names: Iterable[str]) -> str:
    """``intraday`` when a landed day's files are intraday tables (a provisional day), else ``daily``."""
    parsed = [parse_name(n) for n in names]
    return INTRADAY if parsed and all(p is not None and p.kind == INTRADAY for p in parsed) else DAILY


def _stderr_note(msg: str) -> None:
    print(f"ga4lake landing: note: {msg}", file=sys.stderr, flush=True)


def split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


def classify(entries: Iterable[tuple[str, str]]) -> tuple[list[tuple[ShardName, str]], list[str]]:
    """Split (file name, uri) pairs into export shards and unrecognised files (uris); :func:`ignorable`
    names are dropped."""
    shards, unknown = [], []
    for name, uri in entries:
        if ignorable(name):
            continue
        parsed = parse_name(name)
        if parsed is None:
            unknown.append(uri)
        else:
            shards.append((parsed, uri))
    return shards, sorted(unknown)


def _list_source(source: str, settings: Settings, note: Callable[[str], None]) -> list[tuple[str, str]]:
    """(name, uri) of every file in a local folder (or the single file) or under an s3:// prefix."""
    if source.startswith("s3://"):
        bucket, prefix = split_s3(source)
        client = s3_client(settings)
        out = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                if obj["Key"].endswith("/"):  # a folder marker, not a file
                    continue
                out.append((obj["Key"].rsplit("/", 1)[-1], f"s3://{bucket}/{obj['Key']}"))
        return out
    root = Path(source)
    if not root.exists():
        raise NoExportFiles(f"{source}: no such file or directory")
    if root.is_file():
        if parse_name(root.name) is None:
            raise LandingError(f"{root}: not an export shard name (expected {NAMING})")
        return [(root.name, str(root.resolve()))]
    out = []
    for p in sorted(root.iterdir()):
        if p.is_dir():
            if not ignorable(p.name):
                note(f"{p}: a folder, not read (export files must sit directly in {source})")
            continue
        out.append((p.name, str(p.resolve())))
    return out


def discover(
    source: str,
    settings: Settings,
    download_dir: Path,
    start: date | None = None,
    end: date | None = None,
    note: Callable[[str], None] = _stderr_note,
) -> list[ExportDay]:
    """The export days in a local directory (or a single file) or under an s3:// prefix, by day.

    Every file of the source must be an export shard (:data:`NAMING`); any other file stops the load
    with an error listing them, whatever the date range, so no day is ever lost to a misnamed part.
    Hidden and ``_``-prefixed files and ``.crc`` files are ignored; sub-folders are not read (``note``
    says so), nor are intraday files of a day whose daily table is there."""
    shards, unknown = classify(_list_source(source, settings, note))
    if unknown:
        shown = ", ".join(unknown[:20]) + (f" and {len(unknown) - 20} more" if len(unknown) > 20 else "")
        raise LandingError(
            f"{len(unknown)} file(s) in {source} are not export shards (expected {NAMING}): {shown} — "
            "rename or move them (nothing was loaded)"
        )
    shards = [
        (s, u)
        for s, u in shards
        if (start is None or s.shard_date >= start) and (end is None or s.shard_date <= end)
    ]
    if not shards:
        span = f" between {start} and {end}" if start or end else ""
        raise NoExportFiles(f"no export files {NAMING} in {source}{span}")
    grouped, notes = group_days(shards)
    for n in notes:
        note(n)
    days = []
    for day, kind, entries in grouped:
        parts = []
        for s, uri in entries:
            if uri.startswith("s3://"):
                local = download_dir / s.name
                download_dir.mkdir(parents=True, exist_ok=True)
                bucket, key = split_s3(uri)
                s3_client(settings).download_file(bucket, key, str(local))
            else:
                local = Path(uri)
            parts.append(ExportPart(s.name, local, uri))
        days.append(ExportDay(day, kind, tuple(parts)))
    return days


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


def read_validated(path: Path, allow_empty: bool = False) -> tuple[pa.Table, int]:
    """Canonical table of an export file and the number of rows with rescued (type-changed) values.
    ``allow_empty``: a part of a split day may hold no rows (the day as a whole may not)."""
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
    if table.num_rows == 0 and not allow_empty:
        raise LandingError(f"{path}: empty export file (0 rows); GA4 never exports an empty day — not loaded")
    if "_rescued_data" not in table.column_names:
        table = table.append_column("_rescued_data", pa.nulls(table.num_rows, pa.string()))
    return table, n_rescued


def stage(
    f: ExportDay,
    settings: Settings,
    staging_dir: Path,
    load_id: str,
    ingested_at: datetime,
    upload: bool = True,
) -> StagedFile:
    """Validate every part of a day, upload the originals to the landing prefix and write the canonical
    staged copies (``staging_dir/events_YYYYMMDD/part-NNNNN.parquet``, read by bronze as one day).

    Rows keep their part's name in ``_source_file`` and the day's checksum in ``_checksum``."""
    digest = day_sha256(f)
    day_dir = staging_dir / f"events_{f.shard_date:%Y%m%d}"
    shutil.rmtree(day_dir, ignore_errors=True)
    day_dir.mkdir(parents=True)
    rows = rescued = size = 0
    for i, part in enumerate(f.parts):
        table, n_rescued = read_validated(part.local_path, allow_empty=len(f.parts) > 1)
        size += part.local_path.stat().st_size
        rows, rescued = rows + table.num_rows, rescued + n_rescued
        if not table.num_rows:
            continue
        n = table.num_rows
        meta = {
            "_shard_date": pa.array([f.shard_date] * n, pa.date32()),
            "_source_file": pa.array([part.name] * n, pa.string()),
            "_checksum": pa.array([digest] * n, pa.string()),
            "_load_id": pa.array([load_id] * n, pa.string()),
            "_ingested_at": pa.array([ingested_at] * n, pa.timestamp("us", tz="UTC")),
        }
        for key, arr in meta.items():
            table = table.append_column(key, arr)
        # a hidden temp name: Spark skips it should a killed write leave it behind
        fd, tmp = tempfile.mkstemp(dir=day_dir, prefix=".part-", suffix=".tmp")
        os.close(fd)
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, day_dir / f"part-{i:05d}.parquet")
    if rows == 0:
        raise LandingError(
            f"{f.source_uri}: empty export day {f.shard_date} ({len(f.parts)} parts, 0 rows); "
            "GA4 never exports an empty day — not loaded"
        )
    folder = f"{LANDING_PREFIX}/events_{f.shard_date:%Y%m%d}/{digest[:16]}/"
    if upload:
        client = s3_client(settings)
        for part in f.parts:
            try:
                client.head_object(Bucket=settings.s3_bucket, Key=folder + part.name)
            except client.exceptions.ClientError:
                client.upload_file(str(part.local_path), settings.s3_bucket, folder + part.name)
    one = len(f.parts) == 1
    first = parse_name(f.parts[0].name)
    return StagedFile(
        shard_date=f.shard_date,
        name=f.name,
        source_uri=f.source_uri,
        sha256=digest,
        size_bytes=size,
        rows=rows,
        rescued_rows=rescued,
        format=first.format if first else "ndjson",
        landing_uri=f"s3://{settings.s3_bucket}/{folder}{f.parts[0].name if one else ''}",
        staged_path=day_dir,
    )


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
