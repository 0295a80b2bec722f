"""The cold install builds the Go servers beside the pip installs, after the system packages (Go itself)."""

from __future__ import annotations

from ga4lake.stack.install import STEPS, plan

ALL = ["system", "venv", "dbt", "jars", "java25", "seaweedfs", "airflow", "superset", "minio"]


def test_go_builds_run_beside_the_rest_after_the_system_step():
    first, beside, rest = plan(ALL)
    assert first == ["system"]
    assert beside == ["seaweedfs", "minio"]
    assert rest == ["venv", "dbt", "jars", "java25", "airflow", "superset"]
    assert sorted(first + beside + rest) == sorted(ALL)  # every step runs exactly once
    assert set(ALL) == set(STEPS)


def test_a_single_step_runs_in_the_foreground():
    assert plan(["seaweedfs"]) == ([], [], ["seaweedfs"])
    assert plan(["airflow"]) == ([], [], ["airflow"])


def test_only_go_steps_still_run_one_after_the_other():
    first, beside, rest = plan(["seaweedfs", "minio"])
    assert (first, rest) == ([], [])
    assert beside == ["seaweedfs", "minio"]
