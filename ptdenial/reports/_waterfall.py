"""Why one line got its score: the waterfall of its feature contributions."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ptdenial.features import feature_spec
from ptdenial.reports._style import _BLUE, _GREEN, _GREY, _RED, _figure, _short

_MONEY_UNITS = ("USD", "USD per unit")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# calendar features never get a bar of their own: a date is no reason a
# biller can act on (they are pooled with the other features). The names
# cover models of earlier feature sets; the specs' "calendar" group the rest.
_CALENDAR_FEATURES = frozenset({"day_of_week", "month_of_year", "month_index"})


def _is_calendar(name: str) -> bool:
    if name in _CALENDAR_FEATURES:
        return True
    try:
        return feature_spec(name).group == "calendar"
    except KeyError:
        return False


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

    The feature's :func:`ptdenial.features.feature_spec` says how: category
    codes become their label (the code past the last label is the pooled
    rare/new category), 0/1 flags ``yes`` / ``no``, rates a percentage, money
    whole dollars, months and weekdays their names, day counts and other
    whole numbers integers, anything else three significant digits; NaN
    becomes ``missing``. A feature without a spec is a plain number.

    Examples
    --------
    >>> from ptdenial.reports._waterfall import _feature_value_text as text
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
    try:
        spec = feature_spec(name)
        kind, unit = spec.kind, spec.unit
    except KeyError:
        kind, unit = "numeric", ""
    if kind == "categorical":
        labels = (categories or {}).get(name)
        if labels is not None and whole:
            k = int(v)
            if 0 <= k < len(labels):
                return _short(labels[k], 24)
            if k == len(labels):
                return "other (rare or new)"
        return f"code {v:g}"
    if unit == "weekday (0 = Monday)" and whole and 0 <= v < 7:
        return _WEEKDAYS[int(v)]
    if kind == "flag" and v in (0.0, 1.0):
        return "yes" if v else "no"
    if unit == "rate":
        return f"{v:.1%}"
    if unit in _MONEY_UNITS:
        return f"-${-v:,.0f}" if v < 0 else f"${v:,.0f}"
    if whole or unit == "days":
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
    bias, steps = _waterfall_steps(contributions, top)
    labels = _step_labels(steps, values, _category_vocabularies(categories))
    has_rules = rule_hits is not None and len(rule_hits) > 0
    fig = _figure(12.5 if has_rules else 8.5, max(4.2, 2.0 + 0.36 * (len(steps) + 2)))
    if has_rules:
        ax, axt = fig.subplots(1, 2, width_ratios=[1.6, 1])
    else:
        ax = fig.add_subplot()
    y, running = _draw_steps(ax, bias, steps, labels)
    ax.set_xlabel("contribution to the denial score (log-odds, before calibration)")
    ax.set_ylabel(
        "feature = its value on this line" if values is not None else "feature"
    )
    for yy, x in ((y[0], bias), (y[-1], running)):
        ax.text(
            max(0.0, x),
            yy,
            f" {x:+.2f} (p={_probability(x):.1%})",
            va="center",
            fontsize=8,
        )
    ax.grid(axis="x", alpha=0.3)
    _sign_legend(fig)
    if probability is not None:
        head = (
            f"What drives this line's denial risk "
            f"(calibrated denial probability {probability:.1%})"
        )
    else:
        head = "What drives this line's denial score"
    fig.suptitle(title or head, x=0.02, ha="left")
    if has_rules:
        _list_rule_hits(axt, rule_hits)
    return fig


def _waterfall_steps(contributions, top: int) -> tuple[float, list]:
    """The base value and the ``(feature, log-odds)`` steps, the rest pooled.

    Calendar features are always pooled with the rest.
    """
    c = pd.Series(contributions, dtype=float)
    bias = float(c.get("bias", 0.0))
    feats = c.drop(labels=["bias"], errors="ignore")
    order = feats.abs().sort_values(ascending=False).index
    calendar = {n for n in order if _is_calendar(n)}
    order = [n for n in order if n not in calendar] + [
        n for n in order if n in calendar
    ]
    top = min(top, len(order) - len(calendar))
    shown = feats.loc[order[:top]]
    rest = float(feats.loc[order[top:]].sum())
    steps = list(shown.items())
    if len(order) > top:
        steps.append((f"{len(order) - top} other features", rest))
    return bias, steps


def _step_labels(steps, values, vocab: dict) -> list[str]:
    """One label per bar: the base, each step (with the line's value), the score."""
    labels = ["base value (average line)"]
    for name, _v in steps:
        label = _feature_display_name(str(name))
        if values is not None and name in values.index:
            label += " = " + _feature_value_text(str(name), values[name], vocab)
        labels.append(_short(label, 44))
    labels.append("this line's score")
    return labels


def _draw_steps(ax, bias: float, steps, labels):
    """Bars from the base value to the score, joined by dotted connectors.

    Returns the bar positions and the final (raw) score.
    """
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
    return y, running


def _probability(x):
    return 1 / (1 + np.exp(-x))


def _sign_legend(fig) -> None:
    from matplotlib.patches import Patch

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


def _list_rule_hits(axt, rule_hits) -> None:
    """The line's rule hits and their fixes, as wrapped text beside the chart."""
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
            ("  fix: " if k == 0 else "       ") + t for k, t in enumerate(fix_lines)
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
