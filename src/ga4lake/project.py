"""The project configuration file ``ga4lake.yml``: the modelling choices dbt-ga4 exposes as vars.

Settings that say *where* things run live in ``config/defaults.env`` (``ga4lake.config``); this file says
*how the data is modelled* — the attribution look-back, which query parameters are stripped from URLs —
and gold, the parity reference and the docs all read it through :func:`load_project`, so they cannot
disagree. A missing file means every default, and every default equals the rule gold used before the
file existed, so a checkout without one builds the same gold. Validation is strict: a misspelt key would
otherwise be ignored silently and the build would run with a default the user thought they had changed,
so an unknown key, a wrong type or an out-of-range value is a :class:`~ga4lake.errors.UserError` naming
the file and the key path (docs/configuration.md).

The reader is ``yaml.safe_load`` in the edges that start a build or a parity run; the gold transforms
receive plain values (``lookback_days``, ``strip_query_params``) as arguments and never read this file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import yaml

from ga4lake.config import Settings
from ga4lake.errors import UserError
from ga4lake.source_categories import SOURCE_CATEGORIES, load_source_categories

#: dbt-ga4 ``session_attribution_lookback_window_days`` default (docs/semantics.md#last-non-direct-look-back).
DEFAULT_LOOKBACK_DAYS = 30
#: GA4's own limit on a look-back window is 90 days; a longer window would only widen every incremental
#: rebuild of dim_traffic_source (its scope reaches the window past the loaded days).
MAX_LOOKBACK_DAYS = 365

#: Click-id query parameters stripped from page_location / page_referrer before pages are keyed (dbt-ga4
#: var ``query_parameter_exclusions``; docs/semantics.md#url-cleaning).
DEFAULT_STRIP_QUERY_PARAMS: tuple[str, ...] = (
    "gclid",
    "gclsrc",
    "dclid",
    "gbraid",
    "wbraid",
    "fbclid",
    "msclkid",
    "_gl",
)

DBT_GA4: Literal["dbt_ga4"] = "dbt_ga4"
GA4_LAST_CLICK: Literal["ga4_last_click"] = "ga4_last_click"
AttributionSource = Literal["dbt_ga4", "ga4_last_click"]

#: ``strip_query_params: all`` — drop the whole query string.
ALL: Literal["all"] = "all"

StripQueryParams = tuple[str, ...] | Literal["all"]

#: What makes a cohort member a *return* on day n of agg_retention_daily (docs/semantics.md#retention).
ReturnOn = Literal["session_start", "any_event"]
RETURN_ON_CHOICES: tuple[ReturnOn, ...] = ("session_start", "any_event")
#: dbt-ga4-like: a new session started that day; a first session running past midnight is no D1 return.
DEFAULT_RETURN_ON: ReturnOn = "session_start"

# URL-safe ("unreserved", RFC 3986) characters plus [ ]: a name is pasted into a regular expression in
# Spark and into a SQL string literal in Trino, so anything else is refused rather than escaped twice
_PARAM_NAME = re.compile(r"^[A-Za-z0-9_.~\[\]-]+$")

# GA4's event-name rule (a letter, then letters, digits, underscores; at most 40 characters): the names
# are pasted into Spark and Trino string literals and, for conversions, into a column name
_EVENT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
# a conversion's count column is ``<event>_count`` in fact_sessions and in PostgreSQL, so lower-case
_CONVERSION_EVENT = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
#: fact_sessions columns a conversion's ``<event>_count`` must not shadow
RESERVED_COUNT_COLUMNS = ("event_count", "page_view_count", "non_start_event_count")

#: dbt-ga4 var ``conversion_events`` as ga4lake counts it by default (fact_sessions.purchase_count)
DEFAULT_CONVERSION_EVENTS: tuple[str, ...] = ("purchase",)
ONCE_PER_EVENT: Literal["once_per_event"] = "once_per_event"
ONCE_PER_SESSION: Literal["once_per_session"] = "once_per_session"
Counting = Literal["once_per_event", "once_per_session"]

#: the e-commerce funnel (agg_funnel_daily), in order
DEFAULT_FUNNEL_STAGES: tuple[str, ...] = (
    "session_start",
    "page_view",
    "view_item",
    "add_to_cart",
    "begin_checkout",
    "add_shipping_info",
    "add_payment_info",
    "purchase",
)

#: the types a promoted event param can have (docs/configuration.md#params): ``int`` is a bigint
ParamType = Literal["string", "int", "double", "bool"]
PARAM_TYPES: tuple[ParamType, ...] = ("string", "int", "double", "bool")
# a promoted param becomes the fact_events column ``param_<name>`` (lake, PostgreSQL, dbt), so the name is
# a lower-case identifier; GA4 caps a param name at 40 characters
_PROMOTED_PARAM = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

# dataclass fields that are not keys of the file (derived on load)
_INTERNAL = {"internal": True}


@dataclass(frozen=True)
class Attribution:
    """How a session's traffic source is attributed (dim_traffic_source)."""

    #: a direct session inherits the latest non-direct session of the same client that started at most
    #: this many days before it (dbt-ga4 ``session_attribution_lookback_window_days``)
    lookback_days: int = DEFAULT_LOOKBACK_DAYS
    #: ``dbt_ga4``: the session's first non-direct event (dbt-ga4's rule); ``ga4_last_click``: GA4's own
    #: ``session_traffic_source_last_click`` where the export has it, dbt-ga4's rule where it does not
    source: AttributionSource = DBT_GA4


