import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from ptdenial import schema as S
from ptdenial.datasets import make_claims
from ptdenial.features import AsOfHistoryEncoder, ClaimFeatures, make_feature_pipeline
from ptdenial.model import DenialRiskModel
from ptdenial.schema import derive_outcomes


@pytest.fixture(scope="module")
def claims():
    world = make_claims(300, random_state=7)
    return derive_outcomes(world.claims)


def test_history_features_have_no_leakage(claims):
    """Changing outcomes adjudicated after a line's submission leaves it unchanged."""
    enc = AsOfHistoryEncoder().fit(claims)
    before = enc.transform(claims)
    sub = claims[S.SUBMISSION_DATE].fillna(claims[S.DATE_OF_SERVICE])
    cut = sub.quantile(0.6)
    later = (claims[S.ADJUDICATION_DATE] >= cut).fillna(False) & claims[
        S.DENIED
    ].notna()
    flipped = claims.copy()
    flipped.loc[later, S.DENIED] = ~claims.loc[later, S.DENIED].astype(bool)
    after = AsOfHistoryEncoder().fit(flipped).transform(flipped)
    unaffected = (sub < cut).to_numpy()
    assert unaffected.sum() > 100 and later.sum() > 100
    pd.testing.assert_frame_equal(before[unaffected], after[unaffected])
    # ... and the lines submitted after the cut do see the change
    assert not before[~unaffected].equals(after[~unaffected])


def test_own_outcome_never_counts(claims):
    enc = AsOfHistoryEncoder(smoothing=0.0).fit(claims)
    one = claims.iloc[[0]]
    flipped = claims.copy()
    flipped.loc[one.index, S.DENIED] = not bool(one[S.DENIED].fillna(False).iloc[0])
    a = enc.transform(one)
    b = AsOfHistoryEncoder(smoothing=0.0).fit(flipped).transform(one)
    pd.testing.assert_frame_equal(a, b)


def test_as_of_caps_reference_date(claims):
    enc = AsOfHistoryEncoder(as_of="2024-03-01").fit(claims)
    feats = enc.transform(claims)
    # only outcomes adjudicated before 2024-03-01 can be counted
    known = (claims[S.ADJUDICATION_DATE] < "2024-03-01").sum()
    assert feats["hist_payer_code_n"].max() <= known


def test_pending_lines_are_not_history(claims):
    enc = AsOfHistoryEncoder().fit(claims)
    assert enc.n_history_ == int((~claims[S.PENDING]).sum())


def test_claim_features_contract(claims):
    est = ClaimFeatures()
    with pytest.raises(NotFittedError, match="not fitted"):
        est.transform(claims)
    snapshot = claims.copy()
    out = est.fit(claims).transform(claims)
    pd.testing.assert_frame_equal(claims, snapshot)  # input not mutated
    assert out.index.equals(claims.index)
    assert list(out.columns) == list(est.get_feature_names_out())
    assert out.columns.is_unique
    assert clone(est).get_params() == est.get_params()
    # refit resets the vocabulary: 50 lines keep few categories, and the
    # refitted estimator holds exactly what a fresh fit on them holds
    full = {k: list(v) for k, v in est.categories_.items()}
    est.fit(claims.head(50))
    assert est.categories_ != full
    assert est.categories_ == ClaimFeatures().fit(claims.head(50)).categories_


def test_unseen_categories_get_other_code(claims):
    est = ClaimFeatures(min_category_count=1).fit(claims)
    new = claims.head(3).copy()
    new[S.PAYER_ID] = pd.array(["NEVER-SEEN"] * 3, dtype="string")
    out = est.transform(new)
    assert (out["cat__payer_id"] == len(est.categories_["cat__payer_id"])).all()


def test_parameter_validation(claims):
    with pytest.raises(ValueError, match="min_category_count"):
        ClaimFeatures(min_category_count=0).fit(claims)
    with pytest.raises(ValueError, match="window_days"):
        AsOfHistoryEncoder(window_days=0).fit(claims)
    with pytest.raises(ValueError, match="count_window_days"):
        AsOfHistoryEncoder(count_window_days=0).fit(claims)


def test_pipeline_output_is_numeric_and_unique(claims):
    X = make_feature_pipeline().fit_transform(claims)
    assert len(X) == len(claims)
    assert X.columns.is_unique
    assert all(np.issubdtype(t, np.number) for t in X.dtypes)
    assert any(c.startswith("rule__") for c in X.columns)


# --- feature specs -------------------------------------------------------------
@pytest.fixture(scope="module")
def sample_features(sample_history):
    history = derive_outcomes(sample_history)
    return make_feature_pipeline().fit_transform(history)


def test_every_output_feature_has_a_spec_in_todays_group(sample_features):
    from ptdenial.explain import feature_groups
    from ptdenial.features import feature_spec

    names = list(sample_features.columns)
    specs = [feature_spec(name) for name in names]
    assert [s.name for s in specs] == names
    groups = [s.group for s in specs]
    assert groups == feature_groups(names).tolist()
    assert "other" not in groups


