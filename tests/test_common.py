"""The estimator contract, the same for every public estimator (STYLE.md §8.4, §8.8).

The claim transformers take a claims frame with text columns, lists and
missing values, so scikit-learn's numpy-based ``check_estimator`` cannot run on
them; this in-house contract runs instead, on a slice of the committed sample
with rows shuffled and a non-default index:

* default-constructible, ``__init__`` stores its arguments unchanged, ``repr``
  of a default estimator shows no parameter;
* ``clone`` and ``set_params`` keep the parameters, and a clone is unfitted;
* ``NotFittedError`` from every public method before ``fit``;
* ``fit`` returns ``self``, sets ``n_features_in_`` / ``feature_names_in_``
  and leaves its input unchanged; so does the output method;
* the output keeps the input's index (frames) and row count;
* ``get_feature_names_out`` equals the output columns (transformers);
* ``set_output(transform="pandas")`` and ``"default"`` both work;
* a refit forgets the first fit: fit on other data, then on ``X``, equals a
  fresh fit on ``X``, with the same fitted attributes;
* pickle and skops round trips give identical output, and a skops file holds
  only ptdenial types besides the ones ``load_model`` trusts;
* ``y``: ignored where documented so (the transformers and
  :class:`DenialRiskModel`, whose labels are the outcome columns), used by
  :class:`LinearBase`.
"""

from __future__ import annotations

import inspect
import pickle
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from ptdenial import schema as S
from ptdenial.features import (
    CATEGORICAL_FEATURES,
    AsOfHistoryEncoder,
    ClaimFeatures,
    ClaimFeatureSet,
)
from ptdenial.model import DenialRiskModel, load_model, save_model
from ptdenial.model._linear import LinearBase
from ptdenial.rules import PayerRuleFlagger
from ptdenial.schema import derive_outcomes

N_PATIENTS = 80  # about 2,400 lines; whole patients, so every visit is whole


# --- data --------------------------------------------------------------------------
def _patients(history: pd.DataFrame, which: slice) -> pd.DataFrame:
    ids = history[S.PATIENT_ID].drop_duplicates().sort_values().to_numpy()[which]
    return history[history[S.PATIENT_ID].isin(ids)]


