"""Row-count parity of the PostgreSQL gold tables against dbt-ga4's logic, computed by Trino from the lake.

dbt-ga4 only runs on BigQuery, so the reference is its logic (docs/semantics.md#row-count-parity) written as
Trino SQL over the lake's raw export rows (``trino/parity/``) — an independent second implementation
in a different engine. For each model one federated Trino query puts the reference count (catalog
``iceberg``, the lake branch gold was synced from) next to the gold table's count in PostgreSQL
(catalog ``postgresql``). Every run is stored in ``<gold schema>.parity_results``.
"""

from __future__ import annotations

import dataclasses
import math
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from ga4lake import pgroles
from ga4lake.clients.trino import Connector
from ga4lake.config import REPO_ROOT, Settings, int_setting, load_env
from ga4lake.project import DEFAULTS, Project, project_of, query_parameter_pattern
from ga4lake.sqlident import check_identifier
from ga4lake.validate import reference_cache
from ga4lake.validate.reference_cache import ReferenceCache

PARITY_DIR = REPO_ROOT / "trino" / "parity"
DEFAULT_THRESHOLD_PCT = 0.5
THRESHOLD_ENV = "GA4LAKE_PARITY_THRESHOLD_PCT"
WORKERS_ENV = "GA4LAKE_PARITY_WORKERS"
RESULTS_TABLE = "parity_results"

_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


@dataclass(frozen=True)
class ParityModel:
    """A reference (``reference/<model>.sql``) and the gold query it is compared with (``gold/<query>.sql``,
    by default the gold table's row count ``gold/<table>.sql``)."""

    model: str
    gold_table: str
    origin: str  # "dbt-ga4": a model of the package; "ga4lake": a gold-only table, rule documented in its SQL
    query: str = ""  # a value check: the gold SQL file's stem, e.g. ``fact_sessions.engaged_sessions``

    @property
    def gold_query(self) -> str:
        return self.query or self.gold_table

    @property
    def measure(self) -> str:
        """What is compared: ``rows``, or the measure of a value check (the part after the dot)."""
        return self.model.split(".", 1)[1] if "." in self.model else "rows"


PARITY_MODELS: tuple[ParityModel, ...] = (
    ParityModel("stg_ga4__events", "fact_events", "dbt-ga4"),
    ParityModel("fct_ga4__sessions", "fact_sessions", "dbt-ga4"),
    ParityModel("fct_ga4__sessions_daily", "fact_session_days", "dbt-ga4"),
    ParityModel("stg_ga4__sessions_traffic_sources", "dim_traffic_source", "dbt-ga4"),
    ParityModel("fct_ga4__pages", "agg_page_daily", "dbt-ga4"),
    ParityModel("dim_ga4__client_keys", "dim_user", "dbt-ga4"),
    ParityModel("ga4lake__pages", "dim_page", "ga4lake"),
    ParityModel("ga4lake__funnel_daily", "agg_funnel_daily", "ga4lake"),
    ParityModel("ga4lake__retention_daily", "agg_retention_daily", "ga4lake"),
    ParityModel("ga4lake__traffic_sources_daily", "agg_traffic_source_daily", "ga4lake"),
    ParityModel("ga4lake__event_items", "fact_items", "ga4lake"),
    ParityModel("ga4lake__items_daily", "agg_item_daily", "ga4lake"),
)

# Value checks: measures users read, summed over the range, against the same independent reference. Row
# counts alone pass a wrong engagement flag, a lost page view or a doubled order; these do not.
VALUE_CHECKS: tuple[ParityModel, ...] = (
    ParityModel(
        "fct_ga4__sessions.engaged_sessions", "fact_sessions", "dbt-ga4", "fact_sessions.engaged_sessions"
    ),
    ParityModel("fct_ga4__pages.page_views", "agg_page_daily", "dbt-ga4", "agg_page_daily.page_views"),
    ParityModel("ga4lake__transactions.orders", "fact_sessions", "ga4lake", "fact_sessions.transactions"),
    ParityModel(
        "ga4lake__transactions.revenue_cents", "fact_sessions", "ga4lake", "fact_sessions.revenue_cents"
    ),
    ParityModel(
        "stg_ga4__sessions_traffic_sources.channel_weighted_sessions",
        "fact_sessions",
        "dbt-ga4",
        "fact_sessions.channel_weighted_sessions",
    ),
    ParityModel(
        "fct_ga4__sessions.landing_page_sessions_sq",
        "fact_sessions",
        "dbt-ga4",
        "fact_sessions.landing_page_sessions_sq",
    ),
    ParityModel(
        "ga4lake__retention_daily.returning_d1_d7",
        "agg_retention_daily",
        "ga4lake",
        "agg_retention_daily.returning_d1_d7",
    ),
)

