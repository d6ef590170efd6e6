"""Figures and self-contained HTML pages for analysts and the nightly job.

The only package of ptdenial that imports matplotlib, and only inside the
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
scripts, so the page can be mailed or archived as is. :func:`scoring_report`
and :func:`monitoring_report` build the pages the command line writes
(``report.html`` of a scoring run, ``monitor.html``), so a notebook can
produce the same pages.

Layout: ``_style`` (figure size, colours, number formatting),
``_analytics_plots``, ``_model_plots``, ``_waterfall`` (one line explained),
``_monitoring_plots``, ``_html`` (the page builder) and ``_pages`` (the two
reports).
"""

from ptdenial.reports._analytics_plots import (
    plot_carc_pareto,
    plot_denial_rates,
    plot_monthly_trend,
    plot_revenue_at_risk,
    plot_rule_outcomes,
    plot_what_if,
)
from ptdenial.reports._html import figure_to_png, html_report
from ptdenial.reports._model_plots import (
    plot_feature_importance,
    plot_lift,
    plot_reliability,
    plot_roc_pr,
)
from ptdenial.reports._monitoring_plots import (
    plot_drift,
    plot_realized_performance,
    plot_score_distribution,
)
from ptdenial.reports._pages import monitoring_report, scoring_report
from ptdenial.reports._waterfall import plot_waterfall

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
    "scoring_report",
    "monitoring_report",
]
