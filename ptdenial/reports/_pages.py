"""The two HTML pages of the command line, as functions a notebook can call too.

:func:`scoring_report` is the run report of ``ptdenial score --report`` and
``ptdenial demo``; :func:`monitoring_report` is the ``monitor.html`` of
``ptdenial monitor --out``. Both return the page as a string and write
nothing: save it where you like, e.g.
``Path("report.html").write_text(page, encoding="utf-8")``.
"""

from __future__ import annotations

import pandas as pd

from ptdenial.exceptions import PtdenialError
from ptdenial.monitoring import retraining_verdict
from ptdenial.reports._html import html_report
from ptdenial.reports._monitoring_plots import (
    plot_drift,
    plot_realized_performance,
    plot_score_distribution,
)

_WORKLIST_COLUMNS = [
    "rank",
    "claim_id",
    "line_number",
    "payer_id",
    "cpt_code",
    "denial_probability",
    "risk_band",
    "dollars_at_risk",
    "dollars_saved",
    "fix_kind",
]


def scoring_report(run, model, *, cut_points=None) -> str:
    """The run report of a nightly scoring: counts, scores, drift, worklist, rules.

    Parameters
    ----------
    run : ptdenial.scoring.ScoreRun
        What :func:`ptdenial.scoring.score_file` returned.
    model : ptdenial.model.DenialRiskModel
        The model that scored the run; its training profile is the reference
        of the drift section.
    cut_points : tuple of float, optional
        Risk-band cut points drawn on the score distribution; by default the
        ``medium_cut`` and ``high_cut`` of the run's settings (its manifest).

    Returns
    -------
    str
        A self-contained HTML page (see :func:`html_report`).

    Examples
    --------
    >>> from pathlib import Path
    >>> from ptdenial import reports
    >>> page = reports.scoring_report(run, model)  # doctest: +SKIP
    >>> Path("report.html").write_text(page, encoding="utf-8")  # doctest: +SKIP
    """
    m = run.manifest
    if cut_points is None:
        settings = m.get("config") or {}
        if "medium_cut" in settings and "high_cut" in settings:
            cut_points = (settings["medium_cut"], settings["high_cut"])
    bands = pd.DataFrame(
        [{"risk band": k, "lines": v} for k, v in m["risk_bands"].items()]
    )
    sections = [("Run", _run_summary(m))]
    snapshot = m.get("history_snapshot") or {}
    if snapshot.get("stale"):
        sections.append(("Warning: the history snapshot is old", snapshot["message"]))
    sections.append(("Risk bands", bands))
    if len(run.scores):
        sections.append(
            (
                "Score distribution (97112 lines)",
                plot_score_distribution(run.scores, cut_points=cut_points),
            )
        )
    sections.append(_drift_section(run, model))
    if len(run.worklist):
        sections.append(_worklist_section(run.worklist))
    if len(run.rule_counts):
        sections.append(
            (
                "Rule hits (lines per rule)",
                run.rule_counts.rename("lines").rename_axis("rule_id").reset_index(),
            )
        )
    if len(run.quarantine_summary):
        sections.append(("Quarantined rows", run.quarantine_summary))
    return html_report(
        sections,
        title=f"ptdenial nightly scoring, {m['as_of']}",
        subtitle=f"model {m['model']['model_id']}; scored at {m['scored_at']}",
    )


def _run_summary(manifest: dict) -> dict:
    counts = manifest["counts"]
    return {
        "as of": manifest["as_of"],
        "scored at": manifest["scored_at"],
        "model": manifest["model"]["model_id"],
        "rows in": counts["rows_in"],
        "lines scored (all codes)": counts["scored"],
        "97112 lines with a probability": counts["scored_97112"],
        "rows quarantined": counts["quarantined"],
        "worklist lines": counts["worklist"],
        **_snapshot_summary(manifest.get("history_snapshot")),
        "seconds": manifest["timings_s"].get("total"),
    }


