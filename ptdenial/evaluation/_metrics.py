"""Denial metrics of scores against outcomes: ranking, calibration, capture, dollars.

Plain arrays in, numbers and tidy frames out; nothing here fits a model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    roc_auc_score,
)

TOP_SHARES = (0.05, 0.10, 0.20)


def _arrays(y_true, y_score):
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(y_score, dtype=float)
    if y.shape != p.shape:
        raise ValueError(f"y_true and y_score differ in shape: {y.shape} vs {p.shape}")
    keep = ~(np.isnan(y) | np.isnan(p))
    return y[keep], p[keep]


def expected_calibration_error(y_true, y_score, *, n_bins: int = 10) -> float:
    """Count-weighted gap between predicted and observed rates, equal-count bins.

    Parameters
    ----------
    y_true : array-like of {0, 1}
    y_score : array-like of float in [0, 1]
    n_bins : int

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from ptdenial.evaluation import expected_calibration_error
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(0, 0.4, 200_000)
    >>> y = rng.uniform(size=p.size) < p
    >>> round(expected_calibration_error(y, p), 3)
    0.001
    >>> round(expected_calibration_error(y, p / 2), 2)
    0.1
    """
    table = calibration_table(y_true, y_score, n_bins=n_bins)
    if table.empty:
        return float("nan")
    weights = table["n"] / table["n"].sum()
    return float((weights * (table["mean_score"] - table["observed_rate"]).abs()).sum())


def ece_noise_floor(
    y_score, *, n_bins: int = 10, draws: int = 200, random_state=0
) -> dict:
    """The ECE a perfectly calibrated model would show on these lines.

    Outcomes are drawn from the scores themselves (so the scores are right
    by construction) and the ECE is measured on each draw: on a few thousand
    lines, sampling noise alone gives an ECE of a few points. Read a model's
    ECE against this floor before calling it miscalibrated.

    Parameters
    ----------
    y_score : array-like of float in [0, 1]
        The scores of the evaluated lines.
    n_bins : int
    draws : int
    random_state : int

    Returns
    -------
    dict
        ``median`` and ``p95`` of the ECE over the draws.

    Examples
    --------
    >>> import numpy as np
    >>> from ptdenial.evaluation import ece_noise_floor
    >>> p = np.random.default_rng(1).uniform(0.02, 0.4, 1600)
    >>> floor = ece_noise_floor(p)
    >>> 0.01 < floor["median"] < 0.03 < floor["p95"] < 0.04
    True
    """
    p = np.asarray(y_score, dtype=float)
    p = p[~np.isnan(p)]
    rng = np.random.default_rng(random_state)
    values = np.array(
        [
            expected_calibration_error(rng.random(p.size) < p, p, n_bins=n_bins)
            for _ in range(draws)
        ]
    )
    return {
        "median": float(np.median(values)),
        "p95": float(np.quantile(values, 0.95)),
    }


def calibration_table(y_true, y_score, *, n_bins: int = 10) -> pd.DataFrame:
    """Reliability table: per equal-count bin, mean score vs observed rate.

    Parameters
    ----------
    y_true, y_score : array-like
    n_bins : int

    Returns
    -------
    pandas.DataFrame
        Columns ``bin``, ``n``, ``mean_score``, ``observed_rate``.

    Examples
    --------
    >>> from ptdenial.evaluation import calibration_table
    >>> calibration_table([0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9], n_bins=2)
       bin  n  mean_score  observed_rate
    0    0  2        0.15            0.0
    1    1  2        0.80            1.0
    """
    y, p = _arrays(y_true, y_score)
    if y.size == 0:
        return pd.DataFrame(columns=["bin", "n", "mean_score", "observed_rate"])
    order = np.argsort(p, kind="stable")
    bins = np.empty(y.size, dtype=int)
    bins[order] = np.minimum((np.arange(y.size) * n_bins) // y.size, n_bins - 1)
    frame = pd.DataFrame({"bin": bins, "y": y, "p": p})
    out = frame.groupby("bin").agg(
        n=("y", "size"), mean_score=("p", "mean"), observed_rate=("y", "mean")
    )
    return out.reset_index()


def lift_table(y_true, y_score, *, shares=TOP_SHARES) -> pd.DataFrame:
    """Lift and capture of denials in the top shares of lines by score.

    Parameters
    ----------
    y_true, y_score : array-like
    shares : sequence of float
        Shares of lines reviewed, e.g. ``(0.05, 0.1, 0.2)``.

    Returns
    -------
    pandas.DataFrame
        Columns ``top_share``, ``n_reviewed``, ``denial_rate``, ``lift``,
        ``capture``.

    Examples
    --------
    >>> from ptdenial.evaluation import lift_table
    >>> lift_table([1, 0, 0, 0, 1, 0, 0, 0, 0, 0], [.9, .8, .1, .1, .7, .1, .1, .1,
    ...            .1, .1], shares=[0.2])
       top_share  n_reviewed  denial_rate  lift  capture
    0        0.2           2          0.5   2.5      0.5
    """
    y, p = _arrays(y_true, y_score)
    order = np.argsort(-p, kind="stable")
    ys = y[order]
    base = ys.mean() if ys.size else np.nan
    rows = []
    for share in shares:
        k = max(1, int(round(share * ys.size))) if ys.size else 0
        top = ys[:k]
        rate = top.mean() if k else np.nan
        rows.append(
            {
                "top_share": share,
                "n_reviewed": k,
                "denial_rate": rate,
                "lift": rate / base if base else np.nan,
                "capture": top.sum() / ys.sum() if ys.sum() else np.nan,
            }
        )
    return pd.DataFrame(rows)


def denial_metrics(
    y_true, y_score, *, dollars=None, capacity: float = 0.10, n_bins: int = 10
) -> dict:
    """All headline metrics of one score on one set of lines.

    Parameters
    ----------
    y_true : array-like of {0, 1}
        Denied or not (pending lines must be removed first).
    y_score : array-like of float
        Denial probability (or any ranking score for the ranking metrics).
    dollars : array-like of float, optional
        Dollars at stake per line (e.g. expected payment). Enables
        ``dollars_captured``: the share of denied dollars in the top
        ``capacity`` share of lines ranked by ``score * dollars``.
    capacity : float
        Review capacity as a share of lines.
    n_bins : int
        Bins of the calibration error.

    Returns
    -------
    dict
        ``n``, ``denial_rate``, ``roc_auc``, ``pr_auc``, ``brier``, ``log_loss``,
        ``ece``, ``lift@5%``, ``capture@5%`` (and 10%, 20%), and
        ``dollars_captured``.

    Examples
    --------
    >>> import numpy as np
    >>> from ptdenial.evaluation import denial_metrics
    >>> rng = np.random.default_rng(1)
    >>> p = rng.uniform(0, 0.5, 5000)
    >>> y = rng.uniform(size=p.size) < p
    >>> m = denial_metrics(y, p)
    >>> 0.6 < m["roc_auc"] < 0.8, m["n"]
    (True, 5000)
    """
    y, p = _arrays(y_true, y_score)
    out: dict = {"n": int(y.size), "denial_rate": float(y.mean()) if y.size else np.nan}
    both = y.size and 0 < y.sum() < y.size
    out["roc_auc"] = float(roc_auc_score(y, p)) if both else np.nan
    out["pr_auc"] = float(average_precision_score(y, p)) if both else np.nan
    in_unit = bool(y.size) and p.min() >= 0 and p.max() <= 1
    out["brier"] = float(brier_score_loss(y, p)) if in_unit else np.nan
    out["log_loss"] = (
        float(log_loss(y, np.clip(p, 1e-6, 1 - 1e-6), labels=[0, 1]))
        if in_unit
        else np.nan
    )
    out["ece"] = expected_calibration_error(y, p, n_bins=n_bins) if in_unit else np.nan
    lifts = lift_table(y, p)
    for row in lifts.itertuples():
        pct = f"{round(row.top_share * 100)}%"
        out[f"lift@{pct}"] = float(row.lift)
        out[f"capture@{pct}"] = float(row.capture)
    if dollars is not None:
        d = np.asarray(dollars, dtype=float)
        yy = np.asarray(y_true, dtype=float)
        pp = np.asarray(y_score, dtype=float)
        keep = ~(np.isnan(yy) | np.isnan(pp) | np.isnan(d))
        d, yy, pp = d[keep], yy[keep], pp[keep]
        k = max(1, int(round(capacity * d.size)))
        order = np.argsort(-(pp * d), kind="stable")[:k]
        total = (yy * d).sum()
        out["dollars_captured"] = (
            float((yy[order] * d[order]).sum() / total) if total else np.nan
        )
    return out


def metrics_by_group(
    y_true, y_score, groups, *, dollars=None, min_lines: int = 50, **kwargs
) -> pd.DataFrame:
    """:func:`denial_metrics` overall and for each group (e.g. payer).

    Parameters
    ----------
    y_true, y_score : array-like
    groups : array-like
        Group label per line (e.g. ``payer_id``).
    dollars : array-like, optional
    min_lines : int
        Groups with fewer lines are pooled into ``"(small groups)"``.
    **kwargs
        Passed to :func:`denial_metrics`.

    Returns
    -------
    pandas.DataFrame
        One row per group, ``"(all)"`` first.

    Examples
    --------
    >>> import numpy as np
    >>> from ptdenial.evaluation import metrics_by_group
    >>> rng = np.random.default_rng(2)
    >>> p = rng.uniform(0, 0.5, 4000)
    >>> y = rng.uniform(size=p.size) < p
    >>> g = np.where(np.arange(4000) % 2, "A", "B")
    >>> metrics_by_group(y, p, g)["group"].tolist()
    ['(all)', 'A', 'B']
    """
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(y_score, dtype=float)
    g = pd.Series(np.asarray(groups, dtype=object)).fillna("(missing)").astype(str)
    counts = g.value_counts()
    small = counts[counts < min_lines].index
    g = g.where(~g.isin(small), "(small groups)")
    d = None if dollars is None else np.asarray(dollars, dtype=float)
    rows = [{"group": "(all)", **denial_metrics(y, p, dollars=d, **kwargs)}]
    for name in sorted(g.unique()):
        mask = (g == name).to_numpy()
        rows.append(
            {
                "group": name,
                **denial_metrics(
                    y[mask], p[mask], dollars=None if d is None else d[mask], **kwargs
                ),
            }
        )
    return pd.DataFrame(rows)
