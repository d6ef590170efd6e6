"""Coercion of raw columns (CSV text, Parquet types) to the canonical dtypes.

Each :class:`~ptdenial.schema.ColumnSpec` kind has one coercion; those that
can fail return the rows whose value cannot be read, and run once per
distinct value (:func:`ptdenial._distinct.on_distinct`, and here for columns
of Python text, integers or booleans). Typed columns are first brought to
the form their kind reads in bulk (:func:`ptdenial.schema._arrow.plain`):
dates are counted in days, decimals read as their exact text, and so on, so
the same data gives the same result however it was typed.
:func:`coerce_column` applies the right coercion to a column and says which
check a failure reports.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ptdenial._distinct import on_distinct
from ptdenial.schema._arrow import (
    NO_DAY,
    arrow_data,
    arrow_strings,
    day_numbers,
    plain,
)
from ptdenial.schema._columns import CPT_CODE, PAYER_CLASS, Check, ColumnSpec
from ptdenial.schema._parse import list_codes

__all__ = ["Coerced", "coerce_column", "coerce_str", "is_blank"]


class Coerced(NamedTuple):
    """One column coerced to its kind.

    ``bad`` marks the rows whose value could not be coerced (reported as
    ``check`` with ``reason``; ``None`` when the kind cannot fail). ``blank``
    marks the empty rows when the coercion found them on the way (else
    ``None``). ``lists`` is ``(codes, parsed tuples)`` of a list column, so
    the checks reuse its distinct values. ``early`` and ``late`` mark dates
    outside the years ``datetime64[ns]`` holds (1677-09-22 to 2262-04-11);
    their value is missing in ``values`` (``None`` for other kinds).
    """

    values: pd.Series
    bad: np.ndarray | None = None
    check: Check | None = None
    reason: str | None = None
    blank: np.ndarray | None = None
    lists: tuple[np.ndarray, np.ndarray] | None = None
    early: np.ndarray | None = None
    late: np.ndarray | None = None


def _arrow_strings_backed() -> bool:
    """Whether pandas' ``string`` dtype is Arrow-backed (the default).

    The Arrow shortcuts below must strip exactly as ``astype("string")``
    columns do, so they only run when that dtype is Arrow-backed too.
    """
    return pd.StringDtype().storage == "pyarrow"


def _text_of(s: pd.Series):
    """Arrow text of a column's values as ``astype("string")`` gives them, or None.

    Text (pandas ``str``/``string``, Arrow plain and large strings, Python
    ``str`` objects), integer columns (an NPI written as a number), and
    dictionary-encoded text (Arrow dictionaries and categoricals of text,
    kept as a dictionary array so that text work runs on the dictionary);
    ``None`` for other columns and when ``string`` is not Arrow-backed.
    """
    if not _arrow_strings_backed():
        return None
    data = arrow_data(s)
    if data is not None and pa.types.is_dictionary(data.type):
        if pa.types.is_string(data.type.value_type) or pa.types.is_large_string(
            data.type.value_type
        ):
            return _one_dictionary(data)
        return None
    text = arrow_strings(s)
    if text is not None:
        return text
    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = s.dtype.categories
        if len(cats) and pd.api.types.infer_dtype(cats) == "string":
            dictionary = pa.array(np.asarray(cats, dtype=object), type=pa.string())
            codes = pa.array(s.cat.codes.to_numpy(), mask=s.isna().to_numpy())
            return pa.DictionaryArray.from_arrays(codes, dictionary)
        return None
    if pd.api.types.is_integer_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s):
        ints = pa.array(s, type=pa.int64(), from_pandas=True)
        return pc.cast(ints, pa.string())
    return None


def _one_dictionary(data):
    """A dictionary column as one DictionaryArray (chunks share one dictionary)."""
    if isinstance(data, pa.ChunkedArray):
        data = data.unify_dictionaries()
        if data.num_chunks == 0:
            return pa.DictionaryArray.from_arrays(
                pa.array([], data.type.index_type), pa.array([], data.type.value_type)
            )
        indices = pa.concat_arrays([c.indices for c in data.chunks])
        return pa.DictionaryArray.from_arrays(indices, data.chunk(0).dictionary)
    return data


def _on_text(text, fn):
    """``fn`` on Arrow text, on the dictionary only when the text is dictionary-encoded.

    ``fn`` must work value by value and give null for a null value.
    """
    if pa.types.is_dictionary(text.type):
        return pc.take(fn(text.dictionary), text.indices)
    return fn(text)


def _blank_text(text):
    return pc.fill_null(pc.equal(pc.utf8_trim_whitespace(text), ""), True)


def _stripped_text(text):
    out = pc.utf8_trim_whitespace(text)
    return pc.if_else(pc.equal(out, ""), pa.scalar(None, out.type), out)


def is_blank(series: pd.Series) -> np.ndarray:
    """Rows that are missing or only white space."""
    s = series
    text = _text_of(s)
    if text is not None:
        blank = _on_text(text, _blank_text)
        return pc.fill_null(blank, True).to_numpy(zero_copy_only=False)
    blank = s.isna().to_numpy().copy()
    if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
        as_str = s.astype("string")
        blank = blank | (as_str.str.strip() == "").fillna(True).to_numpy()
    return blank


def _strip(s: pd.Series) -> tuple[pd.Series, bool]:
    """:func:`coerce_str`, and whether it ran in Arrow (blank = missing then)."""
    text = _text_of(s)
    if text is not None:
        # the same steps in Arrow, without pandas' dtype round trips
        out = _on_text(text, _stripped_text)
        out = pd.arrays.ArrowStringArray(out, dtype=pd.StringDtype())
        return pd.Series(out, index=s.index, name=s.name), True
    out = s.astype("string").str.strip()
    return out.mask(out == ""), False


def coerce_str(s: pd.Series) -> pd.Series:
    """Text stripped of surrounding white space; blank text is missing."""
    return _strip(plain(s, "str"))[0]


def _coerce_int(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_integer_dtype(s.dtype):
        return s.astype("Int64"), np.zeros(len(s), bool)
    num = pd.to_numeric(
        coerce_str(s) if not pd.api.types.is_numeric_dtype(s) else s, errors="coerce"
    )
    bad = (num.isna() & ~is_blank(s)).to_numpy()
    frac = (num.notna() & (num != np.round(num))).to_numpy()
    bad = bad | frac
    num = num.mask(pd.Series(bad, index=s.index))
    return num.astype("Float64").round().astype("Int64"), bad


def _coerce_decimal(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s):
        return s.astype("float64"), np.zeros(len(s), bool)
    text = coerce_str(s).str.replace(r"[$,]", "", regex=True)
    num = pd.to_numeric(text, errors="coerce")
    bad = (num.isna() & ~is_blank(s)).to_numpy()
    return num.astype("float64"), bad


# --- dates ---------------------------------------------------------------------------
# whole days datetime64[ns] holds: 1677-09-22 .. 2262-04-11
_DAY_MIN, _DAY_MAX = -106_751, 106_750
_NS_PER_DAY = 86_400 * 10**9
# a UTC offset or zone written after a time of day: "10:00:00-06:00", "10:00Z"
_ZONE = re.compile(
    r"^(.*\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?)\s*(?:Z|UTC|GMT|[+-]\d{2}(?::?\d{2}){0,2})$",
    re.IGNORECASE,
)


def _parse_one(value) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value) if isinstance(value, str) else pd.NaT
    except (ValueError, OverflowError):
        return pd.NaT
    if ts is not pd.NaT and ts.tz is not None:
        ts = ts.tz_localize(None)
    return ts


def _parse_dates(text: pd.Series) -> pd.Series:
    """Date texts parsed to their wall-clock time (an offset or zone is dropped).

    The day a value was recorded is the day its text reads, whatever its
    offset (so values with different offsets in one column are fine). What
    pandas cannot parse in bulk is parsed value by value. Runs on distinct
    values.
    """
    bare = text.str.replace(_ZONE, r"\1", regex=True)
    try:
        return pd.to_datetime(bare, errors="coerce", format="mixed")
    except (ValueError, OverflowError):
        pass
    parsed = [_parse_one(v) for v in bare.astype(object)]
    return pd.Series(pd.array(parsed, dtype="datetime64[us]"), index=text.index)


def _text_days(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Day numbers of a column read as text, and the rows that are not dates."""
    if s.dtype == object:  # Python datetimes keep their own zone: as ISO text
        s = s.map(lambda v: v.isoformat() if hasattr(v, "isoformat") else v)
    days = day_numbers(_parse_dates(coerce_str(s)))
    bad = (days == NO_DAY) & ~is_blank(s)
    return days, bad


