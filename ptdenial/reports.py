"""Figures and a self-contained HTML page for analysts and the nightly job.

The only module of ptdenial that imports matplotlib, and only inside the
functions, so the library and the command line never need a display. Every
``plot_*`` function builds a :class:`matplotlib.figure.Figure` directly (no
``pyplot`` state, nothing to close, works with the ``Agg`` backend) and
returns it; none calls ``show``. In a notebook, the returned figure displays
itself (after ``%matplotlib inline``) or through ``IPython.display.display``.

Readability rules followed by every figure: a title, labelled axes with
units, category labels on the vertical axis of horizontal bars and cut to a
readable length, constrained layout so nothing overlaps, and counts next to
rates so a small group is not mistaken for a large one.

:func:`html_report` turns a list of sections (text, tables, figures) into one
HTML page with the figures embedded as base64 PNG: no external files or
scripts, so the page can be mailed or archived as is.
"""

from __future__ import annotations

import base64
import html
import io

import numpy as np
import pandas as pd

from ptdenial import schema as S

__all__ = [
    "plot_denial_rates",
    "plot_carc_pareto",
    "plot_monthly_trend",
    "plot_revenue_at_risk",
    "plot_rule_outcomes",
    "plot_what_if",
    "plot_roc_pr",
    "plot_reliability",
    "plot_lift",
    "plot_feature_importance",
    "plot_waterfall",
    "plot_score_distribution",
    "plot_drift",
    "plot_realized_performance",
    "figure_to_png",
    "html_report",
]

_BLUE = "#2b6cb0"
_GREY = "#a0aec0"
_RED = "#c53030"
_ORANGE = "#dd6b20"
_GREEN = "#2f855a"
_PALETTE = ["#2b6cb0", "#dd6b20", "#2f855a", "#805ad5", "#718096", "#b7791f"]
# white backing for numbers drawn next to bars, so a reference line under them
# does not strike them through
_TEXT_BOX = {"boxstyle": "square,pad=0.05", "fc": "white", "ec": "none", "alpha": 0.85}
_STATUS_COLORS = {
    "stable": _GREEN,
    "moderate": _ORANGE,
    "significant": _RED,
    "insufficient_data": _GREY,
    "missing_feature": _GREY,
    "not_computed": _GREY,
}


# --- helpers ------------------------------------------------------------------------
def _figure(width: float = 8.0, height: float = 5.0, **kwargs):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained", **kwargs)
    return fig


def _short(text, width: int = 38) -> str:
    text = str(text)
    return text if len(text) <= width else text[: width - 1].rstrip() + "\u2026"


def _percent_text(x: float) -> str:
    """``0.05`` -> ``'5%'``, ``0.025`` -> ``'2.5%'``: only the decimals needed."""
    text = f"{x * 100:.2f}".rstrip("0").rstrip(".")
    return ("0" if text in ("-0", "") else text) + "%"


def _percent_axis(axis) -> None:
    """Percent ticks at round steps (1, 2, 5, 10 ...), each with the decimals it needs.

    A fixed ``decimals=0`` formatter would print 2.5% steps as 2%, 5%, 8%.
    """
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    axis.set_major_locator(MaxNLocator(nbins="auto", steps=[1, 2, 5, 10]))
    axis.set_major_formatter(FuncFormatter(lambda x, _pos: _percent_text(x)))


def _dollar_axis(axis) -> None:
    from matplotlib.ticker import FuncFormatter

    def fmt(x, _pos):
        if abs(x) >= 1e6:
            return f"${x / 1e6:,.4g}M"
        if abs(x) >= 1e3:
            return f"${x / 1e3:,.4g}k"
        return f"${x:,.0f}"

    axis.set_major_formatter(FuncFormatter(fmt))


def _bar_height(n: int) -> float:
    """Figure height for ``n`` horizontal bars (0.32 in per bar, bounded)."""
    return float(np.clip(1.6 + 0.32 * n, 3.0, 11.0))


def _label_of(row: pd.Series, columns) -> str:
    parts = []
    for c in columns:
        v = row[c]
        if isinstance(v, pd.Timestamp):
            v = v.strftime("%Y-%m")
        parts.append(str(v))
    return " / ".join(parts)


def _dimension_columns(table: pd.DataFrame, known) -> list[str]:
    return [c for c in table.columns if c not in known]


