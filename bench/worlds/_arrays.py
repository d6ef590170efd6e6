"""Small vectorised helpers on sorted, grouped numpy arrays."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa


def group_starts(*keys: np.ndarray) -> np.ndarray:
    """True where a run of equal keys starts (the arrays are sorted by the keys)."""
    n = len(keys[0])
    start = np.zeros(n, dtype=bool)
    if n:
        start[0] = True
        for k in keys:
            start[1:] |= k[1:] != k[:-1]
    return start


def start_index(start: np.ndarray) -> np.ndarray:
    """For each row, the index of the first row of its group."""
    idx = np.where(start, np.arange(len(start)), 0)
    return np.maximum.accumulate(idx) if len(idx) else idx


def rank_in_group(start: np.ndarray) -> np.ndarray:
    """0-based position of each row inside its group."""
    return np.arange(len(start)) - start_index(start)


def cumsum_exclusive(x: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Sum of the earlier rows of the same group (0 on a group's first row)."""
    cs = np.cumsum(x, dtype=float)
    first = start_index(start)
    return cs - x - (cs[first] - x[first])


def cummax_in_group(x: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Running maximum of ``x`` restarted at each group (``group`` sorted, int).

    ``x`` must be >= -1 and smaller than 2**31.
    """
    span = np.int64(2**32)
    y = np.maximum.accumulate(group.astype(np.int64) * span + x.astype(np.int64) + 1)
    return y - group.astype(np.int64) * span - 1


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def choice_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of a (n, k) probability matrix."""
    cum = np.cumsum(probs, axis=1)
    cum /= cum[:, -1:]
    u = rng.random(len(probs))[:, None]
    return np.minimum((u > cum).sum(axis=1), probs.shape[1] - 1)


def weighted_choice(rng, items, weights, size):
    w = np.asarray(weights, dtype=float)
    return np.asarray(items, dtype=object)[rng.choice(len(w), size=size, p=w / w.sum())]


def string_series(codes: np.ndarray, categories, index=None) -> pd.Series:
    """A pandas ``string`` column from integer codes (-1 = missing) and labels."""
    codes = np.asarray(codes)
    dictionary = pa.array(list(categories), type=pa.string())
    idx = pa.array(codes.astype(np.int32), mask=codes < 0)
    arr = pa.DictionaryArray.from_arrays(idx, dictionary).cast(pa.large_string())
    return pd.Series(pd.array(arr, dtype=pd.StringDtype("pyarrow")), index=index)


def tuple_column(codes: np.ndarray, uniques) -> np.ndarray:
    """Object array of shared tuples: ``uniques[codes]``."""
    table = np.empty(len(uniques), dtype=object)
    for i, u in enumerate(uniques):
        table[i] = tuple(u)
    return table[np.asarray(codes)]


def days_to_datetime(days: np.ndarray, missing: np.ndarray | None = None) -> pd.Series:
    """Integer days since 1970-01-01 to ``datetime64[ns]`` (NaT where missing)."""
    out = (
        np.asarray(days, dtype=np.int64)
        .astype("datetime64[D]")
        .astype("datetime64[ns]")
    )
    if missing is not None:
        out = out.copy()
        out[missing] = np.datetime64("NaT")
    return pd.Series(out)