def _snapshot_summary(snapshot) -> dict:
    """The history snapshot's rows of the run summary (none without one)."""
    if not snapshot:
        return {}
    age = snapshot.get("age_days")
    source = snapshot.get("source") or {}
    how = (
        f"refreshed for this run from {source.get('path') or 'a table'}"
        if source
        else ("refreshed (ptdenial refresh)" if snapshot.get("refreshed") else
              "as trained")
    )  # fmt: skip
    return {
        "history snapshot: newest outcome": snapshot.get("last_outcome_date"),
        "history snapshot: age (days)": "unknown" if age is None else age,
        "history snapshot": f"{how}; warn above {snapshot.get('max_age_days')} days",
    }


def _drift_section(run, model) -> tuple:
    """Drift of the run's lines against the model's profile, or why there is none."""
    from ptdenial.monitoring import drift_table, model_profile

    heading = "Drift against the model's training profile"
    try:
        profile = model_profile(model)
        segments = run.score_segments if len(run.score_segments) else None
        # a nightly run: each feature is judged against what single nights
        # of the training months showed (ptdenial monitor judges windows)
        drift = drift_table(
            profile, run.drift_features, run.scores, segments=segments, batch="night"
        )
        note = (
            "One night of claims is compared with the training months as a "
            "night: a feature's status counts only the shift beyond what "
            "single nights of those months showed (column allowance). Run "
            "`ptdenial monitor` on a month of nights for the window view."
        )
        return heading, [note, plot_drift(drift), drift]
    except PtdenialError as exc:
        return heading, str(exc)


def _worklist_section(wl: pd.DataFrame) -> tuple:
    """The worklist's first 25 lines and its dollars at risk per payer."""
    shown = wl[[c for c in _WORKLIST_COLUMNS if c in wl.columns]].head(25)
    by_payer = (
        wl.groupby("payer_id", observed=True)["dollars_at_risk"]
        .agg(["size", "sum"])
        .rename(columns={"size": "lines", "sum": "dollars at risk"})
        .sort_values("dollars at risk", ascending=False)
        .reset_index()
    )
    heading = f"Worklist: {len(wl)} lines, ${wl['dollars_at_risk'].sum():,.2f} at risk"
    return heading, [shown, by_payer]


def monitoring_report(
    drift: pd.DataFrame,
    advice,
    realized=None,
    *,
    title: str = "ptdenial monitor",
    subtitle: str | None = None,
) -> str:
    """The monitoring page: retraining advice, drift and realized performance.

    Parameters
    ----------
    drift : pandas.DataFrame
        Output of :func:`ptdenial.monitoring.drift_table`.
    advice : dict
        Output of :func:`ptdenial.monitoring.recommend_retraining`
        (``retrain`` and ``reasons``); an object with ``to_dict()`` giving
        that mapping is accepted too.
    realized : ptdenial.monitoring.RealizedPerformance, optional
        Performance once outcomes arrived; the section is left out without.
    title : str
    subtitle : str, optional
        A line under the title, e.g. ``"batch june.parquet, model 3f2a..."``.

    Returns
    -------
    str
        A self-contained HTML page (see :func:`html_report`).

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.reports import monitoring_report
    >>> drift = pd.DataFrame({"feature": ["units"], "kind": ["numeric"],
    ...                       "psi": [0.02], "status": ["stable"],
    ...                       "n_current": [500]})
    >>> page = monitoring_report(drift, {"retrain": False, "reasons": []})
    >>> "no retraining needed" in page, "<img" in page
    (True, True)
    """
    if hasattr(advice, "to_dict"):
        advice = advice.to_dict()
    verdict = retraining_verdict(advice)
    reasons = {
        f"{r['trigger']} ({r['severity']})": r["detail"] for r in advice["reasons"]
    }
    sections = [
        ("Recommendation", [verdict, reasons] if reasons else verdict),
        ("Drift against the training profile", [plot_drift(drift), drift]),
    ]
    if realized is not None:
        perf = [realized.summary]
        if len(realized.by_month):
            perf = [plot_realized_performance(realized.by_month), *perf]
        sections.append(("Realized performance", perf))
    return html_report(sections, title=title, subtitle=subtitle)