CHECKS: tuple[ParityModel, ...] = PARITY_MODELS + VALUE_CHECKS

_ORIGIN = {pm.model: pm.origin for pm in CHECKS}


@dataclass
class ParityRow:
    model: str
    gold_table: str
    reference_rows: int | None
    gold_rows: int | None
    delta_pct: float | None
    passed: bool
    seconds: float = 0.0
    error: str | None = None


@dataclass
class ParityReport:
    run_id: str
    ran_at: datetime
    start: date
    end: date
    threshold_pct: float
    mode: (
        str  # "federated" (one Trino query per model), "split" (gold counted in PostgreSQL directly), "lake"
    )
    rows: list[ParityRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.rows) and all(r.passed for r in self.rows)

    @property
    def failed(self) -> list[ParityRow]:
        return [r for r in self.rows if not r.passed]


# -- pure parts -------------------------------------------------------------------------------------------


def default_threshold(env: dict[str, str] | None = None) -> float:
    raw = (env if env is not None else load_env()).get(THRESHOLD_ENV, "")
    return float(raw) if raw.strip() else DEFAULT_THRESHOLD_PCT


def render(template: str, values: dict[str, str]) -> str:
    """Fill ``{name}`` placeholders; every placeholder in the template must be given a value."""
    missing = sorted({m for m in _PLACEHOLDER.findall(template) if m not in values})
    if missing:
        raise KeyError(f"no value for placeholder(s) {', '.join(missing)}")
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def _read(relative: str, parity_dir: Path) -> str:
    return (parity_dir / relative).read_text().strip().rstrip(";")


def sql_values(start: date, end: date, pg_schema: str) -> dict[str, str]:
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    return {"start": start.isoformat(), "end": end.isoformat(), "pg_schema": check_identifier(pg_schema)}


def url_cleaning_sql(project: Project, column: str = "original_page_location") -> str:
    """The Trino expression that strips ga4lake.yml's ``urls.strip_query_params`` from ``column``: the
    same regular expression and replacement gold uses (``project.query_parameter_pattern``). The names
    were validated on load (letters, digits, ``_ . ~ - [ ]``), so the literal needs no quoting beyond this."""
    pattern = query_parameter_pattern(project.urls.strip_query_params)
    if pattern is None:
        return column
    regex, replacement = (p.replace("'", "''") for p in pattern)
    return f"regexp_replace({column}, '{regex}', '{replacement}')"


def retention_activity_sql(project: Project) -> str:
    """The reference's ``(user_pseudo_id, active_date)`` rows under ga4lake.yml's ``retention.return_on``:
    the start date of each session (the date of its first event) for ``session_start``, every date with
    an event for ``any_event`` — the rule gold's agg_retention_daily applies (retention.activity)."""
    if project.retention.return_on == "any_event":
        return (
            "    SELECT DISTINCT user_pseudo_id, event_date_dt AS active_date\n"
            "    FROM export_events\n"
            "    WHERE user_pseudo_id IS NOT NULL"
        )
    return (
        "    SELECT user_pseudo_id, min(event_date_dt) AS active_date\n"
        "    FROM export_events\n"
        "    WHERE user_pseudo_id IS NOT NULL AND session_key IS NOT NULL\n"
        "    GROUP BY session_key, user_pseudo_id"
    )


