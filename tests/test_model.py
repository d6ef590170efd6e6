import json
import zipfile

import numpy as np
import pytest

from ptdenial import schema as S
from ptdenial.datasets import make_claims
from ptdenial.evaluation import expected_calibration_error
from ptdenial.exceptions import ModelVersionError, PtdenialError
from ptdenial.model import DenialRiskModel, load_model, save_model, train_and_evaluate
from ptdenial.schema import derive_outcomes


@pytest.fixture(scope="module")
def world():
    return make_claims(900, random_state=11)


@pytest.fixture(scope="module")
def fitted(world):
    return DenialRiskModel(n_estimators=120, n_jobs=1).fit(world.claims)


@pytest.fixture(scope="module")
def fitted_base(world):
    """The trees boosted from the additive base (opt-in since issue 13)."""
    return DenialRiskModel(n_estimators=40, n_jobs=1, linear_base=True).fit(
        world.claims
    )


def test_probabilities_in_unit_interval(fitted, world):
    p = fitted.predict_proba(world.claims)
    assert p.shape == (len(world.claims), 2)
    assert np.all((p >= 0) & (p <= 1))
    np.testing.assert_allclose(p.sum(axis=1), 1.0)


def test_calibrated_on_later_slice(world):
    # refit="train": the trees never see the calibration slice, so the slice
    # shows the calibrator's own fit; history_lag="none": scoring the slice
    # then gives exactly the features the calibrator saw (with the default,
    # training lines see a drawn staleness that scoring the history does not)
    fitted = DenialRiskModel(
        n_estimators=120, n_jobs=1, refit="train", history_lag="none"
    ).fit(world.claims)
    claims = derive_outcomes(world.claims)
    card = fitted.card_
    calib_start = card["calibration_window"][0]
    sub = claims[S.SUBMISSION_DATE].fillna(claims[S.DATE_OF_SERVICE])
    assert card["training_window"][1] < calib_start
    mask = (
        (sub >= calib_start) & ~claims[S.PENDING] & (claims[S.CPT_CODE] == "97112")
    ).to_numpy()
    # features need whole visits: score every line, then keep the slice
    p = fitted.predict_proba(claims)[mask, 1]
    y = claims.loc[mask, S.DENIED].astype(bool).to_numpy()
    # isotonic regression fitted on this slice: calibration in the large is exact
    # (up to the probability clip), and binned error stays within sampling noise
    assert abs(p.mean() - y.mean()) < 0.005
    assert expected_calibration_error(y, p, n_bins=5) < 0.03
    assert p.min() >= 0.001 and p.max() <= 0.999


def test_centered_isotonic_knots_keep_ranking():
    from ptdenial.model._calibration import _centered_isotonic_knots

    raw = np.array([0.1, 0.2, 0.3, 0.4])
    steps = np.array([0.0, 0.5, 0.5, 1.0])  # plain isotonic ties 0.2 and 0.3
    kx, ky = _centered_isotonic_knots(raw, steps)
    np.testing.assert_allclose(kx, [0.1, 0.25, 0.4])
    np.testing.assert_allclose(ky, [0.0, 0.5, 1.0])
    p = np.interp(raw, kx, ky)
    np.testing.assert_allclose(p, [0.0, 1 / 3, 2 / 3, 1.0])


def test_calibration_keeps_the_trees_ranking(fitted, world):
    from sklearn.metrics import roc_auc_score

    claims = derive_outcomes(world.claims)
    Xf = fitted.transform_features(claims)
    raw = fitted._raw_proba(Xf)
    p = fitted.predict_proba_features(Xf)
    order = np.argsort(raw)
    assert (np.diff(p[order]) >= -1e-12).all()  # monotone
    lo, hi = fitted.calibration_knots_[0, [0, -1]]
    inside = (raw > lo) & (raw < hi)
    # every code's lines, the calibrator learnt on 97112's: the trees alone
    # (the default since issue 13) put 89.9% inside, the additive base 90+%
    assert inside.mean() > 0.85
    # strictly increasing between the first and the last block's centre (the
    # end segments, from the lowest raw score to the first centre and from
    # the last centre to the highest, are flat by construction): no ties,
    # same AUC
    y = claims[S.DENIED].fillna(False).astype(bool).to_numpy()
    from ptdenial.model import PROBABILITY_FLOOR

    lo, hi = fitted.calibration_knots_[0, [1, -2]]
    done = ~claims[S.PENDING].to_numpy(dtype=bool) & (raw > lo) & (raw < hi)
    done &= (p > PROBABILITY_FLOOR) & (p < 1 - PROBABILITY_FLOOR)  # clip ties
    assert roc_auc_score(y[done], p[done]) == pytest.approx(
        roc_auc_score(y[done], raw[done]), abs=1e-9
    )
    # plain isotonic steps would tie lines the trees rank apart
    steps = fitted.calibrator_.predict(raw[done])
    assert len(np.unique(steps)) < len(np.unique(p[done])) / 10


