"""Work on distinct values: factorize once, compute per distinct value, spread back.

A batch of claim lines repeats few values: a handful of payers, codes, dates
and amounts over millions of lines. Every per-line computation that only
depends on the line's own value (parsing, formatting, a lookup, a predicate)
is done once per distinct value and its result taken back to the lines. This
module is the one home of that pattern:

* :func:`distinct` and :func:`on_distinct`: run a row-wise function on the
  distinct values of a column (Arrow text or a categorical), results spread
  back with the column's index. Used by schema's coercions.
* :func:`text_codes` and :func:`spread`: codes (``-1`` = missing) and the
  distinct values of a column as Python ``str``, then any per-value array
  taken back to the lines, with a value for the missing ones.
* :func:`map_values` and :func:`flags`: a function (or several predicates)
  of each distinct value of a factorized column, taken back to the lines.
* :func:`combinations`: several code arrays (one per column) into ids of
  their distinct combinations, and the first line of each.
* :func:`key_index`: a ``"|"``-joined text key per distinct combination of a
  frame's columns, and each line's position among them (used by
  :mod:`ptdenial._payment` to look lines up in the pricing table).

Everything here is private to ptdenial and imports nothing from it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "arrow_text",
    "arrow_codes",
    "distinct",
    "on_distinct",
    "text_codes",
    "spread",
    "map_values",
    "flags",
    "dense_ids",
    "first_positions",
    "combinations",
    "key_index",
]


def arrow_text(s: pd.Series):
    """The Arrow data behind an Arrow-backed string column (else ``None``).

    Both pandas ``str`` (Parquet/CSV input) and ``string`` columns qualify;
    working on this array skips pandas' object conversions.

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial._distinct import arrow_text
    >>> arrow_text(pd.Series(["GP", None], dtype="string[pyarrow]")).to_pylist()
    ['GP', None]
    >>> arrow_text(pd.Series([1, 2])) is None
    True
    """
    arr = s.array
    if isinstance(arr, pd.arrays.ArrowStringArray):
        return arr.__arrow_array__()
    return None


def arrow_codes(text):
    """Factorize Arrow text: ``(codes, dictionary)``; missing values get -1.

    The dictionary keeps first-appearance order, as :func:`pandas.factorize`.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from ptdenial._distinct import arrow_codes
    >>> codes, dictionary = arrow_codes(pa.array(["b", None, "a", "b"]))
    >>> codes.tolist(), dictionary.to_pylist()
    ([0, -1, 1, 0], ['b', 'a'])
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    enc = pc.dictionary_encode(text)
    codes = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False)
    return codes, enc.dictionary


def distinct(s: pd.Series, *, categorical: bool = False):
    """``(codes, uniques)`` with ``uniques.take(codes)`` equal to ``s``, or ``None``.

    Only for columns that hash cheaply: Arrow text, and categoricals when
    ``categorical`` (their uniques are all the categories, used or not, so
    only for functions that do not look at the set of values). For Arrow
    text the uniques keep ``s``'s dtype and first-appearance order and hold a
    missing value only if ``s`` does, so a function sees exactly the set of
    values it would see on ``s``. ``None`` means: compute on ``s`` itself.
    """
    if len(s) == 0:
        return None
    if isinstance(s.dtype, pd.CategoricalDtype):
        if not categorical:
            return None
        codes = s.cat.codes.to_numpy()
        k = len(s.dtype.categories)
        labels = np.arange(k)
        if (codes < 0).any():
            labels = np.append(labels, -1)
            codes = np.where(codes < 0, k, codes)
        return codes, pd.Series(pd.Categorical.from_codes(labels, dtype=s.dtype))
    text = arrow_text(s)
    if text is None:
        return None
    import pyarrow as pa

    codes, dictionary = arrow_codes(text)
    if (codes < 0).any():
        codes = np.where(codes < 0, len(dictionary), codes)
        dictionary = pa.concat_arrays([dictionary, pa.nulls(1, dictionary.type)])
    uniques = pd.arrays.ArrowStringArray(dictionary, dtype=s.dtype)
    return codes, pd.Series(uniques)


