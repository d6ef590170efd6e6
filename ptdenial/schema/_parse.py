"""Text-level parsing of the contract's values: code lists and code formats.

List columns (``diagnosis_codes``, ``modifiers`` ...) arrive as Parquet lists
or as text delimited by commas, semicolons, pipes or spaces; they become
tuples of upper-case codes, parsed once per distinct value. The code formats
(ICD-10-CM, CPT/HCPCS, modifiers, group-CARC adjustment codes) and their
canonical forms are defined here once.
"""

from __future__ import annotations

import functools
import re

import numpy as np
import pandas as pd

from ptdenial._distinct import arrow_codes, arrow_text, map_values

__all__ = [
    "parse_list_column",
    "list_codes",
    "arrow_join_lists",
    "join_lists",
    "normalize_icd10",
    "normalize_modifier",
    "normalize_carc",
    "item_forms",
    "CPT_PATTERN",
]

_SPLIT = re.compile(r"[,;|\s]+")


@functools.lru_cache(maxsize=1 << 16)
def _parse_text(value: str) -> tuple[str, ...]:
    """Codes of one delimited text (the same few recur in every batch: cached)."""
    return tuple(p.strip().upper() for p in _SPLIT.split(value) if p.strip())


def _parse_one(value) -> tuple[str, ...]:
    if type(value) is str:
        return _parse_text(value)
    if value is None:
        return ()
    if isinstance(value, float) and np.isnan(value):
        return ()
    if isinstance(value, str):
        parts = _SPLIT.split(value)
    elif isinstance(value, list | tuple | np.ndarray):
        parts = []
        for item in value:
            if item is None or (isinstance(item, float) and np.isnan(item)):
                continue
            parts.extend(_SPLIT.split(str(item)))
    else:
        parts = _SPLIT.split(str(value))
    return tuple(p.strip().upper() for p in parts if p.strip())


def parse_list_column(values) -> pd.Series:
    """Normalize a list-valued column to tuples of upper-case strings.

    Accepts Parquet lists (numpy arrays or lists per row) or strings delimited
    by commas, semicolons, pipes or spaces. Parsing runs on the unique values
    only, so it stays fast on millions of rows.

    Parameters
    ----------
    values : pandas.Series

    Returns
    -------
    pandas.Series of tuple

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.schema import parse_list_column
    >>> parse_list_column(pd.Series(["gp, kx", "GP|KX", None, ["59"]])).tolist()
    [('GP', 'KX'), ('GP', 'KX'), (), ('59',)]
    """
    values = pd.Series(values)
    if values.empty:
        return pd.Series([], index=values.index, dtype=object)
    codes, parsed = list_codes(values)
    return pd.Series(parsed[codes], index=values.index, dtype=object)


def list_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Parse a list column once per distinct value.

    Returns ``(codes, parsed)`` with ``parsed[codes]`` the rows' tuples; code
    -1 (a missing value) picks the trailing ``()``. Callers that normalize the
    tuples further reuse the codes instead of hashing tuples again.
    """
    text = arrow_text(values)
    if text is not None:  # Arrow text: hashing in Arrow avoids object arrays
        codes, dictionary = arrow_codes(text)
        uniques = dictionary.to_pylist()
    else:
        obj = values.astype(object)
        try:  # text, tuples and missing values hash as they are
            codes, uniques = pd.factorize(obj, use_na_sentinel=True)
        except TypeError:  # Parquet lists arrive as arrays: join them in Arrow
            codes, uniques = pd.factorize(_join_lists(obj), use_na_sentinel=True)
    parsed = np.empty(len(uniques) + 1, dtype=object)
    for i, u in enumerate(uniques):
        parsed[i] = _parse_one(u)
    parsed[-1] = ()
    return codes, parsed


def arrow_join_lists(arr, sep: str = "|"):
    """Join each list of an Arrow list array into one ``|`` string.

    The one way list columns become text, in Arrow: reading Parquet for
    validation, streaming batches, Spark partitions and CSV outputs. Null
    items inside a list are dropped (``["GP", None]`` gives ``"GP"``); a null
    list stays null. :func:`join_lists` does the same for lists in pandas.

    Parameters
    ----------
    arr : pyarrow.Array or pyarrow.ChunkedArray of list<string>
        Lists of other item types are cast to ``list<string>``.
    sep : str, default="|"

    Returns
    -------
    pyarrow.Array or pyarrow.ChunkedArray of string

    Examples
    --------
    >>> import pyarrow as pa
    >>> from ptdenial.schema import arrow_join_lists
    >>> arrow_join_lists(pa.array([["GP", None, "KX"], [], None])).to_pylist()
    ['GP|KX', '', None]
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(arr, pa.ChunkedArray):
        return pa.chunked_array(
            [arrow_join_lists(c, sep) for c in arr.chunks], type=pa.string()
        )
    if not pa.types.is_string(arr.type.value_type):
        arr = pc.cast(arr, pa.list_(pa.string()))
    if arr.values.null_count:
        # drop null items: rebuild the lists from the non-null values
        parent = pc.list_parent_indices(arr)
        values = pc.list_flatten(arr)
        keep = pc.is_valid(values)
        parent = pc.filter(parent, keep).to_numpy()
        values = pc.filter(values, keep)
        counts = np.bincount(parent, minlength=len(arr))
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        arr = pa.ListArray.from_arrays(pa.array(offsets), values, mask=pc.is_null(arr))
    return pc.binary_join(arr, sep)