def test_holdout_beats_baselines_and_is_calibrated(world):
    report = train_and_evaluate(
        world.claims, truth=world.truth, n_estimators=150, n_jobs=1
    )
    m = report.metrics.set_index("scorer")
    for base in ("historical_rate", "rules_only", "logistic_onehot"):
        assert m.loc["model", "roc_auc"] > m.loc[base, "roc_auc"] - 0.01, base
    assert m.loc["true_probability", "roc_auc"] >= m.loc["model", "roc_auc"] - 0.01
    assert m.loc["model", "ece"] < 0.05
    assert report.by_payer["group"].iloc[0] == "(all)"


def test_pending_never_negative(fitted, world):
    claims = derive_outcomes(world.claims)
    model = fitted  # fitted on world.claims: fit derives the same outcomes
    assert model.card_["rows"]["pending"] == int(claims[S.PENDING].sum())
    assert model.card_["rows"]["train"] <= int((~claims[S.PENDING]).sum())


def test_save_load_identical_scores(fitted, world, tmp_path):
    path = save_model(fitted, tmp_path / "m.skops")
    assert path == tmp_path / "m.skops"
    card = json.loads((tmp_path / "m.skops.card.json").read_text())
    assert card["model_id"] == fitted.model_id
    assert card["schema_version"] == S.SCHEMA_VERSION
    assert "feature_names" in card and "versions" in card
    loaded = load_model(path)
    np.testing.assert_array_equal(
        loaded.predict_proba(world.claims), fitted.predict_proba(world.claims)
    )


def test_tampered_file_is_refused(fitted, tmp_path):
    path = save_model(fitted, tmp_path / "m.skops")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelVersionError, match="SHA-256|damaged|not a ptdenial"):
        load_model(path)


def test_untrusted_types_are_refused(fitted, tmp_path):
    path = save_model(fitted, tmp_path / "m.skops")
    (tmp_path / "m.skops.card.json").unlink()
    with zipfile.ZipFile(path) as z:
        files = {n: z.read(n) for n in z.namelist()}
    schema = json.loads(files["schema.json"])
    schema["__module__"] = "os"
    schema["__class__"] = "system"
    files["schema.json"] = json.dumps(schema).encode()
    with zipfile.ZipFile(path, "w") as z:
        for n, b in files.items():
            z.writestr(n, b)
    with pytest.raises(ModelVersionError, match="allow-list|damaged"):
        load_model(path)


def test_pickle_is_refused(tmp_path):
    import pickle

    path = tmp_path / "m.pkl"
    path.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ModelVersionError, match="pickle|not a ptdenial"):
        load_model(path)


def test_other_schema_version_is_refused(fitted, tmp_path, monkeypatch):
    path = save_model(fitted, tmp_path / "m.skops")
    monkeypatch.setattr(S, "SCHEMA_VERSION", S.SCHEMA_VERSION + 1)
    with pytest.raises(ModelVersionError, match="schema version 1.*version 2"):
        load_model(path)


def test_other_feature_set_version_is_refused(fitted, tmp_path, monkeypatch):
    from ptdenial import features as F

    path = save_model(fitted, tmp_path / "m.skops")
    monkeypatch.setattr(F, "FEATURE_SET_VERSION", F.FEATURE_SET_VERSION + 1)
    with pytest.raises(ModelVersionError, match="feature set version 4.*version 5"):
        load_model(path)


