"""The source -> category mapping behind the default channel grouping, without Spark.

Gold's channel rules (``ga4lake.gold.models.channels``), the project file's extension CSV
(``channels.source_categories_csv`` in ga4lake.yml) and the Trino parity reference all read the mapping
through this module, so the built-in list and a site's additions are parsed by one loader with one set of
rules. The built-in list is package data (``gold/models/source_categories.csv``, see that module's doc
for why it is partial).
"""

from __future__ import annotations

import csv
from pathlib import Path

SEARCH = "SEARCH"
SOCIAL = "SOCIAL"
VIDEO = "VIDEO"
SHOPPING = "SHOPPING"

CATEGORIES = (SEARCH, SOCIAL, VIDEO, SHOPPING)
SOURCE_CATEGORIES_CSV = Path(__file__).parent / "gold" / "models" / "source_categories.csv"
HEADER = ["source", "source_category"]


def load_source_categories(path: Path = SOURCE_CATEGORIES_CSV) -> dict[str, str]:
    """source (lower-case) -> SEARCH | SOCIAL | VIDEO | SHOPPING, from a two-column CSV.

    Data, not code: the list is long, grows, and is what a site would extend. A malformed row (unknown
    category, upper-case or quoted source, duplicate) is an error naming its line, never a silent skip:
    the keys are pasted into SQL string literals (Spark and Trino), so quotes and backslashes are refused
    rather than escaped."""
    out: dict[str, str] = {}
    with path.open(newline="") as fh:
        reader = csv.reader(fh)
        if next(reader, None) != HEADER:
            raise ValueError(f"{path}:1: the header must be source,source_category")
        for lineno, row in enumerate(reader, 2):
            if len(row) != 2 or row[1] not in CATEGORIES:
                raise ValueError(
                    f"{path}:{lineno}: expected <source>,<one of {', '.join(CATEGORIES)}>: {row}"
                )
            source = row[0]
            if source != source.lower() or not source.strip() or "'" in source or "\\" in source:
                raise ValueError(
                    f"{path}:{lineno}: a source is lower-case, non-empty, without quotes: {source!r}"
                )
            if source in out:
                raise ValueError(f"{path}:{lineno}: {source!r} is listed twice")
            out[source] = row[1]
    return out


#: the built-in mapping (195 sources)
SOURCE_CATEGORIES: dict[str, str] = load_source_categories()
