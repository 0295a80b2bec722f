"""The dbt source ``gold`` as one dict, read from its per-table files under dbt/models/gold/."""

from __future__ import annotations

import yaml

from ga4lake.validate.dbt import DBT_DIR

GOLD_SOURCE_DIR = DBT_DIR / "models" / "gold"


def gold_source() -> dict:
    """The merged source: ``schema`` and ``description`` of the first file, ``tables`` of all of them.

    Every file must declare the same source (name and schema) and exactly one table named like the file."""
    merged: dict = {}
    tables = []
    for path in sorted(GOLD_SOURCE_DIR.glob("*.yml")):
        (source,) = yaml.safe_load(path.read_text())["sources"]
        head = {k: v for k, v in source.items() if k != "tables"}
        assert (
            merged in ({}, {**merged, **head}) and merged.get("schema", head["schema"]) == head["schema"]
        ), path
        merged.update(head)
        (table,) = source["tables"]
        assert table["name"] == path.stem, f"{path.name} describes {table['name']}"
        tables.append(table)
    return {**merged, "tables": tables}
