"""Figures of a scored batch and of monitoring: scores, drift, realized performance."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ptdenial.reports._style import (
    _BLUE,
    _GREEN,
    _GREY,
    _ORANGE,
    _RED,
    _STATUS_COLORS,
    _TEXT_BOX,
    _bar_height,
    _figure,
    _month_axis,
    _percent_axis,
    _short,
)


def plot_score_distribution(
    scores,
    *,
    cut_points=None,
    reference=None,
    bins: int = 40,
    title: str | None = None,
):
    """Histogram of denial probabilities, with risk-band cut points.

    Parameters
    ----------
    scores : array-like
        Denial probabilities (empty values are skipped).
    cut_points : sequence of float, optional
        Risk-band boundaries, e.g. ``(0.15, 0.35)``; drawn as labelled lines.
    reference : array-like, optional
        Scores of a reference period, drawn as an outline on the same
        (density) scale.
    bins : int
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    s = np.asarray(scores, dtype=float)
    s = s[~np.isnan(s)]
    fig = _figure(8.5, 4.5)
    ax = fig.add_subplot()
    hi = max(float(s.max()) if s.size else 1.0, 0.05)
    if reference is not None:
        r = np.asarray(reference, dtype=float)
        r = r[~np.isnan(r)]
        hi = max(hi, float(r.max()) if r.size else hi)
    edges = np.linspace(0, min(1.0, hi * 1.05), bins + 1)
    density = reference is not None
    ax.hist(
        s,
        bins=edges,
        color=_BLUE,
        alpha=0.8,
        density=density,
        label=f"this batch ({s.size:,} lines)",
    )
    if density:
        ax.hist(
            r,
            bins=edges,
            histtype="step",
            color="#1a202c",
            lw=1.4,
            density=True,
            label=f"reference ({r.size:,} lines)",
        )
    for cut in cut_points or ():
        ax.axvline(cut, color=_RED, ls="--", lw=1)
        ax.text(
            cut,
            1.0,
            f" {cut:.0%}",
            transform=ax.get_xaxis_transform(),
            color=_RED,
            fontsize=8,
            va="bottom",
        )
    _percent_axis(ax.xaxis)
    ax.set_xlabel("denial probability")
    ax.set_ylabel("density" if density else "lines")
    ax.legend(loc="upper right", frameon=False, fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    mean = float(s.mean()) if s.size else float("nan")
    ax.set_title(title or f"Score distribution (mean {mean:.1%})", pad=14)
    return fig


def plot_drift(drift: pd.DataFrame, *, top: int = 20, title: str | None = None):
    """PSI per feature (and the score), coloured by status, with thresholds.

    Parameters
    ----------
    drift : pandas.DataFrame
        Output of :func:`ptdenial.monitoring.drift_table`.
    top : int
        Features shown (the score always, then the largest PSI).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.patches import Patch

    from ptdenial.monitoring import PSI_MODERATE, PSI_SIGNIFICANT

    data = drift.dropna(subset=["psi"])
    score = data.loc[data["kind"] == "score"]
    rest = data.loc[data["kind"] != "score"].nlargest(max(top - len(score), 0), "psi")
    data = pd.concat([score, rest]).iloc[::-1]
    fig = _figure(9, _bar_height(len(data)))
    ax = fig.add_subplot()
    y = np.arange(len(data))
    psi = data["psi"].to_numpy(dtype=float)
    colors = [_STATUS_COLORS.get(s, _GREY) for s in data["status"]]
    ax.barh(y, psi, color=colors, height=0.7)
    labels = []
    for f, k in zip(data["feature"], data["kind"], strict=True):
        if k == "score":
            labels.append("SCORE (all lines)")
        elif k == "score_segment":
            labels.append("SCORE: " + _short(str(f).partition("[")[2].rstrip("]"), 26))
        else:
            labels.append(_short(f, 34))
    ax.set_yticks(y, labels)
    for yi, v in zip(y, psi, strict=True):
        ax.text(v, yi, f" {v:.3f}", va="center", fontsize=8, bbox=_TEXT_BOX)
    ax.axvline(PSI_MODERATE, color=_ORANGE, ls="--", lw=1)
    ax.axvline(PSI_SIGNIFICANT, color=_RED, ls="--", lw=1)
    right = max(float(np.nanmax(psi)) if psi.size else 0.0, PSI_SIGNIFICANT) * 1.25
    ax.set_xlim(0, right)
    ax.set_xlabel("population stability index (PSI, unitless)")
    ax.set_ylabel("feature")
    fig.legend(
        handles=[
            Patch(color=_GREEN, label=f"stable (< {PSI_MODERATE})"),
            Patch(color=_ORANGE, label=f"moderate ({PSI_MODERATE}-{PSI_SIGNIFICANT})"),
            Patch(color=_RED, label=f"significant (>= {PSI_SIGNIFICANT})"),
            Patch(color=_GREY, label="too few rows"),
        ],
        loc="outside lower center",
        ncols=4,
        frameon=False,
        fontsize=8,
    )
    ax.grid(axis="x", alpha=0.3)
    n = int(drift["n_current"].max()) if len(drift) else 0
    ax.set_title(
        title or f"Drift of this batch ({n:,} lines) against the training profile"
    )
    return fig


def plot_realized_performance(by_month: pd.DataFrame, *, title: str | None = None):
    """Realized AUC, calibration and volume per month once outcomes arrived.

    Parameters
    ----------
    by_month : pandas.DataFrame
        ``RealizedPerformance.by_month`` of
        :func:`ptdenial.monitoring.realized_performance`.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from ptdenial.monitoring import ECE_LIMIT

    data = by_month.sort_values("month")
    fig = _figure(9, 8.5)
    ax1, ax2, ax3, ax4 = fig.subplots(4, 1, sharex=True, height_ratios=[1, 1, 1.2, 1])
    ax1.plot(data["month"], data["roc_auc"], marker="o", color=_BLUE)
    ax1.axhline(0.5, color=_GREY, ls="--", lw=1)
    ax1.set_ylabel("ROC AUC")
    ax1.set_ylim(0.4, 1.0)
    ax1.grid(alpha=0.3)
    ax2.plot(data["month"], data["ece"], marker="s", color=_ORANGE, label="ECE")
    ax2.axhline(ECE_LIMIT, color=_RED, ls=":", lw=1, label=f"limit {ECE_LIMIT}")
    ax2.set_ylabel("calibration\nerror (ECE)")
    ax2.set_ylim(
        0, max(float(np.nanmax(data["ece"])) if len(data) else 0, ECE_LIMIT) * 1.3
    )
    ax2.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
    ax2.grid(alpha=0.3)
    ax3.plot(
        data["month"],
        data["mean_score"],
        marker="o",
        color=_BLUE,
        label="mean predicted",
    )
    ax3.plot(
        data["month"], data["denial_rate"], marker="o", color=_RED, label="observed"
    )
    _percent_axis(ax3.yaxis)
    ax3.set_ylim(bottom=0)
    ax3.set_ylabel("denial rate")
    ax3.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
    ax3.grid(alpha=0.3)
    ax4.bar(
        data["month"], data["evaluable"], width=20, color=_GREY, label="with outcome"
    )
    ax4.bar(
        data["month"],
        data["no_outcome"] + data["pending"],
        bottom=data["evaluable"],
        width=20,
        color=_ORANGE,
        alpha=0.7,
        label="pending or\nno remittance",
    )
    ax4.set_ylabel("scored lines")
    _month_axis(ax4)
    ax1.set_title(title or "Realized performance of scored lines by month of service")
    return fig
