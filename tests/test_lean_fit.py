"""Lean training (issue 19): less memory, the same model to the last bit.

The fit stores its feature matrix in narrow dtypes, hands LightGBM an Arrow
table of the training rows instead of a float64 copy and scores the history
in blocks of rows. Each is checked here against the plain float64 path.
"""

import numpy as np
import pytest

from ptdenial.datasets import make_claims
from ptdenial.features import make_feature_pipeline
from ptdenial.features._columns import _narrowest
from ptdenial.features._union import ClaimFeatureSet
from ptdenial.model import DenialRiskModel
from ptdenial.model import _estimator as E
from ptdenial.schema import derive_outcomes


def _bits(values: np.ndarray) -> np.ndarray:
    """float64 values as their bit patterns (NaN and -0.0 compared exactly)."""
    return np.asarray(values, dtype=np.float64).view(np.int64)


@pytest.fixture(scope="module")
def claims():
    return derive_outcomes(make_claims(300, random_state=19).claims)


@pytest.mark.parametrize(
    ("values", "dtype"),
    [
        ([0.0, 1.0, -3.0, 127.0], "int8"),
        ([0.0, 1.0, 128.0], "float32"),
        ([0.5, np.nan, 2.0], "float32"),
        ([0.0, -0.0, 1.0], "float32"),  # int8 would lose the sign of -0.0
        ([0.1, 1.0], "float64"),
        ([2.0**30 + 1.0], "float64"),
        ([], "float32"),
    ],
)
def test_narrowest_keeps_every_value(values, dtype):
    v = np.array(values, dtype=np.float64)
    out = _narrowest(v)
    assert out.dtype.name == dtype
    np.testing.assert_array_equal(_bits(out.astype(np.float64)), _bits(v))


def test_training_features_are_fit_transform_in_less_memory(claims):
    plain = make_feature_pipeline().fit_transform(claims)
    lean = make_feature_pipeline()._training_features(claims)
    assert list(lean.columns) == list(plain.columns)
    assert lean.index.equals(plain.index)
    np.testing.assert_array_equal(
        _bits(lean.to_numpy(dtype=np.float64)), _bits(plain.to_numpy(dtype=np.float64))
    )
    assert lean.memory_usage().sum() < plain.memory_usage().sum() / 2


def test_arrow_rows_give_lightgbm_the_same_model(claims):
    import lightgbm
    from lightgbm import LGBMClassifier

    if E._version_tuple(lightgbm.__version__) < (4, 7):
        pytest.skip("Arrow tables go through LightGBM's sklearn API from 4.7")
    Xf = make_feature_pipeline()._training_features(claims)
    y = claims["denied"].fillna(False).to_numpy(dtype=bool).astype(int)
    mask = np.random.default_rng(0).random(len(Xf)) < 0.8
    init = np.random.default_rng(1).normal(scale=0.3, size=int(mask.sum()))
    params = {
        "n_estimators": 25,
        "max_bin": 63,
        "subsample": 0.8,
        "subsample_freq": 1,
        "colsample_bytree": 0.8,
        "random_state": 0,
        "n_jobs": 1,
        "verbose": -1,
    }
    table = LGBMClassifier(**params).fit(
        E._rows_table(Xf, mask), y[mask], init_score=init
    )
    array = LGBMClassifier(**params).fit(
        E._rows_array(Xf, mask), y[mask], init_score=init
    )
    assert table.booster_.model_to_string() == array.booster_.model_to_string()


def test_lean_fit_predicts_as_the_float64_fit(claims, monkeypatch):
    """Narrow features, Arrow rows and block scoring change no prediction."""
    params = {"n_estimators": 30, "n_jobs": 1}
    lean = DenialRiskModel(**params).fit(claims)
    with monkeypatch.context() as m:
        # the float64 matrix, as the fit used before; and small scoring blocks
        m.setattr(
            ClaimFeatureSet,
            "_training_features",
            lambda self, X: self.fit_transform(X),
        )
        m.setattr(E, "_rows_table", E._rows_array)
        m.setattr(E, "_PREDICT_ROWS", 257)
        plain = DenialRiskModel(**params).fit(claims)
    np.testing.assert_array_equal(
        _bits(lean.predict_proba(claims)[:, 1]),
        _bits(plain.predict_proba(claims)[:, 1]),
    )
    assert lean.calibration_offset_ == plain.calibration_offset_
    assert lean.card_["reference_profile"] == plain.card_["reference_profile"]
