"""Daily e-commerce funnel: sessions and users reaching each stage, open and closed.

The stages are ga4lake.yml's ``funnel.stages`` (default: the 8 e-commerce stages of ``STAGES``).

* **open**: the session has at least one event of the stage (any order);
* **closed**: the session reached every earlier stage and this one in order — stage k counts at the
  first stage-k event at or after the moment stage k-1 was reached.

Stage 1 (``session_start``) is reached by every session at its first event, whether or not its
session_start event was exported (≈1.4 % of sample sessions lack one), so stage 1 = all sessions, as
the published funnels count them. A session belongs to its start date (a session crossing midnight
is counted once). Median seconds are measured from the session's first event to the stage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from ga4lake.gold.models.common import in_window, ratio
from ga4lake.gold.models.spec import FullInputs, GoldDelta, TableSpec
from ga4lake.project import DEFAULT_FUNNEL_STAGES

if TYPE_CHECKING:
    from ga4lake.gold.models.windows import DeltaInputs

#: the default stages (ga4lake.yml ``funnel.stages`` overrides them)
STAGES = DEFAULT_FUNNEL_STAGES
SESSION_START = "session_start"


def _first_reach_only(stages: tuple[str, ...]) -> int:
    """How many leading stages need only the session's *first* event of the stage: stage 1 (the fold
    starts there) and, after a ``session_start`` stage 1 (reached at the session's first event, before
    any other), stage 2 too. Their times are one ``min`` instead of a collected array."""
    return 2 if stages[0] == SESSION_START else 1


def agg_funnel_daily(prepared: DataFrame, stages: tuple[str, ...] = STAGES) -> DataFrame:
    """``stages``: the funnel's event names in order (ga4lake.yml ``funnel.stages``, at least 2). A
    ``session_start`` first stage is reached by every session at its first event (module doc); any other
    stage, wherever it stands, is reached by an event of that name."""
    lead = _first_reach_only(stages)
    later = stages[lead:]
    sessions = prepared.where(F.col("session_key").isNotNull())

    def first_of(stage: str) -> Column:
        return F.min(F.when(F.col("event_name") == F.lit(stage), F.col("event_timestamp_us")))

    lead_cols = [f"lead_{i}" for i in range(lead)]
    starts = sessions.groupBy("session_key", "user_pseudo_id").agg(
        F.min("event_date").alias("event_date"),
        F.min("event_timestamp_us").alias("start_us"),
        *[
            (F.min("event_timestamp_us") if i == 0 and s == SESSION_START else first_of(s)).alias(
                lead_cols[i]
            )
            for i, s in enumerate(stages[:lead])
        ],
    )
    # only the (usually few) events of the later stages need their times collected; a stage's array
    # column is named by position, as an event may stand in two stages
    later_cols = [f"stage_{i}" for i in range(len(later))]
    per_session = starts
    if later:
        times = (
            sessions.where(F.col("event_name").isin(*later))
            .groupBy("session_key")
            .agg(
                *[
                    F.collect_list(
                        F.when(F.col("event_name") == F.lit(s), F.col("event_timestamp_us"))
                    ).alias(c)
                    for s, c in zip(later, later_cols, strict=True)
                ]
            )
        )
        per_session = starts.join(times, "session_key", "left")
    per_session = per_session.select(
        F.col("event_date"),
        F.col("user_pseudo_id"),
        F.col("start_us"),
        *[F.col(c) for c in lead_cols],
        *[F.coalesce(F.col(c), F.array().cast("array<bigint>")).alias(c) for c in later_cols],
    )
    # closed funnel as one left fold over the stages: reached_k = first stage-k time >= reached_{k-1}
    # (the leading stages' first times are already in order: stage 2 follows a session_start stage 1)
    zero = F.struct(
        F.col(lead_cols[-1]).alias("at"),
        F.array(*[F.col(c) for c in lead_cols]).cast("array<bigint>").alias("reached"),
    )

    def step(acc, times):
        at = F.array_min(F.filter(times, lambda t: t >= acc["at"]))
        return F.struct(at.alias("at"), F.concat(acc["reached"], F.array(at)).alias("reached"))

    closed = (
        F.aggregate(F.array(*[F.col(c) for c in later_cols]), zero, step)["reached"]
        if later
        else zero["reached"]
    )
    timed = per_session.select(
        F.col("event_date"),
        F.col("user_pseudo_id"),
        F.col("start_us"),
        F.array(*[F.col(c) for c in lead_cols], *[F.array_min(F.col(c)) for c in later_cols]).alias(
            "open_us"
        ),
        closed.alias("closed_us"),
    )
    stage_rows = F.array(
        *[
            F.struct(
                F.lit(i + 1).alias("stage_order"),
                F.lit(s).alias("stage"),
                F.col("open_us")[i].alias("open_us"),
                F.col("closed_us")[i].alias("closed_us"),
            )
            for i, s in enumerate(stages)
        ]
    )
    exploded = timed.select(
        F.col("event_date"), F.col("user_pseudo_id"), F.col("start_us"), F.explode(stage_rows).alias("s")
    )
    rows = exploded.select(
        F.col("event_date"),
        F.col("user_pseudo_id"),
        F.col("s.stage_order").alias("stage_order"),
        F.col("s.stage").alias("stage"),
        ((F.col("s.open_us") - F.col("start_us")).cast("double") / F.lit(1e6)).alias("open_s"),
        ((F.col("s.closed_us") - F.col("start_us")).cast("double") / F.lit(1e6)).alias("closed_s"),
    )
    agg = rows.groupBy("event_date", "stage_order", "stage").agg(
        F.count("open_s").alias("open_sessions"),
        F.count("closed_s").alias("closed_sessions"),
        F.count_distinct(F.when(F.col("open_s").isNotNull(), F.col("user_pseudo_id"))).alias("open_users"),
        F.count_distinct(F.when(F.col("closed_s").isNotNull(), F.col("user_pseudo_id"))).alias(
            "closed_users"
        ),
        F.median("open_s").alias("median_seconds_to_stage_open"),
        F.median("closed_s").alias("median_seconds_to_stage_closed"),
    )
    by_stage = Window.partitionBy("event_date").orderBy("stage_order")
    first_stage = Window.partitionBy("event_date")
    prev_open = F.lag("open_sessions").over(by_stage)
    prev_closed = F.lag("closed_sessions").over(by_stage)
    all_sessions = F.max(F.when(F.col("stage_order") == 1, F.col("open_sessions"))).over(first_stage)
    return agg.select(
        F.col("event_date"),
        F.col("stage_order").cast("int").alias("stage_order"),
        F.col("stage"),
        F.col("open_sessions"),
        F.col("closed_sessions"),
        F.col("open_users"),
        F.col("closed_users"),
        ratio(F.col("open_sessions"), prev_open).alias("open_step_conversion"),
        ratio(F.col("open_sessions"), all_sessions).alias("open_overall_conversion"),
        ratio(F.col("closed_sessions"), prev_closed).alias("closed_step_conversion"),
        ratio(F.col("closed_sessions"), all_sessions).alias("closed_overall_conversion"),
        F.col("median_seconds_to_stage_open"),
        F.col("median_seconds_to_stage_closed"),
    )


def _full(f: FullInputs) -> DataFrame:
    return agg_funnel_daily(f.prepared, f.project.funnel.stages)


def _delta(d: DeltaInputs) -> GoldDelta:
    """A session belongs to its start date: the session range's days, from whole sessions."""
    rows = agg_funnel_daily(d.s_window, d.project.funnel.stages).where(in_window(d.s_lo, d.s_hi))
    return GoldDelta(rows, "event_date", d.dates("event_date", d.s_days))


TABLES = (
    TableSpec(
        "agg_funnel_daily",
        ("event_date", "stage"),
        "event_date",
        "open and closed e-commerce funnel per session start date and stage",
        scope_column="event_date",
        full=_full,
        delta=_delta,
    ),
)
