"""Coercion of raw columns (CSV text, Parquet types) to the canonical dtypes.

Each :class:`~ptdenial.schema.ColumnSpec` kind has one coercion; those that
can fail return the rows whose value cannot be read, and run once per
distinct value (:func:`ptdenial._distinct.on_distinct`). :func:`coerce_column`
applies the right one to a column and says which check a failure reports.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

import numpy as np
import pandas as pd

from ptdenial._distinct import arrow_text, on_distinct
from ptdenial.schema._columns import CPT_CODE, PAYER_CLASS, Check, ColumnSpec
from ptdenial.schema._parse import list_codes

__all__ = ["Coerced", "coerce_column", "coerce_str", "is_blank"]


class Coerced(NamedTuple):
    """One column coerced to its kind.

    ``bad`` marks the rows whose value could not be coerced (reported as
    ``check`` with ``reason``; ``None`` when the kind cannot fail). ``blank``
    marks the empty rows when the coercion found them on the way (else
    ``None``). ``lists`` is ``(codes, parsed tuples)`` of a list column, so
    the checks reuse its distinct values.
    """

    values: pd.Series
    bad: np.ndarray | None = None
    check: Check | None = None
    reason: str | None = None
    blank: np.ndarray | None = None
    lists: tuple[np.ndarray, np.ndarray] | None = None


def _arrow_strings() -> bool:
    """Whether pandas' ``string`` dtype is Arrow-backed (the default).

    The Arrow shortcuts below must strip exactly as ``astype("string")``
    columns do, so they only run when that dtype is Arrow-backed too.
    """
    return pd.StringDtype().storage == "pyarrow"


def is_blank(series: pd.Series) -> np.ndarray:
    """Rows that are missing or only white space."""
    s = series
    text = arrow_text(s)
    if text is not None and _arrow_strings():
        import pyarrow.compute as pc

        blank = pc.equal(pc.utf8_trim_whitespace(text), "")
        return pc.fill_null(blank, True).to_numpy(zero_copy_only=False)
    blank = s.isna().to_numpy().copy()
    if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
        as_str = s.astype("string")
        blank = blank | (as_str.str.strip() == "").fillna(True).to_numpy()
    return blank


def coerce_str(s: pd.Series) -> pd.Series:
    """Text stripped of surrounding white space; blank text is missing."""
    text = arrow_text(s)
    if text is not None and _arrow_strings():
        # the same steps in Arrow, without pandas' dtype round trips
        import pyarrow as pa
        import pyarrow.compute as pc

        out = pc.utf8_trim_whitespace(text)
        out = pc.if_else(pc.equal(out, ""), pa.scalar(None, out.type), out)
        out = pd.arrays.ArrowStringArray(out, dtype=pd.StringDtype())
        return pd.Series(out, index=s.index, name=s.name)
    out = s.astype("string").str.strip()
    return out.mask(out == "")


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


def _coerce_date(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        out = s
        if getattr(s.dt, "tz", None) is not None:
            out = s.dt.tz_localize(None)
        return out.astype("datetime64[ns]").dt.normalize(), np.zeros(len(s), bool)
    obj = s.astype(object)
    text = coerce_str(
        obj.map(lambda v: v.isoformat() if hasattr(v, "isoformat") else v)
    )
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    parsed_u = pd.to_datetime(
        pd.Series(uniques, dtype=object), errors="coerce", format="mixed"
    )
    parsed = np.full(len(s), np.datetime64("NaT"), dtype="datetime64[ns]")
    ok = codes >= 0
    parsed[ok] = parsed_u.to_numpy(dtype="datetime64[ns]")[codes[ok]]
    out = pd.Series(parsed, index=s.index).dt.normalize()
    bad = (out.isna() & ~is_blank(s)).to_numpy()
    return out, bad


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


def _coerce_bool(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("boolean"), np.zeros(len(s), bool)
    text = coerce_str(
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
    if pd.api.types.is_numeric_dtype(s.dtype):
        text = s.astype("Float64").astype("string").str.replace(r"\.0$", "", regex=True)
    out = pd.Series(pd.NA, index=s.index, dtype="boolean")
    out[text.isin(_BOOL_TRUE).fillna(False)] = True
    out[text.isin(_BOOL_FALSE).fillna(False)] = False
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


def coerce_column(raw: pd.Series, spec: ColumnSpec) -> Coerced:
    """Coerce one raw column to the canonical dtype of its spec.

    Parameters
    ----------
    raw : pandas.Series
        The column as read (text, Parquet types, Arrow text, categorical).
    spec : ColumnSpec

    Returns
    -------
    Coerced
    """
    if spec.kind == "str":
        values = coerce_str(raw)
        blank = None
        if arrow_text(raw) is not None and _arrow_strings():
            # stripped Arrow text is missing exactly where it was blank
            blank = values.isna().to_numpy()
        if spec.name == CPT_CODE:
            values = values.str.upper()
        return Coerced(values, blank=blank)
    if spec.kind == "list":
        codes, parsed = list_codes(raw)
        values = pd.Series(parsed[codes], index=raw.index, dtype=object)
        return Coerced(values, lists=(codes, parsed))
    if spec.kind not in _KINDS:  # pragma: no cover - the spec table is fixed
        raise AssertionError(spec.kind)
    coerce, check, reason = _KINDS[spec.kind]
    if spec.kind == "category":
        coerce = functools.partial(coerce, spec=spec)
    values, bad = on_distinct(coerce, raw, categorical=spec.kind == "category")
    vocab = list(spec.categories or ())
    return Coerced(values, bad, check, reason.format(name=spec.name, vocab=vocab))