def test_bad_params_and_no_outcomes(world):
    with pytest.raises(ValueError, match="learner"):
        DenialRiskModel(learner="xgb").fit(world.claims)
    new = world.claims.drop(
        columns=[c for c in S.OUTCOME_COLUMNS if c in world.claims.columns]
    )
    with pytest.raises(PtdenialError, match="outcome columns"):
        DenialRiskModel().fit(new)


@pytest.mark.parametrize("name", ["fitted", "fitted_base"])
def test_contributions_add_up(name, world, request):
    fitted = request.getfixturevalue(name)
    Xf = fitted.transform_features(world.claims.head(200))
    contrib = fitted.contributions(Xf)
    raw = fitted._raw_proba(Xf)
    logit = np.log(raw / (1 - raw))
    np.testing.assert_allclose(contrib.sum(axis=1), logit, atol=1e-6)
    if name == "fitted":  # the default: trees alone
        assert fitted.linear_ is None
        return
    # the trees boost from the additive base: both parts are in the log-odds
    assert fitted.linear_ is not None
    trees = fitted.estimator_.booster_.predict(
        Xf.to_numpy(float), num_iteration=fitted.n_iter_, raw_score=True
    )
    linear = fitted.linear_.decision_function(Xf.to_numpy(float))
    np.testing.assert_allclose(trees + linear, logit, atol=1e-6)


def test_linear_base_options(world):
    with pytest.raises(ValueError, match="linear_base=True needs learner='lightgbm'"):
        DenialRiskModel(learner="hist_gradient_boosting", linear_base=True).fit(
            world.claims
        )
    with pytest.raises(ValueError, match="linear_base"):
        DenialRiskModel(linear_base="yes").fit(world.claims)
    plain = DenialRiskModel(n_estimators=40, n_jobs=1, linear_base=False)
    plain.fit(world.claims)
    assert plain.linear_ is None
    Xf = plain.transform_features(world.claims.head(100))
    raw = plain.estimator_.predict_proba(
        Xf.to_numpy(float), num_iteration=plain.n_iter_
    )[:, 1]
    np.testing.assert_allclose(plain._raw_proba(Xf), raw)


