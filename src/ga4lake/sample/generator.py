"""Generate the export one day at a time.

Each day is the union of (a) its sessions that start early enough to end before midnight,
(b) its late sessions' events before midnight and (c) the previous day's late sessions' events
after midnight. Late and early sessions use separate random streams keyed by (seed, date), so a
day can be regenerated on its own and still agree with its neighbours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pyarrow as pa

from .arrowutil import conform_table
from .columns import build_table
from .expand import expand
from .plan import Plan, build_plan
from .pool import static_pool
from .schema import schema_for_stage
from .timeline import US_PER_S, daynum

LATE_US = 4 * 3600 * US_PER_S  # sessions starting this close to midnight may cross it


@dataclass(frozen=True)
class SampleConfig:
    """What to generate; the quirk switches that act while generating live here too."""

    start: date
    days: int
    scale: float = 1.0
    seed: int = 42
    drift: bool = False
    consent_denied: float = 0.0

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError(f"days must be >= 1, got {self.days}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if not self.scale > 0:
            raise ValueError(f"scale must be > 0, got {self.scale}")
        if not 0.0 <= self.consent_denied <= 1.0:
            raise ValueError(f"consent-denied rate must be within [0, 1], got {self.consent_denied}")


class SampleGenerator:
    """Deterministic day tables of a GA4 export (see ``docs/sample.md``)."""

    def __init__(self, config: SampleConfig) -> None:
        self.config = config
        self.plan: Plan = build_plan(config.start, config.days, config.scale, config.seed)
        self._pool, self._pool_array = static_pool()
        self._late: dict[int, pa.Table] = {}

    def date(self, i: int) -> date:
        return self.config.start + timedelta(days=i)

    def drift_stage(self, i: int) -> int:
        """0 for the first third of the days, then nested additions, then new top-level columns."""
        if not self.config.drift:
            return 0
        days = self.config.days
        return 2 if i >= (2 * days) // 3 else 1 if i >= days // 3 else 0

    def schema(self, i: int) -> pa.Schema:
        return schema_for_stage(self.drift_stage(i))

    def day(self, i: int) -> pa.Table:
        """Events whose ``event_date`` is window day ``i``, sorted by timestamp."""
        if not 0 <= i < self.config.days:
            raise IndexError(f"day {i} outside 0..{self.config.days - 1}")
        lo, hi = int(self.plan.bounds[i]), int(self.plan.bounds[i + 1])
        parts = []
        if i > 0:
            prev = self._late_table(i - 1)
            parts.append(prev.filter(pa.array(prev.column("event_timestamp").to_numpy() >= lo)))
        parts.append(self._group(i, late=False))
        late = self._late_table(i)
        parts.append(late.filter(pa.array(late.column("event_timestamp").to_numpy() < hi)))
        table = pa.concat_tables(parts).combine_chunks()
        ts = table.column("event_timestamp").to_numpy()
        order = np.argsort(ts, kind="stable")
        if not np.array_equal(order, np.arange(order.size)):
            table = table.take(pa.array(order))
        for j in [j for j in self._late if j < i - 1]:
            del self._late[j]
        return conform_table(table, self.schema(i))

    def _late_table(self, i: int) -> pa.Table:
        if i not in self._late:
            self._late[i] = self._group(i, late=True)
        return self._late[i]

    def _group(self, i: int, late: bool) -> pa.Table:
        cfg, plan = self.config, self.plan
        sess = plan.sessions_of_day(i)
        cut = int(plan.bounds[i + 1]) - LATE_US
        sess = sess[(plan.s_start[sess] >= cut) == late]
        rng = np.random.default_rng(
            [cfg.seed & 0xFFFFFFFF, cfg.seed >> 32, daynum(self.date(i)) + 100_000, 20 + int(late)]
        )
        frame = expand(plan, sess, rng, self._pool, self._pool_array)
        return build_table(
            plan,
            frame,
            self._pool,
            self._pool_array,
            (self.date(i), self.date(i + 1)),
            int(plan.bounds[i + 1]),
            rng,
            cfg.drift,
            cfg.consent_denied,
        )