def on_distinct(fn: Callable, s: pd.Series, *, categorical: bool = False, found=None):
    """``fn(s)``, computed on the distinct values of ``s`` only.

    ``fn`` must work row by row (no row's result depends on another row) and
    return a Series, an array or a tuple of them; results are spread back to
    every row with ``s``'s index. Columns of batch files repeat few values
    (codes, dates, amounts), so this turns per-row parsing into per-value.

    Parameters
    ----------
    fn : callable
        Row-wise function of a Series.
    s : pandas.Series
    categorical : bool, default=False
        Also for categoricals (``fn`` then sees every category, used or not).
    found : tuple of (numpy.ndarray, pandas.Series), optional
        The ``(codes, uniques)`` of ``s`` when the caller already has them
        (a factorization :func:`distinct` does not know); by default
        :func:`distinct`'s.

    Returns
    -------
    pandas.Series, numpy.ndarray or tuple of them
        As ``fn(s)`` would return.

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial._distinct import on_distinct
    >>> s = pd.Series(["gp", "kx", "gp"], dtype="string[pyarrow]")
    >>> calls = []
    >>> on_distinct(lambda u: calls.append(len(u)) or u.str.upper(), s).tolist()
    ['GP', 'KX', 'GP']
    >>> calls  # the function saw the 2 distinct values, not the 3 rows
    [2]
    """
    if found is None:
        found = distinct(s, categorical=categorical)
    if found is None:
        return fn(s)
    codes, uniques = found
    res = fn(uniques)

    def back(r):
        if isinstance(r, pd.Series):
            return r.take(codes).set_axis(s.index).rename(s.name)
        return np.asarray(r)[codes]

    return tuple(back(r) for r in res) if isinstance(res, tuple) else back(res)


