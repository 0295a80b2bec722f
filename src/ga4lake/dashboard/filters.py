"""A state of the dashboard's four native filters, as Superset takes it in a URL.

Opening ``/superset/dashboard/<slug>/?native_filters=<rison>`` applies the filter values at load,
exactly as if a person had picked them in the filter bar and pressed Apply (Superset restores shared
links the same way). The browser tests use it to look at the dashboard under each filter with one
page load, and compare what the page received with gold under the same filter.

The filter ids and columns are those of ``superset/bundle/dashboards/ga4_ecommerce.yaml`` (a unit
test keeps them in step).
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

DATE_FILTER = "NATIVE_FILTER-ga4-date-range"
# segment filter id -> the column it filters (the same name in every dataset)
SEGMENT_FILTERS = {
    "NATIVE_FILTER-ga4-device": "device_category",
    "NATIVE_FILTER-ga4-country": "country",
    "NATIVE_FILTER-ga4-channel": "channel",
}

_RISON_ID = re.compile(r"^[^-0-9 '!:(),*@$][^ '!:(),*@$]*$")


def rison(value: Any) -> str:
    """Rison, the URL-friendly JSON Superset reads its ``native_filters`` parameter in."""
    if value is None:
        return "!n"
    if value is True or value is False:
        return "!t" if value else "!f"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        if value and _RISON_ID.match(value):
            return value
        return "'" + value.replace("!", "!!").replace("'", "!'") + "'"
    if isinstance(value, list | tuple):
        return "!(" + ",".join(rison(v) for v in value) + ")"
    if isinstance(value, dict):
        return "(" + ",".join(f"{rison(str(k))}:{rison(v)}" for k, v in value.items()) + ")"
    raise TypeError(f"no rison form for {type(value).__name__}")


@dataclass(frozen=True)
class FilterState:
    """What the filter bar holds: an inclusive range of days (or none) and segment values per column
    (an empty tuple = that filter is not set)."""

    start: date | None = None
    end: date | None = None
    segments: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.segments) - set(SEGMENT_FILTERS.values())
        if unknown:
            raise ValueError(f"no dashboard filter on {sorted(unknown)}")
        if (self.start is None) != (self.end is None):
            raise ValueError("a date range needs both ends")

    @property
    def time_range(self) -> str | None:
        """Superset's range string: start inclusive, end exclusive (hence the day after ``end``)."""
        if self.start is None or self.end is None:
            return None
        return f"{self.start.isoformat()} : {(self.end + timedelta(days=1)).isoformat()}"

    def data_mask(self) -> dict[str, Any]:
        """Superset's ``dataMask`` for these values: per filter the query part and the bar's state."""
        mask: dict[str, Any] = {}
        if self.time_range is not None:
            mask[DATE_FILTER] = {
                "id": DATE_FILTER,
                "extraFormData": {"time_range": self.time_range},
                "filterState": {"value": self.time_range},
                "ownState": {},
            }
        for filter_id, column in SEGMENT_FILTERS.items():
            values = list(self.segments.get(column, ()))
            if values:
                mask[filter_id] = {
                    "id": filter_id,
                    "extraFormData": {"filters": [{"col": column, "op": "IN", "val": values}]},
                    "filterState": {"value": values, "label": ", ".join(values)},
                    "ownState": {},
                }
        return mask

    def url_query(self) -> str:
        """The query string that opens the dashboard with these filters applied ('' for none)."""
        mask = self.data_mask()
        return "?" + urllib.parse.urlencode({"native_filters": rison(mask)}) if mask else ""

    def describe(self) -> str:
        parts = [f"{self.start} … {self.end}"] if self.start else []
        parts += [f"{col} in {list(vals)}" for col, vals in self.segments.items() if vals]
        return ", ".join(parts) or "no filter"


NO_FILTER = FilterState()