@dataclass(frozen=True)
class Urls:
    """How page and referrer URLs are cleaned before pages are keyed (fact_events, dim_page, …)."""

    #: query parameter names removed from page_location and page_referrer, or ``"all"`` for the whole
    #: query string (dbt-ga4 ``query_parameter_exclusions``)
    strip_query_params: StripQueryParams = DEFAULT_STRIP_QUERY_PARAMS


@dataclass(frozen=True)
class Users:
    """Opt-in user stitching (gold ``user_id_mapping`` and ``dim_user_stitched``; docs/privacy.md)."""

    #: map each user_pseudo_id to the latest ``user_id`` it sent and build one row per stitched person;
    #: off by default because it carries (hashed or raw) login ids into gold
    stitching: bool = False


@dataclass(frozen=True)
class Retention:
    """When a cohort member counts as returned on day n (agg_retention_daily and what reads it)."""

    #: ``session_start``: the member started a session that day (the default); ``any_event``: the member
    #: had any event that day, so a session running past midnight counts as a return the next day
    return_on: ReturnOn = DEFAULT_RETURN_ON


@dataclass(frozen=True)
class Channels:
    """The default channel grouping's source -> category mapping (docs/semantics.md#default-channel-grouping)."""

    #: a CSV with the built-in list's columns (``source,source_category``) whose rows add sources to the
    #: built-in mapping or override a built-in source's category; relative to the project file's folder
    source_categories_csv: Path | None = None
    #: the CSV's rows, read and validated on load (not a key of the file)
    csv_rows: tuple[tuple[str, str], ...] = field(default=(), metadata=_INTERNAL)

    @property
    def source_categories(self) -> dict[str, str]:
        """The mapping gold and the parity reference use: the built-in rows, then the CSV's (later wins)."""
        return {**SOURCE_CATEGORIES, **dict(self.csv_rows)}


@dataclass(frozen=True)
class Conversions:
    """Conversion events counted per session (dbt-ga4 var ``conversion_events``; fact_sessions
    ``<event>_count``)."""

    events: tuple[str, ...] = DEFAULT_CONVERSION_EVENTS
    #: ``once_per_event``: every event counts; ``once_per_session``: 1 when the session has any
    counting: Counting = ONCE_PER_EVENT


@dataclass(frozen=True)
class Funnel:
    """The stages of agg_funnel_daily, in order (docs/gold.md, agg_funnel_daily)."""

    stages: tuple[str, ...] = DEFAULT_FUNNEL_STAGES


@dataclass(frozen=True)
class Param:
    """One event param promoted to a typed fact_events column ``param_<name>``."""

    name: str
    type: ParamType

    @property
    def column(self) -> str:
        """The fact_events column; the ``param_`` prefix keeps it apart from every fixed column."""
        return f"param_{self.name}"


@dataclass(frozen=True)
class Params:
    """Custom event params promoted from silver's ``params_other`` map to typed fact_events columns."""

    #: in this order after fact_events' fixed columns; none by default (gold's schema as without the file)
    event: tuple[Param, ...] = ()


