"""Figures render (Agg), carry titles and axis labels, and no two texts overlap."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ptdenial import analytics as A  # noqa: E402
from ptdenial import monitoring as M  # noqa: E402
from ptdenial import reports as R  # noqa: E402
from ptdenial.reports import _style as RS  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from test_analytics import toy_claims, toy_hits  # noqa: E402


@pytest.fixture(scope="module")
def claims():
    return toy_claims(3000, seed=1)


@pytest.fixture(scope="module")
def hits(claims):
    return toy_hits(claims)


@pytest.fixture(scope="module")
def scores():
    rng = np.random.default_rng(0)
    p = rng.beta(2, 12, 4000)
    y = (rng.uniform(size=p.size) < p).astype(int)
    return y, p, np.clip(p + rng.normal(0, 0.08, p.size), 0, 1)


def _drawn_texts(fig):
    """The texts a reader sees: titles, labels, in-view tick labels, legends, notes."""
    texts = [*fig.texts]
    if fig._suptitle is not None:
        texts.append(fig._suptitle)
    for legend in fig.legends:
        texts += legend.get_texts()
    for ax in fig.axes:
        texts += [
            ax.title,
            ax._left_title,
            ax._right_title,
            ax.xaxis.label,
            ax.yaxis.label,
            *ax.texts,
        ]
        if ax.get_legend() is not None:
            texts += ax.get_legend().get_texts()
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            span = (high - low) * 1e-6
            for tick in axis.get_major_ticks():
                if low - span <= tick.get_loc() <= high + span:
                    texts += [tick.label1, tick.label2]
    return list({id(t): t for t in texts}.values())


def _texts(fig):
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    out = []
    for t in _drawn_texts(fig):
        if not t.get_visible() or not t.get_text().strip():
            continue
        bb = t.get_window_extent(renderer)
        if bb.width > 0 and bb.height > 0:
            out.append((t.get_text(), bb))
    return out


def check_readable(fig, path: Path):
    """Title, labelled axes, no overlapping texts, inside the canvas; saves PNG."""
    assert isinstance(fig, Figure)
    titles = [ax.get_title() or ax.get_title(loc="left") for ax in fig.axes]
    suptitle = fig._suptitle.get_text() if fig._suptitle is not None else ""
    assert suptitle or any(titles), "figure has no title"
    for ax in fig.axes:
        if not ax.axison or not (ax.lines or ax.patches or ax.collections):
            continue
        assert ax.get_xlabel() or ax.get_shared_x_axes().get_siblings(ax) != [ax], (
            f"unlabelled x axis in {titles}"
        )
        shares_y = any(
            o is not ax and o.get_ylabel()
            for o in ax.get_shared_y_axes().get_siblings(ax)
        )
        assert ax.get_ylabel() or shares_y, f"unlabelled y axis in {titles}"
    texts = _texts(fig)
    width, height = fig.canvas.get_width_height()
    problems = []
    for (ta, a), (tb, b) in itertools.combinations(texts, 2):
        inter_w = min(a.x1, b.x1) - max(a.x0, b.x0)
        inter_h = min(a.y1, b.y1) - max(a.y0, b.y0)
        if inter_w > 1.5 and inter_h > 1.5:
            problems.append((ta, tb))
    for t, bb in texts:
        if bb.x0 < -1 or bb.y0 < -1 or bb.x1 > width + 1 or bb.y1 > height + 1:
            problems.append((t, "outside the canvas"))
    assert not problems, f"overlapping or clipped texts: {problems[:5]}"
    fig.savefig(path, dpi=80)
    assert path.stat().st_size > 5000
    return fig


def test_denial_rate_figures(claims, hits, tmp_path):
    check_readable(
        R.plot_denial_rates(A.denial_rates(claims, A.MONTH)), tmp_path / "rates.png"
    )
    long = claims.assign(
        rendering_provider_id=claims["rendering_provider_id"]
        + " a very long provider display name that needs cutting"
    )
    fig = R.plot_denial_rates(A.denial_rates(long, ["rendering_provider_id"]))
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert all(len(label) <= 38 for label in labels)
    check_readable(fig, tmp_path / "rates_long.png")
    check_readable(R.plot_carc_pareto(A.carc_pareto(claims)), tmp_path / "pareto.png")
    check_readable(
        R.plot_monthly_trend(A.monthly_trend(claims)), tmp_path / "trend.png"
    )
    trend = A.monthly_trend(claims, by="payer_id")
    check_readable(R.plot_monthly_trend(trend, by="payer_id"), tmp_path / "trend2.png")
    check_readable(
        R.plot_revenue_at_risk(A.revenue_at_risk(claims, hits, by="clinic_id")),
        tmp_path / "rar.png",
    )
    check_readable(
        R.plot_rule_outcomes(A.rule_outcome_table(claims, hits)), tmp_path / "rules.png"
    )
    check_readable(R.plot_what_if(A.rule_what_if(claims, hits)), tmp_path / "what.png")


def test_model_figures(scores, tmp_path):
    y, p, other = scores
    both = {"model": p, "rules-only baseline": other}
    fig = check_readable(R.plot_roc_pr(y, both), tmp_path / "roc.png")
    assert "AUC" in fig.axes[0].get_legend().get_texts()[0].get_text()
    check_readable(R.plot_reliability(y, both), tmp_path / "rel.png")
    check_readable(R.plot_reliability(y, p), tmp_path / "rel1.png")
    check_readable(R.plot_lift(y, both), tmp_path / "lift.png")
    rng = np.random.default_rng(1)
    names = [f"feature_{i}_with_a_long_descriptive_name" for i in range(30)]
    contrib = pd.DataFrame(rng.normal(0, 0.3, (50, 30)), columns=names).assign(bias=-2)
    check_readable(R.plot_feature_importance(contrib), tmp_path / "imp.png")
    row = contrib.iloc[0]
    values = pd.Series(rng.integers(0, 5, 30).astype(float), index=names)
    hits = pd.DataFrame(
        {
            "rule_id": ["KX_MISSING", "UNITS_TOTAL"],
            "detail": [
                "Medicare line above the 2025 KX threshold without KX",
                "visit bills 4 timed units; 38 timed minutes support 3",
            ],
            "fix": [
                "add KX when the therapy is medically necessary and documented",
                "bill 3 units of 97112",
            ],
        }
    )
    fig = R.plot_waterfall(row, values=values, rule_hits=hits, probability=0.3)
    check_readable(fig, tmp_path / "waterfall.png")
    check_readable(R.plot_waterfall(row, top=5), tmp_path / "waterfall2.png")


def test_monitoring_figures(tmp_path):
    rng = np.random.default_rng(2)
    ref = pd.DataFrame({f"feature_{i}": rng.normal(0, 1, 3000) for i in range(25)})
    prof = M.reference_profile(ref, rng.beta(2, 9, 3000))
    cur = ref.iloc[:800] + np.linspace(0, 1.5, 25)
    drift = M.drift_table(prof, cur, rng.beta(2, 7, 800))
    check_readable(R.plot_drift(drift), tmp_path / "drift.png")
    check_readable(
        R.plot_score_distribution(
            rng.beta(2, 9, 2000),
            cut_points=(0.15, 0.35),
            reference=rng.beta(2, 8, 4000),
        ),
        tmp_path / "scores.png",
    )
    check_readable(R.plot_score_distribution(rng.beta(2, 9, 50)), tmp_path / "s2.png")
    claims = toy_claims(2000, seed=2)
    scored = claims[["claim_id", "line_number", "date_of_service"]].assign(
        denial_probability=rng.beta(2, 9, len(claims))
    )
    realized = M.realized_performance(scored, claims)
    check_readable(
        R.plot_realized_performance(realized.by_month), tmp_path / "realized.png"
    )


def test_html_report_is_self_contained(claims, scores):
    y, p, _ = scores
    page = R.html_report(
        [
            ("Summary", "12 lines <scored> & ranked"),
            ("Scores", R.plot_score_distribution(p)),
            ("Rates", A.denial_rates(claims, "payer_id")),
            ("Facts", {"model": "abc", "lines": 3}),
            ("Both", ["text", pd.Series([1, 2], name="x")]),
        ],
        title="Nightly <run>",
        subtitle="run 1",
    )
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count("data:image/png;base64,") == 1
    assert "&lt;scored&gt; &amp; ranked" in page and "Nightly &lt;run&gt;" in page
    # no external assets of any kind
    for marker in ("http://", "https://", "<script", "<link", 'src="/', "url("):
        assert marker not in page
    assert page.count("<table") == 3
    png = R.figure_to_png(R.plot_score_distribution(p))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_importing_reports_loads_no_matplotlib():
    # the nightly job imports ptdenial.reports for its HTML pages on machines
    # without a display: matplotlib must load only when a figure is drawn
    code = "import sys, ptdenial.reports; print('matplotlib' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_reports_never_use_pyplot_state():
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    R.plot_score_distribution(np.linspace(0, 0.5, 100))
    assert plt.get_fignums() == before


def test_waterfall_shows_human_values_and_colours_by_sign(tmp_path):
    from matplotlib.colors import to_hex

    row = pd.Series(
        {
            "bias": -2.0,
            "cat__payer_id": 0.5,
            "hist_payer_code_rate": 0.3,
            "gap__days_past_cert_due": -0.4,
            "rule__units_total": 0.2,
            "line_minutes_per_unit": -0.1,
        }
    )
    values = pd.Series(
        {
            "cat__payer_id": 1.0,
            "hist_payer_code_rate": 0.17453,
            "gap__days_past_cert_due": np.nan,
            "rule__units_total": 1.0,
            "line_minutes_per_unit": 12.345678,
        }
    )
    fig = R.plot_waterfall(
        row, values=values, categories={"cat__payer_id": ["COM01", "MCR01"]}
    )
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[1:6] == [
        "payer_id = MCR01",
        "gap__days_past_cert_due = missing",
        "hist_payer_code_rate = 17.5%",
        "rule__units_total = yes",
        "line_minutes_per_unit = 12.3",
    ]
    assert not any("nan" in label for label in labels)
    # steps are bars 1..5 (bar 0 is the base value, the last one the score)
    steps = ax.patches[1:-1]
    colours = {to_hex(b.get_facecolor()) for b in steps}
    assert len(colours) == 2
    for bar in steps:
        up = bar.get_width() > 0
        assert to_hex(bar.get_facecolor()) == (RS._RED if up else RS._GREEN)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "raises the risk" in legend and "lowers the risk" in legend
    check_readable(fig, tmp_path / "waterfall_values.png")
    # an unknown code past the vocabulary is the pooled rare category
    fig = R.plot_waterfall(
        row,
        values=pd.concat([pd.Series({"cat__payer_id": 2.0}), values.iloc[1:]]),
        categories={"cat__payer_id": ["COM01", "MCR01"]},
    )
    assert "payer_id = other (rare or new)" in [
        t.get_text() for t in fig.axes[0].get_yticklabels()
    ]


def test_reliability_legend_has_no_repeats(scores):
    y, p, other = scores
    for score in (p, {"model": p, "other": other}):
        fig = R.plot_reliability(y, score)
        for ax in fig.axes:
            legend = ax.get_legend()
            if legend is None:
                continue
            texts = [t.get_text() for t in legend.get_texts()]
            assert len(texts) == len(set(texts)), texts


def test_percent_ticks_are_not_rounded_into_lies():
    assert [RS._percent_text(x) for x in (0.0, 0.025, 0.05, 0.125, 1.0)] == [
        "0%",
        "2.5%",
        "5%",
        "12.5%",
        "100%",
    ]


def _toy_run(rng, n=600, *, with_profile=True):
    """A ScoreRun as score_file returns it, and a model-like object with a card."""
    from types import SimpleNamespace

    from ptdenial.scoring import ScoreRun

    features = pd.DataFrame({f"feature_{i}": rng.normal(0, 1, n) for i in range(6)})
    scores = rng.beta(2, 9, n)
    card = {}
    if with_profile:
        card["reference_profile"] = M.reference_profile(features, rng.beta(2, 9, n))
    worklist = pd.DataFrame(
        {
            "rank": [1, 2, 3],
            "claim_id": ["C1", "C2", "C3"],
            "line_number": [1, 1, 2],
            "payer_id": ["MCR01", "COM01", "MCR01"],
            "cpt_code": ["97112"] * 3,
            "denial_probability": [0.6, 0.5, 0.4],
            "risk_band": ["high", "high", "high"],
            "dollars_at_risk": [30.0, 25.5, 20.0],
            "patient_id": ["P1", "P2", "P3"],
        }
    )
    manifest = {
        "as_of": "2025-06-30",
        "scored_at": "2025-06-30T00:00:00+00:00",
        "model": {"model_id": "abc123"},
        "counts": {
            "rows_in": n + 4,
            "scored": n + 4,
            "scored_97112": n,
            "quarantined": 4,
            "worklist": 3,
        },
        "risk_bands": {"low": n - 100, "medium": 97, "high": 3, "not_scored": 4},
        "timings_s": {"total": 1.5},
        "config": {"medium_cut": 0.15, "high_cut": 0.35},
    }
    run = ScoreRun(
        manifest=manifest,
        worklist=worklist,
        scores=scores,
        drift_features=features.iloc[: n // 2] + 0.5,
        rule_counts=pd.Series({"KX_MISSING": 5, "UNITS_TOTAL": 2}),
        quarantine_summary=pd.DataFrame(
            {"column": ["units"], "check": ["type"], "rows": [4]}
        ),
        exit_code=3,
    )
    return run, SimpleNamespace(card_=card)


def test_scoring_report_is_the_run_page(tmp_path):
    run, model = _toy_run(np.random.default_rng(3))
    page = R.scoring_report(run, model)
    assert page.startswith("<!DOCTYPE html>")
    assert "ptdenial nightly scoring, 2025-06-30" in page
    assert "model abc123; scored at 2025-06-30T00:00:00+00:00" in page
    for heading in (
        "Run",
        "Risk bands",
        "Score distribution (97112 lines)",
        "Drift against the model&#x27;s training profile",
        "Worklist: 3 lines, $75.50 at risk",
        "Rule hits (lines per rule)",
        "Quarantined rows",
    ):
        assert f"<h2>{heading}</h2>" in page, heading
    assert page.count("data:image/png;base64,") == 2  # scores and drift
    # the worklist section shows no patient identifier
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page)
    assert "patient_id" not in text and ">P1<" not in text
    # cut points come from the run's settings unless given
    assert page == R.scoring_report(run, model, cut_points=(0.15, 0.35))
    assert page != R.scoring_report(run, model, cut_points=(0.2, 0.5))
    # a model without a training profile: the drift section says why
    run, bare = _toy_run(np.random.default_rng(3), with_profile=False)
    page = R.scoring_report(run, bare)
    assert "no reference_profile" in page
    assert page.count("data:image/png;base64,") == 1


def test_monitoring_report_sections(tmp_path):
    rng = np.random.default_rng(4)
    ref = pd.DataFrame({f"feature_{i}": rng.normal(0, 1, 2000) for i in range(8)})
    prof = M.reference_profile(ref, rng.beta(2, 9, 2000))
    drift = M.drift_table(prof, ref.iloc[:600] + 0.8, rng.beta(2, 7, 600))
    advice = {
        "retrain": True,
        "reasons": [
            {"trigger": "feature_drift", "severity": "retrain", "detail": "PSI <1>"}
        ],
    }
    page = R.monitoring_report(drift, advice, subtitle="batch b.parquet, model m1")
    assert "<title>ptdenial monitor</title>" in page
    assert "batch b.parquet, model m1" in page
    assert "RETRAIN" in page and "feature_drift (retrain)" in page
    assert "PSI &lt;1&gt;" in page
    assert "Realized performance" not in page
    assert page.count("data:image/png;base64,") == 1
    claims = toy_claims(2000, seed=2)
    scored = claims[["claim_id", "line_number", "date_of_service"]].assign(
        denial_probability=rng.beta(2, 9, len(claims))
    )
    realized = M.realized_performance(scored, claims)
    calm = {"retrain": False, "reasons": []}
    page = R.monitoring_report(drift, calm, realized)
    assert "no retraining needed" in page and "<h2>Realized performance</h2>" in page
    assert page.count("data:image/png;base64,") == 2
