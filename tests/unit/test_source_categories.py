"""The source -> category mapping is package data (a CSV); its loader refuses malformed rows by line."""

from __future__ import annotations

from pathlib import Path

import pytest

from ga4lake.gold.models.channels import SOURCE_CATEGORIES, SOURCE_CATEGORIES_CSV, load_source_categories


def test_the_shipped_csv_loads_all_195_sources():
    assert len(SOURCE_CATEGORIES) == 195
    assert SOURCE_CATEGORIES["google"] == "SEARCH"
    assert SOURCE_CATEGORIES["facebook"] == "SOCIAL"
    assert SOURCE_CATEGORIES["youtube"] == "VIDEO"
    assert SOURCE_CATEGORIES_CSV.name == "source_categories.csv"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("src,cat\nx,SEARCH\n", "header"),
        ("source,source_category\nbing,SEARCH\nfoo,NEWS\n", ":3: expected"),
        ("source,source_category\nBing,SEARCH\n", ":2: a source is lower-case"),
        ("source,source_category\nit's,SEARCH\n", ":2: a source is lower-case"),
        ("source,source_category\nbing,SEARCH\nbing,SOCIAL\n", ":3: 'bing' is listed twice"),
    ],
)
def test_a_malformed_row_is_an_error_naming_its_line(tmp_path: Path, body: str, message: str):
    path = tmp_path / "cats.csv"
    path.write_text(body)
    with pytest.raises(ValueError, match=message):
        load_source_categories(path)