#: The default channel groups in the order of dbt-ga4's rule list: a channel's weight in the channel value
#: check is its position (1-based); any other name weighs 100.
CHANNEL_ORDER: tuple[str, ...] = (
    "Direct",
    "Cross-network",
    "Paid Shopping",
    "Paid Search",
    "Paid Social",
    "Paid Video",
    "Display",
    "Paid Other",
    "Organic Shopping",
    "Organic Social",
    "Organic Video",
    "Organic Search",
    "Referral",
    "Email",
    "Affiliates",
    "Audio",
    "SMS",
    "Mobile Push Notifications",
    "Unassigned",
)


def channel_weights_sql() -> str:
    """``VALUES ('Direct', 1), …``: the channel weights, one relation both engines read alike, so the
    reference and the gold query weigh with one list."""
    return "VALUES " + ", ".join(f"('{name}', {i})" for i, name in enumerate(CHANNEL_ORDER, 1))


def gold_values(values: dict[str, str]) -> dict[str, str]:
    """What a gold/<query>.sql is rendered with: the range and schema, plus the channel weights."""
    return {**values, "channel_weights": channel_weights_sql()}


def reference_values(
    values: dict[str, str], project: Project = DEFAULTS, parity_dir: Path = PARITY_DIR
) -> dict[str, str]:
    """What a reference/<model>.sql is rendered with: the range, plus the shared session attribution and
    the project's rules some value checks need (retention's active days, the source categories)."""
    return {
        **gold_values(values),
        **project_values(project),
        "session_attribution": _read("session_attribution.sql", parity_dir),
        "retention_active_days": retention_activity_sql(project),
    }


def source_category_map_sql(project: Project) -> str:
    """The project's source -> category mapping (built-in list plus ga4lake.yml's
    ``channels.source_categories_csv``) as a Trino ``MAP`` literal: the same dict gold's channel rules read
    (``Project.channels.source_categories``). ``element_at({source_category_map}, source)`` is NULL for an
    unknown source, like gold's lookup. The loader refused quotes and backslashes in sources."""
    categories = project.channels.source_categories
    keys = ", ".join(f"'{k}'" for k in categories)
    values = ", ".join(f"'{v}'" for v in categories.values())
    return f"MAP(ARRAY[{keys}], ARRAY[{values}])" if categories else "MAP()"


def project_values(project: Project) -> dict[str, str]:
    """Placeholders a reference query may use for the project's modelling rules (ga4lake.yml), so the
    reference reads the configuration gold was built with rather than a copy of it:

    * ``{source_category_map}``: the source -> category ``MAP`` (:func:`source_category_map_sql`);
    * ``{funnel_stages}``: ``funnel.stages`` as an ``ARRAY['session_start', …]`` literal, in order;
    * ``{funnel_stage_count}``: how many stages;
    * ``{conversion_events}``: ``conversions.events`` as an ``ARRAY[…]`` literal (``ARRAY[]`` when none).

    Event names were validated on load (letters, digits, ``_``), so they need no quoting."""
    stages = ", ".join(f"'{s}'" for s in project.funnel.stages)
    events = ", ".join(f"'{e}'" for e in project.conversions.events)
    return {
        "source_category_map": source_category_map_sql(project),
        "funnel_stages": f"ARRAY[{stages}]",
        "funnel_stage_count": str(len(project.funnel.stages)),
        "conversion_events": f"ARRAY[{events}]",
    }


def project_notes(project: Project) -> list[str]:
    """Report notes for settings the references do not follow: ``attribution.source: ga4_last_click``
    (dbt-ga4 has no such rule, so the traffic-source references keep the first non-direct event)."""
    if project.attribution.source == DEFAULTS.attribution.source:
        return []
    return [
        f"ga4lake.yml attribution.source is {project.attribution.source}: gold's session sources follow "
        "GA4's last click where the export has it, the references dbt-ga4's rule (docs/configuration.md)"
    ]


def export_values(pm: ParityModel, values: dict[str, str], project: Project = DEFAULTS) -> dict[str, str]:
    """What export_events is rendered with: the range it reads and the project's URL rule. A value check
    reads one day more at the front, so it can tell a session that started before the range (gold dates
    it there) from one that starts in it."""
    out = {**values, "page_location_cleaned": url_cleaning_sql(project)}
    if pm.measure == "rows":
        return out
    before = date.fromisoformat(values["start"]) - timedelta(days=1)
    return {**out, "start": before.isoformat()}


