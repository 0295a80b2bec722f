"""Who owns an open load, and when that owner counts as gone (so a later load fails the plan instead of
waiting for it); the load lock's refusal names its holder. Pure logic on plan files in a temp dir."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
import time

import pytest

from ga4lake.config import load_settings
from ga4lake.errors import LoadBusy, LoadError
from ga4lake.load.lock import load_lock
from ga4lake.load.plan import LoadPlan, active_plans, open_plans, owner_gone, process_owner, running_step

from .test_load_plan import plan


@pytest.fixture
def settings(tmp_path):
    return dataclasses.replace(load_settings(), state_dir=tmp_path, lake_branch="itest_plan")


def dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    return int(done.stdout)


def age(settings, load_id: str, seconds: float) -> None:
    p = LoadPlan.path(settings, load_id)
    t = time.time() - seconds
    os.utime(p, (t, t))


def test_cli_owner_is_this_process_by_pid_and_start_time(settings):
    p = plan("load_cli", phase="silver", owner=process_owner("cli"))
    p.save(settings)
    assert owner_gone(settings, p) is None
    assert [q.load_id for q in open_plans(settings)] == ["load_cli"]


def test_a_reused_pid_does_not_keep_a_dead_load_open(settings):
    # this pid is alive, but the start time recorded is another process's: the owner is gone
    p = plan("load_reused", phase="bronze", owner=f"cli:{os.getpid()}:1")
    p.save(settings)
    assert "died" in owner_gone(settings, p)
    assert open_plans(settings) == []
    back = LoadPlan.read(settings, "load_reused")
    assert back.phase == "failed" and "owner gone during phase bronze" in back.error
    assert "load abort load_reused" in back.error


def test_a_scheduler_plan_between_steps_is_gone_only_after_the_idle_limit(settings, monkeypatch):
    monkeypatch.setenv("GA4LAKE_LOAD_IDLE_SECONDS", "600")
    p = plan("load_idle", phase="silver", owner="steps")
    p.save(settings)
    age(settings, "load_idle", 300)
    assert owner_gone(settings, p) is None  # a retry or the next DAG may still come
    age(settings, "load_idle", 700)
    assert "exhausted its retries" in owner_gone(settings, p)
    assert open_plans(settings) == []
    assert LoadPlan.read(settings, "load_idle").phase == "failed"


def test_a_running_step_keeps_its_plan_alive_however_old_and_a_killed_one_counts_as_idle(settings):
    p = plan("load_step", phase="gold", owner=process_owner("step"))
    p.save(settings)
    age(settings, "load_step", 86_400)
    assert owner_gone(settings, p) is None
    killed = plan("load_killed", phase="gold", owner=f"step:{dead_pid()}:1")
    killed.save(settings)
    assert owner_gone(settings, killed) is None  # just died: Airflow may retry it
    age(settings, "load_killed", 86_400)
    assert owner_gone(settings, killed)


def test_running_step_names_the_process_then_hands_back_to_the_scheduler(settings):
    p = plan("load_run", phase="bronze")
    p.save(settings)
    with running_step(settings, p):
        assert LoadPlan.read(settings, "load_run").owner == process_owner("step")
        p.advance(settings, "silver")
    back = LoadPlan.read(settings, "load_run")
    assert back.owner == "steps" and back.phase == "silver"


def test_a_step_does_not_revive_a_plan_failed_meanwhile(settings):
    p = plan("load_late", phase="gold")
    p.save(settings)
    stale = LoadPlan.read(settings, "load_late")
    p.fail(settings, RuntimeError("owner gone"))
    with pytest.raises(LoadError, match="now failed"), running_step(settings, stale):
        pass
    assert LoadPlan.read(settings, "load_late").phase == "failed"


def test_published_plans_with_a_live_owner_are_active(settings):
    plan("load_pub", phase="published", owner=process_owner("step")).save(settings)
    plan("load_done", phase="synced").save(settings)
    plan("load_orphan", phase="published", owner=f"cli:{dead_pid()}:1").save(settings)
    assert [p.load_id for p in active_plans(settings)] == ["load_pub"]
    assert LoadPlan.read(settings, "load_orphan").phase == "published"  # on main already: never failed


def test_the_lock_refuses_a_rollback_on_the_holders_target_naming_the_holder(settings):
    refused = pytest.raises(LoadBusy, match=r"held by ga4lake ingest on itest_plan \(pid \d+")
    rollback = load_lock(settings, "rollback", same_target="refuse")
    with load_lock(settings, "ga4lake ingest"), refused, rollback:
        pass
    with load_lock(settings, "rollback", same_target="refuse"):  # free again
        pass


def test_the_lock_waits_for_a_holder_on_another_target(settings):
    other = dataclasses.replace(settings, lake_branch="itest_other")
    got = threading.Event()

    def rollback_elsewhere() -> None:
        with load_lock(other, "rollback", same_target="refuse"):
            got.set()

    with load_lock(settings, "ga4lake ingest"):
        t = threading.Thread(target=rollback_elsewhere)
        t.start()
        assert not got.wait(1.0)  # blocked, not refused
    t.join(10)
    assert got.is_set()
