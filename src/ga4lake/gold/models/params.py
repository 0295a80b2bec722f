"""Custom event params promoted to typed fact_events columns (ga4lake.yml ``params.event``).

Silver keeps every non-standard param in the ``params_other`` map of GA4's value structs
(``string_value``/``int_value``/``float_value``/``double_value``); analysts would otherwise unpack it in
every query. A configured param becomes ``param_<name>`` of the configured type, read from whichever value
field the event set — GA4 sets one, but the same param arrives as int from one tag and as double or string
from another — so the column is cast from that field (docs/configuration.md#params):

* ``string``: the string, else the int, double or float written as text;
* ``int`` (bigint): the int, else the double or float truncated toward zero, else the string when it is a
  whole number (NULL when it is not, or out of range);
* ``double``: the double, else the float, the int, or the string when it is a number;
* ``bool``: an int or number is true when not 0; a string ``true``/``1`` is true, ``false``/``0`` false
  (any case, trimmed); anything else NULL.

A param silver already extracts into a column of its own (``content_group``, ``page_type``, …;
``STANDARD_PARAMS``) is not in ``params_other``: it is read from that column, which holds the one value
field silver takes for it. The casts are ``try_cast``, so an unparsable value is NULL rather than a failed
build. Pure column expressions; the caller selects them.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, DataType, DoubleType, LongType, StringType

from ga4lake.lake.silver import STANDARD_PARAMS
from ga4lake.project import Param, ParamType

_TYPES: dict[ParamType, DataType] = {
    "string": StringType(),
    "int": LongType(),
    "double": DoubleType(),
    "bool": BooleanType(),
}
_VALUE_FIELDS = ("string_value", "int_value", "float_value", "double_value")


def _value_fields(name: str) -> dict[str, Column]:
    """The param's value fields; for a standard param its silver column stands in the field silver read."""
    if name == "session_engaged":  # silver folds the int or the string '1' into one bigint column
        standard: tuple[str, str] | None = ("int_value", "session_engaged")
    else:
        standard = STANDARD_PARAMS.get(name)
    if standard is not None:
        field, column = standard
        return {f: F.col(column) if f == field else F.lit(None) for f in _VALUE_FIELDS}
    value = F.col("params_other")[name]
    return {f: value[f] for f in _VALUE_FIELDS}


def _number(v: dict[str, Column]) -> Column:
    """The param as a double from whichever numeric field is set."""
    return F.coalesce(
        v["double_value"].try_cast(DoubleType()),
        v["float_value"].try_cast(DoubleType()),
        v["int_value"].try_cast(DoubleType()),
    )


def typed_value(name: str, param_type: ParamType) -> Column:
    """The event param ``name`` as ``param_type`` (rules in the module docstring), NULL when not sent."""
    v = _value_fields(name)
    string = v["string_value"].try_cast(StringType())
    dtype = _TYPES[param_type]
    if param_type == "string":
        numbers = [v[f].try_cast(StringType()) for f in ("int_value", "double_value", "float_value")]
        return F.coalesce(string, *numbers)
    if param_type == "int":
        return F.coalesce(
            v["int_value"].try_cast(LongType()),
            _number(v).try_cast(LongType()),
            F.trim(string).try_cast(LongType()),
        )
    if param_type == "double":
        return F.coalesce(_number(v), F.trim(string).try_cast(DoubleType()))
    word = F.lower(F.trim(string))
    from_string = (
        F.when(word.isin("true", "1"), F.lit(True))
        .when(word.isin("false", "0"), F.lit(False))
        .otherwise(F.lit(None).cast(dtype))
    )
    return F.coalesce(_number(v) != F.lit(0.0), from_string)


def param_columns(params: tuple[Param, ...]) -> list[Column]:
    """One typed ``param_<name>`` column per configured event param, in the configured order (none by
    default). Reads silver's ``params_other`` and standard param columns."""
    return [typed_value(p.name, p.type).cast(_TYPES[p.type]).alias(p.column) for p in params]