def _coerce_date(s: pd.Series):
    """datetime64[ns] days, and the rows that are not dates, early or late.

    Typed columns (Arrow dates and timestamps, ``datetime64`` of any unit or
    zone) are counted in days directly; text is parsed (once per distinct
    value). A zoned value counts on its wall-clock day. Days that
    ``datetime64[ns]`` cannot hold are missing here and reported as
    ``early`` (before 1677-09-22) or ``late`` (after 2262-04-11), never
    wrapped around.
    """
    days = day_numbers(s)
    if days is None:
        days, bad = _text_days(s)
    else:
        bad = np.zeros(len(s), dtype=bool)
    known = days != NO_DAY
    early = known & (days < _DAY_MIN)
    late = known & (days > _DAY_MAX)
    ok = known & ~early & ~late
    ns = np.where(ok, days * _NS_PER_DAY, np.iinfo(np.int64).min)
    values = pd.Series(ns.view("datetime64[ns]"), index=s.index)
    return values, bad, early, late


def _coerce_category(s: pd.Series, spec: ColumnSpec) -> tuple[pd.Series, np.ndarray]:
    text = coerce_str(s)
    if spec.name == PAYER_CLASS:  # 'Medicare Advantage' is medicare_advantage
        codes, uniques = pd.factorize(text)
        norm = np.array(
            [re.sub(r"[\s-]+", "_", str(u).lower()) for u in uniques] + [None],
            dtype=object,
        )
        text = pd.Series(norm[codes], index=text.index, dtype="string")
    bad = (text.notna() & ~text.isin(spec.categories)).to_numpy()
    col = pd.Categorical(
        text.where(~pd.Series(bad, index=text.index)),
        categories=spec.categories,
    )
    return pd.Series(col, index=s.index), bad


