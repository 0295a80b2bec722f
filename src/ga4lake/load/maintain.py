"""``ga4lake maintain``: housekeeping that keeps Nessie history readable.

Every Nessie commit of a table points at one Iceberg metadata file, and through it at manifests and data
files. Iceberg's own cleanups (``write.metadata.delete-after-commit``, ``expire_snapshots``,
``remove_orphan_files``) only know the table's *current* metadata, so on a Nessie table they delete files
that older commits, other branches and tags still need: time travel and ``ga4lake rollback`` then fail with
missing files. Deciding which files no commit needs any more means walking every reference and every
commit inside the retention window; that is Nessie's GC tool (``nessie-gc``), which this stack does not
run. So this command never deletes table files or expires snapshots. What it does:

* sets the Nessie-safe table properties (:data:`NESSIE_SAFE_PROPERTIES`) on tables made before them,
  once (a table that has them gets no commit);
* deletes staging folders of finished loads (a load's staged Parquet and source downloads; an open load's
  folder is kept);
* drops Trino ``ref_`` catalogs (``ga4lake sql --ref``, parity on a load branch) whose Nessie reference
  is gone; they are recreated on first use;
* reports how much history lies inside and outside the retention window.

It holds the load lock, so no load lands or stages files while it runs.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ga4lake.clients.nessie import Commit, NessieClient
from ga4lake.config import Settings
from ga4lake.lake.tables import NESSIE_SAFE_PROPERTIES
from ga4lake.log import say as _say  # progress lines (stderr; -q hides them)


@dataclass
class HistoryWindow:
    """Commits of the lake branch inside and outside the retention window."""

    retention_days: int
    inside: int = 0
    outside: int = 0
    oldest_inside: str = ""


@dataclass
class MaintainReport:
    dry_run: bool
    retention_days: int
    staging: list[tuple[Path, int]] = field(default_factory=list)  # (folder, bytes)
    catalogs: list[str] = field(default_factory=list)
    properties: dict[str, dict[str, str]] = field(default_factory=dict)  # table -> properties set
    history: HistoryWindow | None = None

    def render(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        lines = [f"ga4lake maintain{' (dry run)' if self.dry_run else ''}:"]
        total = sum(n for _, n in self.staging)
        lines.append(f"  staging: {verb} {len(self.staging)} folder(s), {total / 1e6:.1f} MB")
        lines += [f"    {p} ({n / 1e6:.1f} MB)" for p, n in self.staging]
        lines.append(
            f"  trino: {'would drop' if self.dry_run else 'dropped'} {len(self.catalogs)} ref_ catalog(s)"
        )
        lines += [f"    {c}" for c in self.catalogs]
        set_verb = "would set" if self.dry_run else "set"
        lines.append(f"  tables: {set_verb} Nessie-safe properties on {len(self.properties)} table(s)")
        lines += [
            f"    {t}: {', '.join(f'{k}={v}' for k, v in props.items())}"
            for t, props in self.properties.items()
        ]
        if self.history is not None:
            h = self.history
            lines.append(
                f"  history: {h.inside} commit(s) within {h.retention_days} days"
                + (f" (oldest {h.oldest_inside})" if h.oldest_inside else "")
                + f", {h.outside} older; all kept readable (no snapshot expiry, no file deletion: "
                "see docs/operations.md)"
            )
        return "\n".join(lines)


# ---- pure decisions ------------------------------------------------------------------------------------


def property_changes(current: dict[str, str], wanted: dict[str, str]) -> dict[str, str]:
    """The properties of ``wanted`` that ``current`` lacks or holds with another value."""
    return {k: v for k, v in wanted.items() if current.get(k) != v}


def stale_ref_catalogs(catalogs: Iterable[str], references: Iterable[str], default_branch: str) -> list[str]:
    """Trino ``ref_`` catalogs no live reference needs.

    A catalog that follows a live branch or tag is kept, and so is one pinned to a commit of a live
    branch other than the default (``branch@hash``: a load or test branch being inspected); catalogs of
    deleted references (published load branches) and pinned commits of the default branch go."""
    from ga4lake.clients.trino import ref_catalog_name

    live = {ref_catalog_name(r) for r in references}
    pinned = tuple(ref_catalog_name(r) + "_" for r in references if r != default_branch)
    return sorted(c for c in catalogs if c.startswith("ref_") and c not in live and not c.startswith(pinned))


def history_window(commits: Sequence[Commit], now: datetime, retention_days: int) -> HistoryWindow:
    """Split a branch log (newest first) at ``now - retention_days``."""
    cutoff = now - timedelta(days=retention_days)
    window = HistoryWindow(retention_days)
    for c in commits:
        t = _commit_time(c.commit_time)
        if t is None or t >= cutoff:
            window.inside += 1
            window.oldest_inside = c.commit_time or window.oldest_inside
        else:
            window.outside += 1
    return window


def _commit_time(text: str) -> datetime | None:
    if not text:
        return None
    head, _, frac = text.rstrip("Z").partition(".")
    try:
        t = datetime.fromisoformat(head)
    except ValueError:
        return None
    if frac:
        t += timedelta(microseconds=int((frac + "000000")[:6]))
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t


def stale_staging(staging_root: Path, open_load_ids: set[str]) -> list[Path]:
    """Folders under ``<state>/staging`` that no open load uses: finished, failed or abandoned loads'
    staged files, and the source downloads (only read while a load lands, under the load lock)."""
    if not staging_root.is_dir():
        return []
    return sorted(p for p in staging_root.iterdir() if p.name not in open_load_ids)


# ---- I/O ---------------------------------------------------------------------------------------------


def open_load_ids(settings: Settings) -> set[str]:
    """Loads whose branch is open on any target (their staged files are still to be read)."""
    from ga4lake.load import OPEN_PHASES

    folder = settings.state_dir / "loads"
    out = set()
    for p in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            plan = json.loads(p.read_text())
        except (OSError, ValueError):
            continue
        if plan.get("phase") in OPEN_PHASES:
            out.add(plan.get("load_id") or p.stem)
    return out


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def trino_catalogs(settings: Settings) -> list[str]:
    from ga4lake.clients.trino import connect

    conn = connect(settings, catalog="system")
    try:
        cur = conn.cursor()
        cur.execute("SELECT catalog_name FROM system.metadata.catalogs")
        return sorted(r[0] for r in cur.fetchall())
    finally:
        conn.close()


def drop_catalog(settings: Settings, name: str) -> None:
    from ga4lake.clients.trino import connect

    conn = connect(settings, catalog="system")
    try:
        cur = conn.cursor()
        cur.execute(f'DROP CATALOG IF EXISTS "{name}"')
        cur.fetchall()
    finally:
        conn.close()


def property_todo(settings: Settings) -> dict[str, dict[str, str]]:
    """The Nessie-safe properties each Iceberg table of the lake branch lacks. Read with pyiceberg from the
    tables' metadata: no JVM is started when every table already has them (the usual case)."""
    from ga4lake.clients.iceberg import IcebergReader

    reader = IcebergReader(settings, settings.lake_branch)
    todo: dict[str, dict[str, str]] = {}
    for key in NessieClient(settings.nessie_api).table_keys(settings.lake_branch):
        changes = property_changes(reader.properties(key), NESSIE_SAFE_PROPERTIES)
        if changes:
            todo[key] = changes
    return todo