def reference_sql(
    pm: ParityModel, start: date, end: date, parity_dir: Path = PARITY_DIR, project: Project = DEFAULTS
) -> str:
    """The reference count alone (Trino, lake only)."""
    values = sql_values(start, end, "unused")
    base = render(_read("export_events.sql", parity_dir), export_values(pm, values, project))
    reference = render(
        _read(f"reference/{pm.model}.sql", parity_dir), reference_values(values, project, parity_dir)
    )
    return f"WITH export_events AS (\n{base}\n),\n\nreference AS (\n{reference}\n)\n\nSELECT reference_rows FROM reference"


def gold_sql(pm: ParityModel, start: date, end: date, pg_schema: str, parity_dir: Path = PARITY_DIR) -> str:
    """The gold count in Trino SQL (``postgresql.<schema>.<table>``)."""
    return render(
        _read(f"gold/{pm.gold_query}.sql", parity_dir), gold_values(sql_values(start, end, pg_schema))
    )


def gold_sql_postgres(
    pm: ParityModel, start: date, end: date, pg_schema: str, parity_dir: Path = PARITY_DIR
) -> str:
    """The same gold count run in PostgreSQL itself (the queries use only SQL both engines share)."""
    return gold_sql(pm, start, end, pg_schema, parity_dir).replace(
        f"postgresql.{pg_schema}.", f"{pg_schema}."
    )


def compare_sql(
    pm: ParityModel,
    start: date,
    end: date,
    pg_schema: str,
    parity_dir: Path = PARITY_DIR,
    project: Project = DEFAULTS,
) -> str:
    """The federated query: reference (lake) and gold (PostgreSQL) counts of one model in one statement."""
    values = sql_values(start, end, pg_schema)
    parts = {
        **values,
        "export_events": render(_read("export_events.sql", parity_dir), export_values(pm, values, project)),
        "reference": render(
            _read(f"reference/{pm.model}.sql", parity_dir), reference_values(values, project, parity_dir)
        ),
        "gold": render(_read(f"gold/{pm.gold_query}.sql", parity_dir), gold_values(values)),
        "model": pm.model,
        "gold_table": pm.gold_table,
    }
    # fill the frame first, then the (already rendered) parts: their text is never re-scanned
    return render(_read("compare.sql", parity_dir), parts)


def delta_pct(reference_rows: int, gold_rows: int) -> float:
    """100 * (gold - reference) / reference; 0 when both are 0, infinite when only the reference is 0."""
    if reference_rows == 0:
        return 0.0 if gold_rows == 0 else math.inf
    return 100.0 * (gold_rows - reference_rows) / reference_rows


def make_row(
    pm: ParityModel, reference_rows: int, gold_rows: int, threshold_pct: float, seconds: float = 0.0
) -> ParityRow:
    d = delta_pct(int(reference_rows), int(gold_rows))
    return ParityRow(
        pm.model, pm.gold_table, int(reference_rows), int(gold_rows), d, abs(d) <= threshold_pct, seconds
    )


def error_row(pm: ParityModel, message: str, seconds: float = 0.0) -> ParityRow:
    return ParityRow(pm.model, pm.gold_table, None, None, None, False, seconds, message)


