"""Lake metadata without a JVM: pyiceberg through Nessie's Iceberg REST endpoint.

Table listings, table properties and snapshot summaries (``total-records``, data files, bytes) are all in
the Iceberg metadata Nessie points at; reading them through Spark costs a JVM start (15-30 s) for a few
kilobytes of JSON. pyiceberg reads the same metadata files over HTTP and S3 in well under a second, so
commands that only *look* at the lake (``ga4lake tables``, ``ga4lake maintain``'s property check, the smoke
flow's read on main) use this client; everything that scans or writes rows stays on Spark.

A catalog is bound to one Nessie reference through the REST *prefix* (``{ref}|{warehouse}``, the warehouse
part optional): a branch or tag name, or ``name@hash`` for a commit. The REST endpoint only takes full
64-digit hashes; :func:`resolve_ref` turns the 12-digit ones ``ga4lake history`` prints into full ones.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ga4lake.clients.nessie import NessieClient
from ga4lake.config import Settings
from ga4lake.errors import UserError

if TYPE_CHECKING:
    from pyiceberg.catalog.rest import RestCatalog
    from pyiceberg.table import Table

_HASH = re.compile(r"^[0-9a-f]{8,64}$")
FULL_HASH_LEN = 64
#: commits searched for a short hash (newest first); `ga4lake history` shows far fewer
HASH_SEARCH_LIMIT = 10_000


def split_ref(ref: str, default_branch: str) -> tuple[str, str | None]:
    """``branch`` → (branch, None); ``branch@hash`` → (branch, hash); a bare hash → (default branch, hash)."""
    name, sep, hash_ = ref.partition("@")
    if sep:
        if not _HASH.match(hash_):
            raise UserError(f"not a commit hash in {ref!r}: use branch@<8-64 hex digits>")
        return name or default_branch, hash_
    if _HASH.match(ref):
        return default_branch, ref
    return ref, None


def match_hash(hashes: Iterable[str], prefix: str, where: str) -> str:
    """The one full hash starting with ``prefix``; a clear error when none or several do."""
    found = [h for h in hashes if h.startswith(prefix)]
    if not found:
        raise UserError(f"no commit {prefix} on {where} (`ga4lake history --ref {where}` lists them)")
    if len(set(found)) > 1:
        raise UserError(f"commit prefix {prefix} is ambiguous on {where}: give more digits")
    return found[0]


def rest_prefix(name: str, hash_: str | None = None) -> str:
    """Nessie's Iceberg REST prefix for a reference or one of its commits (the hash must be full)."""
    return name if hash_ is None else f"{name}@{hash_}"


def resolve_ref(settings: Settings, ref: str | None) -> str:
    """The REST prefix for ``ref`` (default: the lake branch), short hashes expanded through Nessie's log."""
    name, hash_ = split_ref(ref or settings.lake_branch, settings.lake_branch)
    if hash_ is None or len(hash_) == FULL_HASH_LEN:
        return rest_prefix(name, hash_)
    log = NessieClient(settings.nessie_api).log(name, limit=HASH_SEARCH_LIMIT)
    return rest_prefix(name, match_hash((c.hash for c in log), hash_, name))


def catalog(settings: Settings, prefix: str | None = None) -> RestCatalog:
    """A pyiceberg catalog of the lake on one Nessie reference (a :func:`resolve_ref` prefix; default: the
    lake branch). The S3 settings are the stack's own (Nessie's overrides name the endpoint, not keys)."""
    from pyiceberg.catalog.rest import RestCatalog

    return RestCatalog(
        "nessie",
        uri=f"http://127.0.0.1:{settings.ports.nessie}/iceberg/",
        prefix=prefix or settings.lake_branch,
        **{
            "s3.endpoint": settings.s3_endpoint,
            "s3.access-key-id": settings.s3_access_key,
            "s3.secret-access-key": settings.s3_secret_key,
            "s3.region": settings.s3_region,
            "s3.path-style-access": str(settings.s3_path_style).lower(),
            "s3.remote-signing-enabled": "false",
        },
    )


@dataclass(frozen=True)
class TableSummary:
    """A table's current snapshot as its metadata states it (None everywhere: no snapshot yet).

    No snapshot count: Nessie's REST endpoint serves a table's *current* snapshot only (its history is
    Nessie's commit log, ``ga4lake history``), where Spark reads the metadata file's whole snapshot list."""

    table: str
    rows: int | None
    data_files: int | None
    bytes: int | None
    snapshot_id: int | None
    committed_at: str | None
    operation: str | None

    def row(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def _int(summary: Mapping[str, str], key: str) -> int | None:
    value = summary.get(key)
    return int(value) if value is not None else None


def summarize(
    table: str,
    snapshot_id: int | None,
    timestamp_ms: int | None,
    summary: Mapping[str, str],
) -> TableSummary:
    """The :class:`TableSummary` of a snapshot's summary map (Iceberg's ``total-*`` counters)."""
    committed = (
        datetime.fromtimestamp(timestamp_ms / 1000, UTC).isoformat(timespec="milliseconds")
        if timestamp_ms is not None
        else None
    )
    return TableSummary(
        table=table,
        rows=_int(summary, "total-records"),
        data_files=_int(summary, "total-data-files"),
        bytes=_int(summary, "total-files-size"),
        snapshot_id=snapshot_id,
        committed_at=committed,
        operation=summary.get("operation"),
    )


def table_summary(name: str, table: Table) -> TableSummary:
    snap = table.current_snapshot()
    if snap is None:
        return summarize(name, None, None, {})
    summary: dict[str, Any] = dict(snap.summary.additional_properties) if snap.summary else {}
    if snap.summary is not None:
        summary["operation"] = snap.summary.operation.value
    return summarize(name, snap.snapshot_id, snap.timestamp_ms, summary)


class IcebergReader:
    """Read-only views of the lake's tables on one reference."""

    def __init__(self, settings: Settings, ref: str | None = None) -> None:
        self.prefix = resolve_ref(settings, ref)
        self.catalog = catalog(settings, self.prefix)

    def tables(self) -> list[str]:
        """``namespace.table`` of every table on the reference, sorted."""
        from pyiceberg.exceptions import BadRequestError, NoSuchNamespaceError

        try:
            namespaces = self.catalog.list_namespaces()
        except BadRequestError as exc:  # Nessie's NoSuchReferenceException
            raise UserError(f"no Nessie reference {self.prefix}: {exc}") from exc
        names: list[str] = []
        for ns in namespaces:
            try:
                names += [".".join(ident) for ident in self.catalog.list_tables(ns)]
            except NoSuchNamespaceError:  # dropped between the two calls
                continue
        return sorted(names)

    def load(self, table: str) -> Table:
        return self.catalog.load_table(table)

    def properties(self, table: str) -> dict[str, str]:
        return dict(self.load(table).properties)

    def summary(self, table: str) -> TableSummary:
        return table_summary(table, self.load(table))

    def summaries(self) -> list[TableSummary]:
        return [self.summary(t) for t in self.tables()]

    def count(self, table: str) -> int:
        """Rows of a table, read by scanning it (small tables: the smoke flow's check that data is readable)."""
        return self.load(table).scan().to_arrow().num_rows
