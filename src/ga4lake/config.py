"""One source of settings: ``config/defaults.env`` < optional local env file < process environment.

Stdlib only, because the installer imports it before any virtualenv exists.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULTS_FILE = REPO_ROOT / "config" / "defaults.env"

_LINE = re.compile(r"^\s*([A-Z][A-Z0-9_]*)\s*=\s*(.*?)\s*$")


class ConfigError(ValueError):
    """A setting is missing or malformed."""


def parse_env_file(path: Path) -> dict[str, str]:
    """Parse KEY=VALUE lines; '#' starts a comment line; surrounding quotes are stripped."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for lineno, raw in enumerate(path.read_text().splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        m = _LINE.match(raw)
        if not m:
            raise ConfigError(f"{path}:{lineno}: expected KEY=VALUE, got {raw!r}")
        key, value = m.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def load_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """Merged raw settings (defaults, then the local env file, then the environment)."""
    environ = dict(os.environ if environ is None else environ)
    merged = parse_env_file(DEFAULTS_FILE)
    local = Path(environ.get("GA4LAKE_ENV_FILE", str(REPO_ROOT / ".env")))
    merged.update(parse_env_file(local))
    merged.update({k: v for k, v in environ.items() if k.startswith("GA4LAKE_")})
    return merged


def declared_keys() -> frozenset[str]:
    """Every ``GA4LAKE_*`` key ``config/defaults.env`` declares: the project's complete list of settings."""
    return frozenset(parse_env_file(DEFAULTS_FILE))


def setting(key: str, environ: dict[str, str] | None = None) -> str:
    """One declared setting's value (defaults < local env file < environment), for code outside ``Settings``.

    The one way the rest of the code reads a ``GA4LAKE_*`` key: it goes through the env file like every
    other setting (a bare ``os.environ`` read would not), its default lives in ``config/defaults.env`` and
    nowhere else, and an undeclared key is a programming error here rather than a silent ``None``."""
    if key not in declared_keys():
        raise ConfigError(f"{key} is not declared in {DEFAULTS_FILE}: declare it there, with a comment")
    return load_env(environ).get(key, "")


def int_setting(key: str, environ: dict[str, str] | None = None) -> int:
    return _int({key: setting(key, environ)}, key)


def float_setting(key: str, environ: dict[str, str] | None = None) -> float:
    raw = setting(key, environ)
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{key} must be a number, got {raw!r}") from exc


def _int(env: dict[str, str], key: str) -> int:
    try:
        return int(env[key])
    except KeyError as exc:
        raise ConfigError(f"{key} is not set (see {DEFAULTS_FILE})") from exc
    except ValueError as exc:
        raise ConfigError(f"{key} must be an integer, got {env[key]!r}") from exc