def select_models(names: Iterable[str] | None) -> list[ParityModel]:
    """Every check (row counts, then values), or those named: a model name selects its check, a gold table
    name every check of that table."""
    if not names:
        return list(CHECKS)
    wanted = list(names)
    known = {p.model for p in CHECKS} | {p.gold_table for p in CHECKS}
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise ValueError(f"unknown parity model(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    picked: list[ParityModel] = []
    for name in wanted:
        picked += [p for p in CHECKS if name in (p.model, p.gold_table) and p not in picked]
    return picked


def _num(v: int | None) -> str:
    return "-" if v is None else f"{v:,}"


def _pct(v: float | None) -> str:
    if v is None:
        return "-"
    return "inf" if math.isinf(v) else f"{v:+.3f}"


def format_report(report: ParityReport) -> str:
    """The parity table plus one readable line per failing table."""
    how = {
        "federated": "one federated Trino query per model",
        "lake": "gold tables of the lake branch, before publishing",
    }.get(report.mode, "Trino for the lake, PostgreSQL directly for gold")
    header = ["model", "gold table", "reference rows", "gold rows", "Δ %", "result", "s"]
    cells = [
        [
            r.model,
            r.gold_table,
            _num(r.reference_rows),
            _num(r.gold_rows),
            _pct(r.delta_pct),
            "pass" if r.passed else ("ERROR" if r.error else "FAIL"),
            f"{r.seconds:.1f}",
        ]
        for r in report.rows
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(header)]
    right = {2, 3, 4, 6}

    def line(vals: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if i in right else v.ljust(w)
            for i, (v, w) in enumerate(zip(vals, widths, strict=True))
        )

    out = [
        f"parity {report.start} .. {report.end}  (threshold ±{report.threshold_pct:g} %, {how}; "
        f"run {report.run_id})",
        line(header),
        "  ".join("-" * w for w in widths),
        *(line(c) for c in cells),
    ]
    for r in report.failed:
        if r.error:
            out.append(f"  ERROR {r.gold_table} ({r.model}): {r.error}")
        else:
            diff = (r.gold_rows or 0) - (r.reference_rows or 0)
            what = "more" if diff > 0 else "fewer"
            origin = _ORIGIN.get(r.model, "dbt-ga4")
            base, _, measure = r.model.partition(".")
            ref = f"dbt-ga4's {base} logic" if origin == "dbt-ga4" else f"the reference rule {base}"
            out.append(
                f"  FAIL {r.gold_table}: gold has {abs(diff):,} {what} {measure or 'rows'} than {ref} "
                f"({_pct(r.delta_pct)} %, allowed ±{report.threshold_pct:g} %)"
            )
    out.extend(f"  note: {n}" for n in report.notes)
    verdict = "passed" if report.passed else f"FAILED ({len(report.failed)} of {len(report.rows)} tables)"
    out.append(f"parity {verdict}")
    return "\n".join(out) + "\n"


# -- running against the stack -----------------------------------------------------------------------------


def _trino(
    settings: Settings, connector: Connector | None = None
) -> Callable[..., tuple[list[str], list[tuple[Any, ...]]]]:
    """Run Trino SQL on the settings' lake branch; ``connector`` says where the connection comes from
    (default: the settings' Trino; an Airflow task passes its ``ga4lake_trino`` connection's)."""
    from ga4lake.clients.trino import run_sql

    ref = settings.lake_branch if settings.lake_branch != "main" else None
    return lambda sql: run_sql(settings, sql, ref=ref, connector=connector)


def lake_date_range(settings: Settings, connector: Connector | None = None) -> tuple[date, date]:
    """First and last export shard date in the lake's bronze (what the references read)."""
    _, rows = _trino(settings, connector)("SELECT min(_shard_date), max(_shard_date) FROM bronze.events")
    if not rows or rows[0][0] is None:
        raise RuntimeError(f"bronze.events on branch {settings.lake_branch} is empty: nothing to validate")
    return _as_date(rows[0][0]), _as_date(rows[0][1])


def _as_date(v: Any) -> date:
    return v if isinstance(v, date) else date.fromisoformat(str(v))


def postgresql_catalog_problem(settings: Settings, connector: Connector | None = None) -> str | None:
    """None when Trino's ``postgresql`` catalog answers, else why not."""
    try:
        _trino(settings, connector)("SELECT 1 FROM postgresql.information_schema.schemata LIMIT 1")
    except Exception as exc:  # trino.exceptions.TrinoQueryError and connection errors
        return getattr(exc, "message", None) or str(exc)
    return None


def _pg_connect(settings: Settings):
    import psycopg2

    return psycopg2.connect(settings.pg_dsn())


def grant_trino(settings: Settings, pg_schema: str) -> None:
    """Let Trino's role read the gold tables of ``pg_schema`` (a copy made by hand or by a test has none
    of the sync's grants); it gets nothing else there."""
    tables = {pm.gold_table for pm in PARITY_MODELS}
    conn = _pg_connect(settings)
    try:
        with conn, conn.cursor() as cur:
            pgroles.ensure_roles(cur)
            pgroles.grant_connect(cur, settings.pg_gold_db)
            pgroles.grant_schema(cur, pg_schema, tables, roles=(pgroles.TRINO_ROLE,))
    finally:
        conn.close()


def existing_gold_tables(settings: Settings, pg_schema: str) -> set[str]:
    conn = _pg_connect(settings)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (pg_schema,)
            )
            return {r[0] for r in cur.fetchall()}
    finally:
        conn.close()