def _readable_name(column: str) -> str:
    """Column name for a reader: ``rendering_provider_id`` -> ``rendering provider``."""
    name = str(column)
    if name.endswith("_id"):
        name = name[:-3]
    return name.replace("_", " ")


def _dims_text(dims) -> str:
    return " / ".join(_readable_name(d) for d in dims)


_RATE_COLUMNS = {
    "lines",
    "pending",
    "adjudicated",
    "denied",
    "partially_denied",
    "denial_rate",
    "ci_low",
    "ci_high",
    "share_of_denials",
    "charges",
    "denied_charges",
}


# --- analytics figures --------------------------------------------------------------
def plot_denial_rates(
    rates: pd.DataFrame,
    *,
    top: int = 20,
    min_lines: int = 1,
    title: str | None = None,
    overall: float | None = None,
):
    """Horizontal bars of denial rate per group, with Wilson intervals and counts.

    Parameters
    ----------
    rates : pandas.DataFrame
        Output of :func:`ptdenial.analytics.denial_rates`.
    top : int
        Groups shown (those with the most adjudicated lines), sorted by rate.
    min_lines : int
        Hide groups with fewer adjudicated lines.
    title : str, optional
    overall : float, optional
        Overall denial rate drawn as a reference line (default: pooled rate of
        the table).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.analytics import denial_rates
    >>> from ptdenial.reports import plot_denial_rates
    >>> lines = pd.DataFrame({
    ...     "payer_id": ["A", "A", "B", "B"], "cpt_code": ["97112"] * 4,
    ...     "date_of_service": pd.to_datetime(["2025-01-02"] * 4),
    ...     "charge_amount": [40.0] * 4,
    ...     "denied": pd.array([True, False, False, False], "boolean"),
    ...     "pending": pd.array([False] * 4, "boolean")})
    >>> fig = plot_denial_rates(denial_rates(lines, "payer_id"))
    >>> fig.axes[0].get_xlabel()
    'denial rate (95% Wilson interval)'
    """
    dims = _dimension_columns(rates, _RATE_COLUMNS)
    data = rates.loc[rates["adjudicated"] >= min_lines]
    data = data.nlargest(top, "adjudicated").sort_values("denial_rate")
    labels = [_short(_label_of(r, dims)) for _, r in data.iterrows()]
    fig = _figure(8.5, _bar_height(len(data)))
    ax = fig.add_subplot()
    y = np.arange(len(data))
    rate = data["denial_rate"].to_numpy(dtype=float)
    err = np.vstack(
        [
            rate - data["ci_low"].to_numpy(dtype=float),
            data["ci_high"].to_numpy(dtype=float) - rate,
        ]
    )
    ax.barh(y, rate, color=_BLUE, alpha=0.85, height=0.7)
    ax.errorbar(rate, y, xerr=err, fmt="none", ecolor="#1a202c", capsize=3, lw=1)
    if overall is None and data["adjudicated"].sum():
        overall = data["denied"].sum() / data["adjudicated"].sum()
    if overall is not None:
        ax.axvline(overall, color=_RED, ls="--", lw=1, label=f"overall {overall:.1%}")
        ax.legend(loc="lower right", frameon=False)
    ax.set_yticks(y, labels)
    _percent_axis(ax.xaxis)
    right = float(np.nanmax(data["ci_high"])) if len(data) else 1.0
    ax.set_xlim(0, min(1.0, right * 1.25 + 0.02))
    for yi, hi, n, d in zip(
        y, data["ci_high"], data["adjudicated"], data["denied"], strict=True
    ):
        ax.text(
            (0 if np.isnan(hi) else hi) + 0.005,
            yi,
            f"{d:,}/{n:,}",
            va="center",
            fontsize=8,
            color="#4a5568",
            bbox=_TEXT_BOX,
        )
    ax.set_xlabel("denial rate (95% Wilson interval)")
    ax.set_ylabel(_dims_text(dims))
    ax.set_title(title or f"Denial rate by {_dims_text(dims) or 'all lines'}")
    ax.grid(axis="x", alpha=0.3)
    fig.get_layout_engine().set(h_pad=0.06)
    ax.annotate(
        "numbers: denied / adjudicated lines; pending lines excluded",
        xy=(1.0, 0.0),
        xycoords="figure fraction",
        ha="right",
        va="bottom",
        fontsize=7,
        color="#718096",
    )
    return fig


