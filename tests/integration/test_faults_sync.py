"""Faults of the PostgreSQL gold sync on the real stack (docs/operations.md, "PostgreSQL sync"):

* one sync publishes all gold tables together: a reader taking one snapshot never sees tables (or
  ``_sync_state`` rows) of two different loads side by side;
* ``ga4lake sync`` killed with SIGKILL in the middle of its COPY leaves PostgreSQL exactly as it was, its
  backend goes away with its locks, and the next sync converges on the lake;
* a sync whose work folder under the state directory runs out of space fails with one line naming the
  folder, changes nothing, and the next run with space succeeds without manual steps.

The module's `lake` fixture branch plays main, with its own PostgreSQL schema and its own state directory
(load lock, plans, sync work folders): nothing here touches the stack's main, `gold` or state."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import psycopg2
import pytest

import ga4lake
from ga4lake.clients.nessie import NessieClient
from ga4lake.clients.spark import branch_catalog
from ga4lake.errors import ExitCode
from ga4lake.gold.models import GOLD_TABLES
from ga4lake.load.run import ingest
from ga4lake.sample.cli import main as sample_main

pytestmark = pytest.mark.integration
SCALE = "1.0"  # ~47 k events a day: a COPY long enough to be caught in pg_stat_activity


def sample(out: Path, start: str, days: int, seed: int) -> Path:
    args = ["--start", start, "--days", str(days), "--scale", SCALE, "--seed", str(seed), "--out", str(out)]
    assert sample_main(args) == 0
    return out


@pytest.fixture(scope="module")
def iso(lake, tmp_path_factory):
    """The module's lake with its own state directory (the CLI subprocesses get it by environment)."""
    return dataclasses.replace(lake, state_dir=tmp_path_factory.mktemp("state"))


@pytest.fixture(scope="module")
def loaded(iso, tmp_path_factory):
    """Two days loaded, published and synced: the state every test starts from (each adds its own)."""
    src = sample(tmp_path_factory.mktemp("faults") / "d12", "2020-10-01", 2, seed=11)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GA4LAKE_PARITY_GATE", "0")  # the gate has its own tests; here it would add minutes
        res = ingest(iso, str(src))
    assert res.status == "published" and len(res.days) == 2
    return iso


def pg_state(settings) -> tuple[dict[str, int], dict[str, tuple]]:
    """(row count per gold table, `_sync_state` rows) read in one REPEATABLE READ snapshot."""
    conn = psycopg2.connect(settings.pg_dsn())
    conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
    try:
        with conn, conn.cursor() as cur:
            return _read(cur, settings.pg_gold_schema)
    finally:
        conn.close()


def _read(cur, schema: str) -> tuple[dict[str, int], dict[str, tuple]]:
    cur.execute(f"SELECT table_name, nessie_commit, rows, synced_at FROM {schema}._sync_state")
    state = {name: (commit, rows, at) for name, commit, rows, at in cur.fetchall()}
    counts = {}
    for name in GOLD_TABLES:
        cur.execute(f'SELECT count(*) FROM {schema}."{name}"')
        counts[name] = cur.fetchone()[0]
    return counts, state


def lake_counts(spark, settings) -> dict[str, int]:
    cat = branch_catalog(spark, settings, settings.lake_branch)
    return {name: spark.table(f"{cat}.gold.{name}").count() for name in GOLD_TABLES}


def cli_env(settings) -> dict[str, str]:
    """The environment of a `ga4lake` subprocess working on the module's branch, schema and state dir."""
    src = str(Path(ga4lake.__file__).resolve().parents[1])
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]),
        "GA4LAKE_LAKE_BRANCH": settings.lake_branch,
        "GA4LAKE_PG_GOLD_SCHEMA": settings.pg_gold_schema,
        "GA4LAKE_STATE_DIR": str(settings.state_dir),
        "GA4LAKE_PARITY_GATE": "0",
    }