@dataclass(frozen=True)
class Ports:
    postgres: int
    s3: int
    nessie: int
    nessie_mgmt: int
    trino: int
    airflow: int
    airflow_logs: int
    superset: int
    dbt_docs: int
    spark_master: int
    spark_master_ui: int
    spark_worker_ui: int
    spark_ui: int
    spark_connect: int
    spark_connect_ui: int
    seaweed_master: int
    seaweed_volume: int
    seaweed_filer: int
    minio_console: int

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Settings:
    home: Path
    state_dir: Path
    ports: Ports
    s3_kind: str
    s3_endpoint: str
    s3_region: str
    s3_access_key: str
    s3_secret_key: str
    s3_bucket: str
    s3_path_style: bool
    pg_host: str
    pg_user: str
    pg_password: str
    pg_gold_db: str
    pg_nessie_db: str
    spark_master: str
    spark_driver_memory: str
    nessie_heap: str
    warehouse_prefix: str
    trino_heap: str
    trino_user: str
    start_timeout: int
    trino_password: str = ""  # GA4LAKE_TRINO_PASSWORD, else the generated <state>/secrets/trino_password
    bind_host: str = "127.0.0.1"  # where the services' front doors listen: loopback, or 0.0.0.0 (all)
    lake_branch: str = "main"
    pg_gold_schema: str = "gold"
    ui_services: tuple[str, ...] = ()
    history_retention_days: int = 90
    pii_user_id: str = "hash"  # hash | drop | keep: what bronze stores of the export's user_id
    pii_salt: str = ""  # HMAC key of the hash; empty = a generated per-state-dir key (loopback stacks only)
    project_file: Path = REPO_ROOT / "ga4lake.yml"  # the modelling configuration (ga4lake.project)

    def __post_init__(self) -> None:
        """Names pasted into SQL are checked once here, whatever set them (env, run conf, replace())."""
        from ga4lake.sqlident import IdentifierError, check_identifier

        for what, name in (
            ("GA4LAKE_PG_GOLD_SCHEMA", self.pg_gold_schema),
            ("GA4LAKE_PG_GOLD_DB", self.pg_gold_db),
            ("GA4LAKE_PG_NESSIE_DB", self.pg_nessie_db),
        ):
            try:
                check_identifier(name, what)
            except IdentifierError as exc:
                raise ConfigError(str(exc)) from exc

    # --- derived locations -------------------------------------------------------------
    @property
    def warehouse(self) -> str:
        return f"s3://{self.s3_bucket}/{self.warehouse_prefix}"

    @property
    def nessie_api(self) -> str:
        return f"http://127.0.0.1:{self.ports.nessie}/api/v2"

    @property
    def trino_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.trino}"

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def jars_dir(self) -> Path:
        return self.home / "jars"

    @property
    def bin_dir(self) -> Path:
        return self.home / "bin"

    @property
    def venvs_dir(self) -> Path:
        return self.home / "venvs"

    def pg_dsn(self, database: str | None = None) -> str:
        db = database or self.pg_gold_db
        return (
            f"host={self.pg_host} port={self.ports.postgres} dbname={db} "
            f"user={self.pg_user} password={self.pg_password}"
        )

    def pg_jdbc_url(self, database: str | None = None) -> str:
        return f"jdbc:postgresql://{self.pg_host}:{self.ports.postgres}/{database or self.pg_gold_db}"


# where `stack up` keeps Trino's generated password, relative to the state dir (ga4lake.clients.secrets)
TRINO_PASSWORD_FILE = Path("secrets") / "trino_password"


