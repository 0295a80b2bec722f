"""A load, end to end, above the layers it drives: ``lake`` (landing, bronze, silver), ``gold`` (the models
and their PostgreSQL sync) and ``validate`` (the parity gate). docs/architecture.md draws the packages.

Write–audit–publish: every table of a load is written on a branch named after the load; audits read the
branch back; only when all pass is the branch merged into its target (one atomic Nessie merge of every
table) and deleted. A failing audit, an exception or a killed process leaves the target untouched and the
branch kept for inspection (``ga4lake branches``).

This module is the one ordered list of a load's steps. It is stdlib only: the Airflow virtualenv imports
it (the DAGs name their tasks' steps from it); the steps themselves are :mod:`ga4lake.load.steps`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    """One step of a load: the plan phase it needs and the phase it leaves (``ga4lake load <name>``)."""

    name: str
    needs: str
    done: str
    timing: str  # its key in a load's ``seconds`` (the one-process ``ga4lake ingest``)


# `open` lands the files and creates the branch (phase "landed"); then, in this order:
STEPS: tuple[Step, ...] = (
    Step("bronze", needs="landed", done="bronze", timing="bronze"),
    Step("silver", needs="bronze", done="silver", timing="silver"),
    Step("gold", needs="silver", done="gold", timing="gold"),
    Step("publish", needs="gold", done="published", timing="audit_publish"),
    Step("sync", needs="published", done="synced", timing="postgres_sync"),
)
STEP_NAMES: tuple[str, ...] = tuple(s.name for s in STEPS)
# the load branch exists and the target is not yet merged
OPEN_PHASES: tuple[str, ...] = (
    "landed",
    *(s.done for s in STEPS if s.name != "publish" and s.name != "sync"),
)


def step(name: str) -> Step:
    """The step called ``name`` (a typo fails here, not in a subprocess)."""
    for s in STEPS:
        if s.name == name:
            return s
    raise KeyError(f"no load step {name!r}; the steps are {', '.join(STEP_NAMES)}")


def step_args(name: str, load_id: str) -> list[str]:
    """The ``ga4lake`` arguments that run step ``name`` of load ``load_id`` (what an Airflow task runs)."""
    return ["load", step(name).name, load_id]
