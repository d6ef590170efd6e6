"""Dollars: expected payment of a line, revenue at risk and its recoverable part."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial._payment import payment_table, price_lines
from ptdenial.analytics._common import (
    _as_list,
    _dimension,
    _filter_code,
    _labelled,
    _outcome_arrays,
)
from ptdenial.analytics._rule_hits import rule_hit_matrix

_HARD = ("hard",)

#: The measure columns of :func:`revenue_at_risk`, after its dimension columns.
REVENUE_COLUMNS = (
    "adjudicated",
    "denied",
    "denied_charges",
    "revenue_at_risk",
    "recoverable_lines",
    "recoverable_revenue",
    "recoverable_share",
    "pending_lines",
    "pending_expected_payment",
)


def expected_payment(
    claims: pd.DataFrame, *, history=None, reference=None
) -> pd.Series:
    """Expected allowed amount per line, learned from paid lines of a history.

    The median allowed amount per unit of paid lines (adjudicated, not
    denied, ``allowed_amount > 0``) of the same ``payer_id`` and
    ``cpt_code``, times the line's units; where that cell has fewer than 5
    paid lines, the same by ``payer_class`` and code, then by code; lines
    still without a rate get their charge times the history's overall
    allowed-to-charge ratio (or their charge when the history has no paid
    lines).

    Parameters
    ----------
    claims : pandas.DataFrame
        Lines to price (history or new claims).
    history : pandas.DataFrame, optional
        Adjudicated lines to learn from; ``claims`` itself by default.
    reference : ptdenial.reference.Reference, optional

    Returns
    -------
    pandas.Series
        Float USD, named ``expected_payment``, aligned with ``claims``.

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.analytics import expected_payment
    >>> h = pd.DataFrame({
    ...     "payer_id": ["A"] * 6, "payer_class": ["commercial"] * 6,
    ...     "cpt_code": ["97112"] * 6, "units": [1, 2, 1, 1, 2, 2],
    ...     "charge_amount": [50.0, 100, 50, 50, 100, 100],
    ...     "allowed_amount": [30.0, 60, 30, 30, 60, 0],
    ...     "denied": pd.array([False] * 5 + [True], "boolean"),
    ...     "pending": pd.array([False] * 6, "boolean"),
    ... })
    >>> expected_payment(h).tolist()
    [30.0, 60.0, 30.0, 30.0, 60.0, 60.0]
    """
    hist = claims if history is None else history
    if S.ALLOWED_AMOUNT in hist.columns and len(hist):
        hist = _labelled(hist, reference)
        denied, pending, _ = _outcome_arrays(hist)
        table = payment_table(hist, ~pending & ~denied)
    else:
        table = {"ratio": 1.0}
    result = price_lines(table, claims)
    return pd.Series(result, index=claims.index, name="expected_payment")


def revenue_at_risk(
    claims: pd.DataFrame,
    hits=None,
    *,
    by=None,
    cpt_code=None,
    kinds=_HARD,
    history=None,
    reference=None,
) -> pd.DataFrame:
    """Denied dollars, and the part a billing rule would have prevented.

    ``revenue_at_risk`` is the expected payment (:func:`expected_payment`) of
    denied lines; ``recoverable_revenue`` is the part on denied lines where a
    rule of one of ``kinds`` fired (a scrubber would have stopped them before
    submission). Pending lines are reported apart (``pending_lines``,
    ``pending_expected_payment``), never as denied or paid.

    Parameters
    ----------
    claims : pandas.DataFrame
        Claims with outcomes.
    hits : pandas.DataFrame or rule result, optional
        Tidy rule hits; computed with :func:`ptdenial.rules.apply_rules` when
        omitted.
    by : str or list of str, optional
        Dimensions (see :func:`denial_rates`); one ``"(all)"`` row otherwise.
    cpt_code : str or list of str, optional
    kinds : sequence of str or None
        Rule kinds that count as recoverable (``("hard",)``); ``None`` = any
        rule hit.
    history : pandas.DataFrame, optional
        Passed to :func:`expected_payment`.
    reference : ptdenial.reference.Reference, optional

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns (or ``group``), ``adjudicated``, ``denied``,
        ``denied_charges``, ``revenue_at_risk``, ``recoverable_lines``,
        ``recoverable_revenue``, ``recoverable_share``, ``pending_lines``,
        ``pending_expected_payment``.

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.analytics import revenue_at_risk
    >>> lines = pd.DataFrame({
    ...     "claim_id": ["C1", "C2", "C3"], "line_number": [1, 1, 1],
    ...     "payer_id": ["A"] * 3, "payer_class": ["medicare"] * 3,
    ...     "cpt_code": ["97112"] * 3, "units": [1, 1, 1],
    ...     "charge_amount": [50.0] * 3, "allowed_amount": [0.0, 0.0, 30.0],
    ...     "denied": pd.array([True, True, False], "boolean"),
    ...     "pending": pd.array([False] * 3, "boolean"),
    ... })
    >>> hits = pd.DataFrame({"claim_id": ["C1"], "line_number": [1],
    ...                      "rule_id": ["GP_MISSING"], "kind": ["hard"]})
    >>> r = revenue_at_risk(lines, hits)
    >>> r[["group", "denied", "recoverable_lines", "recoverable_share"]]
       group  denied  recoverable_lines  recoverable_share
    0  (all)       2                  1                0.5
    """
    matrix, rule_kinds = rule_hit_matrix(claims, hits, reference=reference)
    keep = _filter_code(claims, cpt_code).index
    claims = _labelled(claims.loc[keep], reference)
    matrix = matrix.loc[keep]
    if kinds is None:
        chosen = list(matrix.columns)
    else:
        chosen = [r for r in matrix.columns if rule_kinds.get(r, "") in set(kinds)]
    fixable = (
        matrix[chosen].to_numpy(dtype=bool).any(axis=1)
        if chosen
        else np.zeros(len(claims), bool)
    )
    denied, pending, _ = _outcome_arrays(claims)
    charge = claims[S.CHARGE_AMOUNT].to_numpy(dtype=float, na_value=0.0)
    pay = expected_payment(claims, history=history, reference=reference).to_numpy()
    recover = denied & fixable
    work = pd.DataFrame(
        {
            "adjudicated": (~pending).astype(np.int64),
            "denied": denied.astype(np.int64),
            "denied_charges": np.where(denied, charge, 0.0),
            "revenue_at_risk": np.where(denied, pay, 0.0),
            "recoverable_lines": recover.astype(np.int64),
            "recoverable_revenue": np.where(recover, pay, 0.0),
            "pending_lines": pending.astype(np.int64),
            "pending_expected_payment": np.where(pending, pay, 0.0),
        },
        index=claims.index,
    )
    dims = _as_list(by)
    if dims:
        keys = [_dimension(claims, d) for d in dims]
        out = work.groupby(keys, sort=True, dropna=False).sum().reset_index()
    else:
        out = work.sum().to_frame().T.astype(work.dtypes.to_dict())
        out.insert(0, "group", "(all)")
        dims = ["group"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["recoverable_share"] = np.where(
            out["revenue_at_risk"] > 0,
            out["recoverable_revenue"] / out["revenue_at_risk"],
            np.nan,
        )
    return out[[*dims, *REVENUE_COLUMNS]].reset_index(drop=True)