@dataclass(frozen=True)
class Project:
    """The whole file; ``source`` is where it was read from (None: no file, every default)."""

    attribution: Attribution = field(default_factory=Attribution)
    urls: Urls = field(default_factory=Urls)
    users: Users = field(default_factory=Users)
    channels: Channels = field(default_factory=Channels)
    conversions: Conversions = field(default_factory=Conversions)
    funnel: Funnel = field(default_factory=Funnel)
    retention: Retention = field(default_factory=Retention)
    params: Params = field(default_factory=Params)
    source: Path | None = field(default=None, compare=False, metadata=_INTERNAL)


DEFAULTS = Project()


def load_project(path: Path) -> Project:
    """The configuration in ``path``; every default when the file does not exist.

    Raises :class:`UserError` for unreadable YAML, an unknown key, a wrong type or an out-of-range value,
    naming the file and the key path."""
    if not path.is_file():
        return DEFAULTS
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise UserError(f"{path.name}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from exc
    except OSError as exc:
        raise UserError(f"{path}: cannot read the project file: {exc.strerror}") from exc
    return parse_project(raw, path.name, source=path)


def parse_project(raw: object, name: str = "ga4lake.yml", *, source: Path | None = None) -> Project:
    """Validate the parsed YAML document ``raw`` (``name`` prefixes every error message)."""
    if raw is None:  # an empty file (or only comments)
        return Project(source=source)
    top = _mapping(raw, name, "", Project)
    section = _section(top, name, "attribution", Attribution)
    lookback = _int_in_range(section, name, "attribution.lookback_days", 1, MAX_LOOKBACK_DAYS)
    attribution = Attribution(
        lookback_days=DEFAULT_LOOKBACK_DAYS if lookback is None else lookback,
        source=_attribution_source(section.get("source"), name),
    )
    urls_raw = _section(top, name, "urls", Urls)
    strip = urls_raw.get("strip_query_params")
    urls = Urls(DEFAULT_STRIP_QUERY_PARAMS if strip is None else _strip_query_params(strip, name))
    users_raw = _section(top, name, "users", Users)
    stitching = _bool(users_raw, name, "users.stitching")
    users = Users(stitching=bool(stitching))
    retention = Retention(return_on=_return_on(_section(top, name, "retention", Retention), name))
    base = source.parent if source is not None else Path.cwd()
    channels = _channels(_section(top, name, "channels", Channels), name, base)
    conversions = _conversions(_section(top, name, "conversions", Conversions), name)
    funnel_raw = _section(top, name, "funnel", Funnel)
    stages = funnel_raw.get("stages")
    funnel = Funnel(DEFAULT_FUNNEL_STAGES if stages is None else _funnel_stages(stages, name))
    params = _params(_section(top, name, "params", Params), name)
    return Project(
        attribution=attribution,
        urls=urls,
        users=users,
        channels=channels,
        conversions=conversions,
        funnel=funnel,
        retention=retention,
        params=params,
        source=source,
    )


def query_parameter_pattern(names: StripQueryParams) -> tuple[str, str] | None:
    """(regular expression, replacement) that strips ``names`` from a URL, None when nothing is stripped.

    A list deletes each ``<delim>name=value`` (delim one of ``& # ? |``, value up to ``? & #``); ``"all"``
    deletes the query string: from the first ``?`` before any ``#`` up to the ``#`` or the end
    (docs/semantics.md#url-cleaning). Gold applies it with Spark's regexp_replace, and the same pair is
    rendered into the Trino parity reference, whose regular expressions accept this syntax too (``$1`` is
    the group reference in both engines)."""
    if names == ALL:
        return r"^([^?#]*)\?[^#]*", "$1"
    if not names:
        return None
    alternatives = "|".join(re.escape(n) for n in names)
    return f"[&#?|](?:{alternatives})=[^?&#]*", ""


# -- validation helpers ------------------------------------------------------------------------------------


def _known(cls: type) -> list[str]:
    return [f.name for f in fields(cls) if not f.metadata.get("internal")]


def _mapping(raw: object, name: str, path: str, cls: type) -> dict[str, Any]:
    """``raw`` as a mapping with only the keys ``cls`` declares."""
    where = path or "top level"
    if not isinstance(raw, dict):
        raise UserError(f"{name}: {where}: expected a mapping of keys, got {_type(raw)}")
    known = _known(cls)
    for key in raw:
        if key not in known:
            prefix = f"{path}." if path else ""
            raise UserError(f"{name}: {prefix}{key}: unknown key; known: {', '.join(known)}")
    return raw


def _section(top: dict[str, Any], name: str, key: str, cls: type) -> dict[str, Any]:
    value = top.get(key)
    return {} if value is None else _mapping(value, name, key, cls)


def _int_in_range(section: dict[str, Any], name: str, path: str, lo: int, hi: int) -> int | None:
    """The whole number at ``path`` (its last part is the key in ``section``), None when absent."""
    value = section.get(path.rsplit(".", 1)[-1])
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise UserError(f"{name}: {path}: expected a whole number of days, got {_type(value)} {value!r}")
    if not lo <= value <= hi:
        raise UserError(f"{name}: {path}: must be between {lo} and {hi}, got {value}")
    return value


def _bool(section: dict[str, Any], name: str, path: str) -> bool | None:
    """The true/false at ``path`` (its last part is the key in ``section``), None when absent."""
    value = section.get(path.rsplit(".", 1)[-1])
    if value is None or isinstance(value, bool):
        return value
    raise UserError(f"{name}: {path}: expected true or false, got {_type(value)} {value!r}")


def _return_on(section: dict[str, Any], name: str) -> ReturnOn:
    value = section.get("return_on")
    if value is None:
        return DEFAULT_RETURN_ON
    for choice in RETURN_ON_CHOICES:
        if value == choice:
            return choice
    raise UserError(
        f"{name}: retention.return_on: expected one of {', '.join(RETURN_ON_CHOICES)}, got {_type(value)} {value!r}"
    )


def _strip_query_params(value: object, name: str) -> StripQueryParams:
    path = "urls.strip_query_params"
    if value == ALL:
        return ALL
    if isinstance(value, str):
        raise UserError(
            f"{name}: {path}: expected a list of parameter names or 'all', got the string {value!r}"
        )
    if not isinstance(value, list):
        raise UserError(f"{name}: {path}: expected a list of parameter names or 'all', got {_type(value)}")
    names: list[str] = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not _PARAM_NAME.match(item):
            raise UserError(
                f"{name}: {path}[{i}]: {item!r} is not a query parameter name "
                "(letters, digits and _ . ~ - [ ] only)"
            )
        if item in names:
            raise UserError(f"{name}: {path}[{i}]: {item!r} is listed twice")
        names.append(item)
    return tuple(names)


def _channels(section: dict[str, Any], name: str, base: Path) -> Channels:
    """``channels.source_categories_csv``: the file is read now, so a bad row stops the build before it
    starts, with the CSV's name and line."""
    path = "channels.source_categories_csv"
    value = section.get("source_categories_csv")
    if value is None:
        return Channels()
    if not isinstance(value, str) or not value.strip():
        raise UserError(f"{name}: {path}: expected the path of a CSV file, got {_type(value)} {value!r}")
    csv_path = Path(value).expanduser()
    csv_path = csv_path if csv_path.is_absolute() else base / csv_path
    if not csv_path.is_file():
        raise UserError(f"{name}: {path}: {csv_path} is not a file")
    try:
        rows = load_source_categories(csv_path)
    except ValueError as exc:  # names the CSV and its line
        raise UserError(f"{name}: {path}: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{name}: {path}: cannot read {csv_path}: {exc}") from exc
    return Channels(source_categories_csv=csv_path, csv_rows=tuple(rows.items()))


def _event_names(value: object, name: str, path: str, pattern: re.Pattern[str], rule: str) -> list[str]:
    """A list of distinct event names, each matching ``pattern`` (``rule`` says how in the error)."""
    if not isinstance(value, list):
        raise UserError(f"{name}: {path}: expected a list of event names, got {_type(value)}")
    names: list[str] = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not pattern.match(item):
            raise UserError(f"{name}: {path}[{i}]: {item!r} is not an event name ({rule})")
        if item in names:
            raise UserError(f"{name}: {path}[{i}]: {item!r} is listed twice")
        names.append(item)
    return names


def _attribution_source(value: object, name: str) -> AttributionSource:
    if value is None or value == DBT_GA4:
        return DBT_GA4
    if value == GA4_LAST_CLICK:
        return GA4_LAST_CLICK
    raise UserError(
        f"{name}: attribution.source: expected {DBT_GA4} or {GA4_LAST_CLICK}, got {_type(value)} {value!r}"
    )


def _conversions(section: dict[str, Any], name: str) -> Conversions:
    events_raw = section.get("events")
    events = DEFAULT_CONVERSION_EVENTS
    if events_raw is not None:
        rule = "lower-case letters, digits and _, starting with a letter, at most 40 characters"
        events = tuple(_event_names(events_raw, name, "conversions.events", _CONVERSION_EVENT, rule))
        for i, event in enumerate(events):
            if f"{event}_count" in RESERVED_COUNT_COLUMNS:
                raise UserError(
                    f"{name}: conversions.events[{i}]: {event!r} would add the column {event}_count, "
                    "which fact_sessions already has with another meaning"
                )
    counting = section.get("counting")
    if counting is None:
        return Conversions(events=events)
    if counting not in (ONCE_PER_EVENT, ONCE_PER_SESSION):
        raise UserError(
            f"{name}: conversions.counting: expected {ONCE_PER_EVENT} or {ONCE_PER_SESSION}, "
            f"got {_type(counting)} {counting!r}"
        )
    return Conversions(events=events, counting=counting)


def _funnel_stages(value: object, name: str) -> tuple[str, ...]:
    rule = "letters, digits and _, starting with a letter, at most 40 characters"
    stages = _event_names(value, name, "funnel.stages", _EVENT_NAME, rule)
    if len(stages) < 2:
        raise UserError(f"{name}: funnel.stages: a funnel needs at least 2 stages, got {len(stages)}")
    return tuple(stages)


def _params(section: dict[str, Any], name: str) -> Params:
    """``params.event``: a list of ``{name, type}`` mappings, distinct lower-case names."""
    value = section.get("event")
    if value is None:
        return Params()
    path = "params.event"
    if not isinstance(value, list):
        raise UserError(f"{name}: {path}: expected a list of {{name, type}} mappings, got {_type(value)}")
    promoted: list[Param] = []
    for i, item in enumerate(value):
        where = f"{path}[{i}]"
        entry = _mapping(item, name, where, Param)
        for key in ("name", "type"):
            if entry.get(key) is None:
                raise UserError(f"{name}: {where}.{key}: missing (each param needs a name and a type)")
        param_name, param_type = entry["name"], entry["type"]
        if not isinstance(param_name, str) or not _PROMOTED_PARAM.match(param_name):
            raise UserError(
                f"{name}: {where}.name: {param_name!r} is not a param name for a column (lower-case "
                "letters, digits and _, starting with a letter, at most 40 characters)"
            )
        if any(p.name == param_name for p in promoted):
            raise UserError(f"{name}: {where}.name: {param_name!r} is listed twice")
        choice = next((t for t in PARAM_TYPES if t == param_type), None)
        if choice is None:
            raise UserError(
                f"{name}: {where}.type: expected one of {', '.join(PARAM_TYPES)}, "
                f"got {_type(param_type)} {param_type!r}"
            )
        promoted.append(Param(param_name, choice))
    return Params(event=tuple(promoted))


def _type(value: object) -> str:
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "true/false",
        type(None): "nothing",
    }.get(type(value), type(value).__name__)


def project_of(settings: Settings) -> Project:
    """The project configuration of ``settings`` (``GA4LAKE_PROJECT_FILE``, default ``<repo>/ga4lake.yml``).

    Also checks the file against the environment: ``users.stitching`` needs a ``user_id`` in bronze."""
    project = load_project(settings.project_file)
    check_stitching(project, settings.pii_user_id)
    return project


def check_stitching(project: Project, pii_user_id: str) -> None:
    """A :class:`UserError` when stitching is on but ``GA4LAKE_PII_USER_ID=drop`` leaves bronze no ``user_id``
    to stitch on: the mapping would be silently empty and every person a single client."""
    if project.users.stitching and pii_user_id == "drop":
        name = project.source.name if project.source is not None else "ga4lake.yml"
        raise UserError(
            f"{name}: users.stitching: true needs the export's user_id, but GA4LAKE_PII_USER_ID=drop "
            "stores none in bronze; set GA4LAKE_PII_USER_ID=hash (stitches on the keyed hash) or turn "
            "stitching off (docs/privacy.md)"
        )
