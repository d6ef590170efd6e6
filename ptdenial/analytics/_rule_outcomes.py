"""What rule hits say about outcomes: denial rate and lift per rule, what-if fixed."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial.analytics._common import _filter_code, _labelled, _outcome_arrays
from ptdenial.analytics._rates import _rate_columns, wilson_interval
from ptdenial.analytics._revenue import expected_payment
from ptdenial.analytics._rule_hits import rule_hit_matrix

NO_RULE_HIT = "(no rule hit)"


def rule_outcome_table(
    claims: pd.DataFrame,
    hits=None,
    *,
    cpt_code=None,
    confidence: float = 0.95,
    reference=None,
) -> pd.DataFrame:
    """Cross-tab of rule hits against outcomes: lines, denied, rate, lift.

    One row per rule id with the adjudicated lines it fired on, how many were
    denied, the denial rate with its Wilson interval, and the **lift**: the
    rate divided by the rate of lines on which no rule fired (the last row,
    ``"(no rule hit)"``). A line with several hits counts under each.

    Parameters
    ----------
    claims : pandas.DataFrame
        Claims with outcomes.
    hits : pandas.DataFrame or rule result, optional
        Tidy hits; computed with :func:`ptdenial.rules.apply_rules` when
        omitted (on all lines, before any ``cpt_code`` filter).
    cpt_code : str or list of str, optional
    confidence : float
    reference : ptdenial.reference.Reference, optional

    Returns
    -------
    pandas.DataFrame
        ``rule_id``, ``kind``, ``lines``, ``pending``, ``adjudicated``,
        ``denied``, ``denial_rate``, ``ci_low``, ``ci_high``, ``lift``,
        ``denied_charges``; rules sorted by ``denied``.

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.analytics import rule_outcome_table
    >>> lines = pd.DataFrame({
    ...     "claim_id": ["C1", "C2", "C3", "C4"], "line_number": [1] * 4,
    ...     "cpt_code": ["97112"] * 4, "charge_amount": [40.0] * 4,
    ...     "denied": pd.array([True, True, False, False], "boolean"),
    ...     "pending": pd.array([False] * 4, "boolean"),
    ... })
    >>> hits = pd.DataFrame({"claim_id": ["C1", "C2"], "line_number": [1, 1],
    ...                      "rule_id": ["KX_MISSING"] * 2, "kind": ["hard"] * 2})
    >>> rule_outcome_table(lines, hits)[["rule_id", "adjudicated", "denied",
    ...                                   "denial_rate"]]
             rule_id  adjudicated  denied  denial_rate
    0     KX_MISSING            2       2          1.0
    1  (no rule hit)            2       0          0.0
    """
    matrix, kinds = rule_hit_matrix(claims, hits, reference=reference)
    keep = _filter_code(claims, cpt_code).index
    claims = _labelled(claims.loc[keep], reference)
    matrix = matrix.loc[keep]
    denied, pending, _ = _outcome_arrays(claims)
    charge = claims[S.CHARGE_AMOUNT].to_numpy(dtype=float, na_value=0.0)
    m = matrix.to_numpy(dtype=bool)
    no_hit = ~m.any(axis=1) if m.shape[1] else np.ones(len(claims), bool)
    cols = np.column_stack([m, no_hit]) if m.shape[1] else no_hit[:, None]
    names = [*matrix.columns, NO_RULE_HIT]
    adj = (~pending).astype(float)
    out = pd.DataFrame(
        {
            "rule_id": names,
            "kind": [kinds.get(n, "") for n in matrix.columns] + [""],
            "lines": cols.sum(axis=0).astype(np.int64),
            "pending": (cols & pending[:, None]).sum(axis=0).astype(np.int64),
            "adjudicated": (cols * adj[:, None]).sum(axis=0).astype(np.int64),
            "denied": (cols & denied[:, None]).sum(axis=0).astype(np.int64),
            "denied_charges": (cols * (charge * denied)[:, None]).sum(axis=0),
        }
    )
    out = _rate_columns(out, confidence)
    base = out["denial_rate"].iloc[-1]
    out["lift"] = out["denial_rate"] / base if base and base > 0 else np.nan
    rules = out.iloc[:-1].sort_values(["denied", "lines"], ascending=False)
    out = pd.concat([rules, out.iloc[-1:]], ignore_index=True)
    return out[
        [
            "rule_id",
            "kind",
            "lines",
            "pending",
            "adjudicated",
            "denied",
            "denial_rate",
            "ci_low",
            "ci_high",
            "lift",
            "denied_charges",
        ]
    ]


def rule_what_if(
    claims: pd.DataFrame,
    hits=None,
    *,
    rules=None,
    comparable=(S.PAYER_ID, S.CPT_CODE),
    min_comparable: int = 30,
    cpt_code=None,
    confidence: float = 0.95,
    history=None,
    reference=None,
) -> pd.DataFrame:
    """Expected denials (and dollars) avoided if lines with a rule hit were fixed.

    Counterfactual: a fixed line would be denied at the rate of **comparable
    lines without that hit**: adjudicated lines of the same ``comparable``
    cell (payer and code by default) on which the rule did not fire. Cells
    with fewer than ``min_comparable`` such lines fall back to the same
    payer class and code, then the code, then all lines without the hit.

    For rule *r* with adjudicated hit lines *H*::

        denials_after_fix = sum over H of rate_without_r(cell of the line)
        denials_avoided   = observed denials in H - denials_after_fix
        dollars_avoided   = sum over H of (denied - rate_without_r) * expected payment

    The interval ``avoided_low``/``avoided_high`` comes from the Wilson
    interval of the hit lines' own denial rate, with the counterfactual held
    fixed. Caveats: lines often carry several hits, so the per-rule figures
    overlap and do not add up; the comparison is observational (lines with
    the hit may differ in ways the cell does not capture); a negative value
    means the hit lines were denied *less* often than comparable lines.

    Parameters
    ----------
    claims : pandas.DataFrame
        Claims with outcomes.
    hits : pandas.DataFrame or rule result, optional
    rules : list of str, optional
        Rule ids to evaluate (all rules with hits by default).
    comparable : sequence of str
        Columns defining comparable lines.
    min_comparable : int
    cpt_code : str or list of str, optional
    confidence : float
    history : pandas.DataFrame, optional
        Passed to :func:`expected_payment`.
    reference : ptdenial.reference.Reference, optional

    Returns
    -------
    pandas.DataFrame
        ``rule_id``, ``kind``, ``hit_lines`` (adjudicated), ``denied``,
        ``denial_rate``, ``counterfactual_rate``, ``denials_after_fix``,
        ``denials_avoided``, ``avoided_low``, ``avoided_high``,
        ``dollars_avoided``; sorted by ``denials_avoided``.

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.analytics import rule_what_if
    >>> n = 100
    >>> lines = pd.DataFrame({
    ...     "claim_id": [f"C{i}" for i in range(n)], "line_number": [1] * n,
    ...     "payer_id": ["A"] * n, "payer_class": ["commercial"] * n,
    ...     "cpt_code": ["97112"] * n, "units": [1] * n,
    ...     "charge_amount": [50.0] * n, "allowed_amount": [30.0] * n,
    ...     "denied": pd.array([i < 10 or (20 <= i < 28) for i in range(n)],
    ...                        "boolean"),
    ...     "pending": pd.array([False] * n, "boolean"),
    ... })
    >>> hits = pd.DataFrame({"claim_id": [f"C{i}" for i in range(20)],
    ...                      "line_number": [1] * 20, "rule_id": ["GP_MISSING"] * 20,
    ...                      "kind": ["hard"] * 20})
    >>> w = rule_what_if(lines, hits, min_comparable=10)
    >>> w[["hit_lines", "denied", "counterfactual_rate", "denials_avoided"]].round(2)
       hit_lines  denied  counterfactual_rate  denials_avoided
    0         20      10                  0.1              8.0
    """
    matrix, rule_kinds = rule_hit_matrix(claims, hits, reference=reference)
    keep = _filter_code(claims, cpt_code).index
    claims = _labelled(claims.loc[keep], reference)
    matrix = matrix.loc[keep]
    denied, pending, _ = _outcome_arrays(claims)
    adjudicated = ~pending
    pay = expected_payment(claims, history=history, reference=reference).to_numpy()
    cell_codes = _comparable_cells(claims, comparable)
    wanted = list(matrix.columns) if rules is None else list(rules)
    rows = []
    for rule in wanted:
        if rule not in matrix.columns:
            continue
        hit = matrix[rule].to_numpy(dtype=bool)
        h = hit & adjudicated
        if not h.any():
            continue
        rate = _rate_without(adjudicated & ~hit, denied, cell_codes, min_comparable)
        n_hit = int(h.sum())
        observed = int(denied[h].sum())
        after = float(rate[h].sum())
        low, high = wilson_interval(observed, n_hit, confidence=confidence)
        rows.append(
            {
                "rule_id": rule,
                "kind": rule_kinds.get(rule, ""),
                "hit_lines": n_hit,
                "denied": observed,
                "denial_rate": observed / n_hit,
                "counterfactual_rate": after / n_hit,
                "denials_after_fix": after,
                "denials_avoided": observed - after,
                "avoided_low": float(low) * n_hit - after,
                "avoided_high": float(high) * n_hit - after,
                "dollars_avoided": float(((denied[h] - rate[h]) * pay[h]).sum()),
            }
        )
    out = pd.DataFrame(rows, columns=_WHAT_IF_COLUMNS)
    return out.sort_values("denials_avoided", ascending=False, ignore_index=True)


_WHAT_IF_COLUMNS = [
    "rule_id",
    "kind",
    "hit_lines",
    "denied",
    "denial_rate",
    "counterfactual_rate",
    "denials_after_fix",
    "denials_avoided",
    "avoided_low",
    "avoided_high",
    "dollars_avoided",
]


def _comparable_cells(claims: pd.DataFrame, comparable) -> list[np.ndarray]:
    """Cell number of each line at each level: ``comparable``, then the fallbacks.

    The fallbacks are payer class and code, then code alone; a level whose
    columns the claims lack is skipped.
    """
    levels = [tuple(comparable)]
    for fallback in ((S.PAYER_CLASS, S.CPT_CODE), (S.CPT_CODE,)):
        if fallback != tuple(comparable):
            levels.append(fallback)
    levels = [lv for lv in levels if all(c in claims.columns for c in lv)]
    return [
        claims.groupby(list(lv), sort=False, dropna=False, observed=True)
        .ngroup()
        .to_numpy()
        for lv in levels
    ]


def _rate_without(base, denied, cell_codes, min_comparable: int) -> np.ndarray:
    """Per line: the denial rate of the ``base`` lines of its cell.

    The first level whose cell holds at least ``min_comparable`` base lines
    gives the rate; lines left without one get the rate of all base lines.
    """
    overall = denied[base].mean() if base.any() else np.nan
    rate = np.full(len(denied), np.nan)
    for codes in cell_codes:
        size = codes.max() + 1
        n_cell = np.bincount(codes[base], minlength=size)
        d_cell = np.bincount(codes[base], weights=denied[base], minlength=size)
        with np.errstate(divide="ignore", invalid="ignore"):
            cell_rate = np.where(n_cell >= min_comparable, d_cell / n_cell, np.nan)
        fill = np.isnan(rate)
        rate[fill] = cell_rate[codes[fill]]
    return np.where(np.isnan(rate), overall, rate)