_BOOL_TRUE = {"true", "t", "1", "yes", "y"}
_BOOL_FALSE = {"false", "f", "0", "no", "n"}


def _bool_text(s: pd.Series) -> pd.Series:
    """Lower-case text of each value; numbers without a trailing ``.0``."""
    if pd.api.types.is_numeric_dtype(s.dtype):  # 0/1: converted per distinct value
        codes, uniques = pd.factorize(s.astype("Float64"), use_na_sentinel=True)
        words = pd.array(uniques, dtype="Float64").astype("string")
        words = pd.Series(words).str.replace(r"\.0$", "", regex=True)
        words = pd.concat([words, pd.Series([pd.NA], dtype="string")])
        return words.iloc[codes].set_axis(s.index)
    return coerce_str(
        s.astype(object).map(
            lambda v: (
                str(v)
                if not (
                    v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))
                )
                else v
            )
        )
    ).str.lower()


def _coerce_bool(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("boolean"), np.zeros(len(s), bool)
    text = _bool_text(s)
    out = pd.Series(pd.NA, index=s.index, dtype="boolean")
    out[text.isin(_BOOL_TRUE).fillna(False).to_numpy()] = True
    out[text.isin(_BOOL_FALSE).fillna(False).to_numpy()] = False
    bad = (out.isna() & text.notna()).to_numpy()
    return out, bad


# kind -> (coercion of distinct values, check of its failures, reason template)
_KINDS = {
    "int": (_coerce_int, Check.TYPE, "{name} is not a whole number"),
    "decimal": (_coerce_decimal, Check.TYPE, "{name} is not a number"),
    "date": (_coerce_date, Check.TYPE, "{name} is not a date (YYYY-MM-DD)"),
    "bool": (_coerce_bool, Check.TYPE, "{name} is not true/false"),
    "category": (_coerce_category, Check.VOCABULARY, "{name} must be one of {vocab}"),
}

# Python objects of these kinds compare equal only when they read the same, so
# a coercion may run once per distinct value
_SAME_WHEN_EQUAL = frozenset({"string", "integer", "boolean", "empty"})


def _typed_distinct(s: pd.Series):
    """``(codes, uniques)`` of an Arrow-typed column (not plain text), or None."""
    data = arrow_data(s)
    if data is None or isinstance(s.array, pd.arrays.ArrowStringArray):
        return None
    if pa.types.is_string(data.type) or pa.types.is_large_string(data.type):
        return None  # on_distinct's own path
    if pa.types.is_dictionary(data.type):
        enc = _one_dictionary(data)
    else:
        enc = pc.dictionary_encode(
            data.combine_chunks() if isinstance(data, pa.ChunkedArray) else data
        )
    dictionary = enc.dictionary
    codes = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False)
    codes = codes.astype(np.intp)
    if (codes < 0).any():
        codes = np.where(codes < 0, len(dictionary), codes)
        dictionary = pa.concat_arrays([dictionary, pa.nulls(1, dictionary.type)])
    return codes, pd.Series(pd.arrays.ArrowExtensionArray(dictionary))


