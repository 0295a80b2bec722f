"""``ga4lake rollback``: reset the lake branch to an earlier commit and re-sync PostgreSQL gold from it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ga4lake.clients.nessie import Commit, NessieClient
from ga4lake.clients.postgres import connect as pg_connect
from ga4lake.clients.spark import get_spark
from ga4lake.config import Settings
from ga4lake.errors import LoadBusy, LoadError
from ga4lake.gold import sync as gold_sync
from ga4lake.lake import landing
from ga4lake.load.lock import load_lock
from ga4lake.load.plan import active_plans, read_plans
from ga4lake.log import say as _say  # progress lines (stderr; -q hides them)


@dataclass
class RollbackResult:
    """What a rollback undid (or, with ``dry_run``, would undo), newest commit first."""

    branch: str
    head_before: str
    target: Commit
    undone: list[Commit]
    dry_run: bool = False
    synced: dict[str, int] = field(default_factory=dict)  # gold table -> rows in PostgreSQL after


def describe_commit(c: Commit) -> str:
    """One line per undone commit: hash, time, load id, days, message."""
    load_id = c.properties.get("ga4lake.load_id", "-")
    days = c.properties.get("ga4lake.days", "-")
    first = c.message.splitlines()[0][:70] if c.message else ""
    return f"{c.hash[:12]}  {c.commit_time[:19]}  {load_id}  days {days}  {first}"


def _find_commit(log: list[Commit], to: str, branch: str) -> Commit:
    """``to``: a commit hash or hash prefix on ``branch``, or an ISO time (the last commit at or before it)."""
    try:
        ts = datetime.fromisoformat(to.replace("Z", "+00:00"))
    except ValueError:
        matches = [c for c in log if c.hash.startswith(to)]
        if len(matches) > 1:
            raise LoadError(f"commit prefix {to!r} is ambiguous on {branch}") from None
        target = matches[0] if matches else None
    else:
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=UTC)
        target = next(
            (c for c in log if datetime.fromisoformat(c.commit_time[:26].rstrip("Z") + "+00:00") <= ts), None
        )
    if target is None:
        raise LoadError(f"no commit on {branch} matches {to!r} (see `ga4lake history`)")
    return target


def _empty_postgres_gold(settings: Settings, names: list[str]) -> None:
    """The restored commit predates gold: its PostgreSQL copy is emptied, so it still equals the lake."""
    conn = pg_connect(settings)
    try:
        gold_sync.ensure_schema(conn, settings)
        with conn, conn.cursor() as cur:
            for name in names:
                cur.execute("SELECT to_regclass(%s)", (f'{settings.pg_gold_schema}."{name}"',))
                if cur.fetchone()[0] is not None:
                    cur.execute(f'TRUNCATE {settings.pg_gold_schema}."{name}"')
            cur.execute(
                f"DELETE FROM {settings.pg_gold_schema}._sync_state WHERE table_name = ANY(%s)", (names,)
            )
    finally:
        conn.close()


def rollback(
    settings: Settings,
    to: str,
    dry_run: bool = False,
    spark=None,
    progress: Callable[[str], None] = _say,
) -> RollbackResult:
    """Reset the lake branch (main) to an earlier commit and re-sync PostgreSQL gold from it.

    Safe against loads: it takes the load lock and refuses (:class:`LoadBusy`, nothing changed) while a
    command on the same target holds it, or any load is open or published but not yet synced — a load
    built on the commits being undone must not publish on top of the reset. After the reset every gold table is
    fully re-synced (``ga4lake sync``), so PostgreSQL, dbt's insights and Superset follow the lake.
    ``dry_run``: resolve and report what would be undone, change nothing."""
    from ga4lake.gold.models import GOLD_TABLES

    branch = settings.lake_branch
    with load_lock(settings, f"ga4lake rollback --to {to}", same_target="refuse"):
        busy = active_plans(settings)
        if busy:
            names = ", ".join(f"{p.load_id} ({p.phase}, {p.owner})" for p in busy)
            raise LoadBusy(
                f"rollback refused: load(s) not finished on {branch}: {names}; let them publish and sync "
                "(or `ga4lake load abort ID` an open one), then roll back; nothing changed"
            )
        nessie = NessieClient(settings.nessie_api)
        log = nessie.log(branch, limit=2000)
        target = _find_commit(log, to, branch)
        undone = log[: log.index(target)]
        result = RollbackResult(branch, log[0].hash if log else "", target, undone, dry_run)
        if not undone:
            progress(f"{branch} is already at {target.hash[:12]}: nothing to undo")
            return result
        verb = "would undo" if dry_run else "undoing"
        for c in undone:
            progress(f"  {verb} {describe_commit(c)}")
        keys = set(nessie.contents_keys(f"{branch}@{target.hash}"))
        missing = [n for n in GOLD_TABLES if f"gold.{n}" not in keys]
        if missing and len(missing) < len(GOLD_TABLES):
            raise LoadError(
                f"commit {target.hash[:12]} has only part of gold (missing {', '.join(missing)}); "
                "roll back to a commit a load published; nothing changed"
            )
        if dry_run:
            progress(
                f"dry run: {branch} would be reset {result.head_before[:12]} -> {target.hash[:12]} "
                f"({len(undone)} commit(s)) and PostgreSQL {settings.pg_gold_schema} re-synced; nothing changed"
            )
            return result
        nessie.assign(branch, target.hash)
        undone_ids = {c.properties.get("ga4lake.load_id") for c in undone} - {None}
        for p in read_plans(settings):
            if p.load_id in undone_ids and p.target == branch:
                p.phase = "rolled_back"
                p.error = f"rolled back: {branch} reset to {target.hash[:12]} at {landing.now_utc():%Y-%m-%d %H:%M:%S} UTC"
                p.save(settings)
        progress(
            f"{branch} reset {result.head_before[:12]} -> {target.hash[:12]} ({target.commit_time}); "
            f"{len(undone)} commit(s) undone; re-syncing PostgreSQL {settings.pg_gold_schema} …"
        )
        try:
            if missing:
                _empty_postgres_gold(settings, list(GOLD_TABLES))
                result.synced = dict.fromkeys(GOLD_TABLES, 0)
            else:
                spark = spark or get_spark(settings, app_name="ga4lake-rollback")
                result.synced = gold_sync.sync(spark, settings, progress=progress)
        except Exception as exc:
            raise LoadError(
                f"{branch} was reset to {target.hash[:12]}, but the PostgreSQL re-sync failed: {exc}. "
                "Run `ga4lake sync` to finish it."
            ) from exc
    return result
