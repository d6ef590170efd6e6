"""Outcome labels (denied, partially denied, pending) from the remittance columns."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ptdenial.schema._columns import (
    ADJUDICATION_DATE,
    ADJUSTMENT_CODES,
    ALLOWED_AMOUNT,
    DENIED,
    PAID_AMOUNT,
    PARTIALLY_DENIED,
    PENDING,
)

__all__ = ["derive_outcomes"]


def derive_outcomes(df: pd.DataFrame, *, reference=None) -> pd.DataFrame:
    """Add ``denied``, ``partially_denied`` and ``pending`` from remittance data.

    A line is **pending** when it has no ``adjudication_date``. It is
    **denied** when it was adjudicated, ``paid_amount`` is 0, patient
    responsibility (PR-1/2/3 with a positive allowed amount) did not absorb
    it, and at least one adjustment code is a denial reason (a CARC outside
    the non-denial set in ``reference/carc_catalogue.csv``). It is
    **partially denied** when it was paid but carries a partial-denial CARC
    (151, paid at fewer units). A ``denied`` value supplied in the input wins
    where it is not empty. Pending lines get ``denied = <NA>``: they are never
    negatives.

    Training uses ``denied`` as the label; partially denied lines count as
    not denied there and are reported on their own.

    Parameters
    ----------
    df : pandas.DataFrame
        Validated claims (canonical dtypes).
    reference : ptdenial.reference.Reference, optional
        Reference tables; defaults to the shipped ones.

    Returns
    -------
    pandas.DataFrame
        A copy with the three label columns (nullable booleans).

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.schema import derive_outcomes
    >>> lines = pd.DataFrame({
    ...     "adjudication_date": pd.to_datetime(["2025-02-01", "2025-02-01",
    ...                                          "2025-02-01", None]),
    ...     "allowed_amount": [0.0, 30.0, 60.0, None],
    ...     "paid_amount": [0.0, 0.0, 30.0, None],
    ...     "adjustment_codes": [("CO-50",), ("PR-1",), ("CO-151",), ()],
    ... })
    >>> derive_outcomes(lines)[["denied", "partially_denied", "pending"]]
       denied  partially_denied  pending
    0    True             False    False
    1   False             False    False
    2   False              True    False
    3    <NA>              <NA>     True
    """
    if reference is None:
        from ptdenial.reference import load_reference

        reference = load_reference()
    out = df.copy()
    n = len(out)
    if ADJUDICATION_DATE in out:
        adjudicated = out[ADJUDICATION_DATE].notna().to_numpy()
    else:
        adjudicated = np.zeros(n, dtype=bool)
    non_denial = reference.non_denial_carcs()
    partial = reference.partial_denial_carcs()
    adj = (
        out[ADJUSTMENT_CODES]
        if ADJUSTMENT_CODES in out
        else pd.Series([()] * n, index=out.index, dtype=object)
    )
    has_denial, has_pr, has_partial = _carc_flags(adj, non_denial, partial)
    paid = (
        out[PAID_AMOUNT].to_numpy(dtype=float, na_value=np.nan)
        if PAID_AMOUNT in out
        else np.full(n, np.nan)
    )
    allowed = (
        out[ALLOWED_AMOUNT].to_numpy(dtype=float, na_value=np.nan)
        if ALLOWED_AMOUNT in out
        else np.full(n, np.nan)
    )
    zero_paid = np.nan_to_num(paid, nan=0.0) <= 0.0
    absorbed = has_pr & (np.nan_to_num(allowed, nan=0.0) > 0)
    denied = adjudicated & zero_paid & ~absorbed & has_denial
    partially = adjudicated & ~zero_paid & has_partial
    if DENIED in df.columns:
        given = df[DENIED].astype("boolean")
        use = given.notna().to_numpy()
        denied = np.where(use, given.fillna(False).to_numpy(dtype=bool), denied)
        adjudicated = adjudicated | use
    mask = pd.Series(~adjudicated, index=out.index)
    out[DENIED] = pd.Series(denied, index=out.index, dtype="boolean").mask(mask)
    out[PARTIALLY_DENIED] = pd.Series(
        partially & ~denied, index=out.index, dtype="boolean"
    ).mask(mask)
    out[PENDING] = pd.Series(~adjudicated, index=out.index, dtype="boolean")
    return out


def _carc_flags(adj: pd.Series, non_denial, partial):
    """Per line: a denial CARC, a PR-1/2/3 patient share, a partial-denial CARC.

    Computed once per distinct tuple of adjustment codes.
    """
    n = len(adj)
    codes, uniques = pd.factorize(adj)
    has_denial_u = np.zeros(len(uniques), bool)
    has_pr_u = np.zeros(len(uniques), bool)
    has_partial_u = np.zeros(len(uniques), bool)
    for i, tup in enumerate(uniques):
        for item in tup:
            group, _, carc = item.rpartition("-")
            if carc not in non_denial:
                has_denial_u[i] = True
            if carc in partial:
                has_partial_u[i] = True
            if group == "PR" and carc in {"1", "2", "3"}:
                has_pr_u[i] = True
    if not len(uniques):
        return np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, bool)
    return has_denial_u[codes], has_pr_u[codes], has_partial_u[codes]
