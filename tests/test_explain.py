"""Reasons in plain words: grouped contributions, sentences, rule hits first."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ptdenial import schema as S
from ptdenial.exceptions import PtdenialError
from ptdenial.explain import (
    COVERED_BY_RULES,
    REASON_GROUPS,
    SILENT_GROUPS,
    Explainer,
    combine_reasons,
    feature_groups,
)

AS_OF = "2026-01-01"


@pytest.fixture(scope="module")
def model(sample_model):
    """The suite's shared model (conftest.py); read only."""
    return sample_model


@pytest.fixture(scope="module")
def lines(model, sample_new_claims):
    new = sample_new_claims
    Xf = model.transform_features(new, as_of=AS_OF)
    code = (new[S.CPT_CODE] == "97112").to_numpy(dtype=bool)
    return new.loc[code].reset_index(drop=True), Xf.loc[code].reset_index(drop=True)


@pytest.fixture(scope="module")
def explainer(sample_explainer):
    return sample_explainer


def test_every_model_feature_has_a_meaningful_group(model):
    groups = feature_groups(model.feature_names_)
    assert len(groups) == len(model.feature_names_)
    assert "other" not in set(groups), [
        f for f, g in zip(model.feature_names_, groups, strict=True) if g == "other"
    ]
    named = dict(zip(model.feature_names_, groups, strict=True))
    assert named["hist_payer_provider_code_rate_recent"] == "payer_provider_history"
    assert named["deficit_balance"] == "deficits"
    assert named["visit_units_97112"] == "units_minutes"
    assert named["visit_units_97116"] == "same_day_codes"
    assert named["rule__kx_missing"] == "rules"
    assert named["hist_global_rate"] == "baseline"


def test_path_attribution_is_additive(explainer, lines):
    _, Xf = lines
    approx = explainer.approximate(Xf)
    raw = explainer.raw_score(Xf)
    np.testing.assert_allclose(approx.sum(axis=1) + explainer.bias_, raw, atol=1e-9)


def test_exact_contributions_sum_to_raw_score(explainer, model, lines):
    _, Xf = lines
    head = Xf.head(40)
    exact = explainer.exact(head)
    bias = model.contributions(head)["bias"].to_numpy()
    np.testing.assert_allclose(
        exact.sum(axis=1) + bias, explainer.raw_score(head), atol=1e-9
    )


def test_path_attribution_ranks_like_treeshap(explainer, lines):
    _, Xf = lines
    head = Xf.head(150)
    silent = [i for i, g in enumerate(explainer.groups) if g in SILENT_GROUPS]
    a = explainer.approximate(head)
    e = explainer.exact(head)
    a[:, silent] = e[:, silent] = -np.inf
    # the strongest actionable driver is usually the same
    agree = (a.argmax(axis=1) == e.argmax(axis=1)).mean()
    assert agree > 0.6


def test_every_reason_group_has_a_renderer_or_is_silent():
    from ptdenial.explain._sentences import RENDERERS

    groups = {g for g, _ in REASON_GROUPS}
    assert set(RENDERERS) == groups - SILENT_GROUPS
    assert SILENT_GROUPS <= groups


def test_every_renderer_speaks_on_real_lines(explainer, lines):
    from ptdenial.explain._sentences import RENDERERS

    claims, Xf = lines
    for group in RENDERERS:
        out = explainer.model_reasons(claims, Xf, _force(explainer, len(Xf), group))
        assert len(out) > 0, group
        assert set(out["group"]) == {group}
        assert out["fix"].map(type).eq(str).all()


def _force(explainer, n, group, value=1.0):
    c = np.zeros((n, len(explainer.groups)))
    c[:, explainer.groups.index(group)] = value
    return c


def _one_line(**claims):
    base = {
        S.CLAIM_ID: ["C1"],
        S.LINE_NUMBER: [1],
        S.PATIENT_ID: ["P000123"],
        S.PAYER_ID: ["MCR01"],
        S.PAYER_CLASS: ["medicare"],
        S.CPT_CODE: ["97112"],
        S.RENDERING_PROVIDER_ID: ["R0001"],
        S.DIAGNOSIS_CODES: [("M54.50",)],
    }
    base.update(claims)
    return pd.DataFrame(base)


def test_payer_provider_history_sentence_uses_raw_counts(explainer):
    # 14 of 45 recent lines denied, smoothed toward a 10% practice-wide rate
    m, prior = explainer._smoothing, 0.10
    rate = (14 + m * prior) / (45 + m)
    Xf = pd.DataFrame(
        {
            "hist_global_rate": [prior],
            "hist_payer_provider_code_n_recent": [45.0],
            "hist_payer_provider_code_rate_recent": [rate],
            "hist_payer_provider_code_n": [120.0],
            "hist_payer_provider_code_rate": [0.2],
        }
    )
    out = explainer.model_reasons(
        _one_line(), Xf, _force(explainer, 1, "payer_provider_history")
    )
    assert out["reason"].tolist() == [
        "payer MCR01 denied 31% of 97112 lines from this provider in the last 90 "
        "days (14 of 45 lines)"
    ]


