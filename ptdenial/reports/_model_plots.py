"""Figures of a model's quality: ROC/PR, reliability, lift, feature importance."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ptdenial.reports._style import (
    _BLUE,
    _GREY,
    _PALETTE,
    _bar_height,
    _figure,
    _percent_axis,
    _short,
)


def _scores_dict(y_score) -> dict:
    if isinstance(y_score, dict):
        return {str(k): np.asarray(v, dtype=float) for k, v in y_score.items()}
    if isinstance(y_score, pd.DataFrame):
        return {str(c): y_score[c].to_numpy(dtype=float) for c in y_score.columns}
    return {"model": np.asarray(y_score, dtype=float)}


def plot_roc_pr(y_true, y_score, *, title: str | None = None):
    """ROC and precision-recall curves of the model beside baselines.

    Parameters
    ----------
    y_true : array-like of {0, 1}
    y_score : array-like, dict or DataFrame
        One score, or ``{name: score}`` (e.g. ``{"model": p, "rules only": r}``).
        The first entry is drawn boldest.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> from ptdenial.reports import plot_roc_pr
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 500)
    >>> fig = plot_roc_pr(y, {"model": y + rng.normal(0, 1, 500),
    ...                       "random": rng.uniform(size=500)})
    >>> [a.get_title() for a in fig.axes]
    ['ROC curve', 'Precision-recall curve']
    """
    from sklearn.metrics import (
        average_precision_score,
        precision_recall_curve,
        roc_auc_score,
        roc_curve,
    )

    y = np.asarray(y_true, dtype=float)
    scores = _scores_dict(y_score)
    fig = _figure(11, 5)
    ax1, ax2 = fig.subplots(1, 2)
    base = float(np.nanmean(y)) if y.size else 0.0
    for i, (name, s) in enumerate(scores.items()):
        keep = ~(np.isnan(y) | np.isnan(s))
        yy, ss = y[keep], s[keep]
        if yy.size == 0 or len(np.unique(yy)) < 2:
            continue
        lw = 2.2 if i == 0 else 1.3
        color = _PALETTE[i % len(_PALETTE)]
        fpr, tpr, _ = roc_curve(yy, ss)
        ax1.plot(
            fpr,
            tpr,
            lw=lw,
            color=color,
            label=f"{_short(name, 22)} (AUC {roc_auc_score(yy, ss):.3f})",
        )
        prec, rec, _ = precision_recall_curve(yy, ss)
        ax2.plot(
            rec,
            prec,
            lw=lw,
            color=color,
            label=f"{_short(name, 22)} (AP {average_precision_score(yy, ss):.3f})",
        )
    ax1.plot([0, 1], [0, 1], color=_GREY, ls="--", lw=1, label="chance")
    ax2.axhline(base, color=_GREY, ls="--", lw=1, label=f"chance ({base:.1%})")
    ax1.set_xlabel("false positive rate (paid lines flagged)")
    ax1.set_ylabel("true positive rate (denials caught)")
    ax1.set_title("ROC curve")
    ax2.set_xlabel("recall (share of denials caught)")
    ax2.set_ylabel("precision (share of flagged lines denied)")
    ax2.set_title("Precision-recall curve")
    for ax in (ax1, ax2):
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(
            loc="lower right" if ax is ax1 else "upper right", fontsize=8, frameon=False
        )
    fig.suptitle(
        title
        or f"Ranking of denials ({int(y.size):,} lines, {int(np.nansum(y)):,} denied)"
    )
    return fig


def plot_reliability(
    y_true,
    y_score,
    *,
    n_bins: int = 10,
    title: str | None = None,
):
    """Reliability diagram: predicted vs observed denial rate, with bin counts.

    Equal-count bins of the score; each point is a bin's mean score against
    its observed denial rate with a 95% Wilson interval; the lower panel
    shows how many lines each bin holds. Several scores (a dict) are drawn
    side by side, e.g. the model beside an uncalibrated version or per payer.

    Parameters
    ----------
    y_true : array-like of {0, 1}
    y_score : array-like, dict or DataFrame
    n_bins : int
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from ptdenial.analytics import wilson_interval
    from ptdenial.evaluation import calibration_table, expected_calibration_error

    y = np.asarray(y_true, dtype=float)
    scores = _scores_dict(y_score)
    fig = _figure(7.5, 7)
    ax, axn = fig.subplots(2, 1, height_ratios=[3, 1], sharex=True)
    top = 0.0
    hist_scores = []
    per_bin = []
    for i, (name, s) in enumerate(scores.items()):
        table = calibration_table(y, s, n_bins=n_bins)
        if table.empty:
            continue
        color = _PALETTE[i % len(_PALETTE)]
        k = table["observed_rate"] * table["n"]
        low, high = wilson_interval(k, table["n"])
        ece = expected_calibration_error(y, s, n_bins=n_bins)
        ax.errorbar(
            table["mean_score"],
            table["observed_rate"],
            yerr=np.vstack(
                [table["observed_rate"] - low, high - table["observed_rate"]]
            ),
            fmt="o-",
            color=color,
            ms=4,
            capsize=2,
            lw=1.4,
            label=f"{_short(name, 22)} (ECE {ece:.3f})",
        )
        hist_scores.append((name, s[~np.isnan(s)], color))
        per_bin.append(int(table["n"].median()))
        top = max(top, float(np.nanmax(high)), float(table["mean_score"].max()))
    lim = min(1.0, top * 1.1 + 0.02)
    ax.plot([0, lim], [0, lim], color=_GREY, ls="--", lw=1, label="perfect calibration")
    ax.set_xlim(0, lim)
    ax.set_ylim(0, lim)
    _percent_axis(ax.xaxis)
    _percent_axis(ax.yaxis)
    ax.set_ylabel("observed denial rate (95% interval)")
    ax.legend(loc="upper left", frameon=False, fontsize=8)
    ax.grid(alpha=0.3)
    _score_histograms(axn, hist_scores, per_bin, lim)
    ax.set_title(title or f"Reliability diagram ({n_bins} equal-count bins)")
    return fig