def run_parity(
    settings: Settings,
    start: date | None = None,
    end: date | None = None,
    threshold_pct: float | None = None,
    models: Iterable[str] | None = None,
    *,
    pg_schema: str | None = None,
    store: bool = True,
    progress: Callable[[str], None] | None = None,
    parity_dir: Path = PARITY_DIR,
    gold_source: str = "postgresql",
    branch: str | None = None,
    connector: Connector | None = None,
) -> ParityReport:
    """Compare every gold table (or ``models``) with its reference over [start, end] (default: all of
    bronze) and store the run in ``<gold schema>.parity_results``.

    ``gold_source="lake"`` counts the gold Iceberg tables of the lake branch instead of PostgreSQL: the
    pre-publish gate of a load, before anything is synced. ``branch``: read the lake (bronze, and gold
    with ``gold_source="lake"``) on this Nessie branch instead of the settings' lake branch.
    ``connector``: where the Trino connections come from (default: the settings' Trino and user; the
    Airflow validation DAG passes its ``ga4lake_trino`` connection's).

    The run measures (:func:`measure`: the queries, on Trino and PostgreSQL) and then judges
    (:func:`judge`: pure, counts to pass/fail), so the rule can be tested without a stack."""
    if gold_source not in ("postgresql", "lake"):
        raise ValueError(f"gold_source must be postgresql or lake, got {gold_source!r}")
    if branch is not None:
        settings = dataclasses.replace(settings, lake_branch=branch)
    schema = check_identifier(pg_schema or settings.pg_gold_schema)
    threshold = default_threshold() if threshold_pct is None else float(threshold_pct)
    if start is None or end is None:
        lo, hi = lake_date_range(settings, connector)
        start, end = start or lo, end or hi
    mode, notes = _choose_mode(settings, schema, gold_source, connector)
    report = _new_report(start, end, threshold, mode, notes)
    checks = select_models(models)
    tables = (
        {pm.gold_table for pm in checks} if gold_source == "lake" else existing_gold_tables(settings, schema)
    )
    run = _Run(settings, start, end, schema, report.mode, parity_dir, project_of(settings), connector)
    report.notes.extend(project_notes(run.project))
    measured = measure(run, checks, tables, progress)
    report.rows = judge(checks, measured, tables, threshold, schema)
    reused = sum(m.reused for m in measured.values())
    if reused:
        report.notes.append(
            f"reference counts of {reused} model(s) reused from an earlier run over the same bronze content "
            "(the load's pre-publish gate); gold counted in PostgreSQL"
        )
    if store:
        store_report(settings, report, schema)
    return report


def _new_report(start: date, end: date, threshold: float, mode: str, notes: list[str]) -> ParityReport:
    """An empty report with a run id that sorts by time and cannot collide between runs of one second."""
    return ParityReport(
        run_id=datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6],
        ran_at=datetime.now(UTC),
        start=start,
        end=end,
        threshold_pct=threshold,
        mode=mode,
        notes=list(notes),
    )


def _choose_mode(
    settings: Settings, schema: str, gold_source: str, connector: Connector | None = None
) -> tuple[str, list[str]]:
    """How gold is counted, and a note when it is not the usual way.

    ``lake``: gold Iceberg tables through Trino (nothing in PostgreSQL to grant or probe). Otherwise Trino
    is granted the gold tables and its ``postgresql`` catalog is probed: ``federated`` when it answers,
    else ``split`` (gold counted in PostgreSQL directly), so a broken catalog does not stop the check."""
    if gold_source == "lake":
        return "lake", []
    grant_trino(settings, schema)
    problem = postgresql_catalog_problem(settings, connector)
    if not problem:
        return "federated", []
    return "split", [
        f"Trino's postgresql catalog is unavailable ({problem}); gold counts were read from PostgreSQL "
        "directly and compared in Python"
    ]