def test_linear_base_terms_unseen_categories_and_missing_values():
    import pandas as pd

    from ptdenial.model._linear import MIN_CATEGORY_COUNT, LinearBase

    rng = np.random.default_rng(3)
    n = 3000
    X = pd.DataFrame(
        {
            "x": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
            "cat": rng.choice([0, 1, 2, 3], size=n, p=[0.5, 0.3, 0.195, 0.005]),
        }
    )
    logit = np.nan_to_num(X["x"].to_numpy()) + np.where(X["cat"] == 1, 1.0, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    base = LinearBase(categorical=["cat"]).fit(X, y)
    # category 3 is rare (< MIN_CATEGORY_COUNT lines): it shares the "other" slot
    assert (X["cat"] == 3).sum() < MIN_CATEGORY_COUNT
    assert 3.0 not in base.levels_[0]
    new = pd.DataFrame({"x": [np.nan, 0.5, 0.5], "cat": [3.0, 7.0, np.nan]})
    terms = base.contributions(new)
    np.testing.assert_allclose(
        terms.sum(axis=1) + base.bias_, base.decision_function(new), atol=1e-9
    )
    # an unseen code (7) is scored like a rare one (3)
    assert terms[0, 1] == terms[1, 1]
    # the learned effects have the generator's signs
    assert base.coef_num_[0] > 0
    assert base.coef_cat_[0][1] > base.coef_cat_[0][0]


def test_nothing_depends_on_the_generators_names_or_defaults():
    """Another practice: other payer, provider and clinic ids, another denial
    rate and noise. The model learns from whatever history it is given: the
    names change nothing but the order of category codes."""
    import dataclasses

    from ptdenial.datasets import SyntheticParams

    params = dataclasses.replace(
        SyntheticParams(), target_denial_rate=0.18, noise_claim_sd=0.5
    )
    world = make_claims(900, random_state=23, params=params)
    renamed = world.claims.copy()
    rng = np.random.default_rng(0)
    for col in (S.PAYER_ID, S.RENDERING_PROVIDER_ID, S.CLINIC_ID):
        values = renamed[col].dropna().unique()
        new = {v: f"X{rng.integers(10**9):09d}" for v in values}
        renamed[col] = renamed[col].map(new).astype(renamed[col].dtype)
    auc = {}
    for name, claims in (("original", world.claims), ("renamed", renamed)):
        report = train_and_evaluate(
            claims, truth=world.truth, n_estimators=150, n_jobs=1
        )
        m = report.metrics.set_index("scorer")
        for base in ("historical_rate", "rules_only"):
            assert m.loc["model", "roc_auc"] > m.loc[base, "roc_auc"] + 0.02, base
        assert m.loc["best_achievable", "roc_auc"] > m.loc["model", "roc_auc"]
        assert m.loc["model", "ece"] < 0.08  # 869 test lines
        auc[name] = m.loc["model", "roc_auc"]
    groups = set(report.by_payer["group"]) - {"(all)", "(small groups)"}
    assert groups and groups <= set(renamed[S.PAYER_ID])
    assert abs(auc["original"] - auc["renamed"]) < 0.015


def test_model_and_analytics_price_lines_the_same(fitted, world):
    from ptdenial.analytics import expected_payment

    claims = derive_outcomes(world.claims)
    model_pay = fitted.expected_payment(claims)
    analytics_pay = expected_payment(claims, history=claims).to_numpy()
    np.testing.assert_allclose(model_pay, analytics_pay)
    assert (model_pay > 0).all()


def test_pricing_without_paid_lines_falls_back_to_the_charge():
    import pandas as pd

    from ptdenial._payment import payment_table, price_lines

    h = pd.DataFrame(
        {
            S.PAYER_ID: ["A", "A"],
            S.PAYER_CLASS: ["commercial"] * 2,
            S.CPT_CODE: ["97112"] * 2,
            S.UNITS: [1, 2],
            S.CHARGE_AMOUNT: [50.0, 100.0],
            S.ALLOWED_AMOUNT: [0.0, 0.0],
        }
    )
    table = payment_table(h, np.array([False, False]))
    assert table["ratio"] == 1.0
    np.testing.assert_allclose(price_lines(table, h), [50.0, 100.0])


def test_linear_base_scores_do_not_depend_on_the_batch(fitted_base, world):
    """To the last bit: a line's log-odds and terms are the same whichever
    lines share its batch (BLAS products can sum a row in another order
    depending on the number of rows)."""
    Xf = fitted_base.transform_features(world.claims.head(301)).to_numpy(float)
    base = fitted_base.linear_
    groups = np.eye(Xf.shape[1])[:, :5]
    whole = base.decision_function(Xf)
    terms = base.contributions(Xf, groups)
    for step in (1, 7, 64):
        parts = [slice(i, i + step) for i in range(0, len(Xf), step)]
        np.testing.assert_array_equal(
            np.concatenate([base.decision_function(Xf[s]) for s in parts]), whole
        )
        np.testing.assert_array_equal(
            np.concatenate([base.contributions(Xf[s], groups) for s in parts]), terms
        )


def test_older_model_files_find_the_linear_base():
    """Files saved before the model package name ``ptdenial._linear.LinearBase``."""
    import ptdenial._linear
    import ptdenial.model._linear

    assert ptdenial._linear.LinearBase is ptdenial.model._linear.LinearBase


def test_card_records_the_history_count_window(fitted, world):
    """The card says what the longer history counts cover; the option bites."""
    assert fitted.card_["history_snapshot"]["count_window_days"] is None
    m = DenialRiskModel(n_estimators=5, n_jobs=1, history_count_window_days=365)
    m.fit(world.claims)
    assert m.features_.history_encoder.count_window_days == 365
    assert m.card_["history_snapshot"]["count_window_days"] == 365
    claims = derive_outcomes(world.claims)
    wide = fitted.transform_features(claims)["hist_clinic_n"]
    narrow = m.transform_features(claims)["hist_clinic_n"]
    assert (narrow <= wide).all() and narrow.max() < wide.max()
