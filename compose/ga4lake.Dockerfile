# syntax=docker/dockerfile:1.7
# The one image of the compose stack: this checkout installed by its own native installer
# (`python -m ga4lake.stack.install`), so every container runs exactly the versions of
# src/ga4lake/versions.py, stack/pom.xml and requirements/lock/*.txt, configured by the same code as
# `make up`. Each service container runs `ga4lake stack serve <name>`; the `ga4lake` container runs
# `make demo` and the tests. Build context: the repository root (compose/docker-compose.yml sets it).
# Not built on the project's machines (no Docker engine): tests/unit/test_compose.py checks it statically.

# Go (SeaweedFS / MinIO are built from the Go module proxy) and Temurin 25 (Trino, Nessie) come from their
# official images; Python 3.11 (GA4LAKE_PYTHON), Java 17 (Spark), Maven and PostgreSQL 15 from Debian 12.
FROM golang:1.26-bookworm AS go
FROM eclipse-temurin:25-jdk AS jdk25

FROM python:3.11-slim-bookworm
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        postgresql-15 openjdk-17-jdk-headless maven make procps ca-certificates build-essential libpq-dev \
    && rm -rf /var/lib/apt/lists/*
COPY --from=go /usr/local/go /usr/local/go
COPY --from=jdk25 /opt/java/openjdk /usr/lib/jvm/temurin-25

# PostgreSQL refuses to run as root: everything runs as an unprivileged user, the state in one volume
RUN useradd --create-home --uid 1000 ga4lake \
    && mkdir -p /opt/ga4lake /var/lib/ga4lake \
    && chown ga4lake:ga4lake /opt/ga4lake /var/lib/ga4lake
USER ga4lake
WORKDIR /opt/ga4lake
ENV PATH=/home/ga4lake/.cache/ga4lake/venvs/main/bin:/home/ga4lake/.local/bin:/usr/local/go/bin:$PATH \
    GA4LAKE_STATE_DIR=/var/lib/ga4lake \
    GA4LAKE_STACK=compose

# the installer and what its slow steps read first, so a change elsewhere in the checkout keeps these layers
COPY --chown=ga4lake:ga4lake pyproject.toml Makefile README.md ./
COPY --chown=ga4lake:ga4lake config ./config
COPY --chown=ga4lake:ga4lake stack ./stack
COPY --chown=ga4lake:ga4lake src ./src
# JVM artifacts (Maven), Java 25 check, SeaweedFS build; MinIO too when built with GA4LAKE_S3=minio
ARG GA4LAKE_S3=seaweedfs
RUN --mount=type=cache,target=/home/ga4lake/go,uid=1000,gid=1000 \
    --mount=type=cache,target=/home/ga4lake/.cache/go-build,uid=1000,gid=1000 \
    PYTHONPATH=src GA4LAKE_S3=$GA4LAKE_S3 python3 -m ga4lake.stack.install --only system jars java25 seaweedfs \
    && if [ "$GA4LAKE_S3" = minio ]; then PYTHONPATH=src python3 -m ga4lake.stack.install --only minio; fi

# the four virtualenvs from their hash-checked locks, then the whole checkout (editable install)
COPY --chown=ga4lake:ga4lake requirements ./requirements
COPY --chown=ga4lake:ga4lake . .
RUN --mount=type=cache,target=/home/ga4lake/.cache/pip,uid=1000,gid=1000 \
    PYTHONPATH=src python3 -m ga4lake.stack.install --only venv dbt airflow superset

VOLUME /var/lib/ga4lake
ENTRYPOINT []
CMD ["ga4lake", "stack", "status"]