def plot_carc_pareto(
    pareto: pd.DataFrame,
    *,
    top: int = 12,
    title: str | None = None,
):
    """Pareto of denial reasons: denied lines and dollars per code, cumulative share.

    Parameters
    ----------
    pareto : pandas.DataFrame
        Output of :func:`ptdenial.analytics.carc_pareto`.
    top : int
        Codes shown (largest first).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    data = pareto.head(top).iloc[::-1]
    kind = str(pareto["kind"].iloc[0]) if len(pareto) else "CARC"
    labels = []
    for _, r in data.iterrows():
        code = f"{r['group']}-{r['code']}" if r.get("group") else str(r["code"])
        category = str(r.get("category") or "").replace("_", " ")
        text = category or str(r.get("text") or "")
        labels.append(_short(f"{code}  {text}", 34))
    fig = _figure(11, _bar_height(len(data)))
    ax1, ax2 = fig.subplots(1, 2, sharey=True, width_ratios=[1.25, 1])
    y = np.arange(len(data))
    ax1.barh(y, data["lines"], color=_BLUE, height=0.7)
    for yi, n, cum in zip(y, data["lines"], data["cumulative_share"], strict=True):
        ax1.text(
            n, yi, f" {n:,} (cum. {cum:.0%})", va="center", fontsize=8, color="#2d3748"
        )
    ax1.set_yticks(y, labels)
    ax1.set_xlabel("denied lines (primary reason)")
    ax1.set_ylabel("reason (CAS group-code, category)")
    ax1.set_xlim(0, float(data["lines"].max() or 1) * 1.45)
    ax1.set_title("lines")
    ax1.grid(axis="x", alpha=0.3)
    ax2.barh(y, data["expected_payment"], color=_ORANGE, height=0.7, label="expected")
    ax2.barh(
        y,
        data["charges"],
        color="none",
        edgecolor="#2d3748",
        height=0.7,
        lw=0.8,
        label="charges",
    )
    ax2.set_xlabel("USD on denied lines")
    _dollar_axis(ax2.xaxis)
    ax2.legend(["expected payment", "billed charges"], loc="lower right", frameon=False)
    ax2.set_title("dollars")
    ax2.grid(axis="x", alpha=0.3)
    fig.suptitle(title or f"Denied lines by {kind} (Pareto)")
    return fig


def plot_monthly_trend(
    trend: pd.DataFrame,
    *,
    by: str | None = None,
    top: int = 5,
    title: str | None = None,
):
    """Denial rate by month (with interval band) over monthly line volume.

    Parameters
    ----------
    trend : pandas.DataFrame
        Output of :func:`ptdenial.analytics.monthly_trend`.
    by : str, optional
        A ``by`` column of the trend: one line per group (the ``top`` largest).
    top : int
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = _figure(9, 6)
    ax, axn = fig.subplots(2, 1, sharex=True, height_ratios=[2.2, 1])
    if by is None:
        groups = [(None, trend)]
    else:
        sizes = trend.groupby(by)["adjudicated"].sum().nlargest(top)
        groups = [(g, trend.loc[trend[by] == g]) for g in sizes.index]
    for i, (name, part) in enumerate(groups):
        color = _PALETTE[i % len(_PALETTE)]
        part = part.sort_values("month")
        ax.plot(
            part["month"],
            part["denial_rate"],
            marker="o",
            ms=3,
            color=color,
            label=_short(name, 24) if name is not None else "denial rate",
        )
        ax.fill_between(
            part["month"],
            part["ci_low"],
            part["ci_high"],
            color=color,
            alpha=0.15,
            lw=0,
        )
    ax.set_ylabel("denial rate")
    _percent_axis(ax.yaxis)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
    totals = trend.groupby("month")[["adjudicated", "pending"]].sum()
    width = 20
    axn.bar(
        totals.index,
        totals["adjudicated"],
        width=width,
        color=_GREY,
        label="adjudicated",
    )
    axn.bar(
        totals.index,
        totals["pending"],
        bottom=totals["adjudicated"],
        width=width,
        color=_ORANGE,
        alpha=0.7,
        label="pending",
    )
    axn.set_ylabel("lines")
    axn.set_xlabel("month of service")
    axn.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
    axn.grid(axis="y", alpha=0.3)
    for label in axn.get_xticklabels():
        label.set_rotation(30)
        label.set_ha("right")
    ax.set_title(title or "Denial rate by month of service (band: 95% Wilson interval)")
    return fig


