"""Lock files: each virtualenv's whole resolved set, every file hashed, from its human-edited requirements.

``requirements/<name>.txt`` pins the packages we choose; a new release of a *transitive* dependency could
still change what ``pip install`` brings, and nothing proved the downloaded files were the tested ones.
``requirements/lock/<name>.txt`` pins every package of the venv and lists the sha256 of every file of that
version on PyPI; ``ga4lake install`` runs ``pip install --require-hashes --no-deps -r`` on it, so two
installs get the same bytes or fail. The Airflow lock is our Airflow constraints file (Airflow's own, on
GitHub, cannot be downloaded here): the full set Airflow runs with, pinned and hashed.

The resolver is uv (``uv pip compile --generate-hashes``, the standard tool; a dev tool of the main venv),
for CPython 3.11 on Linux x86_64. 3.11 means 3.11.0, the lowest the project supports, so a backport gated
on a later patch release (``async-timeout; python_full_version < "3.11.3"``) stays in and the lock installs
on any 3.11.x. uv keeps every pin of the existing lock that the edit does not force to move::

    python -m ga4lake.stack.lock                   # all four, after editing requirements/*.txt
    python -m ga4lake.stack.lock dbt --upgrade     # re-resolve dbt to the newest versions its pins allow
    python -m ga4lake.stack.lock --from-venv       # transitive pins = what GA4LAKE_HOME/venvs/<name> holds

The parsers below are pure (the unit tests check every committed lock against its requirements file).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ga4lake.config import REPO_ROOT
from ga4lake.errors import ExitCode

VENVS = ("main", "dbt", "airflow", "superset")
REQUIREMENTS_DIR = REPO_ROOT / "requirements"
LOCK_DIR = REQUIREMENTS_DIR / "lock"
PYTHON_VERSION = "3.11"
PLATFORM = "x86_64-unknown-linux-gnu"

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;#\\]+)")
_HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})\b")


class LockError(RuntimeError):
    pass


def normalize(name: str) -> str:
    """PEP 503 name: ``Flask_Caching`` and ``flask-caching`` are the same package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def direct_pins(requirements: str) -> dict[str, str]:
    """``name==version`` lines of a requirements file (extras and comments dropped), by normalized name;
    ranges such as ``setuptools>=68`` are not pins."""
    pins: dict[str, str] = {}
    for raw in requirements.splitlines():
        m = _PIN.match(raw.split("#", 1)[0].strip())
        if m:
            pins[normalize(m.group(1))] = m.group(3)
    return pins


def parse_lock(text: str) -> dict[str, tuple[str, list[str]]]:
    """A lock file as {normalized name: (version, sha256 list)}. Raises LockError on a requirement that is
    not ``name==version``, has no hash, or appears twice: ``pip --require-hashes`` would refuse it."""
    entries: dict[str, tuple[str, list[str]]] = {}
    logical: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line.strip():
            continue
        current += line.strip()
        if current.endswith("\\"):
            current = current[:-1].rstrip() + " "
            continue
        logical.append(current)
        current = ""
    if current:
        logical.append(current)
    for req in logical:
        m = _PIN.match(req)
        if not m:
            raise LockError(f"not an exact pin: {req[:80]!r}")
        name, version = normalize(m.group(1)), m.group(3)
        hashes = _HASH.findall(req)
        if not hashes:
            raise LockError(f"{name}=={version} has no --hash=sha256 line")
        if name in entries:
            raise LockError(f"{name} is locked twice")
        entries[name] = (version, hashes)
    return entries


def check(requirements: str, lock: str) -> list[str]:
    """What is wrong with a lock for these requirements: direct pins missing or at another version."""
    locked = parse_lock(lock)
    problems = []
    for name, version in direct_pins(requirements).items():
        if name not in locked:
            problems.append(f"{name}=={version} is not in the lock")
        elif locked[name][0] != version:
            problems.append(f"{name}=={version} is locked at {locked[name][0]}")
    return problems


def header(name: str) -> str:
    lines = [
        f"# Lock of requirements/{name}.txt: every package of the {name} virtualenv, with the sha256 of each",
        f"# file of that version on PyPI. Do not edit: edit requirements/{name}.txt, then regenerate with",
        f"#     python -m ga4lake.stack.lock {name}",
        f"# (uv pip compile --generate-hashes, CPython {PYTHON_VERSION}, {PLATFORM}). `ga4lake install` runs",
        f"#     pip install --require-hashes --no-deps -r requirements/lock/{name}.txt",
    ]
    if name == "airflow":
        lines += [
            "# This is the Airflow constraints file of this project: Airflow's own (constraints-3.x.txt on",
            "# GitHub) is not downloadable here, so Airflow and its providers install from this full set.",
        ]
    return "\n".join(lines) + "\n"


