import json

from ga4lake.clients.trino import format_result, ref_catalog_name, ref_prefix


def test_ref_prefix_maps_bare_hashes_to_main():
    assert ref_prefix("load_20201101") == "load_20201101"
    assert ref_prefix("main@abc123") == "main@abc123"
    h = "56b4ec015d924653990a5be45d734d52c51b1107861f0c630354837e43aa2337"
    assert ref_prefix(h) == f"main@{h}"
    assert ref_catalog_name("Load-2020.11") == "ref_load_2020_11"


def test_formats():
    cols, rows = ["a", "b"], [(1, None), (22, "x")]
    table = format_result(cols, rows, "table")
    assert "NULL" in table and table.rstrip().endswith("(2 rows)")
    assert format_result(cols, rows, "csv").splitlines() == ["a,b", "1,", "22,x"]
    assert json.loads(format_result(cols, rows, "json")) == [{"a": 1, "b": None}, {"a": 22, "b": "x"}]
