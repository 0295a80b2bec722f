"""A service outage during a load reaches the CLI as a Java error passed on by Spark (Py4J): the exit-4 line
must still name the service that is down, and say what failed rather than Py4J's "An error occurred while
calling o88.sql". The texts are the ones tests/integration/test_faults_services.py met on the real stack."""

from __future__ import annotations

from ga4lake.config import load_settings
from ga4lake.errors import is_service_down, service_down_message

PORTS = load_settings({"GA4LAKE_ENV_FILE": "/nonexistent"}).ports

# Nessie stopped: Iceberg's Nessie client inside Spark
NESSIE_DOWN = f"""An error occurred while calling o88.sql.
: org.projectnessie.client.http.HttpClientException: Failed to execute GET request against 'http://127.0.0.1:{PORTS.nessie}/api/v2/trees/load_20201101_20201101_20261207T033715951?fetch=MINIMAL'.
\tat org.projectnessie.client.http.impl.jdk11.JavaRequest.executeRequest(JavaRequest.java:169)
\tSuppressed: org.apache.spark.util.Utils$OriginalTryStackTraceException: Full stacktrace
Caused by: java.net.ConnectException
\tat java.net.http/jdk.internal.net.http.HttpClientImpl.send(HttpClientImpl.java:951)
Caused by: java.nio.channels.ClosedChannelException
"""

# PostgreSQL stopped: Nessie (its version store is in PostgreSQL) answers HTTP 500 to Spark's commit
POSTGRES_BEHIND_NESSIE = """An error occurred while calling o213.append.
: org.projectnessie.client.rest.NessieInternalServerException: Internal Server Error (HTTP/500): java.lang.RuntimeException: Unhandled SQL exception, caused by org.postgresql.util.PSQLException: FATAL: terminating connection due to unexpected postmaster exit
\tat org.projectnessie.client.rest.ResponseCheckFilter.checkResponse(ResponseCheckFilter.java:62)
"""

# S3 stopped: the AWS SDK inside Spark
S3_DOWN = f"""An error occurred while calling o120.append.
: org.apache.spark.SparkException: Job aborted due to stage failure: Task 0 in stage 3.0 failed 1 times
Caused by: software.amazon.awssdk.core.exception.SdkClientException: Unable to execute HTTP request: Connect to 127.0.0.1:{PORTS.s3} [/127.0.0.1] failed: Connection refused
"""


def test_nessie_down_inside_spark_names_nessie_and_the_failed_request() -> None:
    exc = RuntimeError(NESSIE_DOWN)
    assert is_service_down(exc)
    msg = service_down_message(exc, PORTS)
    assert msg.startswith(
        "nessie is not answering (org.projectnessie.client.http.HttpClientException: Failed"
    )
    assert "o88" not in msg and "\n" not in msg


def test_postgres_down_behind_nessie_names_postgres() -> None:
    exc = RuntimeError(POSTGRES_BEHIND_NESSIE)
    assert is_service_down(exc)
    msg = service_down_message(exc, PORTS)
    assert msg.startswith("postgres is not answering (")
    assert "terminating connection due to unexpected postmaster exit)" in msg and "\n" not in msg


def test_s3_down_inside_spark_names_s3() -> None:
    exc = RuntimeError(S3_DOWN)
    assert is_service_down(exc)
    msg = service_down_message(exc, PORTS)
    assert msg.startswith("s3 is not answering (")
    assert f"127.0.0.1:{PORTS.s3}" in msg


def test_the_cause_in_a_wrapped_exception_counts() -> None:
    try:
        try:
            raise RuntimeError(POSTGRES_BEHIND_NESSIE)
        except RuntimeError as inner:
            raise ValueError("load load_x is published, but the PostgreSQL sync failed") from inner
    except ValueError as exc:
        assert is_service_down(exc)
        assert service_down_message(exc, PORTS).startswith("postgres is not answering")


def test_a_query_error_from_postgres_is_not_an_outage() -> None:
    exc = RuntimeError(
        "Internal Server Error (HTTP/500): Unhandled SQL exception, caused by "
        'org.postgresql.util.PSQLException: ERROR: relation "objs2" does not exist'
    )
    assert not is_service_down(exc)