def start_sync(settings) -> subprocess.Popen:
    """`ga4lake sync` in its own process group (its Spark JVM included), so a test can kill all of it."""
    return subprocess.Popen(
        [sys.executable, "-c", "import sys; from ga4lake.cli import main; sys.exit(main(['sync']))"],
        env=cli_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def assert_converged(spark, settings, nessie: NessieClient) -> None:
    counts, state = pg_state(settings)
    head = nessie.get_reference(settings.lake_branch).hash
    assert counts == lake_counts(spark, settings)
    assert {n: s[0] for n, s in state.items()} == dict.fromkeys(GOLD_TABLES, head)
    assert {n: s[1] for n, s in state.items()} == counts  # the bookkeeping agrees with the tables


def test_sync_publishes_all_tables_together(loaded, spark, nessie, tmp_path):
    """A reader polling every table and `_sync_state` in one snapshot while a load of a new day syncs sees
    the tables of the previous load or of the new one, never some of each."""
    before = pg_state(loaded)
    src = sample(tmp_path / "d3", "2020-10-03", 1, seed=12)
    seen: list[tuple[float, dict[str, int], dict[str, str]]] = []
    stop = threading.Event()
    errors: list[BaseException] = []

    def reader() -> None:
        conn = psycopg2.connect(loaded.pg_dsn())
        conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
        try:
            while not stop.is_set():
                with conn, conn.cursor() as cur:
                    counts, state = _read(cur, loaded.pg_gold_schema)
                seen.append((time.monotonic(), counts, {n: s[0] for n, s in state.items()}))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread below
            errors.append(exc)
        finally:
            conn.close()

    window: dict[str, float] = {}

    def progress(msg: str) -> None:  # the load's sync runs between its publish and its end
        if msg.startswith("published "):
            window["start"] = time.monotonic()
        elif msg.startswith("done: "):
            window["end"] = time.monotonic()

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("GA4LAKE_PARITY_GATE", "0")
            res = ingest(loaded, str(src), progress=progress)
    finally:
        time.sleep(0.5)
        stop.set()
        thread.join(timeout=30)
    assert not errors, errors
    assert res.status == "published" and res.days == [date(2020, 10, 3)]
    after = pg_state(loaded)
    old = (before[0], {n: s[0] for n, s in before[1].items()})
    new = (after[0], {n: s[0] for n, s in after[1].items()})
    assert old != new and set(new[1].values()) == {res.main_after}
    during = [s for s in seen if window["start"] <= s[0] <= window["end"]]
    assert len(during) >= 3, f"the reader saw only {len(during)} snapshots while the sync ran"
    for _, counts, commits in seen:
        assert len(set(commits.values())) == 1, f"a snapshot saw tables of two syncs: {commits}"
        assert (counts, commits) in (old, new), f"a snapshot saw neither the old nor the new gold: {counts}"
    assert_converged(spark, loaded, nessie)


def _copy_backend(settings, proc: subprocess.Popen, timeout: float = 600) -> int:
    """Wait until the sync's COPY into the module's schema runs; returns that backend's pid."""
    conn = psycopg2.connect(settings.pg_dsn())
    conn.autocommit = True
    deadline = time.monotonic() + timeout
    try:
        with conn.cursor() as cur:
            while time.monotonic() < deadline:
                assert proc.poll() is None, f"the sync ended before its COPY was seen: {proc.communicate()}"
                cur.execute(
                    "SELECT pid FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'COPY %%' "
                    "AND query LIKE %s",
                    (f"%{settings.pg_gold_schema}.%",),
                )
                row = cur.fetchone()
                if row:
                    return row[0]
                time.sleep(0.02)
    finally:
        conn.close()
    raise AssertionError("no COPY of the sync seen in pg_stat_activity")


def _backend_gone(settings, backend: int, wait: float = 15) -> bool:
    conn = psycopg2.connect(settings.pg_dsn())
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                cur.execute(
                    "SELECT (SELECT count(*) FROM pg_stat_activity WHERE pid = %s)"
                    " + (SELECT count(*) FROM pg_locks WHERE pid = %s)",
                    (backend, backend),
                )
                if cur.fetchone()[0] == 0:
                    return True
                time.sleep(0.2)
            return False
    finally:
        conn.close()


def _drift(settings) -> None:
    """PostgreSQL behind the lake (rows lost since the last sync), so converging is a real change."""
    conn = psycopg2.connect(settings.pg_dsn())
    with conn, conn.cursor() as cur:
        cur.execute(
            f"DELETE FROM {settings.pg_gold_schema}.fact_events WHERE ctid IN "
            f"(SELECT ctid FROM {settings.pg_gold_schema}.fact_events LIMIT 100)"
        )
        assert cur.rowcount == 100
    conn.close()


def test_sigkill_mid_copy_leaves_postgres_as_it_was_and_next_sync_converges(loaded, spark, nessie):
    _drift(loaded)
    before = pg_state(loaded)
    proc = start_sync(loaded)
    try:
        backend = _copy_backend(loaded, proc)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    assert _backend_gone(loaded, backend), f"backend {backend} of the killed sync still holds locks"
    assert pg_state(loaded) == before  # counts and every `_sync_state` row, synced_at included
    assert (loaded.state_dir / "sync" / f"{proc.pid}-{loaded.pg_gold_schema}").exists()  # killed: left over
    again = subprocess.run(
        [sys.executable, "-m", "ga4lake.cli", "sync"], env=cli_env(loaded), capture_output=True, text=True
    )
    assert again.returncode == 0, again.stderr
    assert_converged(spark, loaded, nessie)
    assert not (loaded.state_dir / "sync" / f"{proc.pid}-{loaded.pg_gold_schema}").exists()


def test_full_disk_under_state_dir_fails_cleanly_and_next_sync_recovers(loaded, spark, nessie):
    _drift(loaded)
    before = pg_state(loaded)
    head = nessie.get_reference(loaded.lake_branch).hash
    work = loaded.state_dir / "sync"
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(work)], check=True)
    try:
        res = subprocess.run(
            [sys.executable, "-m", "ga4lake.cli", "sync"], env=cli_env(loaded), capture_output=True, text=True
        )
    finally:
        subprocess.run(["umount", str(work)], check=True)
    assert res.returncode == ExitCode.USAGE, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("ga4lake: error: ")]  # Spark logs aside
    assert len(lines) == 1, res.stderr[-3000:]
    assert lines[0].startswith("ga4lake: error: no space left on device in ") and str(work) in lines[0], lines
    assert "Traceback" not in res.stderr
    assert pg_state(loaded) == before
    assert nessie.get_reference(loaded.lake_branch).hash == head
    again = subprocess.run(
        [sys.executable, "-m", "ga4lake.cli", "sync"], env=cli_env(loaded), capture_output=True, text=True
    )
    assert again.returncode == 0, again.stderr
    assert_converged(spark, loaded, nessie)


