"""Spark session factory for the Nessie-backed Iceberg lake on S3.

Catalog choice: Spark uses Iceberg's classic ``NessieCatalog`` (Nessie API v2) with S3FileIO holding the
S3 keys itself. Nessie's Iceberg REST endpoint is labelled experimental, would route every S3 request
through Nessie's request signer, and hides Iceberg's own snapshot tables; the classic catalog writes
straight to S3 and can address any branch or commit. Trino and pyiceberg read the same tables through
Nessie's Iceberg REST endpoint (both modes share one Nessie repository).

Branches: the catalog ``lake`` reads ``main``; :func:`branch_catalog` registers one catalog per Nessie
branch so a load writes to ``<catalog>.<namespace>.<table>`` of its own branch.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from ga4lake import versions
from ga4lake.config import Settings, load_settings, setting
from ga4lake.errors import StackError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

MAIN_CATALOG = "lake"
_JVM_OPTS = "-Daws.requestChecksumCalculation=when_required -Daws.responseChecksumValidation=when_required"


def java17_home() -> Path:
    """Spark: Java 17 (the machine default)."""
    if home := setting("GA4LAKE_JAVA17_HOME"):
        return Path(home)
    for pattern in ("/usr/lib/jvm/java-17-openjdk-*", "/usr/lib/jvm/temurin-17*"):
        hits = sorted(glob.glob(pattern))
        if hits:
            return Path(hits[0])
    java = shutil.which("java")
    if java:
        return Path(os.path.realpath(java)).parents[1]
    raise StackError("no Java 17 found: install openjdk-17-jre-headless or set GA4LAKE_JAVA17_HOME")


def spark_jars(settings: Settings) -> list[str]:
    jars = [settings.jars_dir / name for name in versions.SPARK_JARS]
    missing = [str(j) for j in jars if not j.exists()]
    if missing:
        raise StackError(f"Spark jars missing ({', '.join(missing)}): run `make install`")
    return [str(j) for j in jars]


def catalog_conf(settings: Settings, name: str, ref: str = "main") -> dict[str, str]:
    """Spark SQL catalog properties for Nessie reference ``ref`` registered as catalog ``name``."""
    p = f"spark.sql.catalog.{name}"
    return {
        p: "org.apache.iceberg.spark.SparkCatalog",
        f"{p}.catalog-impl": "org.apache.iceberg.nessie.NessieCatalog",
        f"{p}.uri": settings.nessie_api,
        f"{p}.ref": ref,
        f"{p}.authentication.type": "NONE",
        f"{p}.client-api-version": "2",
        f"{p}.warehouse": settings.warehouse,
        f"{p}.io-impl": "org.apache.iceberg.aws.s3.S3FileIO",
        f"{p}.s3.endpoint": settings.s3_endpoint,
        f"{p}.s3.path-style-access": str(settings.s3_path_style).lower(),
        f"{p}.s3.access-key-id": settings.s3_access_key,
        f"{p}.s3.secret-access-key": settings.s3_secret_key,
        f"{p}.client.region": settings.s3_region,
        f"{p}.cache-enabled": "false",  # another process (a merge, Trino) may move the branch
    }


def is_secret_conf(key: str) -> bool:
    """Spark conf keys holding a credential (kept off command lines)."""
    return key.endswith((".secret-access-key", ".secret.key", ".password"))


def session_conf(settings: Settings, app_name: str = "ga4lake") -> dict[str, str]:
    conf = {
        "spark.app.name": app_name,
        "spark.master": settings.spark_master,
        "spark.jars": ",".join(spark_jars(settings)),
        "spark.sql.extensions": "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
        "spark.sql.defaultCatalog": MAIN_CATALOG,
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": setting("GA4LAKE_SPARK_SHUFFLE_PARTITIONS"),
        "spark.sql.adaptive.enabled": "true",
        "spark.driver.memory": settings.spark_driver_memory,
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.ui.port": str(settings.ports.spark_ui),
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.extraJavaOptions": _JVM_OPTS,
        "spark.executor.extraJavaOptions": _JVM_OPTS,
        "spark.local.dir": str(settings.state_dir / "spark" / "tmp"),
        "spark.sql.iceberg.vectorization.enabled": "true",
        "spark.sql.mapKeyDedupPolicy": "LAST_WIN",  # repeated param keys are quarantined, not fatal
        "spark.sql.parquet.mergeSchema": "false",
    }
    if settings.spark_master.startswith("spark://"):
        conf["spark.executor.memory"] = setting("GA4LAKE_SPARK_EXECUTOR_MEMORY")
    conf.update(catalog_conf(settings, MAIN_CATALOG, "main"))
    return conf


def get_spark(settings: Settings | None = None, app_name: str = "ga4lake") -> SparkSession:
    """A SparkSession wired to the lake (local mode unless GA4LAKE_SPARK_MASTER names a cluster)."""
    settings = settings or load_settings()
    remote = setting("GA4LAKE_SPARK_REMOTE")
    if remote:  # the stack's Spark Connect server (what Airflow tasks use): no JVM in this process
        from pyspark.sql import SparkSession

        return SparkSession.builder.remote(remote).getOrCreate()
    os.environ.setdefault("JAVA_HOME", str(java17_home()))
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", os.sys.executable)  # type: ignore[attr-defined]
    from pyspark.sql import SparkSession

    (settings.state_dir / "spark" / "tmp").mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder
    conf = session_conf(settings, app_name)
    # PySpark hands builder options to spark-submit as --conf arguments, readable by every local user in
    # /proc/<pid>/cmdline: secrets are set on the session instead (catalogs read them on first use)
    secret = {k: v for k, v in conf.items() if is_secret_conf(k)}
    for key, value in conf.items():
        if key not in secret:
            builder = builder.config(key, value)
    spark = builder.getOrCreate()
    for key, value in secret.items():
        spark.conf.set(key, value)
    spark.sparkContext.setLogLevel(setting("GA4LAKE_SPARK_LOG_LEVEL"))
    return spark


def branch_catalog(spark: SparkSession, settings: Settings, ref: str) -> str:
    """Register (once) and return the name of a Spark catalog bound to Nessie reference ``ref``."""
    if ref == "main":
        return MAIN_CATALOG
    name = "ref_" + re.sub(r"[^0-9A-Za-z_]", "_", ref)
    for key, value in catalog_conf(settings, name, ref).items():
        spark.conf.set(key, value)
    return name
