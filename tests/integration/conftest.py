"""Integration tests run against the real native stack, which this fixture starts (idempotently).

If a service cannot start, the session fails loudly with the service, port and log file.
"""

from __future__ import annotations

import os

import pytest

from ga4lake.config import Settings, load_settings
from ga4lake.lake.nessie import NessieClient
from ga4lake.stack import manager

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings()


@pytest.fixture(scope="session")
def stack(settings: Settings) -> Settings:
    manager.up(settings)
    return settings


@pytest.fixture(scope="session")
def nessie(stack: Settings) -> NessieClient:
    return NessieClient(stack.nessie_api)


@pytest.fixture(scope="session")
def spark(stack: Settings):
    from ga4lake.lake.spark import get_spark

    os.environ.setdefault("GA4LAKE_SPARK_LOG_LEVEL", "ERROR")
    session = get_spark(stack, app_name="ga4lake-tests")
    yield session
    session.stop()