def test_full_disk_while_a_load_lands_fails_cleanly_and_a_later_load_recovers(
    loaded, spark, nessie, tmp_path
):
    """The load's staging folder (under the state directory) fills up while landing: one line naming it,
    the target branch, PostgreSQL and the load plans unchanged; the same ingest with space publishes."""
    src = sample(tmp_path / "d5", "2020-10-05", 1, seed=13)
    before = pg_state(loaded)
    head = nessie.get_reference(loaded.lake_branch).hash
    staging = loaded.state_dir / "staging"
    staging.mkdir(parents=True, exist_ok=True)
    plans_before = sorted((loaded.state_dir / "loads").glob("*.json"))
    ingest = [sys.executable, "-m", "ga4lake.cli", "ingest", "--from", str(src)]
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(staging)], check=True)
    try:
        res = subprocess.run(ingest, env=cli_env(loaded), capture_output=True, text=True)
    finally:
        subprocess.run(["umount", str(staging)], check=True)
    assert res.returncode == ExitCode.USAGE, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("ga4lake: error: ")]
    assert len(lines) == 1 and lines[0].startswith("ga4lake: error: no space left on device in "), res.stderr
    assert str(staging) in lines[0] and "Traceback" not in res.stderr
    assert nessie.get_reference(loaded.lake_branch).hash == head
    assert pg_state(loaded) == before
    assert sorted((loaded.state_dir / "loads").glob("*.json")) == plans_before  # no plan opened
    again = subprocess.run(ingest, env=cli_env(loaded), capture_output=True, text=True)
    assert again.returncode == 0, again.stderr[-3000:]
    assert nessie.get_reference(loaded.lake_branch).hash != head
    assert_converged(spark, loaded, nessie)
