"""requirements/lock/*.txt: what `ga4lake install` installs with pip --require-hashes --no-deps."""

import re

import pytest

from ga4lake.config import REPO_ROOT, load_settings
from ga4lake.stack import install, lock


@pytest.fixture
def settings(tmp_path):
    return load_settings({"GA4LAKE_STATE_DIR": str(tmp_path), "GA4LAKE_HOME": str(tmp_path / "home")})


@pytest.mark.parametrize("name", lock.VENVS)
def test_every_lock_line_is_an_exact_pin_with_a_sha256(name):
    text = (lock.LOCK_DIR / f"{name}.txt").read_text()
    entries = lock.parse_lock(text)
    assert len(entries) >= 40, len(entries)  # transitive packages, not only the direct pins
    # independent of the parser: every requirement line starts a `name==version \` block of hash lines
    starts = [ln for ln in text.splitlines() if ln and not ln.startswith((" ", "#"))]
    assert len(starts) == len(entries)
    assert all(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*==\S+ \\", ln) for ln in starts), starts[:3]
    for version, hashes in entries.values():
        assert hashes and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes), version
    assert "pip" not in entries  # the venv brings its own; locking it would reinstall it


@pytest.mark.parametrize("name", lock.VENVS)
def test_every_direct_pin_is_in_its_lock_at_the_same_version(name):
    req = (REPO_ROOT / "requirements" / f"{name}.txt").read_text()
    pins = lock.direct_pins(req)
    assert pins, name
    assert lock.check(req, (lock.LOCK_DIR / f"{name}.txt").read_text()) == []


def test_locks_say_how_to_regenerate_them_and_airflow_is_the_constraints_file():
    for name in lock.VENVS:
        text = (lock.LOCK_DIR / f"{name}.txt").read_text()
        assert f"python -m ga4lake.stack.lock {name}" in text
        assert f"pip install --require-hashes --no-deps -r requirements/lock/{name}.txt" in text
    assert "constraints file" in (lock.LOCK_DIR / "airflow.txt").read_text()


def test_check_reports_a_missing_or_moved_direct_pin():
    h = "0" * 64
    locked = f"a-b==1.0 \\\n    --hash=sha256:{h}\n    # via x\nc==2.0 --hash=sha256:{h}\n"
    assert lock.check("A_b[extra]==1.0  # comment\nc>=1\n", locked) == []
    assert lock.check("a.b==1.1\n", locked) == ["a-b==1.1 is locked at 1.0"]
    assert lock.check("d==3\n", locked) == ["d==3 is not in the lock"]


@pytest.mark.parametrize(
    "text, error",
    [
        ("a>=1.0 \\\n    --hash=sha256:" + "0" * 64 + "\n", "not an exact pin"),
        ("a==1.0\n", "has no --hash"),
        ("a==1.0 --hash=sha256:" + "0" * 64 + "\nA==1.0 --hash=sha256:" + "1" * 64 + "\n", "twice"),
    ],
)
def test_parse_lock_refuses_what_pip_require_hashes_would(text, error):
    with pytest.raises(lock.LockError, match=error):
        lock.parse_lock(text)


def test_from_venv_annotations_drop_the_temporary_constraints_file():
    body = (
        "a==1 \\\n    --hash=sha256:x\n    # via\n    #   -c /tmp/q/c.txt\n    #   b\n"
        "b==2 \\\n    --hash=sha256:y\n    # via -c /tmp/q/c.txt\n"
        "c==3 \\\n    --hash=sha256:z\n    # via\n    #   a\n    #   b\n"
    )
    assert lock.drop_annotations_of(body, "/tmp/q/c.txt") == (
        "a==1 \\\n    --hash=sha256:x\n    # via b\n"
        "b==2 \\\n    --hash=sha256:y\n"
        "c==3 \\\n    --hash=sha256:z\n    # via\n    #   a\n    #   b\n"
    )


def test_installer_installs_the_lock_with_hashes_and_no_deps(settings, monkeypatch):
    calls: list[list[str]] = []

    def fake_run(cmd, **kw):
        calls.append(cmd)
        (settings.venvs_dir / "dbt" / "bin").mkdir(parents=True, exist_ok=True)
        (settings.venvs_dir / "dbt" / "bin" / "dbt").touch()

    monkeypatch.setattr(install, "run", fake_run)
    install.step_dbt(settings)
    pip = calls[-1]
    assert pip[-4:] == ["--require-hashes", "--no-deps", "-r", str(lock.LOCK_DIR / "dbt.txt")]
    calls.clear()
    install.step_dbt(settings)  # stamped on the lock: nothing to do
    assert calls == []


def test_a_missing_lock_is_a_clear_error(tmp_path):
    (tmp_path / "x.txt").write_text("a==1\n")
    with pytest.raises(install.InstallError, match="python -m ga4lake.stack.lock x"):
        install.lock_file(tmp_path / "x.txt")