def join_lists(values, sep: str = "|") -> np.ndarray:
    """Join each tuple (or list) of a column into one text, once per distinct value.

    The pandas side of :func:`arrow_join_lists`: how list columns are written
    to CSV. Items are written with ``str``; a missing value gives ``""``.

    Parameters
    ----------
    values : pandas.Series or array-like of tuple
    sep : str, default="|"

    Returns
    -------
    numpy.ndarray of object (str)

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.schema import join_lists
    >>> join_lists(pd.Series([("GP", "KX"), None, ()], dtype=object)).tolist()
    ['GP|KX', '', '']
    """
    codes, uniques = pd.factorize(
        pd.Series(values, dtype=object).map(
            lambda v: tuple(v) if isinstance(v, list | np.ndarray) else v
        )
    )
    return map_values(
        lambda u: sep.join(map(str, u)), codes, uniques, missing="", dtype=object
    )


def _join_lists(obj: pd.Series) -> pd.Series:
    """Rows that are lists/arrays become one ``|``-joined string (vectorized)."""
    import pyarrow as pa

    kinds = obj.map(type)
    is_seq = kinds.isin([list, tuple, np.ndarray]).to_numpy()
    out = obj.copy()
    try:
        arr = pa.array(obj[is_seq], type=pa.list_(pa.string()), from_pandas=True)
        joined = arrow_join_lists(arr).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        # lists of non-text items: convert row by row
        joined = [tuple(str(x) for x in v) for v in obj[is_seq]]
    out[is_seq] = pd.Series(list(joined), index=obj.index[is_seq], dtype=object)
    return out


_ICD10 = re.compile(r"^[A-TV-Z][0-9][0-9A-Z](?:[0-9A-Z]{1,4})?$")


def normalize_icd10(code: str) -> str | None:
    """Return an ICD-10-CM code in dotted form, or ``None`` if malformed.

    Parameters
    ----------
    code : str
        With or without the dot, any case.

    Returns
    -------
    str or None

    Examples
    --------
    >>> from ptdenial.schema import normalize_icd10
    >>> normalize_icd10("r2681"), normalize_icd10("I69.351"), normalize_icd10("97112")
    ('R26.81', 'I69.351', None)
    """
    bare = code.strip().upper().replace(".", "")
    if not _ICD10.match(bare):
        return None
    return bare if len(bare) == 3 else f"{bare[:3]}.{bare[3:]}"


#: A CPT (5 digits, or 4 digits and a letter) or HCPCS (a letter, 4 digits) code.
CPT_PATTERN = re.compile(r"^(?:[0-9]{4}[0-9A-Z]|[A-Z][0-9]{4})$")
_MODIFIER = re.compile(r"^[0-9A-Z]{2}$")
_CARC = re.compile(r"^(?:(CO|PR|OA|PI|CR)-?)?([0-9A-Z]{1,3})$")


def normalize_modifier(code: str) -> str | None:
    """A modifier as it is (2 letters/digits), or ``None`` if malformed."""
    return code if _MODIFIER.match(code) else None


def normalize_carc(code: str) -> str | None:
    """An adjustment code as ``GROUP-CARC`` (or bare CARC), ``None`` if malformed.

    ``CO45`` and ``CO-45`` give ``CO-45``; a bare ``45`` stays ``45``.
    """
    m = _CARC.match(code)
    if m is None:
        return None
    return f"{m.group(1)}-{m.group(2)}" if m.group(1) else m.group(2)


def item_forms(uniques, normalize) -> tuple[np.ndarray, np.ndarray]:
    """Canonical tuples of distinct code lists, and which held a malformed code.

    Parameters
    ----------
    uniques : sequence of tuple of str
        Distinct code lists (as :func:`list_codes` returns them).
    normalize : callable
        One code's canonical form, or ``None`` when it is malformed.

    Returns
    -------
    forms : numpy.ndarray of tuple
        Each list's well-formed codes in canonical form (malformed ones
        dropped).
    bad : numpy.ndarray of bool
        Lists holding at least one malformed code.
    """
    memo: dict = {}  # the same few codes recur across the lists
    forms = np.empty(len(uniques), dtype=object)
    bad = np.zeros(len(uniques), dtype=bool)
    for i, codes in enumerate(uniques):
        kept = []
        for code in codes:
            if code not in memo:
                memo[code] = normalize(code)
            form = memo[code]
            if form is None:
                bad[i] = True
            else:
                kept.append(form)
        forms[i] = tuple(kept)
    return forms, bad