def test_every_declared_spec_matches_todays_group():
    from ptdenial.explain import REASON_GROUPS, feature_groups
    from ptdenial.features import FEATURE_SPECS
    from ptdenial.rules import RULES

    names = list(FEATURE_SPECS)
    assert {f"rule__{r.rule_id.lower()}" for r in RULES} <= set(names)
    assert [FEATURE_SPECS[n].group for n in names] == feature_groups(names).tolist()
    known = {g for g, _ in REASON_GROUPS}
    assert {s.group for s in FEATURE_SPECS.values()} <= known


def test_specs_agree_with_the_profile_defaults():
    # the model profiles by the specs; reference_profile's own defaults (for
    # callers without specs, in a lower layer) must say the same
    import fnmatch

    from ptdenial.evaluation import DEFAULT_EXCLUDE
    from ptdenial.features import FEATURE_SPECS
    from ptdenial.features._specs import _profile_columns

    names = list(FEATURE_SPECS)
    by_pattern = [
        n for n in names if any(fnmatch.fnmatchcase(n, p) for p in DEFAULT_EXCLUDE)
    ]
    by_prefix = [n for n in names if n.startswith("cat__")]
    columns = _profile_columns(names)
    assert columns["exclude"] == by_pattern
    assert columns["categorical"] == by_prefix
    assert "day_of_week" in by_pattern and "units" not in by_pattern
    assert "gap__visits_over_benefit_limit" in by_pattern


def test_spec_kinds_match_the_values(sample_features):
    from ptdenial.features import feature_spec

    for name in sample_features.columns:
        spec = feature_spec(name)
        values = sample_features[name].dropna().to_numpy()
        if spec.kind == "flag":
            assert set(np.unique(values)) <= {0, 1}, name
            assert spec.unit == "0/1", name
        elif spec.kind == "categorical":
            assert (values >= 0).all() and (values == np.round(values)).all(), name
            assert spec.unit == "code", name
        else:
            assert spec.unit not in ("0/1", "code"), name
        assert spec.display and spec.display[0].isupper(), name


def test_spec_lookup_errors_and_custom_history_keys(claims):
    from ptdenial.features import FeatureSpec, feature_spec

    with pytest.raises(KeyError, match="No feature spec for 'not_a_feature'"):
        feature_spec("not_a_feature")
    with pytest.raises(ValueError, match="unit 'furlongs'"):
        FeatureSpec("x", "numeric", "furlongs", "other", "X")
    enc = AsOfHistoryEncoder(keys={"payer": (S.PAYER_ID,)}).fit(claims)
    specs = [feature_spec(n) for n in enc.get_feature_names_out()]
    assert [s.source for s in specs] == ["history"] * 6  # 4 per key, global rate, age
    assert feature_spec("hist_payer_rate_recent").unit == "rate"
    assert feature_spec("hist_payer_n").group == "baseline"


def _steady_world(years=4, per_day=40, seed=0):
    """Lines every day for ``years``: fixed payers, clinics, rate; new patients."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2021-01-01", periods=365 * years, freq="D")
    sub = np.repeat(days.to_numpy(), per_day)
    n = len(sub)
    return pd.DataFrame(
        {
            S.PAYER_ID: rng.choice(["A", "B", "C"], n),
            S.CPT_CODE: "97112",
            S.RENDERING_PROVIDER_ID: rng.choice(["R1", "R2", "R3", "R4"], n),
            S.CLINIC_ID: rng.choice(["K1", "K2"], n),
            # an episode of care: one line a day for 120 days
            S.PATIENT_ID: [f"P{i // per_day // 120}-{i % per_day}" for i in range(n)],
            S.DATE_OF_SERVICE: pd.to_datetime(sub) - pd.Timedelta(days=2),
            S.SUBMISSION_DATE: pd.to_datetime(sub),
            S.ADJUDICATION_DATE: pd.to_datetime(sub) + pd.Timedelta(days=20),
            S.DENIED: pd.array(rng.random(n) < 0.15, dtype="boolean"),
        }
    )


def _calendar_growth(enc, world) -> dict:
    """Per history feature: median over the last quarter / over the second."""
    X = enc.fit_transform(world)
    quarter = np.arange(len(world)) * 4 // len(world)
    out = {}
    for col in X.columns:
        lo = X[col][quarter == 1].median()
        hi = X[col][quarter == 3].median()
        out[col] = hi / lo if lo > 0 else (np.inf if hi > 0 else 1.0)
    return out


def test_windowed_counts_are_no_calendar_clock():
    """With ``count_window_days`` no history feature grows with the date.

    On a steady world, the all-time counts (the default, see
    bench/results/model.md for why it still is) grow about 2.5x from the
    second to the last year; every other feature, the patient's counts
    included, stays put.
    """
    world = _steady_world()
    enc = AsOfHistoryEncoder(count_window_days=365, max_lag_days=60)
    growth = _calendar_growth(enc, world)
    clocks = {c: round(g, 2) for c, g in growth.items() if g > 1.25}
    assert not clocks, f"history features that grow with the calendar: {clocks}"
    # the check can fail: all-time counts of population keys are clocks
    growth = _calendar_growth(clone(enc).set_params(count_window_days=None), world)
    clocks = {c for c, g in growth.items() if g > 2.0}
    population = ("payer_code", "payer_provider_code", "provider", "clinic")
    assert clocks == {f"hist_{k}_n" for k in population}
    assert DenialRiskModel().history_count_window_days is None  # opt-in for now
