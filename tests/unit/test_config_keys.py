"""Every setting is declared once in config/defaults.env, and only config.py reads the environment.

A key the code reads but the file does not declare is invisible to users (no default to see, no comment
saying what it does) and, read with ``os.environ``, would ignore the local env file. These tests fail on
the first such key, naming the file that reads it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ga4lake.config import DEFAULTS_FILE, REPO_ROOT, ConfigError, declared_keys, int_setting, setting

# where code reads settings: the package, the DAGs, dbt's profile and models, Superset's config, make, CI
SCANNED = ("src", "airflow", "dbt", "superset", "Makefile", ".ci")
KEY = re.compile(r"GA4LAKE_[A-Z0-9_]*[A-Z0-9]\b")  # a trailing "_" is a prefix in an f-string, not a key
# reading the process environment directly (writing it for a child process is fine)
DIRECT_READ = re.compile(
    r"""(os\.environ\.get\(|os\.getenv\(|os\.environ\[)\s*["']GA4LAKE_[A-Z0-9_]+["']\s*[,)\]](?!\s*=[^=])"""
)


def _files() -> list[Path]:
    out: list[Path] = []
    for name in SCANNED:
        p = REPO_ROOT / name
        if p.is_file():
            out.append(p)
        elif p.is_dir():
            out += [f for f in p.rglob("*") if f.is_file() and f.suffix in {".py", ".yml", ".sql", ".sh", ""}]
    return [f for f in out if "__pycache__" not in f.parts and "target" not in f.parts]


def test_every_key_the_code_uses_is_declared():
    declared = declared_keys()
    missing: dict[str, set[str]] = {}
    for f in _files():
        try:
            text = f.read_text()
        except UnicodeDecodeError:
            continue
        for key in KEY.findall(text):
            if key not in declared:
                missing.setdefault(key, set()).add(str(f.relative_to(REPO_ROOT)))
    assert not missing, f"used but not declared in {DEFAULTS_FILE.name}: {missing}"


def test_every_declared_key_has_a_comment_or_a_section():
    """A declaration is documentation: each key sits under a '# ---' section header."""
    lines = DEFAULTS_FILE.read_text().splitlines()
    first_key = next(i for i, line in enumerate(lines) if line.startswith("GA4LAKE_"))
    assert any(line.startswith("# ---") for line in lines[:first_key])


def test_only_config_reads_the_environment():
    offenders = []
    for f in (REPO_ROOT / "src").rglob("*.py"):
        if f.name == "config.py" and f.parent.name == "ga4lake":
            continue
        offenders += [
            f"{f.relative_to(REPO_ROOT)}: {m.group(0)}" for m in DIRECT_READ.finditer(f.read_text())
        ]
    for f in (REPO_ROOT / "airflow").rglob("*.py"):
        offenders += [
            f"{f.relative_to(REPO_ROOT)}: {m.group(0)}" for m in DIRECT_READ.finditer(f.read_text())
        ]
    assert not offenders, offenders


def test_direct_read_pattern_catches_reads_not_writes():
    assert DIRECT_READ.search('x = os.environ.get("GA4LAKE_X", "1")')
    assert DIRECT_READ.search('x = os.environ["GA4LAKE_X"]')
    assert not DIRECT_READ.search('os.environ["GA4LAKE_X"] = "1"')


def test_setting_refuses_an_undeclared_key():
    with pytest.raises(ConfigError, match="GA4LAKE_NO_SUCH_KEY is not declared"):
        setting("GA4LAKE_NO_SUCH_KEY", {})


def test_setting_layers_environment_over_defaults():
    assert setting("GA4LAKE_LANDING_WORKERS", {}) == "3"
    assert setting("GA4LAKE_LANDING_WORKERS", {"GA4LAKE_LANDING_WORKERS": "5"}) == "5"
    assert int_setting("GA4LAKE_LANDING_WORKERS", {"GA4LAKE_LANDING_WORKERS": "7"}) == 7
    with pytest.raises(ConfigError, match="must be an integer"):
        int_setting("GA4LAKE_LANDING_WORKERS", {"GA4LAKE_LANDING_WORKERS": "many"})