def _scramble(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Rows shuffled, index a non-monotonic set of integers far from 0..n-1."""
    order = np.random.default_rng(seed).permutation(len(frame))
    out = frame.iloc[order].copy()
    out.index = pd.Index(10_000 + 7 * order, name="line")
    return out


@pytest.fixture(scope="module")
def claims(sample_history):
    """Validated claims: what DenialRiskModel.fit takes."""
    return _scramble(_patients(sample_history, slice(0, N_PATIENTS)), seed=0)


@pytest.fixture(scope="module")
def other_claims(sample_history):
    """Other patients, and fewer optional columns: the first fit of a refit."""
    other = _patients(sample_history, slice(N_PATIENTS, 2 * N_PATIENTS))
    drop = [c for c in S.OPTIONAL_COLUMNS if c in other.columns][::2]
    return _scramble(other.drop(columns=drop), seed=1)


@pytest.fixture(scope="module")
def data(claims, other_claims):
    """Input and other input of each kind of estimator, built once."""
    labelled = derive_outcomes(claims)
    other_labelled = derive_outcomes(other_claims)
    features = ClaimFeatureSet().fit(labelled)
    done = ~labelled[S.PENDING].to_numpy(dtype=bool)
    Xf = features.transform(labelled)[done]
    y = labelled.loc[done, S.DENIED].astype(bool).to_numpy().astype(int)
    other_done = ~other_labelled[S.PENDING].to_numpy(dtype=bool)
    other_Xf = ClaimFeatureSet().fit_transform(other_labelled)[other_done]
    other_Xf = other_Xf.drop(columns=other_Xf.columns[1::3])  # other columns too
    other_y = other_labelled.loc[other_done, S.DENIED].astype(bool).to_numpy()
    return {
        "claims": (claims, None, other_claims, None),
        "labelled": (labelled, None, other_labelled, None),
        "features": (Xf, y, other_Xf, other_y.astype(int)),
    }


# --- the estimators ----------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """How the contract drives one estimator."""

    cls: type
    params: dict  # fast but faithful settings for the fits here
    data: str  # key of the `data` fixture
    output: str  # the method whose result is checked
    transformer: bool
    y: str  # "ignored" or "used"

    def make(self):
        return self.cls(**self.params)

    def out(self, est, X):
        return getattr(est, self.output)(X)


CASES = [
    Case(AsOfHistoryEncoder, {}, "labelled", "transform", True, "ignored"),
    Case(ClaimFeatures, {}, "labelled", "transform", True, "ignored"),
    Case(ClaimFeatureSet, {}, "labelled", "transform", True, "ignored"),
    Case(PayerRuleFlagger, {}, "labelled", "transform", True, "ignored"),
    Case(
        DenialRiskModel,
        # with the additive base: the contract covers its fitted part too
        {"n_estimators": 20, "n_jobs": 1, "linear_base": True},
        "claims",
        "predict_proba",
        False,
        "ignored",
    ),
    Case(
        LinearBase,
        {"categorical": list(CATEGORICAL_FEATURES)},
        "features",
        "decision_function",
        False,
        "used",
    ),
]
TRANSFORMERS = [c for c in CASES if c.transformer]
# every method of each estimator that needs a fitted estimator
FITTED_METHODS = {
    "AsOfHistoryEncoder": ["transform", "get_feature_names_out"],
    "ClaimFeatures": ["transform", "get_feature_names_out"],
    "ClaimFeatureSet": ["transform", "get_feature_names_out"],
    "PayerRuleFlagger": ["transform", "get_feature_names_out"],
    "DenialRiskModel": [
        "predict_proba",
        "predict",
        "transform_features",
        "predict_proba_features",
        "contributions",
        "expected_payment",
        "with_history",
    ],
    "LinearBase": ["decision_function", "contributions"],
}

cases = pytest.mark.parametrize("case", CASES, ids=lambda c: c.cls.__name__)
transformers = pytest.mark.parametrize(
    "case", TRANSFORMERS, ids=lambda c: c.cls.__name__
)


@pytest.fixture(scope="module")
def fitted(data):
    """Each estimator fitted once on its input, with its output."""
    out = {}
    for case in CASES:
        X, y, _, _ = data[case.data]
        est = case.make().fit(X, y) if case.y == "used" else case.make().fit(X)
        out[case.cls.__name__] = (est, case.out(est, X))
    return out


def _fit(case, est, X, y):
    return est.fit(X, y) if case.y == "used" else est.fit(X)


def _assert_same_output(a, b):
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b)
    else:
        np.testing.assert_array_equal(a, b)


def _fitted_attributes(est) -> set[str]:
    return {k for k in vars(est) if k.endswith("_") and not k.startswith("__")}


# --- construction and parameters ---------------------------------------------------
@cases
def test_default_constructible_and_init_only_stores(case):
    est = case.cls()
    signature = inspect.signature(case.cls.__init__)
    defaults = {
        name: p.default for name, p in signature.parameters.items() if name != "self"
    }
    assert all(
        p.kind is p.KEYWORD_ONLY
        for name, p in signature.parameters.items()
        if name != "self"
    ), "parameters must be keyword-only"
    params = est.get_params(deep=False)
    assert set(params) == set(defaults)
    for name, default in defaults.items():
        assert params[name] is default, f"__init__ changed {name!r}"
    assert repr(est) == f"{case.cls.__name__}()"
    assert not _fitted_attributes(est)


@cases
def test_clone_and_set_params_keep_params(case, fitted):
    est = case.make()
    assert clone(est).get_params() == est.get_params()
    again = case.cls().set_params(**est.get_params(deep=False))
    assert again.get_params() == est.get_params()
    fitted_est, _ = fitted[case.cls.__name__]
    copy = clone(fitted_est)
    assert copy.get_params() == fitted_est.get_params()
    assert not _fitted_attributes(copy), "a clone must be unfitted"


@cases
def test_not_fitted_error_before_fit(case, data):
    X = data[case.data][0]
    est = case.make()
    for method in FITTED_METHODS[case.cls.__name__]:
        args = () if method == "get_feature_names_out" else (X,)
        with pytest.raises(NotFittedError):
            getattr(est, method)(*args)


# --- fit and output ----------------------------------------------------------------
@cases
def test_fit_returns_self_and_nothing_is_mutated(case, data):
    X, y, _, _ = data[case.data]
    snapshot = X.copy(deep=True)
    est = case.make()
    assert _fit(case, est, X, y) is est
    pd.testing.assert_frame_equal(X, snapshot)
    case.out(est, X)
    pd.testing.assert_frame_equal(X, snapshot)
    assert est.n_features_in_ == X.shape[1]
    assert list(est.feature_names_in_) == [str(c) for c in X.columns]


@cases
def test_output_keeps_index_and_rows(case, data, fitted):
    X = data[case.data][0]
    est, out = fitted[case.cls.__name__]
    assert len(out) == len(X)
    if isinstance(out, pd.DataFrame):
        assert out.index.equals(X.index)
    if case.cls is DenialRiskModel:
        assert out.shape == (len(X), 2)
        assert est.transform_features(X).index.equals(X.index)


@transformers
def test_feature_names_out_equal_output_columns(case, fitted):
    est, out = fitted[case.cls.__name__]
    names = est.get_feature_names_out()
    assert isinstance(names, np.ndarray)
    assert all(isinstance(n, str) for n in names)
    assert list(out.columns) == list(names)
    assert out.columns.is_unique


def test_model_feature_names_equal_its_feature_columns(data, fitted):
    est, _ = fitted["DenialRiskModel"]
    Xf = est.transform_features(data["claims"][0])
    assert list(Xf.columns) == est.feature_names_
    assert est.linear_.feature_names_ == est.feature_names_


@transformers
@pytest.mark.parametrize("how", ["pandas", "default"])
def test_set_output(case, how, data, fitted):
    X = data[case.data][0]
    est = case.make()
    assert est.set_output(transform=how) is est
    out = est.fit(X).transform(X)
    assert isinstance(out, pd.DataFrame)
    pd.testing.assert_frame_equal(out, fitted[case.cls.__name__][1])
    trained = case.make().fit_transform(X)
    lag = {"lag": "none"} if hasattr(est, "lag") else {"history_lag": "none"}
    if getattr(est, next(iter(lag)), None) == "deployment":
        # documented exception (AsOfHistoryEncoder, and ClaimFeatureSet that
        # holds one): training lines draw the staleness a nightly snapshot
        # has, so fit_transform differs from fit().transform() in values,
        # never in shape, columns or index; without the lag the two agree
        assert trained.columns.equals(out.columns) and trained.index.equals(out.index)
        est = case.make().set_params(**lag).set_output(transform=how)
        trained, out = est.fit_transform(X), est.fit(X).transform(X)
    pd.testing.assert_frame_equal(trained, out)


@cases
def test_refit_forgets_the_first_fit(case, data, fitted):
    X, y, other_X, other_y = data[case.data]
    est = case.make()
    _fit(case, est, other_X, other_y)
    _fit(case, est, X, y)
    fresh, out = fitted[case.cls.__name__]
    _assert_same_output(case.out(est, X), out)
    assert _fitted_attributes(est) == _fitted_attributes(fresh)
    if case.cls is DenialRiskModel:
        assert est.card_ == fresh.card_


# --- persistence -------------------------------------------------------------------
@cases
def test_pickle_round_trip_gives_identical_output(case, data, fitted):
    X = data[case.data][0]
    est, out = fitted[case.cls.__name__]
    _assert_same_output(case.out(pickle.loads(pickle.dumps(est)), X), out)


@cases
def test_skops_round_trip_gives_identical_output(case, data, fitted, tmp_path):
    X = data[case.data][0]
    est, out = fitted[case.cls.__name__]
    if case.cls is DenialRiskModel:  # the product path, with its allow-list
        loaded = load_model(save_model(est, tmp_path / "m.skops"))
        _assert_same_output(case.out(loaded, X), out)
        return
    payload = sio.dumps(est)
    types = sio.get_untrusted_types(data=payload)
    assert all(t.startswith("ptdenial.") for t in types), types
    _assert_same_output(case.out(sio.loads(payload, trusted=types), X), out)


# --- y -----------------------------------------------------------------------------
@cases
def test_y_is_used_or_ignored_as_documented(case, data, fitted):
    X, y, _, _ = data[case.data]
    _, out = fitted[case.cls.__name__]
    if case.y == "ignored":
        # a pipeline may pass y: the result is the same as without it
        noise = np.random.default_rng(0).integers(0, 2, len(X))
        _assert_same_output(case.out(case.make().fit(X, noise), X), out)
        assert "y : ignored" in inspect.getdoc(case.cls.fit)
        return
    # the labels drive the fit: swapped labels give (near) opposite log-odds
    flipped = case.out(case.make().fit(X, 1 - y), X)
    np.testing.assert_allclose(flipped, -out, atol=0.02)
    assert np.std(out) > 0.1
