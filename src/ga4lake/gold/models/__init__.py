"""Gold models: pure PySpark transformations silver events -> gold tables (no I/O, no catalogs).

    from ga4lake.gold.models import GOLD_TABLES, build_gold, build_gold_incremental, apply_delta

``build_gold(events)`` builds every table from all silver events; ``build_gold_incremental(events,
touched_days, prior=...)`` returns, per table, a :class:`GoldDelta` (rows + the scope they replace) that
``apply_delta`` — or the Iceberg/Postgres writer — applies to the previous build. Semantics follow
dbt-ga4 (docs/gold.md lists each table, its dbt-ga4 counterpart and its incremental scope).
"""

from ga4lake.gold.models.build import (
    GOLD_TABLES,
    GoldDelta,
    TableSpec,
    apply_delta,
    build_gold,
    build_gold_incremental,
)

__all__ = ["GOLD_TABLES", "GoldDelta", "TableSpec", "apply_delta", "build_gold", "build_gold_incremental"]
