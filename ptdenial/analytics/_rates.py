"""Denial rates by group, with Wilson score intervals."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial.analytics._common import (
    _as_list,
    _dimension,
    _filter_code,
    _labelled,
    _outcome_arrays,
)

#: The measure columns of :func:`denial_rates`, after its dimension columns.
RATE_COLUMNS = (
    "lines",
    "pending",
    "adjudicated",
    "denied",
    "partially_denied",
    "denial_rate",
    "ci_low",
    "ci_high",
    "share_of_denials",
    "charges",
    "denied_charges",
)


def wilson_interval(successes, n, *, confidence: float = 0.95):
    """Wilson score interval of a binomial proportion, vectorized.

    Parameters
    ----------
    successes : array-like of int
        Number of events (e.g. denied lines).
    n : array-like of int
        Number of trials (e.g. adjudicated lines). Where ``n`` is 0 both
        bounds are NaN.
    confidence : float
        Two-sided confidence level, e.g. 0.95.

    Returns
    -------
    (low, high) : tuple of numpy.ndarray
        Bounds in [0, 1], same shape as the broadcast inputs.

    Examples
    --------
    >>> from ptdenial.analytics import wilson_interval
    >>> low, high = wilson_interval([0, 5, 10], [10, 10, 10])
    >>> low.round(4).tolist(), high.round(4).tolist()
    ([0.0, 0.2366, 0.7225], [0.2775, 0.7634, 1.0])
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1); got {confidence!r}")
    k = np.asarray(successes, dtype=float)
    m = np.asarray(n, dtype=float)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    z2 = z * z
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / m
        denom = 1 + z2 / m
        center = (p + z2 / (2 * m)) / denom
        half = z / denom * np.sqrt(p * (1 - p) / m + z2 / (4 * m * m))
        low = np.where(k <= 0, 0.0, np.clip(center - half, 0.0, 1.0))
        high = np.where(k >= m, 1.0, np.clip(center + half, 0.0, 1.0))
        low = np.where(m > 0, low, np.nan)
        high = np.where(m > 0, high, np.nan)
    return low, high


def _rate_columns(frame: pd.DataFrame, confidence: float) -> pd.DataFrame:
    adjudicated = frame["adjudicated"].to_numpy(dtype=float)
    denied = frame["denied"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["denial_rate"] = np.where(adjudicated > 0, denied / adjudicated, np.nan)
    low, high = wilson_interval(denied, adjudicated, confidence=confidence)
    frame["ci_low"] = low
    frame["ci_high"] = high
    return frame


def denial_rates(
    claims: pd.DataFrame,
    by=S.PAYER_ID,
    *,
    cpt_code=None,
    confidence: float = 0.95,
    min_lines: int = 0,
    sort: bool = False,
    reference=None,
) -> pd.DataFrame:
    """Denial rate by one or more dimensions, with counts and Wilson intervals.

    Parameters
    ----------
    claims : pandas.DataFrame
        Validated claims with outcome columns (or ``denied``/``pending``).
    by : str or list of str
        Claim columns (``payer_id``, ``payer_class``, ``rendering_provider_id``,
        ``clinic_id`` ...) and/or ``"month"``, ``"quarter"``, ``"year"`` of
        the date of service. Missing values form their own group
        ``"(missing)"``.
    cpt_code : str or list of str, optional
        Only these codes' lines (e.g. ``"97112"``); all lines by default.
    confidence : float
        Level of the Wilson interval.
    min_lines : int
        Drop groups with fewer adjudicated lines.
    sort : bool
        Sort by denial rate, highest first (otherwise by the dimensions).
    reference : ptdenial.reference.Reference, optional
        Used to derive outcomes when the labels are absent.

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, then ``lines``, ``pending``, ``adjudicated``,
        ``denied``, ``partially_denied``, ``denial_rate``, ``ci_low``,
        ``ci_high``, ``share_of_denials``, ``charges``, ``denied_charges``.

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.analytics import denial_rates
    >>> lines = pd.DataFrame({
    ...     "payer_id": ["A", "A", "A", "B", "B"],
    ...     "cpt_code": ["97112"] * 5,
    ...     "date_of_service": pd.to_datetime(["2025-01-02"] * 5),
    ...     "charge_amount": [40.0] * 5,
    ...     "denied": pd.array([True, False, None, False, False], "boolean"),
    ...     "pending": pd.array([False, False, True, False, False], "boolean"),
    ... })
    >>> denial_rates(lines, "payer_id")[
    ...     ["payer_id", "lines", "pending", "adjudicated", "denied", "denial_rate"]]
      payer_id  lines  pending  adjudicated  denied  denial_rate
    0        A      3        1            2       1          0.5
    1        B      2        0            2       0          0.0
    """
    dims = _as_list(by)
    claims = _labelled(_filter_code(claims, cpt_code), reference)
    denied, pending, partial = _outcome_arrays(claims)
    charge = claims[S.CHARGE_AMOUNT].to_numpy(dtype=float, na_value=0.0)
    work = pd.DataFrame(
        {
            "lines": np.ones(len(claims), dtype=np.int64),
            "pending": pending.astype(np.int64),
            "adjudicated": (~pending).astype(np.int64),
            "denied": denied.astype(np.int64),
            "partially_denied": partial.astype(np.int64),
            "charges": charge,
            "denied_charges": np.where(denied, charge, 0.0),
        },
        index=claims.index,
    )
    if dims:
        keys = [_dimension(claims, d) for d in dims]
        out = work.groupby(keys, sort=True, dropna=False).sum().reset_index()
    else:
        out = work.sum().to_frame().T.astype(work.dtypes.to_dict())
    out = _rate_columns(out, confidence)
    total_denied = out["denied"].sum()
    out["share_of_denials"] = out["denied"] / total_denied if total_denied else np.nan
    if min_lines:
        out = out.loc[out["adjudicated"] >= min_lines]
    if sort:
        out = out.sort_values(["denial_rate", "adjudicated"], ascending=[False, False])
    return out[[*dims, *RATE_COLUMNS]].reset_index(drop=True)
