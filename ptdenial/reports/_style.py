"""House style of every figure: size, colours, label and number formatting.

Nothing here draws a chart; the ``plot_*`` modules build their figures with
these helpers so that all of them look and read alike. matplotlib is imported
inside the functions only (see :mod:`ptdenial.reports`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

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


def _month_axis(ax) -> None:
    """The bottom panel of a by-month figure: axis name, legend, grid, tilted dates."""
    ax.set_xlabel("month of service")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    for label in ax.get_xticklabels():
        label.set_rotation(30)
        label.set_ha("right")


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