# -- measuring: the queries ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measurement:
    """What one check's queries returned: the two counts as the engines gave them, or why they could not
    be read (``error``: the first line of the engine's message). ``reused``: the reference count came from
    the cache of an earlier run over the same bronze content."""

    reference_rows: Any = None
    gold_rows: Any = None
    seconds: float = 0.0
    error: str | None = None
    reused: bool = False


@dataclass(frozen=True)
class _Run:
    """What every query of one run shares: where to read, the range, and the ga4lake.yml the reference
    applies (the same one gold was built with)."""

    settings: Settings
    start: date
    end: date
    schema: str
    mode: str
    parity_dir: Path
    project: Project
    connector: Connector | None = None  # where Trino connections come from (None: the settings')


def measure(
    run: _Run,
    checks: Sequence[ParityModel],
    tables: set[str],
    progress: Callable[[str], None] | None = None,
    workers: int | None = None,
) -> dict[str, Measurement]:
    """Run each check's queries (checks whose gold table is missing are left to :func:`judge`), keyed by
    model. One broken query must not hide the other tables' results, so its error is recorded instead.
    Reference counts are cached once bronze held still during the run (the load's gate reads the same
    bronze again when it publishes).

    ``workers`` (default ``GA4LAKE_PARITY_WORKERS``) checks run at once, so a Trino with more cores than
    one small query uses is kept busy (on the 2-core CI machine it is a wash: docs/validation.md). The first
    check runs alone, so a per-load ``ref_`` catalog is created once, not raced."""
    trino = _trino(run.settings, run.connector)
    cache = ReferenceCache.for_settings(run.settings) if reference_cache.enabled() else None
    bronze = reference_cache.bronze_version(run.settings) if cache else None
    todo = [pm for pm in checks if pm.gold_table in tables]

    def one(pm: ParityModel) -> tuple[Measurement, str]:
        t0 = time.monotonic()
        if progress:
            progress(f"parity {pm.model} -> {run.schema}.{pm.gold_table} ...")
        ref_sql = reference_sql(pm, run.start, run.end, run.parity_dir, run.project)
        cached = cache.get(bronze, ref_sql) if cache and run.mode != "lake" else None
        try:
            ref_rows, gold_rows = _counts(run, trino, pm, ref_sql, cached)
        except Exception as exc:  # trino.exceptions.TrinoQueryError, psycopg2 errors, a malformed answer
            msg = getattr(exc, "message", None) or str(exc)
            error = (msg.splitlines() or [""])[0][:300]
            return Measurement(error=error, seconds=time.monotonic() - t0), ref_sql
        return Measurement(ref_rows, gold_rows, time.monotonic() - t0, reused=cached is not None), ref_sql

    results: dict[str, tuple[Measurement, str]] = {}
    if todo:
        results[todo[0].model] = one(todo[0])
    n = max(1, workers if workers is not None else parity_workers())
    with ThreadPoolExecutor(max_workers=n, thread_name_prefix="parity") as pool:
        for pm, result in zip(todo[1:], pool.map(one, todo[1:]), strict=True):
            results[pm.model] = result
    # reference counts this run computed (not errors, not cache hits) are what the cache may keep
    computed = {
        model: (sql, int(m.reference_rows))
        for model, (m, sql) in results.items()
        if m.error is None and not m.reused and m.reference_rows is not None
    }
    if cache and computed and bronze is not None and reference_cache.bronze_version(run.settings) == bronze:
        for model, (ref_sql, rows) in computed.items():
            cache.put(bronze, ref_sql, rows, model)
    return {model: m for model, (m, _) in results.items()}


def parity_workers(env: dict[str, str] | None = None) -> int:
    """How many parity checks run at once (``GA4LAKE_PARITY_WORKERS``, at least 1)."""
    return max(1, int_setting(WORKERS_ENV, env))


