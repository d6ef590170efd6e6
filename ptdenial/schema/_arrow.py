"""Typed columns on the fast path: whatever an extract tool writes, read in bulk.

A claims extract arrives typed the way its tool writes it: Parquet
``date32``/``date64``, timestamps with or without a time zone, dictionary
and large strings, ``int8`` to ``int64`` (nullable or not), ``decimal128``
amounts, booleans as ``bool``, ``0``/``1`` or ``"Y"``/``"N"``, list columns,
or CSV text. Validation must give the same result for the same data however
it is typed, and must not fall back to Python objects row by row.

* :func:`arrow_to_raw` turns an Arrow table into the raw frame that
  :func:`~ptdenial.schema.validate_claims` reads fastest: list columns as
  ``|``-joined text, ``date32``/``date64`` and ``decimal128`` kept in Arrow,
  integers as nullable pandas integers, booleans as ``boolean``.
* :func:`plain` gives one raw column in the form its kind's coercion works
  on in bulk (Arrow text, integers, dates as day numbers), converting in
  Arrow or once per distinct value.
* :func:`day_numbers` gives each row's calendar day (days since 1970-01-01,
  local wall-clock day for zoned timestamps) of a temporal column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ptdenial.schema._parse import arrow_join_lists

__all__ = [
    "arrow_to_raw",
    "plain",
    "day_numbers",
    "arrow_data",
    "arrow_strings",
    "NO_DAY",
]

#: Day number of a missing date.
NO_DAY = np.iinfo(np.int64).min

_UNIT_PER_DAY = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000,
                 "ns": 86_400_000_000_000}  # fmt: skip


def arrow_data(s: pd.Series):
    """The Arrow data behind an Arrow-backed column (any Arrow type), else ``None``."""
    arr = s.array
    if isinstance(arr, pd.arrays.ArrowExtensionArray):
        return arr.__arrow_array__()
    return None


def _is_text_type(t) -> bool:
    if pa.types.is_dictionary(t):
        t = t.value_type
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _text_series(data, index, name) -> pd.Series:
    """Arrow text (plain or dictionary) as a pandas ``str`` column."""
    if pa.types.is_dictionary(data.type):
        data = pc.cast(data, data.type.value_type)
    return pd.Series(
        pd.arrays.ArrowStringArray(data, dtype=pd.StringDtype()), index=index, name=name
    )


def arrow_strings(s: pd.Series):
    """Arrow text of a text column, or ``None``.

    pandas ``str``/``string`` columns, Arrow-backed plain, large and
    dictionary-encoded strings (decoded), and columns of Python ``str``
    (missing values allowed), converted in Arrow.

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.schema._arrow import arrow_strings
    >>> arrow_strings(pd.Series(["GP", None], dtype=object)).to_pylist()
    ['GP', None]
    >>> arrow_strings(pd.Series([1, 2])) is None
    True
    """
    arr = s.array
    if isinstance(arr, pd.arrays.ArrowStringArray):
        return arr.__arrow_array__()
    data = arrow_data(s)
    if data is not None:
        if not _is_text_type(data.type):
            return None
        if pa.types.is_dictionary(data.type):
            data = pc.cast(data, data.type.value_type)
        return data
    if s.dtype == object and len(s) and _infer(s) in ("string", "empty"):
        return pa.array(s.to_numpy(), type=pa.string(), from_pandas=True)
    return None


def _is_dated(t) -> bool:
    return pa.types.is_date(t) or pa.types.is_timestamp(t)


def _types_mapper(t):
    if pa.types.is_date(t) or pa.types.is_decimal(t):
        return pd.ArrowDtype(t)
    if pa.types.is_boolean(t):
        return pd.BooleanDtype()
    if pa.types.is_signed_integer(t) or (
        pa.types.is_unsigned_integer(t) and t.bit_width < 64
    ):
        return pd.Int64Dtype()
    return None


def arrow_to_raw(table) -> pd.DataFrame:
    """An Arrow table as the raw frame :func:`validate_claims` reads fastest.

    List columns become one ``|``-joined text per row (null items dropped),
    the form CSV input has; ``date32``/``date64`` and ``decimal128`` columns
    stay Arrow-backed (no Python ``date``/``Decimal`` per row); integers
    become nullable pandas integers and booleans ``boolean``, so a missing
    value never turns a column into floats or objects. Other types convert
    as :meth:`pyarrow.Table.to_pandas` converts them.

    Parameters
    ----------
    table : pyarrow.Table

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> import datetime, pyarrow as pa
    >>> from ptdenial.schema import arrow_to_raw
    >>> raw = arrow_to_raw(pa.table({
    ...     "date_of_service": pa.array([datetime.date(2025, 3, 3), None]),
    ...     "units": pa.array([2, None], pa.int8()),
    ...     "modifiers": pa.array([["GP", "KX"], None]),
    ... }))
    >>> raw["units"].tolist(), raw["modifiers"].tolist()
    ([2, <NA>], ['GP|KX', nan])
    >>> str(raw["date_of_service"].dtype)
    'date32[day][pyarrow]'
    """
    for i, field in enumerate(table.schema):
        if pa.types.is_list(field.type) or pa.types.is_large_list(field.type):
            table = table.set_column(i, field.name, arrow_join_lists(table.column(i)))
    return table.to_pandas(ignore_metadata=True, types_mapper=_types_mapper)


# --- one column, the form its kind reads in bulk --------------------------------------
def _infer(s: pd.Series) -> str:
    return pd.api.types.infer_dtype(s, skipna=True) if s.dtype == object else ""


def plain(s: pd.Series, kind: str) -> pd.Series:
    """``s`` in the form the ``kind`` coercion works on in bulk.

    Arrow-backed text (plain, large or dictionary) becomes a pandas ``str``
    column; other Arrow types become pandas' own (nullable integers,
    ``boolean``, floats), except temporal columns of the ``date`` kind, which
    :func:`day_numbers` reads in Arrow. ``decimal128`` becomes its exact
    text (``"80.10"``), as a CSV export writes it. Python ``date`` and
    ``Decimal`` objects (what ``pandas.read_parquet`` gives for ``date32``
    and ``decimal128``) are converted in Arrow, and ``True``/``False`` with
    missing values become ``boolean``. Everything else is returned as it is.

    Parameters
    ----------
    s : pandas.Series
    kind : str
        The column's kind (:class:`~ptdenial.schema.ColumnSpec`).

    Returns
    -------
    pandas.Series
    """
    inferred = _infer(s)
    if inferred == "date":
        data = pa.array(s.to_numpy(), type=pa.date32(), from_pandas=True)
        s = pd.Series(pd.arrays.ArrowExtensionArray(data), index=s.index, name=s.name)
    elif inferred == "decimal" and kind == "decimal":
        try:
            data = pa.array(s.to_numpy(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # e.g. NaN or infinite Decimals
            return s
        s = pd.Series(pd.arrays.ArrowExtensionArray(data), index=s.index, name=s.name)
    elif inferred == "boolean" and kind == "bool":
        return s.astype("boolean")
    data = arrow_data(s)
    if data is None or isinstance(s.array, pd.arrays.ArrowStringArray):
        return s
    t = data.type
    if _is_text_type(t):
        if pa.types.is_dictionary(t) and kind == "str":
            return s  # stripped on its dictionary
        return _text_series(data, s.index, s.name)
    if _is_dated(t) and kind == "date":
        return s
    if pa.types.is_decimal(t) and kind == "decimal":
        floats = _decimal_floats(data)
        if floats is not None:
            return pd.Series(floats, index=s.index, name=s.name)
    if pa.types.is_decimal(t) or pa.types.is_temporal(t):
        return _text_series(pc.cast(data, pa.string()), s.index, s.name)
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return _text_series(arrow_join_lists(data), s.index, s.name)
    if pa.types.is_boolean(t):
        return s.astype("boolean")
    if pa.types.is_signed_integer(t) or (
        pa.types.is_unsigned_integer(t) and t.bit_width < 64
    ):
        return s.astype("Int64")
    if pa.types.is_floating(t):
        return s.astype("float64")
    return s


def _decimal_floats(data) -> np.ndarray | None:
    """``decimal128`` values as the floats their text parses to, or ``None``.

    The unscaled integer over ``10**scale``, both exact in float64, is the
    correctly rounded value of the decimal: what parsing its text gives.
    ``None`` when an unscaled value or the scale is too large for that.
    """
    if isinstance(data, pa.ChunkedArray):
        data = data.combine_chunks()
    t = data.type
    if not pa.types.is_decimal128(t) or not 0 <= t.scale <= 22:
        return None
    words = np.frombuffer(data.buffers()[1], dtype=np.int64)
    words = words.reshape(-1, 2)[data.offset : data.offset + len(data)]
    low, high = words[:, 0], words[:, 1]
    valid = ~pc.is_null(data).to_numpy(zero_copy_only=False)
    fits = (high == (low >> 63)) & (low > -(2**53)) & (low < 2**53)
    if not fits[valid].all():
        return None
    out = low.astype(np.float64) / 10.0**t.scale
    out[~valid] = np.nan
    return out


# --- calendar days of temporal columns ------------------------------------------
def _arrow_days(data) -> np.ndarray:
    if isinstance(data, pa.ChunkedArray):
        data = data.combine_chunks()
    t = data.type
    if pa.types.is_timestamp(t):
        if t.tz is not None:  # the wall-clock day where the value was recorded
            data = pc.local_timestamp(data)
        ticks = pc.cast(data, pa.int64())
        per_day = _UNIT_PER_DAY[t.unit]
    elif pa.types.is_date32(t):
        ticks, per_day = pc.cast(data, pa.int32()), 1
    else:  # date64: milliseconds
        ticks, per_day = pc.cast(data, pa.int64()), _UNIT_PER_DAY["ms"]
    values = pc.fill_null(ticks, 0).to_numpy(zero_copy_only=False).astype(np.int64)
    days = np.floor_divide(values, per_day)
    if data.null_count:
        days[pc.is_null(data).to_numpy(zero_copy_only=False)] = NO_DAY
    return days


def _datetime_days(s: pd.Series) -> np.ndarray:
    if getattr(s.dt, "tz", None) is not None:  # wall-clock time where it was recorded
        s = s.dt.tz_localize(None)
    unit = np.datetime_data(s.dtype)[0]
    values = s.to_numpy().view(np.int64)
    missing = s.isna().to_numpy()
    days = np.floor_divide(values, _UNIT_PER_DAY[unit])
    days[missing] = NO_DAY
    return days


def day_numbers(s: pd.Series) -> np.ndarray | None:
    """Each row's calendar day as days since 1970-01-01, or ``None``.

    For Arrow ``date32``/``date64``/timestamps and pandas ``datetime64``
    columns of any unit; a zoned timestamp counts on the wall-clock day where
    it was recorded (``2025-03-03 23:30-06:00`` is 3 March), as its text
    would read. Missing values are :data:`NO_DAY`. Any date a unit can hold
    is counted, also those outside ``datetime64[ns]``'s years 1677-2262.

    Parameters
    ----------
    s : pandas.Series

    Returns
    -------
    numpy.ndarray of int64 or None
        ``None`` when ``s`` is not temporal.
    """
    data = arrow_data(s)
    if data is not None:
        return _arrow_days(data) if _is_dated(data.type) else None
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return _datetime_days(s)
    return None
