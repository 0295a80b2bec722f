"""Secrets reach the services through 0600 files, never through a command line (no services needed)."""

import stat

import pytest

from ga4lake.config import load_settings
from ga4lake.stack import services
from ga4lake.stack.services import build_services, java_properties


@pytest.fixture
def settings(tmp_path):
    return load_settings(
        {
            "GA4LAKE_STATE_DIR": str(tmp_path),
            "GA4LAKE_HOME": str(tmp_path / "home"),
            "GA4LAKE_UI_SERVICES": "spark-connect",
            "GA4LAKE_S3_SECRET_KEY": "s3-secret-xyz",
            "GA4LAKE_PG_PASSWORD": "pg-secret-xyz",
        }
    )


def test_nessie_gets_its_secrets_from_a_private_file(settings, monkeypatch):
    jar = settings.jars_dir / services.versions.NESSIE_JAR
    jar.parent.mkdir(parents=True)
    jar.touch()  # the command is only built, never run
    monkeypatch.setenv("GA4LAKE_JAVA25_HOME", "/opt/java25")
    nessie = next(s for s in build_services(settings) if s.name == "nessie")
    nessie.prepare()
    cmd = " ".join(nessie.command())
    assert "-Dquarkus.http.host=127.0.0.1" in cmd
    assert "s3-secret-xyz" not in cmd and "pg-secret-xyz" not in cmd
    props = services.nessie_home(settings) / "config" / "application.properties"
    assert nessie.cwd == services.nessie_home(settings)
    assert stat.S_IMODE(props.stat().st_mode) == 0o600
    text = props.read_text()
    assert "ga4lakesecrets.s3.secret=s3-secret-xyz" in text
    assert "quarkus.datasource.postgresql.password=pg-secret-xyz" in text


def test_spark_connect_reads_its_conf_from_a_private_properties_file(settings):
    settings.jars_dir.mkdir(parents=True)
    for name in services.versions.SPARK_JARS:  # the command is only built, never run
        (settings.jars_dir / name).touch()
    connect = next(s for s in build_services(settings) if s.name == "spark-connect")
    cmd = connect.command()
    assert "s3-secret-xyz" not in " ".join(cmd) and "--conf" not in cmd
    conf = settings.state_dir / "spark" / "connect.properties"
    assert cmd[cmd.index("--properties-file") + 1] == str(conf)
    assert stat.S_IMODE(conf.stat().st_mode) == 0o600
    assert "spark.sql.catalog.lake.s3.secret-access-key=s3-secret-xyz" in conf.read_text()
    assert "spark.connect.grpc.binding.address=127.0.0.1" in conf.read_text()


def test_properties_escape_backslashes_and_refuse_newlines():
    assert java_properties({"a": r"x\y", "b": "p=q r"}) == "a=x\\\\y\nb=p=q r\n"
    with pytest.raises(services.StackError):
        java_properties({"a": "x\ny"})