def _counts(
    run: _Run,
    trino: Callable[..., tuple[list[str], list[tuple[Any, ...]]]],
    pm: ParityModel,
    ref_sql: str,
    cached: int | None,
) -> tuple[Any, Any]:
    """The reference and gold counts of one check, by the run's mode; a cached reference only needs gold
    counted (in PostgreSQL)."""
    r = run  # short: every query below reads the run's range, schema and SQL files
    if cached is not None:
        return cached, _pg_count(r.settings, gold_sql_postgres(pm, r.start, r.end, r.schema, r.parity_dir))
    if r.mode == "split":
        _, rows = trino(ref_sql)
        gold = _pg_count(r.settings, gold_sql_postgres(pm, r.start, r.end, r.schema, r.parity_dir))
        return rows[0][0], gold
    sql = compare_sql(pm, r.start, r.end, r.schema, r.parity_dir, r.project)
    if r.mode == "lake":  # the same statement, gold read from the lake branch's gold namespace
        sql = sql.replace(f"postgresql.{r.schema}.", "gold.")
    _, rows = trino(sql)
    _, _, ref_rows, gold_rows = rows[0]
    return ref_rows, gold_rows


# -- judging: counts to pass/fail ---------------------------------------------------------------------------


def judge(
    checks: Sequence[ParityModel],
    measured: Mapping[str, Measurement],
    tables: set[str],
    threshold_pct: float,
    schema: str,
) -> list[ParityRow]:
    """One result row per check, in the checks' order (pure: no queries).

    A check passes when |gold - reference| / reference is at most ``threshold_pct`` percent (see
    :func:`delta_pct` for empty sides). A missing gold table, a failed query or a count that did not come
    back is an error row, which fails: a check that could not be measured never passes."""
    rows: list[ParityRow] = []
    for pm in checks:
        m = measured.get(pm.model)
        if pm.gold_table not in tables:
            rows.append(error_row(pm, f"table {schema}.{pm.gold_table} does not exist in PostgreSQL"))
        elif m is None:
            rows.append(error_row(pm, "not measured"))
        elif m.error is not None:
            rows.append(error_row(pm, m.error, m.seconds))
        elif m.reference_rows is None or m.gold_rows is None:
            side = "reference" if m.reference_rows is None else "gold"
            rows.append(error_row(pm, f"the {side} query returned no count", m.seconds))
        else:
            rows.append(make_row(pm, m.reference_rows, m.gold_rows, threshold_pct, m.seconds))
    return rows


def _pg_count(settings: Settings, sql: str) -> int:
    conn = _pg_connect(settings)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return int(cur.fetchone()[0])
    finally:
        conn.close()


RESULTS_DDL = """CREATE TABLE IF NOT EXISTS {schema}.{table} (
    run_id text NOT NULL,
    ran_at timestamptz NOT NULL,
    model text NOT NULL,
    gold_table text NOT NULL,
    reference_rows bigint,
    gold_rows bigint,
    delta_pct double precision,
    passed boolean NOT NULL,
    threshold_pct double precision NOT NULL,
    start_date date NOT NULL,
    end_date date NOT NULL,
    seconds double precision,
    mode text,
    error text,
    PRIMARY KEY (run_id, model)
)"""


def store_report(settings: Settings, report: ParityReport, pg_schema: str) -> None:
    """Append the run to ``<schema>.parity_results`` (created on first use)."""
    schema = check_identifier(pg_schema)
    conn = _pg_connect(settings)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            cur.execute(RESULTS_DDL.format(schema=schema, table=RESULTS_TABLE))
            pgroles.ensure_roles(cur)
            pgroles.grant_parity_results(cur, schema)
            for r in report.rows:
                cur.execute(
                    f"""INSERT INTO {schema}.{RESULTS_TABLE} (run_id, ran_at, model, gold_table, reference_rows,
                        gold_rows, delta_pct, passed, threshold_pct, start_date, end_date, seconds, mode, error)
                        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                    (
                        report.run_id,
                        report.ran_at,
                        r.model,
                        r.gold_table,
                        r.reference_rows,
                        r.gold_rows,
                        None if r.delta_pct is None or math.isinf(r.delta_pct) else r.delta_pct,
                        r.passed,
                        report.threshold_pct,
                        report.start,
                        report.end,
                        round(r.seconds, 3),
                        report.mode,
                        r.error,
                    ),
                )
    finally:
        conn.close()