def text_codes(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes (-1 = missing) and distinct values, as ``str``, of a column's text.

    With :func:`spread`, the way to turn a column into Python text per line
    converting each distinct value once. A categorical of text keeps its own
    codes (its uniques are then all its categories, used or not).

    Parameters
    ----------
    series : pandas.Series

    Returns
    -------
    codes : numpy.ndarray of intp
    uniques : numpy.ndarray of object (str)

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial._distinct import spread, text_codes
    >>> codes, uniques = text_codes(pd.Series(["GP", None, "KX", "GP"]))
    >>> codes.tolist(), uniques.tolist()
    ([0, -1, 1, 0], ['GP', 'KX'])
    >>> spread(uniques, codes, "").tolist()
    ['GP', '', 'KX', 'GP']
    """
    if isinstance(series.dtype, pd.CategoricalDtype) and pd.api.types.is_string_dtype(
        series.dtype.categories
    ):
        # a categorical already holds its codes; converting every line to
        # text first costs more than the work done on the values
        codes = series.cat.codes.to_numpy(dtype=np.intp)
        uniques = series.dtype.categories.astype("string")
    else:
        codes, uniques = pd.factorize(series.astype("string"))
    return np.asarray(codes, dtype=np.intp), np.asarray(uniques, dtype=object)


def spread(per_value: np.ndarray, codes: np.ndarray, missing) -> np.ndarray:
    """``per_value[codes]`` with ``missing`` where the code is -1.

    Parameters
    ----------
    per_value : numpy.ndarray
        One result per distinct value (1-D, not an array of tuples).
    codes : numpy.ndarray of int
    missing : scalar
        The result of the lines whose code is -1.

    Returns
    -------
    numpy.ndarray
    """
    return np.append(per_value, np.asarray([missing], dtype=per_value.dtype))[codes]


def map_values(fn: Callable, codes, uniques, *, missing=None, dtype=None):
    """``fn`` of each distinct value, taken back to the lines by their codes.

    Parameters
    ----------
    fn : callable
        Function of one distinct value.
    codes : numpy.ndarray of int
        Each line's position in ``uniques`` (``-1`` = missing).
    uniques : sequence
        The distinct values.
    missing : scalar, optional
        The result of the lines whose code is -1. ``None``: every code is
        ``>= 0`` (a factorization that kept missing values as a value).
    dtype : numpy dtype, optional
        Of the result. Default: ``bool`` when every result is a ``bool``,
        else ``object``.

    Returns
    -------
    numpy.ndarray
        One result per line. With ``missing=None`` and no distinct value
        (no line), an empty array of ``dtype`` (default ``object``).

    Examples
    --------
    >>> import numpy as np
    >>> from ptdenial._distinct import map_values
    >>> codes, uniques = np.array([0, -1, 1, 0]), [("GP",), ("GP", "KX")]
    >>> map_values(lambda t: "KX" in t, codes, uniques, missing=False).tolist()
    [False, False, True, False]
    """
    if missing is None and not len(uniques):
        return np.array([], dtype=object if dtype is None else dtype)
    results = [fn(u) for u in uniques]
    if dtype is None:
        dtype = bool if all(type(r) is bool for r in results) else object
    per_value = np.array(results, dtype=dtype)
    return per_value[codes] if missing is None else spread(per_value, codes, missing)


def flags(codes, uniques, tests, *, missing=None) -> dict[str, np.ndarray]:
    """Several functions of each distinct value: ``{name: map_values(fn, ...)}``.

    Parameters
    ----------
    codes, uniques, missing
        As in :func:`map_values`.
    tests : mapping of str to callable

    Returns
    -------
    dict of str to numpy.ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from ptdenial._distinct import flags
    >>> out = flags(np.array([0, 1, 0]), [("KX",), ()], {"kx": lambda t: "KX" in t,
    ...                                                   "n": len})
    >>> out["kx"].tolist(), out["n"].tolist()
    ([True, False, True], [1, 0, 1])
    """
    return {
        name: map_values(fn, codes, uniques, missing=missing)
        for name, fn in tests.items()
    }


def dense_ids(*codes: np.ndarray) -> np.ndarray:
    """Dense ids (0..n_groups-1, first-appearance order) of several code arrays.

    Codes must be non-negative. Works for any ranges: the packed key is
    refactorized before it could overflow int64.

    Examples
    --------
    >>> import numpy as np
    >>> from ptdenial._distinct import dense_ids
    >>> dense_ids(np.array([3, 3, 0]), np.array([1, 1, 1])).tolist()
    [0, 0, 1]
    """
    key = np.asarray(codes[0], dtype=np.int64)
    for c in codes[1:]:
        c = np.asarray(c, dtype=np.int64)
        width = int(c.max()) + 1 if len(c) else 1
        if len(key) and int(key.max()) >= (2**62) // max(width, 1):
            key = pd.factorize(key)[0].astype(np.int64)
        key = key * width + c
    return pd.factorize(key)[0].astype(np.int64)


def first_positions(group: np.ndarray, n_groups: int) -> np.ndarray:
    """Position of the first row of each group (ids 0..n_groups-1, all present)."""
    first = np.empty(n_groups, dtype=np.int64)
    order = np.arange(len(group) - 1, -1, -1)
    first[group[order]] = order
    return first


def combinations(codes: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Ids of the distinct combinations of code arrays, and the first row of each.

    Parameters
    ----------
    codes : sequence of numpy.ndarray of int
        One array per column, all the same length, codes >= 0 (shift a
        factorization's -1 to 0 first).

    Returns
    -------
    ids : numpy.ndarray of int64
        Each row's combination, ``0..k-1`` in no particular order.
    first : numpy.ndarray of int64
        The first row of each combination: ``codes[j][first]`` are the
        combinations' codes.

    Notes
    -----
    Where the product of the code ranges is small, a lookup table replaces
    hashing.

    Examples
    --------
    >>> import numpy as np
    >>> from ptdenial._distinct import combinations
    >>> ids, first = combinations([np.array([0, 1, 0, 1]), np.array([2, 0, 2, 2])])
    >>> len(first), bool(ids[0] == ids[2]), len({*ids.tolist()})
    (3, True, 3)
    """
    n = len(codes[0])
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    key = np.zeros(n, dtype=np.int64)
    space = 1
    for c in codes:
        width = int(c.max()) + 1
        space *= width
        if space > max(4 * n, 1 << 16):
            combo = dense_ids(*codes)
            return combo, first_positions(combo, int(combo.max()) + 1)
        key = key * width + c
    seen = np.zeros(space, dtype=bool)
    seen[key] = True
    ids = np.cumsum(seen) - 1
    combo = ids[key]
    return combo, first_positions(combo, int(ids[-1]) + 1)


def key_index(frame: pd.DataFrame, columns, *, sep: str = "|"):
    """Each line's text key as (position among the distinct keys, the keys).

    A key is the ``sep``-joined ``str`` of the line's values in ``columns``
    (a missing value as empty text), built once per distinct combination: a
    batch has few payers and codes but many lines.

    Parameters
    ----------
    frame : pandas.DataFrame
    columns : sequence of str
    sep : str, default="|"

    Returns
    -------
    (inverse, keys) or None
        ``keys[inverse]`` is each line's key; ``None`` when a column is
        absent.

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial._distinct import key_index
    >>> f = pd.DataFrame({"payer": ["A", "B", "A", None], "code": ["1", "1", "1", "2"]})
    >>> inverse, keys = key_index(f, ["payer", "code"])
    >>> keys[inverse].tolist()
    ['A|1', 'B|1', 'A|1', '|2']
    """
    if not all(c in frame.columns for c in columns):
        return None
    codes, texts = [], []
    for c in columns:
        k, uniques = pd.factorize(frame[c], use_na_sentinel=True)
        codes.append(np.asarray(k, dtype=np.int64) + 1)
        texts.append(np.asarray([""] + [str(u) for u in uniques], dtype=object))
    inverse, first = combinations(codes)
    keys = texts[0][codes[0][first]]
    for text, k in zip(texts[1:], codes[1:], strict=True):
        keys = keys + sep + text[k[first]]
    return inverse, np.asarray(keys, dtype=object)
