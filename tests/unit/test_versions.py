import re
import xml.etree.ElementTree as ET

from ga4lake import versions
from ga4lake.config import REPO_ROOT

NS = {"m": "http://maven.apache.org/POM/4.0.0"}


def test_pom_and_versions_module_agree():
    root = ET.parse(REPO_ROOT / "stack" / "pom.xml").getroot()
    props = {el.tag.split("}")[1]: el.text for el in root.find("m:properties", NS)}
    assert props["iceberg.version"] == versions.ICEBERG
    assert props["nessie.version"] == versions.NESSIE
    assert props["trino.version"] == versions.TRINO
    assert props["postgresql.jdbc.version"] == versions.POSTGRESQL_JDBC


def test_requirements_pin_pyspark_4_1_and_every_line_exactly():
    lines = [
        ln.strip()
        for ln in (REPO_ROOT / "requirements" / "main.txt").read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    assert f"pyspark=={versions.PYSPARK}" in lines and versions.PYSPARK.startswith("4.1.")
    loose = [ln for ln in lines if "==" not in ln and not ln.startswith("setuptools")]
    assert not loose, loose


def test_go_wrapper_modules_pin_the_documented_versions():
    sw = (REPO_ROOT / "stack" / "seaweedfs" / "go.mod").read_text()
    assert re.search(rf"github.com/seaweedfs/seaweedfs {re.escape(versions.SEAWEEDFS_MODULE)}", sw)
    assert (REPO_ROOT / "stack" / "seaweedfs" / "go.sum").exists()
    assert (REPO_ROOT / "stack" / "minio" / "go.sum").exists()
