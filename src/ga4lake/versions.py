"""Pinned versions of everything the stack installs (mirrors stack/pom.xml, requirements/*.txt)."""

ICEBERG = "1.11.0"
NESSIE = "0.99.0"  # newest nessie-quarkus runner jar Maven Central serves here (see README)
TRINO = "476"  # newest trino-server tarball Maven Central serves here (see README)
POSTGRESQL_JDBC = "42.7.14"
PYSPARK = "4.1.4"
SEAWEEDFS_MODULE = "v0.0.0-20261109003541-7506e5f91cd6"  # SeaweedFS 4.53 (master, 2026-11-09)
MINIO_RELEASE = "RELEASE.2025-10-15T17-29-55Z"  # final community release
POSTGRES_MAJOR = "15"  # Debian 12's server

SPARK_JARS = (
    f"iceberg-spark-runtime-4.1_2.13-{ICEBERG}.jar",
    f"iceberg-aws-bundle-{ICEBERG}.jar",
    f"postgresql-{POSTGRESQL_JDBC}.jar",
)
NESSIE_JAR = f"nessie-quarkus-{NESSIE}-runner.jar"
TRINO_TARBALL = f"trino-server-{TRINO}.tar.gz"
TRINO_CLI_JAR = f"trino-cli-{TRINO}-executable.jar"
# the PostgreSQL connector needs Geometry; password-authenticators: the password file (docs/security.md)
TRINO_PLUGINS = ("iceberg", "postgresql", "geospatial", "password-authenticators")