def drop_annotations_of(body: str, path: str) -> str:
    """uv's ``# via`` annotations without the ones naming ``path`` (the temporary --from-venv constraints
    file, whose name changes every run), in uv's own layout: a ``# via`` left with one source on one line,
    with none dropped."""
    kept = [line for line in body.splitlines() if path not in line]
    out: list[str] = []
    i = 0
    while i < len(kept):
        line = kept[i]
        i += 1
        if line.strip() != "# via":
            out.append(line)
            continue
        sources = []
        while i < len(kept) and kept[i].lstrip().startswith("#   "):
            sources.append(kept[i])
            i += 1
        if len(sources) == 1:  # uv's own form for a single source
            out.append(f"{line} {sources[0].strip().removeprefix('#').strip()}")
        elif sources:
            out += [line, *sources]
    return "\n".join(out) + "\n"


def _uv() -> str:
    """uv next to this interpreter (the main venv has it), else on PATH."""
    here = Path(sys.executable).parent / "uv"
    found = str(here) if here.exists() else shutil.which("uv")
    if not found:
        raise LockError("uv not found: `pip install uv` (requirements/main.txt pins it)")
    return found


def compile_lock(name: str, *, upgrade: bool = False, constraints: Path | None = None) -> Path:
    """Resolve requirements/<name>.txt into requirements/lock/<name>.txt (uv reads the existing lock as
    preferences, so unrelated pins stay), prefix the header, and check the result."""
    req = REQUIREMENTS_DIR / f"{name}.txt"
    lock = LOCK_DIR / f"{name}.txt"
    LOCK_DIR.mkdir(parents=True, exist_ok=True)
    cmd = [
        _uv(),
        "pip",
        "compile",
        "--quiet",
        "--generate-hashes",
        "--no-header",
        "--python-version",
        PYTHON_VERSION,
        "--python-platform",
        PLATFORM,
        "--output-file",
        str(lock),
        str(req),
    ]
    if upgrade:
        cmd.append("--upgrade")
    if constraints:
        cmd += ["--constraint", str(constraints)]
    res = subprocess.run(cmd, cwd=REPO_ROOT)
    if res.returncode != 0:
        raise LockError(f"uv pip compile failed ({res.returncode}) for {req}")
    body = lock.read_text()
    if constraints:
        body = drop_annotations_of(body, str(constraints))
    lock.write_text(header(name) + body)
    problems = check(req.read_text(), lock.read_text())
    if problems:
        raise LockError(f"{lock}: " + "; ".join(problems))
    return lock


def _venv_freeze(name: str, out: Path) -> Path:
    """``pip freeze`` of the installed venv (editables excluded) as a constraints file."""
    from ga4lake.config import load_settings

    python = load_settings().venvs_dir / name / "bin" / "python"
    if not python.exists():
        raise LockError(f"--from-venv: {python} does not exist (run `ga4lake install` first)")
    frozen = subprocess.run(
        [str(python), "-m", "pip", "freeze", "--all", "--exclude-editable"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    out.write_text(frozen)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ga4lake.stack.lock", description=__doc__.splitlines()[0])
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"venvs to lock: {' '.join(VENVS)} (default: all)"
    )
    parser.add_argument("--upgrade", action="store_true", help="newest versions the pins allow")
    parser.add_argument(
        "--from-venv", action="store_true", help="constrain to the versions installed in the venv"
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(VENVS))
    if unknown:
        parser.error(f"unknown venv(s) {' '.join(unknown)}; choose from {' '.join(VENVS)}")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for name in args.names or VENVS:
                constraints = _venv_freeze(name, Path(tmp) / f"{name}.txt") if args.from_venv else None
                lock = compile_lock(name, upgrade=args.upgrade, constraints=constraints)
                print(f"{lock.relative_to(REPO_ROOT)}: {len(parse_lock(lock.read_text()))} packages")
    except LockError as exc:
        print(f"lock: {exc}", file=sys.stderr)
        return ExitCode.CHECK_FAILED
    return ExitCode.OK


if __name__ == "__main__":
    raise SystemExit(main())