def _stored_secret(path: Path) -> str:
    """A secret the stack generated earlier, read once here so that settings copied for another state dir
    (tests isolate their locks and plans that way) still carry the password of the Trino that runs."""
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = load_env(environ)
    home = Path(env.get("GA4LAKE_HOME") or Path.home() / ".cache" / "ga4lake").expanduser()
    state = Path(env.get("GA4LAKE_STATE_DIR") or REPO_ROOT / "var").expanduser()
    ports = Ports(
        postgres=_int(env, "GA4LAKE_PG_PORT"),
        s3=_int(env, "GA4LAKE_S3_PORT"),
        nessie=_int(env, "GA4LAKE_NESSIE_PORT"),
        nessie_mgmt=_int(env, "GA4LAKE_NESSIE_MGMT_PORT"),
        trino=_int(env, "GA4LAKE_TRINO_PORT"),
        airflow=_int(env, "GA4LAKE_AIRFLOW_PORT"),
        airflow_logs=_int(env, "GA4LAKE_AIRFLOW_LOG_PORT"),
        superset=_int(env, "GA4LAKE_SUPERSET_PORT"),
        dbt_docs=_int(env, "GA4LAKE_DBT_DOCS_PORT"),
        spark_master=_int(env, "GA4LAKE_SPARK_MASTER_PORT"),
        spark_master_ui=_int(env, "GA4LAKE_SPARK_MASTER_UI_PORT"),
        spark_worker_ui=_int(env, "GA4LAKE_SPARK_WORKER_UI_PORT"),
        spark_ui=_int(env, "GA4LAKE_SPARK_UI_PORT"),
        spark_connect=_int(env, "GA4LAKE_SPARK_CONNECT_PORT"),
        spark_connect_ui=_int(env, "GA4LAKE_SPARK_CONNECT_UI_PORT"),
        seaweed_master=_int(env, "GA4LAKE_SEAWEED_MASTER_PORT"),
        seaweed_volume=_int(env, "GA4LAKE_SEAWEED_VOLUME_PORT"),
        seaweed_filer=_int(env, "GA4LAKE_SEAWEED_FILER_PORT"),
        minio_console=_int(env, "GA4LAKE_MINIO_CONSOLE_PORT"),
    )
    dup = {p for p in ports.as_dict().values() if list(ports.as_dict().values()).count(p) > 1}
    if dup:
        raise ConfigError(f"port map has collisions: {sorted(dup)}")
    s3_kind = env.get("GA4LAKE_S3", "seaweedfs").lower()
    if s3_kind not in {"seaweedfs", "minio", "external"}:
        raise ConfigError(f"GA4LAKE_S3 must be seaweedfs, minio or external, got {s3_kind!r}")
    endpoint = env.get("GA4LAKE_S3_ENDPOINT") or f"http://127.0.0.1:{ports.s3}"
    if s3_kind == "external" and not env.get("GA4LAKE_S3_ENDPOINT"):
        raise ConfigError(
            "GA4LAKE_S3=external needs GA4LAKE_S3_ENDPOINT (e.g. https://s3.eu-west-1.amazonaws.com)"
        )
    return Settings(
        home=home,
        state_dir=state,
        ports=ports,
        s3_kind=s3_kind,
        s3_endpoint=endpoint.rstrip("/"),
        s3_region=env.get("GA4LAKE_S3_REGION", "us-east-1"),
        s3_access_key=env.get("GA4LAKE_S3_ACCESS_KEY", ""),
        s3_secret_key=env.get("GA4LAKE_S3_SECRET_KEY", ""),
        s3_bucket=env.get("GA4LAKE_S3_BUCKET", "ga4lake"),
        s3_path_style=env.get("GA4LAKE_S3_PATH_STYLE", "true").lower() in {"1", "true", "yes"},
        pg_host=env.get("GA4LAKE_PG_HOST", "127.0.0.1"),
        pg_user=env.get("GA4LAKE_PG_USER", "ga4lake"),
        pg_password=env.get("GA4LAKE_PG_PASSWORD", ""),
        pg_gold_db=env.get("GA4LAKE_PG_GOLD_DB", "ga4lake"),
        pg_nessie_db=env.get("GA4LAKE_PG_NESSIE_DB", "nessie"),
        spark_master=env.get("GA4LAKE_SPARK_MASTER", "local[*]"),
        spark_driver_memory=env.get("GA4LAKE_SPARK_DRIVER_MEMORY", "4g"),
        nessie_heap=env.get("GA4LAKE_NESSIE_HEAP", "768m"),
        warehouse_prefix=env.get("GA4LAKE_WAREHOUSE_PREFIX", "warehouse").strip("/"),
        trino_heap=env.get("GA4LAKE_TRINO_HEAP", "3G"),
        trino_user=env.get("GA4LAKE_TRINO_USER", "ga4lake"),
        trino_password=env.get("GA4LAKE_TRINO_PASSWORD") or _stored_secret(state / TRINO_PASSWORD_FILE),
        bind_host=_bind_host(env.get("GA4LAKE_BIND_HOST") or "127.0.0.1"),
        start_timeout=_int(env, "GA4LAKE_START_TIMEOUT"),
        lake_branch=env.get("GA4LAKE_LAKE_BRANCH") or "main",
        pg_gold_schema=env.get("GA4LAKE_PG_GOLD_SCHEMA") or "gold",
        ui_services=_ui_services(env.get("GA4LAKE_UI_SERVICES", "")),
        history_retention_days=_int(env, "GA4LAKE_HISTORY_RETENTION_DAYS"),
        pii_user_id=_pii_mode(env.get("GA4LAKE_PII_USER_ID") or "hash"),
        pii_salt=env.get("GA4LAKE_PII_SALT", ""),
        project_file=Path(env.get("GA4LAKE_PROJECT_FILE") or REPO_ROOT / "ga4lake.yml").expanduser(),
    )