def _object_distinct(s: pd.Series):
    """``(codes, uniques)`` of a column of Python text, integers or booleans.

    ``None`` for other columns.
    """
    kind = pd.api.types.infer_dtype(s, skipna=True) if s.dtype == object else ""
    if kind not in _SAME_WHEN_EQUAL:
        return None
    codes, uniques = pd.factorize(s.to_numpy(), use_na_sentinel=True)
    uniques = np.asarray(uniques, dtype=object)
    if (codes < 0).any():
        codes = np.where(codes < 0, len(uniques), codes)
        uniques = np.append(uniques, None)
    return codes, pd.Series(uniques, dtype=object)


def _on_values(fn, s: pd.Series, *, categorical: bool):
    """:func:`~ptdenial._distinct.on_distinct`, also for Arrow-typed and object columns.

    Arrow types are factorized in Arrow (a dictionary column gives its
    dictionary), Python objects where equal values read the same.
    """
    found = None
    if len(s):
        found = _typed_distinct(s)
        if found is None:
            found = _object_distinct(s)
    return on_distinct(fn, s, categorical=categorical, found=found)


def _is_arrow_decimal(dtype) -> bool:
    return isinstance(dtype, pd.ArrowDtype) and pa.types.is_decimal(dtype.pyarrow_dtype)


def _is_arrow_dated(dtype) -> bool:
    if not isinstance(dtype, pd.ArrowDtype):
        return False
    t = dtype.pyarrow_dtype
    return pa.types.is_date(t) or pa.types.is_timestamp(t)


def coerce_column(raw: pd.Series, spec: ColumnSpec) -> Coerced:
    """Coerce one raw column to the canonical dtype of its spec.

    Parameters
    ----------
    raw : pandas.Series
        The column as read (text, Parquet types, Arrow data, categorical,
        Python objects).
    spec : ColumnSpec

    Returns
    -------
    Coerced
    """
    if spec.kind == "str":
        raw = plain(raw, "str")
        values, in_arrow = _strip(raw)
        # stripped Arrow text is missing exactly where it was blank
        blank = values.isna().to_numpy() if in_arrow else None
        if spec.name == CPT_CODE:
            values = values.str.upper()
        return Coerced(values, blank=blank)
    if spec.kind == "list":
        codes, parsed = list_codes(plain(raw, "list"))
        values = pd.Series(parsed[codes], index=raw.index, dtype=object)
        return Coerced(values, lists=(codes, parsed))
    if spec.kind not in _KINDS:  # pragma: no cover - the spec table is fixed
        raise AssertionError(spec.kind)
    coerce, check, reason = _KINDS[spec.kind]
    if spec.kind == "decimal" and _is_arrow_decimal(raw.dtype):
        floats = plain(raw, "decimal")
        if floats.dtype == np.float64:  # exact: no dictionary of 16-byte decimals
            raw = floats
    if spec.kind == "category":
        coerce = functools.partial(coerce, spec=spec)
    kind = spec.kind
    if kind == "date" and _is_arrow_dated(raw.dtype):
        # counted in days by Arrow, row by row: a dictionary of the dates and
        # spreading the result back cost more than the count itself
        values, bad, *outside = coerce(plain(raw, kind))
        values = values.rename(raw.name)
    else:
        values, bad, *outside = _on_values(
            lambda u: coerce(plain(u, kind)), raw, categorical=kind == "category"
        )
    vocab = list(spec.categories or ())
    reason = reason.format(name=spec.name, vocab=vocab)
    return Coerced(values, bad, check, reason, None, None, *outside)
