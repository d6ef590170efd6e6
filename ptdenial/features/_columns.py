"""Column helpers shared by the feature transformers.

Feature work runs on the distinct values of a column and is spread back to
the lines by their codes (:class:`_Distinct`, over the toolkit of
:mod:`ptdenial._distinct`); the helpers here turn claim columns into float64
arrays.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ptdenial._distinct import flags, map_values, text_codes
from ptdenial.exceptions import ClaimsSchemaError


def _require(X, columns, owner):
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"{owner} expects a pandas DataFrame of claims; got {type(X)}")
    missing = [c for c in columns if c not in X.columns]
    if missing:
        raise ClaimsSchemaError(
            f"{owner}: missing columns {missing}; columns present: {list(X.columns)}. "
            "Validate the claims with ptdenial.validate_claims first.",
            missing=missing,
        )


class _Distinct:
    """The columns of one frame, each factorized once, on demand.

    Feature work then runs on the few distinct values of a column and is
    spread back to the lines by their codes: converting or hashing every
    line's string or tuple was most of the feature time of a scoring batch.
    """

    def __init__(self, X: pd.DataFrame):
        self.X = X
        self._text: dict = {}
        self._lists: dict = {}

    def text(self, col: str) -> tuple[np.ndarray, np.ndarray]:
        """Codes (-1 = missing) and distinct values of ``X[col].astype("string")``.

        The distinct values are an object array of ``str``. A missing column
        is all missing.
        """
        if col not in self._text:
            self._text[col] = (
                text_codes(self.X[col])
                if col in self.X
                else (
                    np.full(len(self.X), -1, dtype=np.intp),
                    np.empty(0, dtype=object),
                )
            )
        return self._text[col]

    def lists(self, col: str) -> tuple[np.ndarray, pd.Index]:
        """``pd.factorize`` of a tuple-valued column: codes (-1 = missing), uniques."""
        if col not in self._lists:
            self._lists[col] = pd.factorize(self.X[col])
        return self._lists[col]


def _list_flags(lists, wanted) -> dict[str, np.ndarray]:
    """For a factorized tuple column: one boolean array per wanted item."""
    tests = {item: (lambda u, item=item: item in u) for item in wanted}
    return flags(*lists, tests, missing=False)


def _list_apply(lists, func, dtype=float) -> np.ndarray:
    """``func`` of each distinct tuple, spread to the lines.

    Missing lines take the value of the first distinct tuple (and all lines
    0 when there is none): the feature set was trained that way.
    """
    codes, uniques = lists
    if not len(uniques):
        return np.zeros(len(codes), dtype=dtype)
    return map_values(func, np.maximum(codes, 0), uniques, dtype=dtype)


def _text_mask(text, hit) -> np.ndarray:
    """Lines whose text value satisfies ``hit`` (missing lines: False)."""
    codes, uniques = text
    return map_values(hit, codes, uniques, missing=False, dtype=bool)


def _frame(f: dict, names, index) -> pd.DataFrame:
    """``pd.DataFrame(f, index=index).reindex(columns=names)`` with one copy.

    The features are float64 arrays: filling one 2-D block directly avoids
    building the frame and then copying it again to put the columns in order.
    """
    if any(np.asarray(v).dtype != np.float64 for v in f.values()):
        return pd.DataFrame(f, index=index).reindex(columns=names)
    block = np.empty((len(names), len(index)))
    for j, name in enumerate(names):
        block[j] = f.get(name, np.nan)
    return pd.DataFrame(block.T, index=index, columns=names, copy=False)


def _narrowest(values: np.ndarray) -> np.ndarray:
    """``values`` (float64) as int8 or float32 when that holds each value exactly.

    Round-trips to float64 unchanged (NaN and the sign of zero included),
    so a learner given ``_narrowest(v).astype(np.float64)`` sees ``v``.

    Examples
    --------
    >>> import numpy as np
    >>> from ptdenial.features._columns import _narrowest
    >>> [_narrowest(np.array(v)).dtype.name for v in ([0.0, 1.0], [0.5, np.nan], [0.1])]
    ['int8', 'float32', 'float64']
    """
    v32 = values.astype(np.float32)
    if not np.array_equal(v32, values, equal_nan=True):
        return values
    nan = np.isnan(v32)
    if len(v32) and not nan.any() and v32.min() >= -128 and v32.max() <= 127:
        i8 = v32.astype(np.int8)
        # -0.0 would come back as 0.0
        if np.array_equal(i8, v32) and not np.signbit(v32[i8 == 0]).any():
            return i8
    return v32


def _compact(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame``'s numeric columns, each in the narrowest exact dtype (training).

    A training history's feature matrix holds mostly flags, counts and
    codes: stored as int8 or float32 where that changes no value, it takes
    about a third of the float64 memory, and every float64 view of it
    (``to_numpy(dtype=np.float64)``) is the same to the last bit.
    """
    cols = {}
    for name in frame.columns:
        cols[name] = _narrowest(frame[name].to_numpy(dtype=np.float64))
    return pd.DataFrame(cols, index=frame.index, columns=frame.columns, copy=False)


def _compact_frame(f: dict, names, index) -> pd.DataFrame:
    """:func:`_compact` of :func:`_frame` of ``f``, emptying ``f`` on the way.

    Each float64 feature is narrowed and dropped from ``f`` in turn, so the
    float64 block of every feature is never built.
    """
    cols = {}
    for name in names:
        values = f.pop(name) if name in f else np.full(len(index), np.nan)
        cols[name] = _narrowest(np.asarray(values, dtype=np.float64))
        del values
    return pd.DataFrame(cols, index=index, columns=list(names), copy=False)


_NS_PER_DAY = 86_400_000_000_000


def _days(a: pd.Series, b: pd.Series) -> np.ndarray:
    ns = np.dtype("datetime64[ns]")
    if a.dtype != ns or b.dtype != ns:
        return ((a - b).dt.days).to_numpy(dtype=float, na_value=np.nan)
    # the same whole days (floored) as .dt.days, without the pandas accessor
    delta = a.to_numpy() - b.to_numpy()
    days = (delta.view(np.int64) // _NS_PER_DAY).astype(float)
    return np.where(np.isnat(delta), np.nan, days)


def _num(X: pd.DataFrame, col: str) -> np.ndarray:
    if col not in X:
        return np.full(len(X), np.nan)
    return pd.to_numeric(X[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