def _score_histograms(axn, hist_scores, per_bin, lim: float) -> None:
    """Lower panel of the reliability diagram: where the scores lie."""
    edges = np.linspace(0, lim, 41)
    for name, values, color in hist_scores:
        axn.hist(
            values,
            bins=edges,
            histtype="step",
            color=color,
            lw=1.4,
            label=_short(name, 22),
        )
    axn.set_xlabel("predicted denial probability")
    axn.set_ylabel("lines")
    # one legend entry per score (colours match the upper panel only when
    # there are several); the bin size is said once, in the panel's title
    if len(hist_scores) > 1:
        axn.legend(loc="upper right", frameon=False, fontsize=8)
    sizes = sorted(set(per_bin))
    size_text = (
        f"~{sizes[0]:,} lines per point above"
        if len(sizes) == 1
        else "~" + " / ".join(f"{n:,}" for n in sizes) + " lines per point above"
    )
    axn.set_title(
        f"distribution of the scores ({size_text})"
        if sizes
        else "distribution of the scores",
        fontsize=9,
        loc="left",
    )
    axn.grid(axis="y", alpha=0.3)


def plot_lift(y_true, y_score, *, title: str | None = None):
    """Cumulative gains (denials caught vs lines reviewed) and lift by decile.

    Parameters
    ----------
    y_true : array-like of {0, 1}
    y_score : array-like, dict or DataFrame
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    y = np.asarray(y_true, dtype=float)
    scores = _scores_dict(y_score)
    fig = _figure(11, 5)
    ax1, ax2 = fig.subplots(1, 2)
    width = 0.8 / max(len(scores), 1)
    for i, (name, s) in enumerate(scores.items()):
        keep = ~(np.isnan(y) | np.isnan(s))
        yy, ss = y[keep], s[keep]
        if yy.size == 0 or yy.sum() == 0:
            continue
        order = np.argsort(-ss, kind="stable")
        ys = yy[order]
        share = np.arange(1, ys.size + 1) / ys.size
        gains = np.cumsum(ys) / ys.sum()
        color = _PALETTE[i % len(_PALETTE)]
        ax1.plot(
            np.r_[0, share],
            np.r_[0, gains],
            color=color,
            lw=2.2 if i == 0 else 1.3,
            label=_short(name, 24),
        )
        deciles = np.minimum((np.arange(ys.size) * 10) // ys.size, 9)
        rate = np.bincount(deciles, weights=ys, minlength=10) / np.bincount(
            deciles, minlength=10
        )
        lift = rate / ys.mean()
        ax2.bar(
            np.arange(1, 11) + (i - (len(scores) - 1) / 2) * width,
            lift,
            width=width,
            color=color,
            label=_short(name, 24),
        )
    base = float(np.nanmean(y)) if y.size else 0.0
    ax1.plot([0, 1], [0, 1], color=_GREY, ls="--", lw=1, label="random order")
    if base > 0:
        ax1.plot([0, base, 1], [0, 1, 1], color=_GREY, ls=":", lw=1, label="perfect")
    ax1.set_xlabel("share of lines reviewed (highest risk first)")
    ax1.set_ylabel("share of denials caught")
    _percent_axis(ax1.xaxis)
    _percent_axis(ax1.yaxis)
    ax1.set_xlim(0, 1)
    ax1.set_ylim(0, 1.02)
    ax1.set_title("Cumulative gains")
    ax1.legend(loc="lower right", frameon=False, fontsize=8)
    ax1.grid(alpha=0.3)
    ax2.axhline(1.0, color=_GREY, ls="--", lw=1)
    ax2.set_xticks(np.arange(1, 11))
    ax2.set_xlabel("score decile (1 = highest risk)")
    ax2.set_ylabel("lift (decile denial rate / overall rate)")
    ax2.set_title("Lift by decile")
    ax2.legend(loc="upper right", frameon=False, fontsize=8)
    ax2.grid(axis="y", alpha=0.3)
    fig.suptitle(
        title or f"Where the denials are in the ranking (overall rate {base:.1%})"
    )
    return fig


def plot_feature_importance(
    importance,
    *,
    top: int = 20,
    title: str | None = None,
    xlabel: str = "mean |contribution| (log-odds)",
):
    """Horizontal bars of feature importance.

    Parameters
    ----------
    importance : pandas.Series or pandas.DataFrame
        A Series feature -> importance, or a contributions frame (one column
        per feature, e.g. ``model.contributions(Xf)``): the mean absolute
        contribution per feature is shown (the ``bias`` column is ignored).
    top : int
    title : str, optional
    xlabel : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    if isinstance(importance, pd.DataFrame):
        imp = importance.drop(columns=["bias"], errors="ignore").abs().mean()
    else:
        imp = pd.Series(importance, dtype=float)
    imp = imp.dropna().sort_values(ascending=False).head(top).iloc[::-1]
    fig = _figure(8.5, _bar_height(len(imp)))
    ax = fig.add_subplot()
    y = np.arange(len(imp))
    ax.barh(y, imp.to_numpy(), color=_BLUE, height=0.7)
    ax.set_yticks(y, [_short(n, 36) for n in imp.index])
    ax.set_xlabel(xlabel)
    ax.set_ylabel("feature")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title or f"Feature importance (top {len(imp)})")
    return fig
