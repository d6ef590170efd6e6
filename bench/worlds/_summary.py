"""Figures that describe a world: sizes, denial rates, AUC of the truth."""

from __future__ import annotations

import numpy as np
import pandas as pd


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties averaged).

    >>> auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.75
    """
    y = np.asarray(y, dtype=bool)
    pos, neg = int(y.sum()), int((~y).sum())
    if pos == 0 or neg == 0:
        return float("nan")
    ranks = pd.Series(np.asarray(score, dtype=float)).rank(method="average").to_numpy()
    return float((ranks[y].sum() - pos * (pos + 1) / 2) / (pos * neg))


def summarize(claims: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """Sizes, realized denial rates, mean truth probability and its AUC."""
    done = ~truth["pending"].to_numpy()
    denied = truth["denied"].fillna(False).to_numpy(dtype=bool)
    p = truth["true_probability"].to_numpy()
    is112 = (truth["cpt_code"] == "97112").to_numpy()
    m = done & is112
    partial = truth["partially_denied"].fillna(False).to_numpy(dtype=bool)
    per_payer = {}
    for pid, g in truth[done].groupby("payer_id", observed=True):
        d = g["denied"].fillna(False).to_numpy(dtype=bool)
        per_payer[str(pid)] = {
            "lines": int(len(g)),
            "denial_rate": round(float(d.mean()), 4),
            "mean_probability": round(float(g["true_probability"].mean()), 4),
        }
    return {
        "lines": int(len(claims)),
        "claims": int(claims["claim_id"].nunique()),
        "patients": int(claims["patient_id"].nunique()),
        "payers": int(claims["payer_id"].nunique()),
        "lines_97112": int(is112.sum()),
        "first_service": str(claims["date_of_service"].min().date()),
        "last_submission": str(claims["submission_date"].max().date()),
        "pending_share": round(float((~done).mean()), 4),
        "denial_rate": round(float(denied[done].mean()), 4),
        "mean_probability": round(float(p[done].mean()), 4),
        "denial_rate_97112": round(float(denied[m].mean()), 4),
        "mean_probability_97112": round(float(p[m].mean()), 4),
        "auc_truth_97112": round(auc(denied[m], p[m]), 4),
        "auc_truth_all": round(auc(denied[done], p[done]), 4),
        "partially_denied_share": round(float(partial[done].mean()), 4),
        "per_payer": per_payer,
    }