PII_USER_ID_MODES = ("hash", "drop", "keep")
BIND_HOSTS = ("127.0.0.1", "0.0.0.0")


def _bind_host(raw: str) -> str:
    """Loopback (the default) or every interface: local clients always connect to 127.0.0.1, so an
    address that is neither would cut the stack off from itself."""
    host = raw.strip()
    if host not in BIND_HOSTS:
        raise ConfigError(f"GA4LAKE_BIND_HOST must be one of {', '.join(BIND_HOSTS)}, got {raw!r}")
    return host


def _pii_mode(raw: str) -> str:
    mode = raw.strip().lower()
    if mode not in PII_USER_ID_MODES:
        raise ConfigError(f"GA4LAKE_PII_USER_ID must be one of {', '.join(PII_USER_ID_MODES)}, got {raw!r}")
    return mode


UI_SERVICES = ("spark-connect", "airflow", "superset")


def _ui_services(raw: str) -> tuple[str, ...]:
    names = tuple(n.strip().lower() for n in raw.split(",") if n.strip())
    unknown = sorted(set(names) - set(UI_SERVICES))
    if unknown:
        raise ConfigError(f"GA4LAKE_UI_SERVICES: unknown service(s) {unknown}; choose from {UI_SERVICES}")
    return names


STACK_MODES = ("native", "compose")


def stack_mode(environ: dict[str, str] | None = None) -> str:
    """``GA4LAKE_STACK``: who runs the services. ``native`` (default): ga4lake starts them as processes;
    ``compose``: Docker Compose runs them (compose/docker-compose.yml) and ga4lake only waits for their
    health — ``stack up``, ``make demo`` and the integration fixtures never start a second copy."""
    raw = setting("GA4LAKE_STACK", environ).strip().lower() or "native"
    if raw not in STACK_MODES:
        raise ConfigError(f"GA4LAKE_STACK must be one of {', '.join(STACK_MODES)}, got {raw!r}")
    return raw


_SECRET_KEY = re.compile(r"_(PASSWORD|SECRET_KEY|SECRET|SALT)$")


def default_secrets_in_use(env: dict[str, str] | None = None) -> list[str]:
    """Keys of passwords and secrets whose value is still the placeholder of ``config/defaults.env``
    (empty placeholders do not count: those secrets are generated per state dir)."""
    merged = load_env(env)
    defaults = parse_env_file(DEFAULTS_FILE)
    return sorted(
        key
        for key, value in defaults.items()
        if _SECRET_KEY.search(key) and value and merged.get(key) == value
    )


def refuse_exposed_defaults(settings: Settings, env: dict[str, str] | None = None) -> None:
    """A stack that listens beyond loopback must not start with the repository's published passwords."""
    if settings.bind_host == "127.0.0.1":
        return
    keys = default_secrets_in_use(env)
    if keys:
        raise ConfigError(
            f"GA4LAKE_BIND_HOST={settings.bind_host} but these still have their public default value: "
            f"{', '.join(keys)} — set them in .env or the environment (docs/security.md)"
        )


def inject_fault(point: str, environ: dict[str, str] | None = None) -> None:
    """Test-only: raise at ``point`` (e.g. ``gold.delete.dim_user``) when ``GA4LAKE_FAULT_AFTER`` names it.

    The writers call this between two commits that only together leave a table consistent, so a test
    (or someone reproducing an Airflow retry by hand) can make an attempt die exactly there and check
    that the retry repairs it. Unset (the default) it does nothing."""
    if point and load_env(environ).get("GA4LAKE_FAULT_AFTER", "") == point:
        raise RuntimeError(f"injected fault after {point} (GA4LAKE_FAULT_AFTER; test-only)")
