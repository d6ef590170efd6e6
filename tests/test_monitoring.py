"""Monitoring: profiles, PSI, drift verdicts, realized performance, retraining."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from ptdenial import monitoring as M
from ptdenial import schema as S
from ptdenial.exceptions import ClaimsSchemaError, PtdenialError


def feature_frame(n: int, *, seed: int, shift: bool = False) -> tuple:
    """Model-like features and a score; ``shift`` moves payer mix and minutes."""
    rng = np.random.default_rng(seed)
    payer_p = [0.5, 0.3, 0.15, 0.05] if not shift else [0.2, 0.3, 0.15, 0.35]
    payer = rng.choice(4, n, p=payer_p).astype(float)
    minutes = rng.normal(32 if not shift else 38, 6, n)
    minutes[rng.uniform(size=n) < 0.05] = np.nan
    units = np.clip(np.round(minutes / 15), 1, 4)
    flag = (rng.uniform(size=n) < 0.1).astype(float)
    features = pd.DataFrame(
        {
            "cat__payer_id": payer,
            "line_minutes": minutes,
            "units": units,
            "rule__gp_missing": flag,
            "month_index": np.full(n, 300.0 + (12 if shift else 0)),
        }
    )
    return features, toy_score(features)


def toy_score(X: pd.DataFrame) -> np.ndarray:
    logit = (
        -2.0
        + 0.8 * (X["cat__payer_id"] == 3)
        + 0.05 * np.nan_to_num(X["line_minutes"] - 32)
        + 1.5 * X["rule__gp_missing"]
    )
    return 1 / (1 + np.exp(-logit.to_numpy()))


@pytest.fixture(scope="module")
def profile():
    X, p = feature_frame(20_000, seed=0)
    return M.reference_profile(X, p)


# --- PSI ---------------------------------------------------------------------
def test_psi_known_values():
    assert M.population_stability_index([1, 1], [1, 1]) == 0.0
    e, a = np.array([0.5, 0.5]), np.array([0.8, 0.2])
    expected = (0.3 * np.log(0.8 / 0.5)) + (-0.3 * np.log(0.2 / 0.5))
    assert M.population_stability_index(e, a) == pytest.approx(expected)
    # counts and shares give the same value; empty bins stay finite
    assert M.population_stability_index([50, 50], [80, 20]) == pytest.approx(expected)
    assert np.isfinite(M.population_stability_index([0.5, 0.5, 0.0], [0.4, 0.4, 0.2]))
    assert np.isnan(M.population_stability_index([0, 0], [1, 1]))
    with pytest.raises(ValueError):
        M.population_stability_index([1, 2], [1, 2, 3])


@pytest.mark.parametrize(
    ("psi", "status"),
    [
        (0.0, "stable"),
        (0.0999, "stable"),
        (0.10, "moderate"),
        (0.2499, "moderate"),
        (0.25, "significant"),
        (float("nan"), "not_computed"),
    ],
)
def test_psi_status_thresholds(psi, status):
    assert M.psi_status(psi) == status


# --- profiles -------------------------------------------------------------------------
def test_profile_is_compact_json(profile):
    text = json.dumps(profile, allow_nan=False)  # strict JSON: no NaN/Infinity
    assert len(text) < 4000
    assert json.loads(text) == profile
    assert profile["format"] == M.PROFILE_FORMAT
    assert profile["n_rows"] == 20_000
    assert "month_index" not in profile["features"]  # calendar feature excluded
    assert profile["excluded"] == ["month_index"]
    cat = profile["features"]["cat__payer_id"]
    assert cat["kind"] == "categorical" and cat["values"] == [0, 1, 2, 3]
    num = profile["features"]["line_minutes"]
    assert num["kind"] == "numeric" and len(num["edges"]) == 9
    assert num["missing"] == pytest.approx(0.05, abs=0.01)
    total = sum(num["proportions"]) + num["missing"]
    assert total == pytest.approx(1.0, abs=1e-4)
    flag = profile["features"]["rule__gp_missing"]
    assert flag["edges"] == [0.0] and len(flag["proportions"]) == 2
    assert len(profile["score"]["proportions"]) == 10


def test_profile_handles_all_missing_and_categorical_dtypes():
    X = pd.DataFrame(
        {
            "empty": np.full(100, np.nan),
            "payer": pd.Categorical(["A", "B"] * 50),
            "label": pd.array(["x", "y", None, "x"] * 25, dtype="string"),
        }
    )
    prof = M.reference_profile(X)
    json.dumps(prof, allow_nan=False)
    assert prof["features"]["empty"]["missing"] == 1.0
    assert prof["features"]["payer"]["kind"] == "categorical"
    assert prof["features"]["label"]["missing"] == pytest.approx(0.25)
    assert prof["score"] is None
    with pytest.raises(ValueError, match="scores has"):
        M.reference_profile(X, np.zeros(3))


# --- drift verdicts -----------------------------------------------------------------
def test_unshifted_batch_is_stable(profile):
    X, p = feature_frame(3000, seed=1)
    drift = M.drift_table(profile, X, p)
    assert drift["feature"].iloc[0] == M.SCORE_NAME
    assert (drift["status"] == "stable").all(), drift
    assert drift["psi"].max() < 0.05
    rec = M.recommend_retraining(drift, as_of="2025-01-01")
    assert not rec["retrain"]


def test_shifted_batch_is_flagged(profile):
    X, p = feature_frame(3000, seed=2, shift=True)
    drift = M.drift_table(profile, X, p).set_index("feature")
    assert drift.loc["cat__payer_id", "status"] == "significant"
    assert drift.loc["line_minutes", "status"] == "significant"
    assert drift.loc[M.SCORE_NAME, "status"] in {"moderate", "significant"}
    assert drift.loc["rule__gp_missing", "status"] == "stable"
    assert "code 3" in drift.loc["cat__payer_id", "largest_shift"]
    rec = M.recommend_retraining(drift.reset_index(), as_of="2025-01-01")
    assert rec["retrain"]
    assert "feature_drift" in {r["trigger"] for r in rec["reasons"]}


def test_drift_small_batch_and_missing_feature(profile):
    X, p = feature_frame(40, seed=3, shift=True)
    drift = M.drift_table(profile, X.drop(columns="units"), p, min_rows=100)
    status = drift.set_index("feature")["status"]
    assert status["units"] == "missing_feature"
    assert (status.drop("units") == "insufficient_data").all()
    rec = M.recommend_retraining(drift, as_of="2025-01-01")
    assert not rec["retrain"]
    assert "small_batch" in {r["trigger"] for r in rec["reasons"]}


def test_unseen_category_goes_to_other(profile):
    X, p = feature_frame(2000, seed=4)
    X["cat__payer_id"] = 9.0  # a payer never seen in training
    drift = M.drift_table(profile, X).set_index("feature")
    assert drift.loc["cat__payer_id", "status"] == "significant"
    assert "other" in drift.loc["cat__payer_id", "largest_shift"]


def test_bad_profile_is_refused():
    with pytest.raises(PtdenialError, match="reference profile"):
        M.drift_table({"format": "nope"}, pd.DataFrame())
    with pytest.raises(PtdenialError, match="no reference_profile"):
        M.model_profile(SimpleNamespace(card_={}))


# --- realized performance ------------------------------------------------------------
def scored_and_outcomes(n: int = 3000, *, seed: int = 0, miscalibrate: float = 1.0):
    rng = np.random.default_rng(seed)
    p = rng.beta(2, 8, n)
    y = rng.uniform(size=n) < np.clip(p * miscalibrate, 0, 1)
    dos = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 90, n), "D")
    keys = {S.CLAIM_ID: [f"C{i}" for i in range(n)], S.LINE_NUMBER: np.ones(n, int)}
    scored = pd.DataFrame({**keys, S.DENIAL_PROBABILITY: p, S.DATE_OF_SERVICE: dos})
    pending = rng.uniform(size=n) < 0.05
    outcomes = pd.DataFrame(
        {
            **keys,
            S.DENIED: pd.array(np.where(pending, None, y), dtype="boolean"),
            S.PENDING: pd.array(pending, dtype="boolean"),
        }
    )
    return scored, outcomes


def test_realized_performance_counts_unmatched_rows():
    scored, outcomes = scored_and_outcomes()
    scored.loc[200:209, S.DENIAL_PROBABILITY] = np.nan  # e.g. non-97112 lines
    outcomes = outcomes.iloc[100:]  # 100 remittances not arrived yet
    extra = outcomes.iloc[:5].assign(**{S.CLAIM_ID: [f"X{i}" for i in range(5)]})
    dup = outcomes.iloc[:3]
    outcomes = pd.concat([outcomes, extra, dup], ignore_index=True)
    r = M.realized_performance(scored, outcomes)
    s = r.summary
    assert s["scored_rows"] == 3000 and s["not_scored"] == 10 and s["scored"] == 2990
    assert s["no_outcome"] == 100
    assert s["no_score"] == 5 + 10  # unknown keys + outcomes of unscored lines
    assert s["duplicate_outcome_keys"] == 3
    assert s["matched"] == 2890
    assert s["matched"] + s["no_outcome"] == s["scored"]
    assert s["evaluable"] == s["matched"] - s["pending"]
    assert len(r.joined) == s["matched"] + s["no_outcome"] + s["no_score"]
    assert set(r.joined["match"]) == {"matched", "no_outcome", "no_score"}
    assert 0.6 < s["roc_auc"] < 0.85
    assert s["ece"] < 0.05
    assert r.by_month["month"].dt.month.tolist() == [1, 2, 3]
    assert r.by_month["evaluable"].sum() == s["evaluable"]
    assert r.calibration["n"].sum() == s["evaluable"]
    json.dumps(s, allow_nan=False)


def test_realized_performance_derives_outcomes_and_keys():
    scored, _ = scored_and_outcomes(200)
    remits = pd.DataFrame(
        {
            S.CLAIM_ID: scored[S.CLAIM_ID],
            S.LINE_NUMBER: scored[S.LINE_NUMBER].astype(str),  # text keys from CSV
            S.ADJUDICATION_DATE: pd.Timestamp("2025-05-01"),
            S.ALLOWED_AMOUNT: np.where(np.arange(200) % 4 == 0, 0.0, 30.0),
            S.PAID_AMOUNT: np.where(np.arange(200) % 4 == 0, 0.0, 24.0),
            S.ADJUSTMENT_CODES: [
                ("CO-50",) if i % 4 == 0 else ("CO-45",) for i in range(200)
            ],
        }
    )
    r = M.realized_performance(scored, remits)
    assert r.summary["matched"] == 200
    assert r.summary["denied"] == 50
    with pytest.raises(ClaimsSchemaError, match="outcomes carry neither"):
        M.realized_performance(scored, remits[[S.CLAIM_ID, S.LINE_NUMBER]])
    with pytest.raises(ClaimsSchemaError, match="key columns"):
        M.realized_performance(scored.drop(columns=S.LINE_NUMBER), remits)


def test_miscalibration_triggers_retraining():
    scored, outcomes = scored_and_outcomes(4000, miscalibrate=1.8)
    r = M.realized_performance(scored, outcomes)
    assert r.summary["ece"] > M.ECE_LIMIT
    card = {
        "validation_metrics": {"model": {"roc_auc": 0.95}},
        "training_window": ["2024-01-01", "2024-12-31"],
    }
    rec = M.recommend_retraining(None, r, card=card, as_of="2025-02-01")
    triggers = {x["trigger"]: x["severity"] for x in rec["reasons"]}
    assert rec["retrain"]
    assert triggers["calibration"] == "retrain"
    assert triggers["auc_drop"] == "retrain"
    assert rec["checks"]["validation_auc"] == 0.95
    json.dumps(rec.to_dict(), allow_nan=False)


def test_calendar_triggers():
    card = {
        "training_window": ["2024-01-01", "2025-03-31"],
        "calibration_window": ["2025-04-01", "2025-06-30"],
    }
    same_quarter = M.recommend_retraining(card=card, as_of="2025-06-30")
    assert not same_quarter["retrain"] and same_quarter["reasons"] == []
    next_quarter = M.recommend_retraining(card=card, as_of="2025-07-15")
    assert not next_quarter["retrain"]
    assert [r["trigger"] for r in next_quarter["reasons"]] == ["new_ncci_quarter"]
    new_year = M.recommend_retraining(card=card, as_of="2026-01-02")
    assert new_year["retrain"]
    assert "new_kx_year" in {r["trigger"] for r in new_year["reasons"]}
    few = M.recommend_retraining(realized={"evaluable": 10}, as_of="2025-06-30")
    assert [r["trigger"] for r in few["reasons"]] == ["few_outcomes"]


def _mixed_drift():
    return pd.DataFrame(
        {
            "feature": [M.SCORE_NAME, f"{M.SCORE_NAME}[medicare]", "units", "minutes"],
            "kind": ["score", "score_segment", "numeric", "numeric"],
            "psi": [0.12, 0.4, 0.3, 0.01],
            "status": ["moderate", "significant", "significant", "stable"],
            "n_current": [900, 300, 900, 900],
        }
    )


def test_advice_is_typed_and_its_dict_is_the_recommendation_json():
    card = {
        "validation_metrics": {"model": {"roc_auc": 0.8}},
        "training_window": ["2024-01-01", "2024-12-31"],
        "top_features": ["minutes"],
    }
    realized = {"evaluable": 500, "roc_auc": 0.7, "ece": 0.03}
    advice = M.recommend_retraining(
        _mixed_drift(), realized, card=card, as_of="2025-02-03", share_drifted=0.6
    )
    assert isinstance(advice, M.RetrainingAdvice)
    assert advice.action == "retrain" and advice.retrain
    T, Sev = M.Trigger, M.Severity
    assert [(r.trigger, r.severity) for r in advice.reasons] == [
        (T.SCORE_DRIFT, Sev.WATCH),
        (T.SEGMENT_DRIFT, Sev.WATCH),
        (T.FEATURE_DRIFT, Sev.WATCH),
        (T.AUC_DROP, Sev.RETRAIN),
        (T.NEW_KX_YEAR, Sev.RETRAIN),
        (T.NEW_NCCI_QUARTER, Sev.WATCH),
    ]
    assert all(isinstance(r, M.RetrainingReason) for r in advice.reasons)
    assert advice.figures["validation_auc"] == 0.8
    # the JSON of recommendation.json, as recommend_retraining returned it before
    # it was typed (keys, order, wording), plus the action (issue 13: refresh
    # or retrain)
    assert advice.to_dict() == {
        "retrain": True,
        "action": "retrain",
        "reasons": [
            {
                "trigger": "score_drift",
                "severity": "watch",
                "detail": "PSI of the score is 0.120 (0.1-0.25).",
            },
            {
                "trigger": "segment_drift",
                "severity": "watch",
                "detail": "the scores of some segments moved significantly (a "
                "payer policy change?): denial_probability[medicare] PSI 0.40",
            },
            {
                "trigger": "feature_drift",
                "severity": "watch",
                "detail": "significant PSI on: units",
            },
            {
                "trigger": "auc_drop",
                "severity": "retrain",
                "detail": "realized AUC 0.700 is 0.100 below the card's "
                "validation_metrics AUC 0.800 (limit 0.05).",
            },
            {
                "trigger": "new_kx_year",
                "severity": "retrain",
                "detail": "data ends in 2024, now 2025: new KX threshold and "
                "yearly fee-schedule/code changes.",
            },
            {
                "trigger": "new_ncci_quarter",
                "severity": "watch",
                "detail": "2025Q1 NCCI PTP/MUE files replace those of 2024Q4: "
                "load them into the reference tables; retrain if the edits that "
                "matter changed.",
            },
        ],
        "checks": {
            "score_psi": 0.12,
            "segments_significant": ["denial_probability[medicare]"],
            "features_significant": ["units"],
            "features_judged": 2,
            "evaluable": 500,
            "realized_auc": 0.7,
            "realized_ece": 0.03,
            "validation_auc": 0.8,
            "trained_through": "2024-12-31",
            "model_age_days": 34,
        },
        "as_of": "2025-02-03",
    }
    assert list(advice.to_dict()["checks"]) == list(advice.figures)
    # item access reads that dict, for code written against the dict result
    assert advice["reasons"] == advice.to_dict()["reasons"]
    assert advice["action"] == advice.action
    with pytest.raises(KeyError):
        advice["not_a_key"]


def test_advice_action_watch_and_keep():
    card = {"training_window": ["2024-01-01", "2025-01-31"], "top_features": []}
    watch = M.recommend_retraining(
        _mixed_drift(), card=card, as_of="2025-02-03", share_drifted=0.6
    )
    assert watch.action == "watch" and not watch.retrain
    assert {r.severity for r in watch.reasons} == {M.Severity.WATCH}
    keep = M.recommend_retraining(card=card, as_of="2025-02-03")
    assert keep.action == "keep" and keep.reasons == ()
    assert keep.to_dict() == {
        "retrain": False,
        "action": "keep",
        "reasons": [],
        "checks": {"trained_through": "2025-01-31", "model_age_days": 3},
        "as_of": "2025-02-03",
    }


# --- duck-typed model --------------------------------------------------------
class FakeModel:
    """Quacks like DenialRiskModel: transform_features + predict_proba_features."""

    def __init__(self, profile):
        self.card_ = {
            "reference_profile": profile,
            "training_window": ["2024-01-01", "2024-12-31"],
        }

    def transform_features(self, claims, *, as_of=None):
        X, _ = feature_frame(len(claims), seed=7, shift=bool(claims.attrs.get("shift")))
        X.index = claims.index
        return X

    def predict_proba_features(self, Xf):
        return toy_score(Xf)


def test_monitor_batch_with_duck_typed_model(profile):
    n = 1500
    claims = pd.DataFrame(
        {
            S.CLAIM_ID: [f"C{i}" for i in range(n)],
            S.LINE_NUMBER: np.ones(n, int),
            S.CPT_CODE: ["97112"] * (n - 100) + ["97110"] * 100,
            S.DATE_OF_SERVICE: pd.Timestamp("2024-12-10"),
        }
    )
    result = M.monitor_batch(FakeModel(profile), claims, as_of="2024-12-15")
    assert result["drift"]["n_current"].max() == n - 100  # 97112 lines only
    assert not result["recommendation"]["retrain"]
    assert result["realized"] is None
    claims.attrs["shift"] = True
    shifted = M.monitor_batch(FakeModel(profile), claims, as_of="2024-12-15")
    assert shifted["recommendation"]["retrain"]


def test_monitor_cli_writes_outputs(profile, tmp_path, monkeypatch):
    import sys
    from pathlib import Path

    import ptdenial.model
    from ptdenial.cli import main
    from ptdenial.io import write_table

    sys.path.insert(0, str(Path(__file__).parent))
    from test_analytics import toy_claims

    fake = FakeModel(profile)
    fake.model_id = "fake0001"
    fake.reference = None
    monkeypatch.setattr(ptdenial.model, "load_model", lambda path: fake)
    claims = toy_claims(1500, seed=5)
    path = write_table(claims, tmp_path / "batch.parquet")
    out = tmp_path / "monitor"
    code = main(
        [
            "monitor",
            str(path),
            "--model",
            "m.skops",
            "--outcomes",
            str(path),
            "--out",
            str(out),
            "--as-of",
            "2025-12-31",
        ]
    )
    assert code == 0
    drift = pd.read_csv(out / "drift.csv")
    assert drift["feature"].iloc[0] == M.SCORE_NAME
    advice = json.loads((out / "recommendation.json").read_text())
    # the fake card's data ends in 2024: a new KX year calls for retraining
    assert advice["retrain"] is True
    assert "new_kx_year" in {r["trigger"] for r in advice["reasons"]}
    summary = json.loads((out / "realized_summary.json").read_text())
    assert summary["matched"] == summary["scored"]
    page = (out / "monitor.html").read_text()
    assert "data:image/png;base64," in page and "https://" not in page
    # a batch without 97112 lines cannot be compared: exit code 2
    other = write_table(
        claims.assign(cpt_code=pd.array(["97110"] * len(claims), dtype="string")),
        tmp_path / "other.parquet",
    )
    assert main(["monitor", str(other), "--model", "m.skops"]) == 2


# --- real generator worlds -------------------------------------------------------
def _world_drift(model, profile, world):
    """Drift of the Apr-Sep 2025 97112 lines of a world (features on whole visits)."""
    window = world[world[S.DATE_OF_SERVICE] >= "2025-04-01"]
    batch = window[window[S.CPT_CODE] == "97112"]
    scorer = model.with_history(world)
    Xf = scorer.transform_features(window).loc[batch.index]
    p = scorer.predict_proba_features(Xf)
    drift = M.drift_table(profile, Xf, p, segments=batch[S.PAYER_CLASS])
    scored = batch[[S.CLAIM_ID, S.LINE_NUMBER, S.DATE_OF_SERVICE]].assign(
        **{S.DENIAL_PROBABILITY: p}
    )
    realized = M.realized_performance(scored, window)
    # the refreshed scorer's card: its snapshot is the one these scores used
    advice = M.recommend_retraining(
        drift, realized, card=scorer.card_, as_of="2025-09-30"
    )
    return drift.set_index("feature"), advice


def test_drift_flags_a_payer_policy_change_in_generated_worlds():
    """Same seed, two worlds: only the one where four commercial payers start
    requiring prior authorization on 2025-04-01 is flagged (notebook 04).

    The policy change moves outcomes, not the claims: the scores shift only
    as the new denials reach the history features, so the flag comes from
    the realized calibration once remittances arrive.
    """
    from ptdenial.datasets import PolicyChange, SyntheticParams, make_claims
    from ptdenial.model import DenialRiskModel

    payers = ("COM02", "COM03", "COM04", "COM05")
    changed = SyntheticParams(
        policy_changes=tuple(
            PolicyChange(p, "2025-04-01", "auth_required", 5.0, 365) for p in payers
        )
    )
    worlds = {
        name: make_claims(
            900, start="2024-01-01", end="2025-09-30", random_state=7, params=params
        ).claims
        for name, params in (
            ("stable", SyntheticParams(policy_changes=())),
            ("changed", changed),
        )
    }
    history = M.history_as_of(worlds["stable"], "2025-03-31")
    model = DenialRiskModel(n_estimators=100, n_jobs=1).fit(history)
    # the product path: the profile stored in the model card
    profile = M.model_profile(model)
    stable, stable_advice = _world_drift(model, profile, worlds["stable"])
    shifted, shifted_advice = _world_drift(model, profile, worlds["changed"])
    assert not stable_advice["retrain"], stable_advice["reasons"]
    assert stable.loc[M.SCORE_NAME, "status"] != "significant"
    assert shifted_advice["retrain"], shifted_advice["reasons"]
    triggers = {r["trigger"] for r in shifted_advice["reasons"]}
    assert "calibration" in triggers
    ece = {
        name: advice["checks"]["realized_ece"]
        for name, advice in (("stable", stable_advice), ("changed", shifted_advice))
    }
    assert ece["changed"] > 3 * ece["stable"]
