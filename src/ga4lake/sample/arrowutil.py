"""Reshape Arrow data to a target schema, field by field, through structs and lists.

Used twice: the generator projects its full-width tables down to a day's drift stage, and the
readers bring Parquet/Avro/NDJSON data (INT64 as strings, other list child names, missing or
extra fields) onto the declared schema while keeping unknown fields.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


class ConformError(ValueError):
    """A value cannot be converted to the declared type."""


def _is_list(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t)


def conform_array(
    arr: pa.Array,
    target: pa.DataType,
    keep_extra: bool = False,
    strict: bool = True,
    null_lists_empty: bool = False,
    lenient: frozenset[str] = frozenset(),
    path: str = "",
) -> pa.Array:
    """``arr`` as ``target``: struct fields matched by name (missing -> NULL), lists element-wise.

    ``keep_extra`` appends source struct fields the target lacks instead of dropping them.
    A leaf that cannot be cast raises ``ConformError`` unless ``strict`` is off or its dotted
    ``path`` (or a parent's) is in ``lenient``: then it keeps its own type. ``null_lists_empty``
    turns NULL lists into empty ones (BigQuery REPEATED fields are never NULL).
    """
    if arr.type.equals(target) and not (null_lists_empty and _is_list(target) and arr.null_count):
        return arr
    if pa.types.is_null(arr.type):
        return pa.nulls(len(arr), target)
    if pa.types.is_struct(target) and pa.types.is_struct(arr.type):
        children = arr.flatten()  # parent nulls folded into the children
        by_name = {arr.type.field(i).name: i for i in range(arr.type.num_fields)}
        fields, out = [], []
        for i in range(target.num_fields):
            tf = target.field(i)
            sub = f"{path}.{tf.name}" if path else tf.name
            if tf.name in by_name:
                child = conform_array(
                    children[by_name[tf.name]], tf.type, keep_extra, strict, null_lists_empty, lenient, sub
                )
            else:
                child = pa.nulls(len(arr), tf.type)
            fields.append(pa.field(tf.name, child.type))
            out.append(child)
        if keep_extra:
            names = set(target.names)
            for i in range(arr.type.num_fields):
                sf = arr.type.field(i)
                if sf.name not in names:
                    fields.append(pa.field(sf.name, sf.type))
                    out.append(children[i])
        mask = arr.is_null() if arr.null_count else None
        return pa.StructArray.from_arrays(out, fields=fields, mask=mask)
    if _is_list(target) and _is_list(arr.type):
        lengths = pc.fill_null(pc.list_value_length(arr), 0).to_numpy(zero_copy_only=False)
        offsets = np.zeros(len(arr) + 1, dtype=np.int32)
        np.cumsum(lengths, out=offsets[1:])
        values = conform_array(
            arr.flatten(), target.value_type, keep_extra, strict, null_lists_empty, lenient, path
        )
        typ = pa.list_(pa.field(target.value_field.name, values.type))
        mask = arr.is_null() if arr.null_count and not null_lists_empty else None
        return pa.ListArray.from_arrays(pa.array(offsets), values, type=typ, mask=mask)
    try:
        return pc.cast(arr, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        parts = path.split(".")
        if strict and not any(".".join(parts[:i]) in lenient for i in range(1, len(parts) + 1)):
            raise ConformError(f"{path or 'value'}: cannot convert {arr.type} to {target}: {exc}") from exc
        return arr


def conform_table(
    table: pa.Table, schema: pa.Schema, keep_extra: bool = False, strict: bool = True
) -> pa.Table:
    """``table`` with ``schema``'s columns first (missing ones NULL), then any extra columns if kept."""
    table = table.combine_chunks()
    n = table.num_rows
    arrays: list[pa.Array] = []
    fields: list[pa.Field] = []
    for field in schema:
        if field.name in table.column_names:
            col = table.column(field.name)
            arr = (
                col.chunk(0)
                if col.num_chunks == 1
                else pa.concat_arrays(col.chunks)
                if col.num_chunks
                else (pa.nulls(0, col.type))
            )
            arr = conform_array(arr, field.type, keep_extra, strict)
        else:
            arr = pa.nulls(n, field.type)
        arrays.append(arr)
        fields.append(pa.field(field.name, arr.type))
    if keep_extra:
        for name in table.column_names:
            if name not in schema.names:
                col = table.column(name)
                arrays.append(pa.concat_arrays(col.chunks) if col.num_chunks else pa.nulls(0, col.type))
                fields.append(table.schema.field(name))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))
