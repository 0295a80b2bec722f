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

#: ``strip_query_params: all`` — drop the whole query string.
ALL: Literal["all"] = "all"

StripQueryParams = tuple[str, ...] | Literal["all"]

# URL-safe ("unreserved", RFC 3986) characters plus [ ]: a name is pasted into a regular expression in
# Spark and into a SQL string literal in Trino, so anything else is refused rather than escaped twice
_PARAM_NAME = re.compile(r"^[A-Za-z0-9_.~\[\]-]+$")


@dataclass(frozen=True)
class Attribution:
    """How a session's traffic source is attributed (dim_traffic_source)."""

    #: a direct session inherits the latest non-direct session of the same client that started at most
    #: this many days before it (dbt-ga4 ``session_attribution_lookback_window_days``)
    lookback_days: int = DEFAULT_LOOKBACK_DAYS


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
class Project:
    """The whole file; ``source`` is where it was read from (None: no file, every default)."""

    attribution: Attribution = field(default_factory=Attribution)
    urls: Urls = field(default_factory=Urls)
    users: Users = field(default_factory=Users)
    source: Path | None = field(default=None, compare=False)


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
    attribution = Attribution(lookback_days=DEFAULT_LOOKBACK_DAYS if lookback is None else lookback)
    urls_raw = _section(top, name, "urls", Urls)
    strip = urls_raw.get("strip_query_params")
    urls = Urls(DEFAULT_STRIP_QUERY_PARAMS if strip is None else _strip_query_params(strip, name))
    users_raw = _section(top, name, "users", Users)
    stitching = _bool(users_raw, name, "users.stitching")
    users = Users(stitching=bool(stitching))
    return Project(attribution=attribution, urls=urls, users=users, source=source)


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
    return [f.name for f in fields(cls) if f.name != "source"]


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
