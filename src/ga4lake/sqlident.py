"""The one check for names pasted into SQL (schemas, databases, roles, tables).

Values travel as query parameters; names cannot, so every name that comes from configuration, Airflow run
conf or a command line passes :func:`check_identifier` before it is interpolated. The rule is deliberately
narrow — lower-case letters, digits and underscores, at most 63 characters (PostgreSQL's limit) — so a
name needs no quoting and ``x; drop table y`` is refused rather than escaped. Stdlib only: the Airflow
virtualenv imports it through ``ga4lake.config``.
"""

from __future__ import annotations

import re

_IDENT = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class IdentifierError(ValueError):
    """A name that would not be a plain SQL identifier; the message says which setting and why."""


def check_identifier(name: str, what: str = "SQL identifier") -> str:
    """``name`` unchanged if it is a plain lower-case identifier, else :class:`IdentifierError`."""
    if not isinstance(name, str) or not _IDENT.fullmatch(name):
        raise IdentifierError(
            f"{what} {name!r} is not a plain lower-case SQL identifier "
            "(letters a-z, digits and _, not starting with a digit, at most 63 characters)"
        )
    return name


def quote_ident(name: str) -> str:
    """A name that is data, not configuration (a column of a lake table): double-quoted, quotes doubled."""
    if not name or "\x00" in name:
        raise IdentifierError(f"empty or NUL-containing column name {name!r}")
    return '"' + name.replace('"', '""') + '"'
