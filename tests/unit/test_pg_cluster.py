"""A PostgreSQL cluster kept outside the state dir (as root) belongs to exactly one state dir.

CI clones to the same path every run: the cluster dir (keyed by that path) survives, the state dir
(Superset's generated key, the lake) does not — an inherited cluster broke Superset's import."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ga4lake.config import load_settings
from ga4lake.errors import StackError
from ga4lake.stack import services


def _settings(tmp_path: Path, state: str):
    return load_settings(
        {**os.environ, "GA4LAKE_HOME": str(tmp_path / "home"), "GA4LAKE_STATE_DIR": str(tmp_path / state)}
    )


def _fake_cluster(root: Path) -> Path:
    data = root / "key" / "pgdata"
    data.mkdir(parents=True)
    (data / "PG_VERSION").write_text("17\n")
    return data


@pytest.fixture(autouse=True)
def _no_explicit_data_dir(monkeypatch):
    monkeypatch.delenv("GA4LAKE_PG_DATA", raising=False)


def test_a_cluster_without_owner_token_is_not_adopted_by_a_new_state_dir(tmp_path):
    s = _settings(tmp_path, "var")
    data = _fake_cluster(tmp_path / "lib")
    assert not services._pg_cluster_is_ours(s, data)


def test_the_claiming_state_dir_keeps_its_cluster_and_a_fresh_clone_does_not(tmp_path):
    s = _settings(tmp_path, "var")
    data = _fake_cluster(tmp_path / "lib")
    services._pg_claim_cluster(s, data)
    assert services._pg_cluster_is_ours(s, data)

    (s.state_dir / "postgres.cluster").unlink()  # the clean clone: same path, empty state dir
    assert not services._pg_cluster_is_ours(s, data)
    services._pg_claim_cluster(_settings(tmp_path, "other"), data)
    assert not services._pg_cluster_is_ours(_settings(tmp_path, "var"), data)


def test_dropping_a_stale_cluster_removes_data_and_owner(tmp_path, capsys):
    s = _settings(tmp_path, "var")
    data = _fake_cluster(tmp_path / "lib")
    services._pg_claim_cluster(s, data)
    services._pg_drop_stale_cluster(data)
    assert not data.exists() and not (data.parent / "owner").exists()
    assert "re-initialising" in capsys.readouterr().out


def test_a_stale_cluster_whose_server_still_runs_is_refused_not_deleted(tmp_path):
    data = _fake_cluster(tmp_path / "lib")
    (data / "postmaster.pid").write_text(f"{os.getpid()}\n{data}\n")
    with pytest.raises(StackError, match="still runs"):
        services._pg_drop_stale_cluster(data)
    assert (data / "PG_VERSION").exists()


def test_clusters_inside_the_state_dir_or_chosen_explicitly_need_no_token(tmp_path, monkeypatch):
    s = _settings(tmp_path, "var")
    inside = _fake_cluster(s.state_dir)
    assert services._pg_cluster_is_ours(s, inside)
    monkeypatch.setenv("GA4LAKE_PG_DATA", str(tmp_path / "lib" / "key" / "pgdata"))
    assert services._pg_cluster_is_ours(s, _fake_cluster(tmp_path / "lib"))