def set_properties(spark, settings: Settings, todo: dict[str, dict[str, str]]) -> None:
    """One commit per table of ``todo`` on the lake branch, through Spark (the writer of every table)."""
    from ga4lake.clients.spark import branch_catalog

    cat = branch_catalog(spark, settings, settings.lake_branch)
    for key, props in todo.items():
        assignments = ", ".join(f"'{k}'='{v}'" for k, v in props.items())
        spark.sql(f"ALTER TABLE {cat}.{key} SET TBLPROPERTIES ({assignments})")


def maintain(
    settings: Settings,
    retention_days: int | None = None,
    dry_run: bool = False,
    spark=None,
    progress: Callable[[str], None] = _say,
) -> MaintainReport:
    """Run every housekeeping step under the load lock; returns what was (or would be) removed or set."""
    from ga4lake.clients.spark import get_spark
    from ga4lake.load.lock import load_lock

    days = settings.history_retention_days if retention_days is None else retention_days
    if days < 1:
        raise ValueError(f"retention must be at least 1 day, got {days}")
    report = MaintainReport(dry_run=dry_run, retention_days=days)
    nessie = NessieClient(settings.nessie_api)
    with load_lock(settings):
        for path in stale_staging(settings.state_dir / "staging", open_load_ids(settings)):
            report.staging.append((path, _size(path)))
            if not dry_run:
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
        refs = [r.name for r in nessie.list_references()]
        report.catalogs = stale_ref_catalogs(trino_catalogs(settings), refs, nessie.default_branch())
        if not dry_run:
            for name in report.catalogs:
                drop_catalog(settings, name)
        report.properties = property_todo(settings)
        if report.properties and not dry_run:
            spark = spark or get_spark(settings, app_name="ga4lake-maintain")
            set_properties(spark, settings, report.properties)
        log = nessie.log(settings.lake_branch, limit=100_000)
        report.history = history_window(log, datetime.now(UTC), days)
    progress(report.render())
    return report
