"""Small vectorized helpers of the generator (numpy, no Python loop over rows)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _integrate_noise(logit: np.ndarray, sd: float) -> np.ndarray:
    """E[sigmoid(logit + e)] for e ~ N(0, sd^2), by Gauss-Hermite quadrature.

    The claim and line noise of the latent model are drawn at random and leave
    no trace in the claim table, so no model can know them: the probability
    given everything observable averages over them.
    """
    if sd <= 0:
        return _sigmoid(logit)
    nodes, weights = np.polynomial.hermite_e.hermegauss(24)
    weights = weights / weights.sum()
    out = np.zeros(len(logit))
    for x, w in zip(nodes, weights, strict=True):
        out += w * _sigmoid(logit + sd * x)
    return out


def _group_first(keys: np.ndarray) -> np.ndarray:
    """For rows sorted by ``keys``, the index of each row's group's first row."""
    n = len(keys)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    new = np.empty(n, dtype=bool)
    new[0] = True
    new[1:] = keys[1:] != keys[:-1]
    starts = np.flatnonzero(new)
    return np.repeat(starts, np.diff(np.append(starts, n)))


def _group_cumsum(values: np.ndarray, first: np.ndarray, *, inclusive: bool):
    """Cumulative sum within groups (``first``: each row's group start)."""
    c = np.cumsum(values)
    out = c - (c[first] - values[first])
    return out if inclusive else out - values


def _choice(rng, probs: np.ndarray, size=None, rows=None):
    """Draw category indices; ``probs`` is 1-D, or 2-D with ``rows`` picking a row."""
    probs = np.asarray(probs, dtype=float)
    if probs.ndim == 1:
        cdf = np.cumsum(probs / probs.sum())
        return np.minimum(
            np.searchsorted(cdf, rng.random(size), side="right"), len(probs) - 1
        )
    cdf = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    u = rng.random(len(rows))
    return np.minimum((u[:, None] >= cdf[rows]).sum(axis=1), probs.shape[1] - 1)


def _dense(values: np.ndarray):
    """``(uniques, inverse)`` of small non-negative ints, without sorting."""
    values = np.asarray(values, dtype=np.int64)
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    present = np.bincount(values) > 0
    rank = np.cumsum(present) - 1
    return np.flatnonzero(present), rank[values]


def _bits_to_tuples(bits: np.ndarray, names) -> np.ndarray:
    """Map integer bit masks to tuples of names (computed once per unique mask)."""
    uniq, inv = _dense(bits)
    table = np.empty(len(uniq), dtype=object)
    for i, b in enumerate(uniq.tolist()):
        table[i] = tuple(n for j, n in enumerate(names) if b >> j & 1)
    return table[inv]


def _strings(codes: np.ndarray, uniques) -> pd.arrays.ArrowStringArray:
    """A pandas ``string`` array from integer codes into ``uniques`` (-1 = NA)."""
    arr = pd.array(np.asarray(list(uniques), dtype=object), dtype="string")
    return arr.take(np.asarray(codes, dtype=np.int64), allow_fill=True)


def _ids(prefix: str, numbers: np.ndarray, width: int) -> list[str]:
    return [f"{prefix}{n:0{width}d}" for n in numbers.tolist()]


def _ns(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[ns]")


def _mapping(pairs) -> dict:
    return dict(pairs)


def _year_lookup(table: dict, years: np.ndarray) -> np.ndarray:
    """Value of ``table`` (year -> value) in force in each year (last key <= year)."""
    keys = np.array(sorted(table))
    vals = np.array([table[k] for k in keys], dtype=float)
    idx = np.clip(np.searchsorted(keys, years, side="right") - 1, 0, len(keys) - 1)
    return vals[idx]
