"""Denial rate per month of service, with no month skipped."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ptdenial.analytics._common import MONTH, _as_list
from ptdenial.analytics._rates import denial_rates


def monthly_trend(
    claims: pd.DataFrame,
    *,
    by=None,
    cpt_code=None,
    confidence: float = 0.95,
    reference=None,
) -> pd.DataFrame:
    """Denial rate per month of service (optionally per group), no month skipped.

    Months without adjudicated lines keep a row with ``adjudicated = 0`` and
    an empty rate, so a plotted trend shows the gap instead of bridging it.
    Recent months are incomplete while their lines are pending: read the
    ``pending`` column before reading a drop in the rate.

    Parameters
    ----------
    claims : pandas.DataFrame
    by : str or list of str, optional
        Extra dimensions, e.g. ``"payer_class"``.
    cpt_code : str or list of str, optional
    confidence : float
    reference : ptdenial.reference.Reference, optional

    Returns
    -------
    pandas.DataFrame
        ``month`` (first day of the month), the ``by`` columns, and the
        columns of :func:`denial_rates`.

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.analytics import monthly_trend
    >>> lines = pd.DataFrame({
    ...     "cpt_code": ["97112"] * 3, "charge_amount": [40.0] * 3,
    ...     "date_of_service": pd.to_datetime(["2025-01-05", "2025-03-01",
    ...                                        "2025-03-09"]),
    ...     "denied": pd.array([True, False, True], "boolean"),
    ...     "pending": pd.array([False, False, False], "boolean"),
    ... })
    >>> t = monthly_trend(lines)
    >>> t["month"].dt.strftime("%Y-%m").tolist(), t["adjudicated"].tolist()
    (['2025-01', '2025-02', '2025-03'], [1, 0, 2])
    """
    dims = [MONTH, *_as_list(by)]
    out = denial_rates(
        claims, dims, cpt_code=cpt_code, confidence=confidence, reference=reference
    )
    if out.empty:
        return out
    months = pd.date_range(out[MONTH].min(), out[MONTH].max(), freq="MS")
    if len(dims) == 1:
        full = pd.DataFrame({MONTH: months})
    else:
        others = out[dims[1:]].drop_duplicates()
        full = pd.DataFrame({MONTH: months}).merge(others, how="cross")
    out = full.merge(out, on=dims, how="left")
    counts = [
        "lines",
        "pending",
        "adjudicated",
        "denied",
        "partially_denied",
        "charges",
        "denied_charges",
    ]
    for c in counts:
        out[c] = out[c].fillna(0)
        if c not in ("charges", "denied_charges"):
            out[c] = out[c].astype(np.int64)
    return out.sort_values(dims).reset_index(drop=True)
