"""Realized performance: scores joined with the outcomes that arrived later.

Scores and remittances are joined by ``(claim_id, line_number)``; every row
that did not match on either side is counted (``no_outcome``, ``no_score``),
never dropped. Metrics are on the matched, adjudicated lines, overall and per
month of service.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial._utils import jsonable
from ptdenial.evaluation import calibration_table, denial_metrics
from ptdenial.exceptions import ClaimsSchemaError

_MONTH = "month"


class RealizedPerformance(NamedTuple):
    """Scores joined with later outcomes.

    Attributes
    ----------
    summary : dict
        Row counts (scored, with outcome, unmatched on either side, pending,
        evaluable) and metrics on evaluable lines (``roc_auc``, ``pr_auc``,
        ``brier``, ``ece``, ``denial_rate``, ``mean_score`` ...).
    by_month : pandas.DataFrame
        The same per month of service.
    calibration : pandas.DataFrame
        Reliability table (:func:`ptdenial.evaluation.calibration_table`).
    joined : pandas.DataFrame
        One row per key from either side with ``match`` in ``matched``,
        ``no_outcome`` (scored, remittance not arrived), ``no_score``
        (outcome for a line that was never scored).
    """

    summary: dict
    by_month: pd.DataFrame
    calibration: pd.DataFrame
    joined: pd.DataFrame


def _key_frame(df: pd.DataFrame, name: str) -> pd.DataFrame:
    missing = [c for c in S.LINE_KEYS if c not in df.columns]
    if missing:
        raise ClaimsSchemaError(
            f"{name} lacks the key columns {missing}; columns present: "
            f"{list(df.columns)}. Scores and outcomes are joined on "
            f"{list(S.LINE_KEYS)}.",
            missing=missing,
        )
    out = df.copy()
    out[S.CLAIM_ID] = out[S.CLAIM_ID].astype("string")
    out[S.LINE_NUMBER] = pd.to_numeric(out[S.LINE_NUMBER], errors="coerce").astype(
        "Int64"
    )
    return out


def _coerce_outcomes(df: pd.DataFrame) -> pd.DataFrame:
    """Outcome columns read from CSV/Parquet as text -> canonical dtypes."""
    out = df.copy()
    if S.ADJUDICATION_DATE in out and not pd.api.types.is_datetime64_any_dtype(
        out[S.ADJUDICATION_DATE].dtype
    ):
        out[S.ADJUDICATION_DATE] = pd.to_datetime(
            out[S.ADJUDICATION_DATE], errors="coerce", format="mixed"
        )
    for col in (S.ALLOWED_AMOUNT, S.PAID_AMOUNT):
        if col in out and not pd.api.types.is_float_dtype(out[col].dtype):
            out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
    if S.ADJUSTMENT_CODES in out:
        out[S.ADJUSTMENT_CODES] = S.parse_list_column(out[S.ADJUSTMENT_CODES])
    for col in (S.DENIED, S.PENDING):
        if col in out and not pd.api.types.is_bool_dtype(out[col].dtype):
            text = out[col].astype("string").str.strip().str.lower()
            out[col] = text.map({"true": True, "1": True, "false": False, "0": False})
            out[col] = out[col].astype("boolean")
    return out


def _metrics(y: np.ndarray, p: np.ndarray, n_bins: int) -> dict:
    m = denial_metrics(y, p, n_bins=n_bins) if y.size else {"n": 0}
    keep = ("roc_auc", "pr_auc", "brier", "log_loss", "ece")
    out = {k: jsonable(m.get(k, float("nan"))) for k in keep}
    out["evaluable"] = int(y.size)
    out["denied"] = int(y.sum())
    out["denial_rate"] = jsonable(y.mean()) if y.size else None
    out["mean_score"] = jsonable(p.mean()) if p.size else None
    return out


def realized_performance(
    scored: pd.DataFrame,
    outcomes: pd.DataFrame | None = None,
    *,
    n_bins: int = 10,
    reference=None,
) -> RealizedPerformance:
    """Join scores with later outcomes by line key; AUC and calibration by month.

    Parameters
    ----------
    scored : pandas.DataFrame
        Output of scoring: ``claim_id``, ``line_number``,
        ``denial_probability`` and (for the monthly view)
        ``date_of_service`` or ``scored_at``. Rows without a probability
        (lines of other codes) are counted as ``not_scored`` and left out.
    outcomes : pandas.DataFrame, optional
        Later claims/remittances with the line keys and either ``denied`` /
        ``pending`` or the outcome columns (``adjudication_date``,
        ``paid_amount``, ``adjustment_codes``) from which they are derived.
        When omitted, ``scored`` must carry the outcomes itself.
    n_bins : int
        Bins of the calibration error and table.
    reference : ptdenial.reference.Reference, optional
        Used to derive outcomes.

    Returns
    -------
    RealizedPerformance

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.monitoring import realized_performance
    >>> scored = pd.DataFrame({"claim_id": ["C1", "C2", "C3", "C4"],
    ...                        "line_number": [1, 1, 1, 1],
    ...                        "denial_probability": [0.9, 0.2, 0.1, 0.5],
    ...                        "date_of_service": pd.to_datetime(["2025-01-03"] * 4)})
    >>> outcomes = pd.DataFrame({"claim_id": ["C1", "C2", "C3", "C9"],
    ...                          "line_number": [1, 1, 1, 1],
    ...                          "denied": pd.array([True, False, None, False],
    ...                                             "boolean"),
    ...                          "pending": pd.array([False, False, True, False],
    ...                                              "boolean")})
    >>> r = realized_performance(scored, outcomes)
    >>> {k: r.summary[k] for k in ("scored", "matched", "no_outcome", "no_score",
    ...                             "pending", "evaluable")}
    {'scored': 4, 'matched': 3, 'no_outcome': 1, 'no_score': 1, 'pending': 1,
     'evaluable': 2}
    """
    sc, oc = _scored_and_outcomes(scored, outcomes, reference)
    sc, oc, counts = _deduplicated(sc, oc)
    joined = _join(sc, oc)
    lines = _JoinedLines.of(joined)
    ev = lines.evaluable
    summary = {
        **counts,
        "matched": int(lines.matched.sum()),
        "no_outcome": int((joined["match"] == "no_outcome").sum()),
        "no_score": int((joined["match"] == "no_score").sum()),
        "pending": int((lines.matched & lines.pending).sum()),
    }
    summary.update(_metrics(lines.y[ev].astype(float), lines.p[ev], n_bins))
    calib = calibration_table(lines.y[ev].astype(float), lines.p[ev], n_bins=n_bins)
    by_month = _by_month(joined, lines, n_bins)
    return RealizedPerformance(summary, by_month, calib, joined)


def _scored_and_outcomes(scored, outcomes, reference):
    """Keyed copies of both sides, probabilities as floats, outcomes labelled.

    Without ``outcomes``, the outcome columns are taken from ``scored``.
    """
    sc = _key_frame(scored, "scored")
    if S.DENIAL_PROBABILITY not in sc.columns:
        raise ClaimsSchemaError(
            f"scored lacks {S.DENIAL_PROBABILITY!r}; pass the output of "
            "ptdenial scoring.",
            missing=[S.DENIAL_PROBABILITY],
        )
    sc[S.DENIAL_PROBABILITY] = pd.to_numeric(
        sc[S.DENIAL_PROBABILITY], errors="coerce"
    ).astype(float)
    if outcomes is None:
        oc = _coerce_outcomes(sc)
        sc = sc.drop(
            columns=[c for c in (S.DENIED, S.PENDING) if c in sc.columns],
            errors="ignore",
        )
    else:
        oc = _coerce_outcomes(_key_frame(outcomes, "outcomes"))
    if not (S.DENIED in oc.columns and S.PENDING in oc.columns):
        if S.ADJUDICATION_DATE not in oc.columns and S.DENIED not in oc.columns:
            raise ClaimsSchemaError(
                "outcomes carry neither denied/pending nor adjudication_date "
                "(with paid_amount and adjustment_codes); pass the remittance "
                "data of the scored lines.",
                missing=[S.ADJUDICATION_DATE],
            )
        oc = S.derive_outcomes(oc, reference=reference)
    return sc, oc


def _deduplicated(sc: pd.DataFrame, oc: pd.DataFrame):
    """One row per key on each side, and the counts of what was set aside.

    Rows without a probability (other codes) leave the scored side; of
    duplicate keys the last score and the latest adjudication are kept.
    """
    n_scored_rows = len(sc)
    has_p = sc[S.DENIAL_PROBABILITY].notna().to_numpy()
    sc = sc.loc[has_p]
    dup_scored = int(sc.duplicated(list(S.LINE_KEYS)).sum())
    sc = sc.drop_duplicates(list(S.LINE_KEYS), keep="last")
    # several remittances for a line (corrections): keep the latest adjudication
    if S.ADJUDICATION_DATE in oc.columns:
        oc = oc.sort_values(S.ADJUDICATION_DATE, kind="stable", na_position="first")
    dup_outcomes = int(oc.duplicated(list(S.LINE_KEYS)).sum())
    oc = oc.drop_duplicates(list(S.LINE_KEYS), keep="last")
    counts = {
        "scored_rows": int(n_scored_rows),
        "not_scored": int((~has_p).sum()),
        "scored": int(has_p.sum()),
        "outcome_rows": int(len(oc)),
        "duplicate_scored_keys": dup_scored,
        "duplicate_outcome_keys": dup_outcomes,
    }
    return sc, oc, counts


def _join(sc: pd.DataFrame, oc: pd.DataFrame) -> pd.DataFrame:
    """Outer join on the line keys; ``match`` says which side each row came from.

    ``month`` (of service, or of scoring) is taken from the scored side, else
    from the outcomes' date of service.
    """
    when_col = next(
        (c for c in (S.DATE_OF_SERVICE, S.SCORED_AT) if c in sc.columns), None
    )
    left = sc[[*S.LINE_KEYS, S.DENIAL_PROBABILITY]].copy()
    if when_col is not None:
        left[_MONTH] = (
            pd.to_datetime(sc[when_col]).dt.tz_localize(None)
            if getattr(pd.to_datetime(sc[when_col]).dt, "tz", None) is not None
            else pd.to_datetime(sc[when_col])
        )
    right_cols = [*S.LINE_KEYS, S.DENIED, S.PENDING]
    right = oc[right_cols].copy()
    if when_col is None and S.DATE_OF_SERVICE in oc.columns:
        right[_MONTH] = pd.to_datetime(oc[S.DATE_OF_SERVICE])
    joined = left.merge(right, on=list(S.LINE_KEYS), how="outer", indicator=True)
    joined["match"] = joined["_merge"].map(
        {"both": "matched", "left_only": "no_outcome", "right_only": "no_score"}
    )
    joined = joined.drop(columns="_merge")
    if _MONTH in joined.columns:
        joined[_MONTH] = joined[_MONTH].dt.to_period("M").dt.to_timestamp()
    return joined


class _JoinedLines(NamedTuple):
    """Per-row masks and values of the joined table."""

    matched: np.ndarray
    pending: np.ndarray
    evaluable: np.ndarray
    y: np.ndarray
    p: np.ndarray

    @classmethod
    def of(cls, joined: pd.DataFrame) -> _JoinedLines:
        matched = (joined["match"] == "matched").to_numpy()
        pending = joined[S.PENDING].fillna(True).to_numpy(dtype=bool)
        return cls(
            matched=matched,
            pending=pending,
            evaluable=matched & ~pending,
            y=joined[S.DENIED].fillna(False).to_numpy(dtype=bool),
            p=joined[S.DENIAL_PROBABILITY].to_numpy(dtype=float, na_value=np.nan),
        )


def _by_month(joined: pd.DataFrame, lines: _JoinedLines, n_bins: int) -> pd.DataFrame:
    """Counts and metrics per month (empty without a month column)."""
    rows = []
    if _MONTH in joined.columns:
        months = joined[_MONTH].to_numpy()
        for month in sorted(pd.unique(joined[_MONTH].dropna())):
            sel = months == np.datetime64(month)
            ev = sel & lines.evaluable
            row = {
                _MONTH: pd.Timestamp(month),
                "scored": int((sel & (joined["match"] != "no_score").to_numpy()).sum()),
                "matched": int((sel & lines.matched).sum()),
                "no_outcome": int((sel & (joined["match"] == "no_outcome")).sum()),
                "no_score": int((sel & (joined["match"] == "no_score")).sum()),
                "pending": int((sel & lines.matched & lines.pending).sum()),
            }
            row.update(_metrics(lines.y[ev].astype(float), lines.p[ev], n_bins))
            rows.append(row)
    by_month = pd.DataFrame(rows)
    if not by_month.empty:
        metric_cols = ["roc_auc", "pr_auc", "brier", "log_loss", "ece"]
        metric_cols += ["denial_rate", "mean_score"]
        by_month[metric_cols] = by_month[metric_cols].astype(float)
    return by_month