@pytest.mark.parametrize(
    ("group", "features", "claims", "expected"),
    [
        (
            "deficits",
            {"deficit_count": [0.0]},
            {},
            "no balance/coordination/kinesthetic/posture/proprioception deficit "
            "documented",
        ),
        (
            "diagnosis",
            {"dx_count": [1.0], "dx_primary_supported": [0.0]},
            {},
            "primary diagnosis M54.50 is not on the 97112 support list",
        ),
        (
            "interventions",
            {"interventions_fit_97112": [0.0], "intervention_gait_training": [1.0]},
            {},
            "documentation describes gait training (97116), not neuromuscular "
            "re-education",
        ),
        (
            "units_minutes",
            {"units": [3.0], "line_minutes": [31.0]},
            {},
            "3 units of 97112 billed for 31 documented minutes (10 minutes per unit)",
        ),
        (
            "note_signature",
            {"note_signature_lag_days": [np.nan]},
            {},
            "daily note not signed",
        ),
        (
            "modifiers",
            {"n_modifiers": [2.0]},
            {S.MODIFIERS: [("GP", "59")]},
            "modifiers on the line: GP, 59",
        ),
    ],
)
def test_sentences(explainer, group, features, claims, expected):
    out = explainer.model_reasons(
        _one_line(**claims), pd.DataFrame(features), _force(explainer, 1, group)
    )
    assert out["reason"].tolist() == [expected]


def test_drivers_below_threshold_silent_or_covered_are_dropped(explainer):
    claims = _one_line()
    Xf = pd.DataFrame({"deficit_count": [0.0], "objective_measures": [0.0]})
    c = np.zeros((1, len(explainer.groups)))
    c[0, explainer.groups.index("deficits")] = 0.9
    c[0, explainer.groups.index("objective_measures")] = 0.01  # below threshold
    c[0, explainer.groups.index("calendar")] = 5.0  # never a reason
    out = explainer.model_reasons(claims, Xf, c, min_contribution=0.05)
    assert out["group"].tolist() == ["deficits"]
    covered = pd.DataFrame({"pos": [0], "rule_id": ["CODE_CONTENT"]})
    assert "CODE_CONTENT" in COVERED_BY_RULES["deficits"]
    out = explainer.model_reasons(claims, Xf, c, covered_rules=covered)
    assert out.empty


def test_reasons_rank_by_contribution_and_cap(explainer):
    claims = pd.concat([_one_line()] * 2, ignore_index=True)
    Xf = pd.DataFrame(
        {
            "deficit_count": [0.0, 0.0],
            "objective_measures": [0.0, 0.0],
            "note_signature_lag_days": [np.nan, np.nan],
        }
    )
    c = np.zeros((2, len(explainer.groups)))
    g = explainer.groups.index
    c[:, g("deficits")] = [0.3, 0.9]
    c[:, g("objective_measures")] = [0.6, 0.2]
    c[:, g("note_signature")] = [0.1, 0.1]
    out = explainer.model_reasons(claims, Xf, c, max_reasons=2)
    assert out.loc[out.pos == 0, "group"].tolist() == ["objective_measures", "deficits"]
    assert out.loc[out.pos == 1, "group"].tolist() == ["deficits", "objective_measures"]


def test_combine_puts_hard_hits_first_and_dedups_fixes():
    hits = pd.DataFrame(
        {
            "pos": [0, 0, 2],
            "rule_id": ["CODE_CONTENT", "GP_MISSING", "MUE"],
            "kind": ["soft", "hard", "hard"],
            "detail": ["no deficit", "no GP", "5 units; MUE 4"],
            "fix": ["document the deficit", "add modifier GP", "bill 4 units"],
        }
    )
    drivers = pd.DataFrame(
        {
            "pos": [0, 0, 1],
            "rank": [1, 0, 0],
            "reason": ["driver b", "driver a", "driver c"],
            "fix": ["document the deficit", "", "do x"],
        }
    )
    ids, reasons, fixes = combine_reasons(3, hits, drivers)
    assert ids.to_pylist() == [["CODE_CONTENT", "GP_MISSING"], [], ["MUE"]]
    assert reasons.to_pylist() == [
        ["no GP", "no deficit", "driver a", "driver b"],
        ["driver c"],
        ["5 units; MUE 4"],
    ]
    assert fixes.to_pylist() == [
        ["add modifier GP", "document the deficit"],
        ["do x"],
        ["bill 4 units"],
    ]


def test_reason_texts_carry_no_patient_identifiers(explainer, lines):
    claims, Xf = lines
    out = explainer.model_reasons(claims, Xf, explainer.approximate(Xf))
    assert len(out) > 0
    text = " ".join(out["reason"]) + " ".join(out["fix"])
    for pid in claims[S.PATIENT_ID].unique()[:200]:
        assert pid not in text


def test_hist_gradient_boosting_gives_rules_only(model):
    class Fake:
        learner = "hist_gradient_boosting"
        feature_names_ = model.feature_names_

    ex = Explainer(Fake())
    assert not ex.available
    with pytest.raises(PtdenialError, match="LightGBM"):
        ex.approximate(np.zeros((1, len(model.feature_names_))))
