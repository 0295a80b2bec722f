"""Reference counts reused across parity runs over the same bronze content.

The dbt-ga4 reference counts are a pure function of ``bronze.events`` and the reference SQL. A load's
pre-publish parity gate computes them on its branch; the merge carries the table's Iceberg metadata file
to main unchanged, so the validation that follows (dbt, then parity against PostgreSQL) can reuse them
and only count gold. Keyed by (metadata location, rendered SQL): any new bronze commit or SQL change is a
miss. ``GA4LAKE_PARITY_REFERENCE_CACHE=0`` turns it off.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from ga4lake.config import Settings, load_env

BRONZE_KEY = "bronze.events"


def enabled(env: dict[str, str] | None = None) -> bool:
    return (env if env is not None else load_env()).get("GA4LAKE_PARITY_REFERENCE_CACHE", "1") != "0"


def bronze_version(settings: Settings) -> str | None:
    """Identity of the bronze table's content on the settings' branch (None: unknown, do not cache)."""
    from ga4lake.clients.nessie import NessieClient, NessieError

    try:
        return NessieClient(settings.nessie_api).metadata_location(settings.lake_branch, BRONZE_KEY)
    except NessieError:
        return None


class ReferenceCache:
    def __init__(self, directory: Path) -> None:
        self.dir = directory

    @classmethod
    def for_settings(cls, settings: Settings) -> ReferenceCache:
        return cls(settings.state_dir / "parity" / "reference")

    @staticmethod
    def key(bronze: str, sql: str) -> str:
        return hashlib.sha256(f"{bronze}\n{sql}".encode()).hexdigest()

    def get(self, bronze: str | None, sql: str) -> int | None:
        if bronze is None:
            return None
        path = self.dir / f"{self.key(bronze, sql)}.json"
        try:
            return int(json.loads(path.read_text())["reference_rows"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, bronze: str | None, sql: str, reference_rows: int, model: str) -> None:
        if bronze is None:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        body = json.dumps({"model": model, "bronze": bronze, "reference_rows": int(reference_rows)})
        fd, tmp = tempfile.mkstemp(dir=self.dir, suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            fh.write(body)
        os.replace(tmp, self.dir / f"{self.key(bronze, sql)}.json")
