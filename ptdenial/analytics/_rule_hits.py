"""Rule hits as one boolean column per rule, aligned with the claim lines."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial.exceptions import ClaimsSchemaError


def _hits_table(claims: pd.DataFrame, hits, reference) -> pd.DataFrame:
    if hits is None:
        from ptdenial.rules import apply_rules

        hits = apply_rules(claims, reference=reference)
    for attr in ("hits",):
        if hasattr(hits, attr) and not isinstance(hits, pd.DataFrame):
            hits = getattr(hits, attr)
    if isinstance(hits, dict):
        hits = hits["hits"]
    if not isinstance(hits, pd.DataFrame):
        raise TypeError(
            "hits must be the tidy rule-hit table of ptdenial.rules.apply_rules "
            f"(claim_id, line_number, rule_id, kind); got {type(hits).__name__}"
        )
    need = [S.CLAIM_ID, S.LINE_NUMBER, "rule_id"]
    missing = [c for c in need if c not in hits.columns]
    if missing:
        raise ClaimsSchemaError(
            f"rule-hit table lacks columns {missing}; columns present: "
            f"{list(hits.columns)}. Pass the hits of ptdenial.rules.apply_rules.",
            missing=missing,
        )
    return hits


def rule_hit_matrix(claims: pd.DataFrame, hits=None, *, reference=None):
    """One boolean column per rule id, aligned with the claim lines.

    Parameters
    ----------
    claims : pandas.DataFrame
    hits : pandas.DataFrame or rule result, optional
        Tidy hits (``claim_id``, ``line_number``, ``rule_id`` [, ``kind``]);
        computed with :func:`ptdenial.rules.apply_rules` when omitted.
    reference : ptdenial.reference.Reference, optional

    Returns
    -------
    (matrix, kinds) : tuple
        ``matrix`` is a boolean DataFrame indexed like ``claims`` with one
        column per rule id; ``kinds`` maps rule id to its kind (``""`` when
        the hits carry none).

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.analytics import rule_hit_matrix
    >>> lines = pd.DataFrame({"claim_id": ["C1", "C1", "C2"],
    ...                       "line_number": [1, 2, 1]})
    >>> hits = pd.DataFrame({"claim_id": ["C1", "C2"], "line_number": [2, 1],
    ...                      "rule_id": ["GP_MISSING", "GP_MISSING"],
    ...                      "kind": ["hard", "hard"]})
    >>> m, kinds = rule_hit_matrix(lines, hits)
    >>> m["GP_MISSING"].tolist(), kinds
    ([False, True, True], {'GP_MISSING': 'hard'})
    """
    hits = _hits_table(claims, hits, reference)
    keys = pd.MultiIndex.from_arrays(
        [
            claims[S.CLAIM_ID].astype(str).to_numpy(),
            claims[S.LINE_NUMBER].astype("Int64").astype(str).to_numpy(),
        ]
    )
    pos = keys.get_indexer(
        pd.MultiIndex.from_arrays(
            [
                hits[S.CLAIM_ID].astype(str).to_numpy(),
                hits[S.LINE_NUMBER].astype("Int64").astype(str).to_numpy(),
            ]
        )
    )
    rule_ids = hits["rule_id"].astype(str).to_numpy()
    kinds_col = (
        hits["kind"].astype(str).to_numpy()
        if "kind" in hits.columns
        else np.full(len(hits), "", dtype=object)
    )
    matrix = {}
    kinds = {}
    for rule in sorted(pd.unique(rule_ids)):
        sel = (rule_ids == rule) & (pos >= 0)
        col = np.zeros(len(claims), dtype=bool)
        col[pos[sel]] = True
        matrix[rule] = col
        ks = kinds_col[rule_ids == rule]
        kinds[rule] = str(ks[0]) if len(ks) else ""
    return pd.DataFrame(matrix, index=claims.index, dtype=bool), kinds