def plot_revenue_at_risk(
    table: pd.DataFrame,
    *,
    top: int = 15,
    title: str | None = None,
):
    """Revenue at risk per group, split into recoverable and not.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`ptdenial.analytics.revenue_at_risk`.
    top : int
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    known = {
        "adjudicated",
        "denied",
        "denied_charges",
        "revenue_at_risk",
        "recoverable_lines",
        "recoverable_revenue",
        "recoverable_share",
        "pending_lines",
        "pending_expected_payment",
    }
    dims = _dimension_columns(table, known)
    data = table.nlargest(top, "revenue_at_risk").iloc[::-1]
    labels = [_short(_label_of(r, dims)) for _, r in data.iterrows()]
    fig = _figure(9, _bar_height(len(data)) + 0.4)
    ax = fig.add_subplot()
    y = np.arange(len(data))
    rec = data["recoverable_revenue"].to_numpy(dtype=float)
    rest = data["revenue_at_risk"].to_numpy(dtype=float) - rec
    ax.barh(y, rec, color=_GREEN, height=0.7, label="recoverable (a hard rule fired)")
    ax.barh(y, rest, left=rec, color=_GREY, height=0.7, label="other denials")
    for yi, total, share in zip(
        y, data["revenue_at_risk"], data["recoverable_share"], strict=True
    ):
        txt = f" ${total:,.0f}" + ("" if np.isnan(share) else f" ({share:.0%} rec.)")
        ax.text(total, yi, txt, va="center", fontsize=8)
    ax.set_yticks(y, labels)
    _dollar_axis(ax.xaxis)
    ax.set_xlim(0, float(data["revenue_at_risk"].max() or 1) * 1.35)
    ax.set_xlabel("expected payment of denied lines (USD)")
    ax.set_ylabel(_dims_text(dims))
    fig.legend(loc="outside lower center", ncols=2, frameon=False)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(
        title or "Revenue at risk and the part a billing rule would have caught"
    )
    return fig


def plot_rule_outcomes(
    table: pd.DataFrame,
    *,
    top: int = 20,
    min_lines: int = 1,
    title: str | None = None,
):
    """Denial rate of lines per rule hit, against lines with no hit.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`ptdenial.analytics.rule_outcome_table`.
    top : int
    min_lines : int
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from ptdenial.analytics import NO_RULE_HIT

    base = table.loc[table["rule_id"] == NO_RULE_HIT]
    data = table.loc[
        (table["rule_id"] != NO_RULE_HIT) & (table["adjudicated"] >= min_lines)
    ]
    data = data.nlargest(top, "adjudicated").sort_values("denial_rate")
    fig = _figure(9, _bar_height(len(data)))
    ax = fig.add_subplot()
    y = np.arange(len(data))
    rate = data["denial_rate"].to_numpy(dtype=float)
    colors = [
        _RED if k == "hard" else _ORANGE if k == "soft" else _GREY for k in data["kind"]
    ]
    ax.barh(y, rate, color=colors, height=0.7)
    err = np.vstack([rate - data["ci_low"], data["ci_high"] - rate])
    ax.errorbar(rate, y, xerr=err, fmt="none", ecolor="#1a202c", capsize=3, lw=1)
    for yi, hi, n, lift in zip(
        y, data["ci_high"], data["adjudicated"], data["lift"], strict=True
    ):
        lift_txt = "" if np.isnan(lift) else f", lift {lift:.1f}x"
        ax.text(hi + 0.01, yi, f"n={n:,}{lift_txt}", va="center", fontsize=8)
    if len(base):
        b = float(base["denial_rate"].iloc[0])
        ax.axvline(b, color="#1a202c", ls="--", lw=1)
        ax.text(
            b,
            1.0,
            f" no rule hit: {b:.1%}",
            transform=ax.get_xaxis_transform(),
            va="bottom",
            fontsize=8,
        )
    ax.set_yticks(y, [_short(r, 30) for r in data["rule_id"]])
    _percent_axis(ax.xaxis)
    right = float(np.nanmax(data["ci_high"])) if len(data) else 1.0
    ax.set_xlim(0, min(1.3, right * 1.35 + 0.05))
    if right * 1.35 + 0.05 > 1.0:  # room for the labels, but no tick past 100%
        ax.set_xticks(np.linspace(0, 1, 6))
    ax.set_xlabel("denial rate of adjudicated lines with the hit (95% interval)")
    ax.set_ylabel("rule")
    from matplotlib.patches import Patch

    fig.legend(
        handles=[
            Patch(color=_RED, label="hard rule (near-certain denial)"),
            Patch(color=_ORANGE, label="soft rule (review risk)"),
            Patch(color=_GREY, label="other"),
        ],
        loc="outside lower center",
        ncols=3,
        frameon=False,
        fontsize=8,
    )
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title or "Denial rate when a rule fires", pad=14)
    return fig


