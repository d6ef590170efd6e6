"""Figures of :mod:`ptdenial.analytics` tables: rates, Pareto, trends, dollars."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ptdenial.analytics._rates import RATE_COLUMNS
from ptdenial.analytics._revenue import REVENUE_COLUMNS
from ptdenial.reports._style import (
    _BLUE,
    _GREEN,
    _GREY,
    _ORANGE,
    _PALETTE,
    _RED,
    _TEXT_BOX,
    _bar_height,
    _dimension_columns,
    _dims_text,
    _dollar_axis,
    _figure,
    _label_of,
    _month_axis,
    _percent_axis,
    _short,
)

_RATE_COLUMNS = set(RATE_COLUMNS)


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
    _month_axis(axn)
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
    dims = _dimension_columns(table, set(REVENUE_COLUMNS))
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