def plot_what_if(whatif: pd.DataFrame, *, top: int = 15, title: str | None = None):
    """Expected denials avoided per rule if its hits were fixed, with intervals.

    Parameters
    ----------
    whatif : pandas.DataFrame
        Output of :func:`ptdenial.analytics.rule_what_if`.
    top : int
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    data = whatif.head(top).iloc[::-1]
    fig = _figure(9, _bar_height(len(data)))
    ax = fig.add_subplot()
    y = np.arange(len(data))
    v = data["denials_avoided"].to_numpy(dtype=float)
    ax.barh(y, v, color=np.where(v >= 0, _GREEN, _GREY), height=0.7)
    err = np.vstack(
        [
            np.maximum(v - data["avoided_low"].to_numpy(dtype=float), 0),
            np.maximum(data["avoided_high"].to_numpy(dtype=float) - v, 0),
        ]
    )
    ax.errorbar(v, y, xerr=err, fmt="none", ecolor="#1a202c", capsize=3, lw=1)
    hi = data["avoided_high"].to_numpy(dtype=float)
    for yi, h, d, n in zip(
        y, hi, data["dollars_avoided"], data["hit_lines"], strict=True
    ):
        ax.text(max(h, 0), yi, f"  ${d:,.0f} ({n:,} lines)", va="center", fontsize=8)
    ax.axvline(0, color="#1a202c", lw=0.8)
    ax.set_yticks(y, [_short(r, 30) for r in data["rule_id"]])
    right = float(np.nanmax(hi)) if len(hi) else 1.0
    ax.set_xlim(min(0.0, float(np.nanmin(v)) * 1.2), max(right, 1.0) * 1.45)
    ax.set_xlabel("expected denials avoided (lines; 95% interval)")
    ax.set_ylabel("rule")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(
        title or "What if the lines with each rule hit had been fixed before submission"
    )
    return fig


# --- model figures -----------------------------------------------------------------
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
    ax.plot([0, lim], [0, lim], color=_GREY, ls="--", lw=1, label="perfect calibration")
    ax.set_xlim(0, lim)
    ax.set_ylim(0, lim)
    _percent_axis(ax.xaxis)
    _percent_axis(ax.yaxis)
    ax.set_ylabel("observed denial rate (95% interval)")
    ax.legend(loc="upper left", frameon=False, fontsize=8)
    ax.grid(alpha=0.3)
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
    ax.set_title(title or f"Reliability diagram ({n_bins} equal-count bins)")
    return fig


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


# --- one line explained --------------------------------------------------------------
_FLAG_PREFIXES = (
    "rule__",
    "mod_",
    "deficit_",
    "intervention_",
    "interventions_fit",
    "dx_primary_",
    "dx_any_",
    "is_",
    "has_",
    "visit_has_",
)
_FLAG_NAMES = frozenset({"poc_certified", "objective_measures"})
_MONEY_PREFIXES = ("ytd_", "gap__ytd_", "charge_")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _category_vocabularies(source) -> dict:
    """Category labels per ``cat__*`` feature, from a dict or a fitted model.

    ``source`` is a mapping (feature -> labels in code order), a fitted
    :class:`ptdenial.model.DenialRiskModel` (its ``features_``), its feature
    pipeline, or a fitted :class:`ptdenial.features.ClaimFeatures`; read
    through their fitted attributes, so nothing here imports the model.
    """
    if source is None:
        return {}
    if isinstance(source, dict):
        return {str(k): list(v) for k, v in source.items()}
    found = {}
    stack = [source]
    while stack:
        obj = stack.pop()
        cats = getattr(obj, "categories_", None)
        if isinstance(cats, dict):
            found.update({str(k): list(v) for k, v in cats.items()})
        inner = getattr(obj, "features_", None)
        if inner is not None:
            stack.append(inner)
        for part in getattr(obj, "transformers_", None) or ():
            stack.append(part[1] if isinstance(part, tuple) else part)
    return found


def _feature_value_text(name: str, value, categories: dict | None = None) -> str:
    """A feature's value as a reader says it.

    Category codes become their label (the code past the last label is the
    pooled rare/new category), NaN becomes ``missing``, 0/1 flags ``yes`` /
    ``no``, rates a percentage, money whole dollars, day counts and other
    whole numbers integers, anything else three significant digits.

    Examples
    --------
    >>> from ptdenial.reports import _feature_value_text as text
    >>> cats = {"cat__payer_id": ["COM01", "MCR01"]}
    >>> [text("cat__payer_id", 1.0, cats), text("cat__payer_id", 2.0, cats)]
    ['MCR01', 'other (rare or new)']
    >>> [text("hist_payer_code_rate", 0.1753), text("gap__days_past_cert_due", None)]
    ['17.5%', 'missing']
    >>> [text("rule__units_total", 1.0), text("days_since_certification", 12.0)]
    ['yes', '12']
    >>> [text("line_minutes_per_unit", 12.3456), text("ytd_therapy_allowed", 2330.4)]
    ['12.3', '$2,330']
    """
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "missing"
    if isinstance(value, str | bool | np.bool_) or not isinstance(
        value, int | float | np.number
    ):
        return _short(value, 24)
    v = float(value)
    whole = v.is_integer()
    if name.startswith("cat__"):
        labels = (categories or {}).get(name)
        if labels is not None and whole:
            k = int(v)
            if 0 <= k < len(labels):
                return _short(labels[k], 24)
            if k == len(labels):
                return "other (rare or new)"
        return f"code {v:g}"
    if name == "month_index" and whole:
        years, month = divmod(int(v), 12)
        return f"{2000 + years}-{month + 1:02d}"
    if name == "day_of_week" and whole and 0 <= v < 7:
        return _WEEKDAYS[int(v)]
    is_flag = name.startswith(_FLAG_PREFIXES) or name in _FLAG_NAMES
    if is_flag and not name.endswith("_count") and v in (0.0, 1.0):
        return "yes" if v else "no"
    if "_rate" in name:
        return f"{v:.1%}"
    if name.startswith(_MONEY_PREFIXES):
        return f"-${-v:,.0f}" if v < 0 else f"${v:,.0f}"
    if whole or "days" in name:
        return f"{v:,.0f}"
    return f"{v:.3g}"


def _feature_display_name(name: str) -> str:
    return name.removeprefix("cat__")


def plot_waterfall(
    contributions: pd.Series,
    *,
    values: pd.Series | None = None,
    rule_hits=None,
    probability: float | None = None,
    categories=None,
    top: int = 10,
    title: str | None = None,
):
    """Why one line got its score: a waterfall of feature contributions.

    Starts at the model's base value (``bias``, log-odds), adds the ``top``
    largest contributions one by one (the rest pooled), and ends at the
    line's raw score; the axis is log-odds, with the equivalent probability
    at the start and end. A bar is red when it raises the risk and green when
    it lowers it, whatever its place. Feature values are shown as a reader
    says them: category labels instead of codes, ``missing``, ``yes``/``no``
    for flags, rates in percent. Rule hits on the line are listed beside the
    chart with their fixes.

    Parameters
    ----------
    contributions : pandas.Series
        One row of ``model.contributions(Xf)`` (feature -> log-odds, plus
        ``bias``).
    values : pandas.Series, optional
        The same row of the features, shown next to each name.
    rule_hits : pandas.DataFrame, optional
        The line's rows of the rule-hit table (``rule_id``, ``detail``,
        ``fix``).
    probability : float, optional
        The calibrated probability, shown in the title (the waterfall itself
        is the uncalibrated score).
    categories : dict or fitted model, optional
        How to decode the ``cat__*`` codes of ``values``: a mapping feature ->
        labels in code order, or the fitted
        :class:`~ptdenial.model.DenialRiskModel` (or its feature pipeline)
        whose learned categories are used. Without it codes show as
        ``code N``.
    top : int
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.reports import plot_waterfall
    >>> row = pd.Series({"bias": -2.0, "cat__payer_id": 0.6, "units": -0.2})
    >>> fig = plot_waterfall(row, values=pd.Series({"cat__payer_id": 1.0,
    ...     "units": 3.0}), categories={"cat__payer_id": ["COM01", "MCR01"]})
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()][1:3]
    ['payer_id = MCR01', 'units = 3']
    """
    from matplotlib.patches import Patch

    c = pd.Series(contributions, dtype=float)
    bias = float(c.get("bias", 0.0))
    feats = c.drop(labels=["bias"], errors="ignore")
    order = feats.abs().sort_values(ascending=False).index
    shown = feats.loc[order[:top]]
    rest = float(feats.loc[order[top:]].sum())
    steps = list(shown.items())
    if len(order) > top:
        steps.append((f"{len(order) - top} other features", rest))
    vocab = _category_vocabularies(categories)
    has_rules = rule_hits is not None and len(rule_hits) > 0
    fig = _figure(12.5 if has_rules else 8.5, max(4.2, 2.0 + 0.36 * (len(steps) + 2)))
    if has_rules:
        ax, axt = fig.subplots(1, 2, width_ratios=[1.6, 1])
    else:
        ax = fig.add_subplot()
    labels = ["base value (average line)"]
    for name, _v in steps:
        label = _feature_display_name(str(name))
        if values is not None and name in values.index:
            label += " = " + _feature_value_text(str(name), values[name], vocab)
        labels.append(_short(label, 44))
    labels.append("this line's score")
    y = np.arange(len(labels))[::-1]
    running = bias
    ax.barh(y[0], bias, color=_GREY, height=0.6)
    for i, (_name, v) in enumerate(steps, start=1):
        ax.plot(
            [running, running],
            [y[i - 1] - 0.3, y[i] + 0.3],
            color="#718096",
            lw=0.7,
            ls=":",
        )
        ax.barh(y[i], v, left=running, color=_RED if v > 0 else _GREEN, height=0.6)
        ax.text(
            max(running, running + v),
            y[i],
            f" {v:+.2f}",
            va="center",
            ha="left",
            fontsize=8,
        )
        running += v
    ax.plot(
        [running, running], [y[-2] - 0.3, y[-1] + 0.3], color="#718096", lw=0.7, ls=":"
    )
    ax.barh(y[-1], running, color=_BLUE, height=0.6)
    ax.axvline(0, color="#1a202c", lw=0.6)
    ax.set_yticks(y, labels)
    cum = bias + np.cumsum([v for _, v in steps]) if steps else np.array([bias])
    lo = min(0.0, bias, float(cum.min()))
    hi = max(0.0, bias, float(cum.max()))
    span = max(hi - lo, 0.5)
    # room on the right for the "+0.00 (p=00.0%)" labels
    ax.set_xlim(lo - 0.04 * span, hi + 0.32 * span)
    ax.set_xlabel("contribution to the denial score (log-odds, before calibration)")
    ax.set_ylabel(
        "feature = its value on this line" if values is not None else "feature"
    )

    def prob(x):
        return 1 / (1 + np.exp(-x))

    for yy, x in ((y[0], bias), (y[-1], running)):
        ax.text(
            max(0.0, x),
            yy,
            f" {x:+.2f} (p={prob(x):.1%})",
            va="center",
            fontsize=8,
        )
    ax.grid(axis="x", alpha=0.3)
    fig.legend(
        handles=[
            Patch(color=_RED, label="raises the risk"),
            Patch(color=_GREEN, label="lowers the risk"),
            Patch(color=_GREY, label="base value"),
            Patch(color=_BLUE, label="this line's score"),
        ],
        loc="outside lower center",
        ncols=4,
        frameon=False,
        fontsize=8,
    )
    if probability is not None:
        head = (
            f"What drives this line's denial risk "
            f"(calibrated denial probability {probability:.1%})"
        )
    else:
        head = "What drives this line's denial score"
    fig.suptitle(title or head, x=0.02, ha="left")
    if has_rules:
        import textwrap

        axt.axis("off")
        axt.set_title("rule hits and fixes", loc="left")
        lines = []
        for _, r in rule_hits.head(6).iterrows():
            rid = str(r.get("rule_id", ""))
            detail = str(r.get("detail", "") or "")
            fix = str(r.get("fix", "") or "")
            lines.append(rid)
            lines += ["  " + t for t in textwrap.wrap(detail, 46)[:3]]
            fix_lines = textwrap.wrap(fix, 41)[:3]
            lines += [
                ("  fix: " if k == 0 else "       ") + t
                for k, t in enumerate(fix_lines)
            ]
            lines.append("")
        axt.text(
            0,
            1,
            "\n".join(lines),
            va="top",
            ha="left",
            fontsize=8,
            family="monospace",
            transform=axt.transAxes,
        )
    return fig


# --- scores and monitoring -----------------------------------------------------------
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
    ax4.set_xlabel("month of service")
    ax4.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
    ax4.grid(axis="y", alpha=0.3)
    for label in ax4.get_xticklabels():
        label.set_rotation(30)
        label.set_ha("right")
    ax1.set_title(title or "Realized performance of scored lines by month of service")
    return fig


# --- export ------------------------------------------------------------------------
def figure_to_png(fig, *, dpi: int = 110) -> bytes:
    """PNG bytes of a figure.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    dpi : int

    Returns
    -------
    bytes
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;
max-width:1100px;color:#1a202c;line-height:1.45;padding:0 1em}
h1{font-size:1.6em;border-bottom:2px solid #2b6cb0;padding-bottom:.3em}
h2{font-size:1.25em;margin-top:1.8em;color:#2b6cb0}
table{border-collapse:collapse;font-size:.85em;margin:.6em 0}
th,td{border:1px solid #cbd5e0;padding:.25em .6em;text-align:right}
th{background:#edf2f7}td:first-child,th:first-child{text-align:left}
img{max-width:100%;height:auto;border:1px solid #e2e8f0}
.meta{color:#4a5568;font-size:.85em}.note{color:#4a5568}
"""


def _table_html(df: pd.DataFrame, max_rows: int) -> str:
    shown = df.head(max_rows)
    fmt = {}
    for c in shown.columns:
        if pd.api.types.is_float_dtype(shown[c].dtype):
            fmt[c] = "{:,.4g}".format
    body = shown.to_html(index=False, escape=True, na_rep="", formatters=fmt, border=0)
    if len(df) > max_rows:
        body += f'<p class="note">{max_rows} of {len(df):,} rows shown.</p>'
    return body


def html_report(
    sections,
    *,
    title: str = "ptdenial report",
    subtitle: str | None = None,
    max_rows: int = 50,
) -> str:
    """A self-contained HTML page: headings, text, tables and embedded figures.

    Parameters
    ----------
    sections : iterable of (str, object)
        ``(heading, content)`` pairs; content is a string (a paragraph,
        escaped), a :class:`pandas.DataFrame` (a table, first ``max_rows``
        rows), a matplotlib Figure (embedded as a base64 PNG), a dict (a
        two-column table of key and value), or a list of these.
    title : str
    subtitle : str, optional
        A line under the title (e.g. the run id and time).
    max_rows : int

    Returns
    -------
    str
        The HTML document; it references no external file, script or style.

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.reports import html_report
    >>> page = html_report([("Summary", "3 lines scored"),
    ...                     ("Table", pd.DataFrame({"a": [1, 2]}))])
    >>> page.startswith("<!DOCTYPE html>"), "<table" in page, "http" in page
    (True, True, False)
    """
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    if subtitle:
        parts.append(f'<p class="meta">{html.escape(subtitle)}</p>')

    def render(content) -> str:
        from matplotlib.figure import Figure

        if content is None:
            return ""
        if isinstance(content, list | tuple):
            return "\n".join(render(c) for c in content)
        if isinstance(content, Figure):
            data = base64.b64encode(figure_to_png(content)).decode("ascii")
            alt = html.escape(content.axes[0].get_title() if content.axes else "figure")
            return f'<p><img alt="{alt}" src="data:image/png;base64,{data}"></p>'
        if isinstance(content, pd.DataFrame):
            return _table_html(content, max_rows)
        if isinstance(content, pd.Series):
            return _table_html(content.reset_index(), max_rows)
        if isinstance(content, dict):
            frame = pd.DataFrame(
                {
                    "item": list(map(str, content)),
                    "value": list(map(str, content.values())),
                }
            )
            return _table_html(frame, max_rows)
        return f"<p>{html.escape(str(content))}</p>"

    for heading, content in sections:
        parts.append(f"<h2>{html.escape(str(heading))}</h2>")
        parts.append(render(content))
    parts.append(
        f'<p class="meta">Generated by ptdenial. Columns follow the claim-line '
        f"contract (e.g. {html.escape(S.DENIAL_PROBABILITY)}).</p>"
    )
    parts.append("</body></html>")
    return "\n".join(parts)
