"""The denial-risk model: features, gradient-boosted trees, time-slice calibration.

:class:`DenialRiskModel` learns from every adjudicated line of a history
(97112 is the scored code; the other codes' lines can be training rows too,
see ``train_codes``), calibrates its probabilities on a later time slice, and
carries a model card. :func:`save_model` / :func:`load_model` use skops, never
pickle: a file holding types outside a fixed allow-list is refused, and so is
a file built for another schema version or major library versions.

Training recipe (decided by measurement, see ``bench/results/model.md``):

1. Derive labels (:func:`ptdenial.schema.derive_outcomes`); pending lines are
   dropped, never used as negatives.
2. Split by submission date: the last ``calibrate_months`` are the
   calibration slice; older lines whose outcome was known at the cut are the
   training rows. The as-of history snapshot is built from all adjudicated
   history, and every line only sees outcomes adjudicated before its own
   submission date.
3. Fit LightGBM (or scikit-learn's HistGradientBoosting) with early stopping on
   the newest part of the training window.
4. Fit the calibrator (isotonic or sigmoid) on the calibration slice's
   scored-code lines.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import platform
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

from ptdenial import features as F
from ptdenial import schema as S
from ptdenial._linear import LinearBase
from ptdenial._payment import payment_table, price_lines
from ptdenial._utils import passive_openmp
from ptdenial.evaluation import denial_metrics, known_at
from ptdenial.exceptions import ModelVersionError, PtdenialError
from ptdenial.features import CATEGORICAL_FEATURES, make_feature_pipeline

__all__ = [
    "DenialRiskModel",
    "HoldoutReport",
    "train_and_evaluate",
    "fit_baselines",
    "baseline_scores",
    "BASELINES",
    "save_model",
    "load_model",
    "prepare_history",
    "SCORED_CODE",
]

logger = logging.getLogger(__name__)

SCORED_CODE = "97112"
PROBABILITY_FLOOR = 0.001
#: Months of the newest history kept as the drift reference profile.
PROFILE_MONTHS = 6
_EPS = 1e-6


def prepare_history(claims: pd.DataFrame, *, reference=None) -> pd.DataFrame:
    """Labels for training: derive ``denied``/``pending`` when they are absent.

    Parameters
    ----------
    claims : pandas.DataFrame
        Validated claims with outcome columns.
    reference : ptdenial.reference.Reference, optional

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> from ptdenial.datasets import load_sample_claims
    >>> from ptdenial.model import prepare_history
    >>> h = prepare_history(load_sample_claims("history"))
    >>> {"denied", "pending"} <= set(h.columns)
    True
    """
    if S.PENDING in claims.columns and S.DENIED in claims.columns:
        return claims
    if S.ADJUDICATION_DATE not in claims.columns:
        raise PtdenialError(
            "Training needs outcome columns (adjudication_date, paid_amount, "
            "adjustment_codes or denied); the claims given have none. Pass the "
            "history, not the new claims."
        )
    return S.derive_outcomes(claims, reference=reference)


def _centered_isotonic_knots(raw: np.ndarray, fitted: np.ndarray) -> np.ndarray:
    """Knots of centered isotonic regression (Oron and Flournoy, 2017).

    Isotonic regression maps whole intervals of raw scores to one value: lines
    the trees ranked apart get the same probability, and the ranking (AUC)
    loses. Placing each constant block's level at the mean raw score of its
    lines and interpolating linearly between those points keeps the map
    monotone and calibrated, and strictly increasing inside the data's range.

    Returns
    -------
    numpy.ndarray of shape (2, k)
        Raw-score knots and their probabilities, for :func:`numpy.interp`.
    """
    order = np.argsort(raw, kind="stable")
    x, v = np.asarray(raw, float)[order], np.asarray(fitted, float)[order]
    start = np.flatnonzero(np.r_[True, np.diff(v) != 0])
    centres = np.add.reduceat(x, start) / np.diff(np.r_[start, len(x)])
    levels = v[start]
    kx = np.r_[x[0], centres, x[-1]]
    ky = np.r_[levels[0], levels, levels[-1]]
    keep = np.r_[True, np.diff(kx) > 0]
    return np.vstack([kx[keep], ky[keep]])


def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p):
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


class DenialRiskModel(ClassifierMixin, BaseEstimator):
    """Calibrated denial-risk model for claim lines.

    Parameters
    ----------
    learner : {"lightgbm", "hist_gradient_boosting"}, default="lightgbm"
        The gradient-boosted trees implementation.
    calibration : {"isotonic", "sigmoid", None}, default="isotonic"
        Calibrator fitted on the calibration time slice. ``"isotonic"`` is
        centered isotonic regression: the isotonic fit's levels placed at the
        mean score of their blocks and joined linearly, so lines the trees
        rank apart keep distinct probabilities (plain isotonic steps lose
        ranking; measured in ``bench/results/model.md``).
    calibrate_months : int, default=3
        Length of the calibration slice (newest months of the history).
    train_codes : {"all", "97112"}, default="all"
        Train on every adjudicated line (``cpt_code`` is a feature) or only on
        97112 lines. The calibrator always uses 97112 lines.
    n_estimators : int, default=400
        Maximum boosting rounds (early stopping picks fewer).
    learning_rate : float, default=0.05
    num_leaves : int, default=31
    min_child_samples : int, default=40
    class_weight : {None, "balanced"}, default=None
        Class weighting of the learner; calibration restores probabilities.
    categorical : {"native", "ordinal"}, default="ordinal"
        Treat the ``cat__*`` features as native categoricals (LightGBM) or as
        ordinal integer codes.
    early_stopping_months : int, default=2
        Newest months of the training window used to stop boosting.
    refit : {"none", "train", "all"}, default="all"
        After early stopping picks the number of trees: keep that model
        (``"none"``), refit on the whole training window (``"train"``), or
        refit on the training window and the calibration slice (``"all"``);
        the calibrator is fitted before, on the calibration slice's scores
        from a model that did not see it.
    learner_params : dict, optional
        Extra keyword arguments for the learner (e.g. LightGBM's
        ``reg_lambda``), applied last.
    linear_base : {"auto", True, False}, default="auto"
        Boost the trees from the log-odds of a logistic regression on
        one-hot categoricals and standardized numbers (fitted on the same
        rows first), so the trees learn what is not additive. On a 50k-line
        history the trees alone trail that regression by about 0.013 AUC
        (``bench/results/model.md``). ``"auto"``: with LightGBM (HistGradient
        Boosting cannot start from given log-odds).
    smoothing, window_days, min_category_count :
        Feature settings, see :mod:`ptdenial.features`.
    reference : ptdenial.reference.Reference, optional
        Billing reference tables; the shipped ones by default.
    random_state : int, default=0
    n_jobs : int, default=2

    Attributes
    ----------
    features_ : sklearn.pipeline.FeatureUnion
    estimator_ : fitted LightGBM or HistGradientBoosting classifier
    calibrator_ : fitted calibrator or None
    feature_names_ : list of str
    card_ : dict
        The model card (see :func:`save_model`).

    Examples
    --------
    >>> from ptdenial.datasets import load_sample_claims
    >>> from ptdenial.model import DenialRiskModel
    >>> model = DenialRiskModel(n_estimators=50).fit(load_sample_claims("history"))
    >>> p = model.predict_proba(load_sample_claims("new_claims"))[:, 1]
    >>> bool(((p >= 0) & (p <= 1)).all())
    True
    """

    def __init__(
        self,
        *,
        learner="lightgbm",
        calibration="isotonic",
        calibrate_months=3,
        train_codes="all",
        n_estimators=400,
        learning_rate=0.05,
        num_leaves=31,
        min_child_samples=40,
        class_weight=None,
        categorical="ordinal",
        early_stopping_months=2,
        refit="all",
        learner_params=None,
        linear_base="auto",
        smoothing=20.0,
        window_days=90,
        min_category_count=20,
        reference=None,
        random_state=0,
        n_jobs=2,
    ):
        self.learner = learner
        self.calibration = calibration
        self.calibrate_months = calibrate_months
        self.train_codes = train_codes
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.class_weight = class_weight
        self.categorical = categorical
        self.early_stopping_months = early_stopping_months
        self.refit = refit
        self.learner_params = learner_params
        self.linear_base = linear_base
        self.smoothing = smoothing
        self.window_days = window_days
        self.min_category_count = min_category_count
        self.reference = reference
        self.random_state = random_state
        self.n_jobs = n_jobs

    # -- parameter checks ----------------------------------------------------------
    def _check_params(self):
        choices = {
            "learner": ("lightgbm", "hist_gradient_boosting"),
            "calibration": ("isotonic", "sigmoid", None),
            "train_codes": ("all", SCORED_CODE),
            "class_weight": (None, "balanced"),
            "categorical": ("native", "ordinal"),
            "refit": ("none", "train", "all"),
            "linear_base": ("auto", True, False),
        }
        for name, allowed in choices.items():
            value = getattr(self, name)
            if value not in allowed:
                raise ValueError(
                    f"The {name!r} parameter of DenialRiskModel must be one of "
                    f"{list(allowed)}. Got {value!r} instead."
                )
        for name in (
            "calibrate_months",
            "n_estimators",
            "num_leaves",
            "min_child_samples",
        ):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(
                    f"The {name!r} parameter of DenialRiskModel must be an int in the "
                    f"range [1, inf). Got {value!r} instead."
                )
        if self.linear_base is True and self.learner != "lightgbm":
            raise ValueError(
                "linear_base=True needs learner='lightgbm' (HistGradientBoosting "
                "cannot boost from given log-odds); use linear_base='auto' or False."
            )

    def _uses_linear_base(self) -> bool:
        return self.learner == "lightgbm" and self.linear_base in ("auto", True)

    def _fit_linear(self, Xf, y, mask):
        """Fit the additive base on ``mask`` rows; its log-odds for every row."""
        if not self._uses_linear_base():
            self.linear_ = None
            return None
        self.linear_ = LinearBase(
            categorical=[c for c in CATEGORICAL_FEATURES if c in Xf.columns],
            random_state=self.random_state,
        ).fit(Xf.loc[mask], y[mask])
        return self.linear_.decision_function(Xf)

    # -- fitting --------------------------------------------------------------------
    def fit(self, X, y=None):
        """Train on a claims history.

        Parameters
        ----------
        X : pandas.DataFrame
            Validated historical claims (all codes) with outcome columns.
        y : ignored
            Labels come from the outcome columns.

        Returns
        -------
        self
        """
        self._check_params()
        claims = prepare_history(X, reference=self.reference)
        adjudicated = ~claims[S.PENDING].to_numpy(dtype=bool)
        when = _submission_dates(claims)
        last = when[adjudicated].max()
        calib_start = (last.to_period("M") - (self.calibrate_months - 1)).to_timestamp()
        w = when.to_numpy()
        train_mask = (
            adjudicated
            & (w < np.datetime64(calib_start))
            & known_at(claims, calib_start)
        )
        calib_mask = adjudicated & (w >= np.datetime64(calib_start))
        if self.calibration is None:
            train_mask = adjudicated
        code = (claims[S.CPT_CODE] == SCORED_CODE).to_numpy(dtype=bool, na_value=False)
        if self.train_codes == SCORED_CODE:
            train_mask = train_mask & code
        y_all = claims[S.DENIED].fillna(False).to_numpy(dtype=bool).astype(int)
        if train_mask.sum() < 100 or len(np.unique(y_all[train_mask])) < 2:
            raise PtdenialError(
                f"Too little history to train: {int(train_mask.sum())} adjudicated "
                "training lines (need at least 100 with both outcomes). Give a "
                "longer history or lower calibrate_months."
            )

        self.features_ = make_feature_pipeline(
            reference=self.reference,
            smoothing=self.smoothing,
            window_days=self.window_days,
            min_category_count=self.min_category_count,
        )
        self.features_.fit(claims)
        Xf = self.features_.transform(claims)
        self.feature_names_ = list(Xf.columns)
        self.n_features_in_ = len(X.columns)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)

        # early-stopping slice: newest months of the training window
        es_start = (
            calib_start.to_period("M") - self.early_stopping_months
        ).to_timestamp()
        es_mask = train_mask & (w >= np.datetime64(es_start))
        fit_mask = train_mask & ~es_mask
        if fit_mask.sum() < 100 or len(np.unique(y_all[es_mask])) < 2:
            fit_mask, es_mask = train_mask, None
        self.estimator_ = self._make_learner()
        base = self._fit_linear(Xf, y_all, fit_mask)
        self._fit_learner(Xf, y_all, fit_mask, es_mask, base)
        if es_mask is not None and self.refit == "train":
            # the early-stopping months are the most recent training data: refit
            # on the whole training window with the number of trees they chose
            # (with refit="all" the final refit below covers them; the
            # calibrator then learns from the early-stopped model, whose data
            # ends before the calibration slice just as well: one boosting run
            # less, see bench/results/model.md)
            self._refit(Xf, y_all, train_mask)

        raw = self._raw_proba(Xf)
        self.calibrator_ = None
        calib_rows = calib_mask & code
        if self.calibration is not None:
            if calib_rows.sum() < 50 or len(np.unique(y_all[calib_rows])) < 2:
                raise PtdenialError(
                    "Too few 97112 lines in the calibration slice "
                    f"({calib_start.date()} on): {int(calib_rows.sum())}. Give a "
                    "longer history or set "
                    "calibration=None."
                )
            self.calibrator_ = self._make_calibrator()
            self._fit_calibrator(raw[calib_rows], y_all[calib_rows])
        p = self._calibrate(raw)
        if self.refit == "all" and self.calibrator_ is not None:
            # the calibration months too, keeping the calibrator learned above
            self._refit(Xf, y_all, train_mask | (calib_mask & _known(claims)))

        self.payment_table_ = _payment_table(claims)
        # Drift reference: the newest PROFILE_MONTHS of adjudicated 97112 lines
        # (the calibration slice and the training months before it). A single
        # 3-month slice was measured to be too small and too seasonal: on an
        # unchanged world it flagged features for retraining.
        from ptdenial.monitoring import reference_profile

        profile_start = (
            calib_start.to_period("M") - max(PROFILE_MONTHS - self.calibrate_months, 0)
        ).to_timestamp()
        profile_rows = code & adjudicated & (w >= np.datetime64(profile_start))
        if not profile_rows.any():
            profile_rows = train_mask & code
        # the scores of the final model (after any refit), as scoring sees them
        profile = reference_profile(
            Xf.loc[profile_rows],
            self._calibrate(self._raw_proba(Xf.loc[profile_rows])),
            segments=claims.loc[profile_rows, S.PAYER_CLASS].astype(str),
        )
        self.classes_ = np.array([0, 1])
        self.card_ = _make_card(
            self,
            claims,
            when,
            train_mask=train_mask,
            calib_mask=calib_rows,
            y=y_all,
            p=p,
            code=code,
            calib_start=calib_start,
        )
        self.card_["reference_profile"] = profile
        self.card_["top_features"] = self._top_features(10)
        return self

    def _top_features(self, k):
        if self.learner == "lightgbm":
            gain = self.estimator_.booster_.feature_importance(importance_type="gain")
            order = np.argsort(-gain)[:k]
            return [self.feature_names_[i] for i in order if gain[i] > 0]
        return []

    def _make_learner(self):
        weight = self.class_weight
        passive_openmp()
        if self.learner == "lightgbm":
            from lightgbm import LGBMClassifier

            return LGBMClassifier(
                n_estimators=self.n_estimators,
                learning_rate=self.learning_rate,
                num_leaves=self.num_leaves,
                min_child_samples=self.min_child_samples,
                subsample=0.8,
                subsample_freq=1,
                colsample_bytree=0.8,
                reg_lambda=1.0,
                # 63 histogram bins instead of 255: same quality, faster
                # (bench/results/model-cir.md)
                max_bin=63,
                cat_smooth=20.0,
                min_data_per_group=50,
                class_weight=weight,
                random_state=self.random_state,
                n_jobs=self.n_jobs,
                verbose=-1,
            ).set_params(**(self.learner_params or {}))
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(
            max_iter=self.n_estimators,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.num_leaves,
            min_samples_leaf=self.min_child_samples,
            l2_regularization=1.0,
            class_weight=weight,
            early_stopping=False,
            random_state=self.random_state,
        ).set_params(**(self.learner_params or {}))

    def _categorical_indices(self):
        return [
            self.feature_names_.index(c)
            for c in CATEGORICAL_FEATURES
            if c in self.feature_names_
        ]

    def _fit_learner(self, Xf, y, fit_mask, es_mask, base=None):
        X_fit = Xf.to_numpy(dtype=np.float64)[fit_mask]
        if self.learner == "lightgbm":
            from lightgbm import early_stopping

            kwargs = {}
            if base is not None:
                kwargs["init_score"] = base[fit_mask]
            if self.categorical == "native":
                kwargs["categorical_feature"] = self._categorical_indices()
            if es_mask is not None:
                import inspect

                X_es = Xf.to_numpy(dtype=np.float64)[es_mask]
                if "eval_X" in inspect.signature(self.estimator_.fit).parameters:
                    kwargs["eval_X"], kwargs["eval_y"] = (X_es,), (y[es_mask],)
                else:  # lightgbm < 4.6
                    kwargs["eval_set"] = [(X_es, y[es_mask])]
                if base is not None:
                    kwargs["eval_init_score"] = [base[es_mask]]
                kwargs["callbacks"] = [early_stopping(30, verbose=False)]
            self.estimator_.fit(X_fit, y[fit_mask], **kwargs)
            self.n_iter_ = int(self.estimator_.best_iteration_ or self.n_estimators)
        else:
            if self.categorical == "native":
                self.estimator_.set_params(
                    categorical_features=self._categorical_indices()
                )
            if es_mask is not None:
                self.estimator_.set_params(
                    early_stopping=True, validation_fraction=None, n_iter_no_change=30
                )
                self.estimator_.fit(
                    X_fit,
                    y[fit_mask],
                    X_val=Xf.to_numpy(dtype=np.float64)[es_mask],
                    y_val=y[es_mask],
                )
            else:
                self.estimator_.fit(X_fit, y[fit_mask])
            self.n_iter_ = int(self.estimator_.n_iter_)

    def _refit(self, Xf, y, mask):
        n_iter = self.n_iter_
        self.estimator_ = self._make_learner()
        if self.learner == "lightgbm":
            self.estimator_.set_params(n_estimators=n_iter)
        else:
            self.estimator_.set_params(max_iter=n_iter)
        base = self._fit_linear(Xf, y, mask)
        self._fit_learner(Xf, y, mask, None, base)
        self.n_iter_ = n_iter

    def _make_calibrator(self):
        if self.calibration == "isotonic":
            return IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
        return LogisticRegression(C=1e6)

    def _fit_calibrator(self, raw, y):
        if self.calibration == "isotonic":
            self.calibrator_.fit(raw, y)
            self.calibration_knots_ = _centered_isotonic_knots(
                raw, self.calibrator_.predict(raw)
            )
        else:
            self.calibrator_.fit(_logit(raw).reshape(-1, 1), y)

    def _calibrate(self, raw):
        if self.calibrator_ is None:
            return raw
        knots = getattr(self, "calibration_knots_", None)
        if self.calibration == "isotonic" and knots is not None:
            p = np.interp(raw, knots[0], knots[1])
        elif self.calibration == "isotonic":
            p = self.calibrator_.predict(raw)
        else:
            p = self.calibrator_.predict_proba(_logit(raw).reshape(-1, 1))[:, 1]
        # A claim line is never certain to be paid or denied: keep probabilities
        # off 0 and 1 (an isotonic step fitted on few lines can reach them).
        return np.clip(p, PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)

    def _raw_margin(self, arr) -> np.ndarray:
        """Uncalibrated log-odds (LightGBM): the trees' plus the additive base's."""
        raw = self.estimator_.booster_.predict(
            arr, num_iteration=self.n_iter_, raw_score=True
        )
        linear = getattr(self, "linear_", None)
        return raw if linear is None else raw + linear.decision_function(arr)

    def _raw_proba(self, Xf):
        arr = Xf.to_numpy(dtype=np.float64) if isinstance(Xf, pd.DataFrame) else Xf
        if self.learner == "lightgbm" and getattr(self, "linear_", None) is not None:
            return _expit(self._raw_margin(arr))
        if self.learner == "lightgbm":
            return self.estimator_.predict_proba(arr, num_iteration=self.n_iter_)[:, 1]
        return self.estimator_.predict_proba(arr)[:, 1]

    # -- prediction -----------------------------------------------------------------
    def transform_features(self, X, *, as_of=None) -> pd.DataFrame:
        """Model inputs for claims (what the trees see), one row per line.

        Parameters
        ----------
        X : pandas.DataFrame
            Validated claims.
        as_of : date-like, optional
            Scoring date: history features only use outcomes adjudicated
            before it.

        Returns
        -------
        pandas.DataFrame
        """
        check_is_fitted(self, "estimator_")
        old = self.features_.as_of
        try:
            self.features_.as_of = as_of
            return self.features_.transform(X)[self.feature_names_]
        finally:
            self.features_.as_of = old

    def predict_proba_features(self, Xf) -> np.ndarray:
        """Calibrated denial probability from prepared features.

        Parameters
        ----------
        Xf : pandas.DataFrame or numpy.ndarray
            Output of :meth:`transform_features`.

        Returns
        -------
        numpy.ndarray of shape (n,)
        """
        check_is_fitted(self, "estimator_")
        return self._calibrate(self._raw_proba(Xf))

    def predict_proba(self, X, *, as_of=None):
        """Calibrated probabilities ``[P(paid), P(denied)]`` per line.

        Parameters
        ----------
        X : pandas.DataFrame
            Validated claims (any codes; the model was calibrated on 97112).
        as_of : date-like, optional
            Scoring date for the history features.

        Returns
        -------
        numpy.ndarray of shape (n, 2)
        """
        p = self.predict_proba_features(self.transform_features(X, as_of=as_of))
        return np.column_stack([1 - p, p])

    def predict(self, X, *, threshold=0.5, as_of=None):
        """Denied (1) or not (0) at a probability threshold.

        Parameters
        ----------
        X : pandas.DataFrame
        threshold : float
        as_of : date-like, optional

        Returns
        -------
        numpy.ndarray of int
        """
        return (self.predict_proba(X, as_of=as_of)[:, 1] >= threshold).astype(int)

    def contributions(self, Xf) -> pd.DataFrame:
        """Exact per-feature contributions (TreeSHAP, log-odds) of the raw model.

        Uses the booster's own contribution output (LightGBM ``pred_contrib``),
        plus, with the additive base (``linear_base``), its exact terms (each
        feature's term minus its training mean). The last column, ``bias``,
        is the expected value; a row sums to the raw log-odds. Exact
        contributions are expensive (about 2-3k rows/s); the scoring job
        computes them only for lines that need them.

        Parameters
        ----------
        Xf : pandas.DataFrame
            Output of :meth:`transform_features`.

        Returns
        -------
        pandas.DataFrame
        """
        check_is_fitted(self, "estimator_")
        if self.learner != "lightgbm":
            raise PtdenialError(
                "contributions need learner='lightgbm' (its booster computes exact "
                "TreeSHAP values); this model uses " + repr(self.learner)
            )
        arr = Xf.to_numpy(dtype=np.float64)
        contrib = self.estimator_.booster_.predict(
            arr, num_iteration=self.n_iter_, pred_contrib=True
        )
        linear = getattr(self, "linear_", None)
        if linear is not None:  # exact for the additive part too
            contrib[:, :-1] += linear.contributions(arr)
            contrib[:, -1] += linear.bias_
        return pd.DataFrame(
            contrib, index=Xf.index, columns=[*self.feature_names_, "bias"]
        )

    def with_history(self, history) -> DenialRiskModel:
        """Refresh the as-of history snapshot with newer adjudicated lines.

        The trees and calibrator are unchanged; only the denial-rate features
        see the newer outcomes (still strictly as of each line's date).

        Parameters
        ----------
        history : pandas.DataFrame
            Validated claims with outcomes.

        Returns
        -------
        DenialRiskModel
            A copy.
        """
        import copy

        check_is_fitted(self, "estimator_")
        new = copy.deepcopy(self)
        enc = new.features_.history_encoder
        enc.fit(prepare_history(history, reference=self.reference))
        new.card_ = dict(new.card_, history_refreshed_rows=int(enc.n_history_))
        return new

    def expected_payment(self, X) -> np.ndarray:
        """Expected payment of each line if it is paid, in USD.

        Learned at ``fit`` from paid lines of the history: the median allowed
        amount per unit for the same payer and code, else the same payer class
        and code, else the code (at least 5 paid lines per cell), times the
        units; else the history's allowed-to-charge ratio (sum over sum of
        paid lines) times the charge, or the charge when no line was paid.
        The same table prices lines in :func:`ptdenial.analytics.expected_payment`
        (:mod:`ptdenial._payment`).

        Parameters
        ----------
        X : pandas.DataFrame
            Validated claims.

        Returns
        -------
        numpy.ndarray of float
        """
        check_is_fitted(self, "payment_table_")
        return price_lines(self.payment_table_, X)

    @property
    def model_id(self) -> str:
        """Content hash of the fitted model (set by :func:`save_model` / fit)."""
        check_is_fitted(self, "card_")
        return self.card_["model_id"]


def _payment_table(claims: pd.DataFrame) -> dict:
    """The pricing table of :mod:`ptdenial._payment`, from the history's paid lines."""
    paid = ~claims[S.PENDING].to_numpy(dtype=bool) & ~claims[S.DENIED].fillna(
        False
    ).to_numpy(dtype=bool)
    return payment_table(claims, paid)


def _known(claims):
    return (~claims[S.PENDING]).to_numpy(dtype=bool)


def _submission_dates(claims):
    if S.SUBMISSION_DATE in claims:
        return claims[S.SUBMISSION_DATE].fillna(claims[S.DATE_OF_SERVICE])
    return claims[S.DATE_OF_SERVICE]


def _versions() -> dict:
    import lightgbm
    import sklearn
    import skops

    import ptdenial

    return {
        "ptdenial": ptdenial.__version__,
        "scikit-learn": sklearn.__version__,
        "lightgbm": lightgbm.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "skops": skops.__version__,
        "python": platform.python_version(),
    }


def _make_card(model, claims, when, *, train_mask, calib_mask, y, p, code, calib_start):
    w = when
    card = {
        "schema_version": S.SCHEMA_VERSION,
        "feature_set_version": F.FEATURE_SET_VERSION,
        "learner": model.learner,
        "calibration": model.calibration,
        "params": {k: v for k, v in model.get_params().items() if k != "reference"},
        "training_window": [
            str(w[train_mask].min().date()),
            str(w[train_mask].max().date()),
        ],
        "calibration_window": [
            str(calib_start.date()),
            str(w[calib_mask].max().date()) if calib_mask.any() else None,
        ],
        "rows": {
            "history": int(len(claims)),
            "adjudicated": int((~claims[S.PENDING]).sum()),
            "pending": int(claims[S.PENDING].sum()),
            "train": int(train_mask.sum()),
            "train_97112": int((train_mask & code).sum()),
            "calibration_97112": int(calib_mask.sum()),
        },
        "n_iter": int(model.n_iter_),
        # the trees boost from a logistic regression's log-odds (or not)
        "linear_base": getattr(model, "linear_", None) is not None,
        "feature_names": list(model.feature_names_),
        "categorical_features": [
            c for c in CATEGORICAL_FEATURES if c in model.feature_names_
        ],
        "versions": _versions(),
    }
    if calib_mask.any():
        m = denial_metrics(y[calib_mask], p[calib_mask])
        card["calibration_slice_metrics"] = {k: _jsonable(v) for k, v in m.items()}
    card["model_id"] = "pending"
    return card


def _jsonable(v):
    if isinstance(v, float | np.floating):
        return None if np.isnan(v) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


# --- model files -----------------------------------------------------------------
_TRUSTED_PREFIXES = (
    "ptdenial.",
    "sklearn.",
    "lightgbm.",
    "numpy.",
    "builtins.",
    "collections.",
)


def _trusted(types):
    return [t for t in types if t.startswith(_TRUSTED_PREFIXES)]


def save_model(model: DenialRiskModel, path, *, card_path=None) -> Path:
    """Write a fitted model with skops, plus its model card as JSON beside it.

    The model id is a content hash of the model bytes. The card
    (``<path>.card.json`` unless ``card_path`` is given) records the model id,
    training window, row counts, validation-window metrics, feature names,
    library versions and schema version. Writes are atomic; the path given is
    the path written.

    Parameters
    ----------
    model : DenialRiskModel
    path : str or Path
        Usually ``*.skops``.
    card_path : str or Path, optional

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from ptdenial.datasets import load_sample_claims
    >>> from ptdenial.model import DenialRiskModel, save_model, load_model
    >>> model = DenialRiskModel(n_estimators=30).fit(load_sample_claims("history"))
    >>> path = save_model(model, pathlib.Path(tempfile.mkdtemp()) / "m.skops")
    >>> load_model(path).model_id == model.model_id
    True
    """
    import skops.io as sio

    from ptdenial.io import write_json

    check_is_fitted(model, "card_")
    path = Path(path)
    card = dict(model.card_)
    card["model_id"] = "pending"
    model.card_ = card
    payload = sio.dumps(model)
    model_id = hashlib.sha256(payload).hexdigest()[:16]
    card["model_id"] = model_id
    model.card_ = card
    payload = sio.dumps(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(payload)
    tmp.replace(path)
    file_card = dict(card, file_sha256=hashlib.sha256(payload).hexdigest())
    write_json(file_card, card_path or _card_path(path))
    return path


def _card_path(path: Path) -> Path:
    return path.with_name(path.name + ".card.json")


def load_model(path) -> DenialRiskModel:
    """Load a model file written by :func:`save_model`, safely.

    Refuses (``ModelVersionError``) a file that holds types outside the
    allow-list (ptdenial, scikit-learn, LightGBM, NumPy, builtins), a file that
    is not a skops archive (e.g. a pickle, or a tampered file), and a model
    built for another schema version or another major version of
    scikit-learn or LightGBM (the message names both versions). When the card
    ``<path>.card.json`` is beside the file, the file's SHA-256 must match the
    one recorded there, so a file changed after saving is refused.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    DenialRiskModel
    """
    import zipfile

    import skops.io as sio

    path = Path(path)
    if not path.exists():
        raise ModelVersionError(f"{path}: model file not found.")
    card_file = _card_path(path)
    if card_file.exists():
        recorded = json.loads(card_file.read_text()).get("file_sha256")
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
        if recorded and recorded != actual:
            raise ModelVersionError(
                f"{path}: refused to load; the file's SHA-256 {actual[:16]}... does "
                f"not match {recorded[:16]}... recorded in {card_file.name}. The model "
                "file was changed after it was saved; retrain or restore it."
            )
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except (zipfile.BadZipFile, KeyError, ValueError, json.JSONDecodeError) as exc:
        raise ModelVersionError(
            f"{path}: not a ptdenial model file (skops archive expected; pickle "
            f"files are never loaded): {exc}"
        ) from exc
    refused = sorted(set(untrusted) - set(_trusted(untrusted)))
    if refused:
        raise ModelVersionError(
            f"{path}: refused to load; the file holds types outside the allow-list: "
            f"{refused}. Only models written by ptdenial.save_model are loaded."
        )
    try:
        model = sio.load(path, trusted=untrusted)
    except Exception as exc:  # skops raises many types on tampered content
        raise ModelVersionError(f"{path}: model file is damaged: {exc}") from exc
    if not isinstance(model, DenialRiskModel):
        raise ModelVersionError(
            f"{path}: holds a {type(model).__name__}, not a DenialRiskModel."
        )
    card = getattr(model, "card_", {})
    if card.get("schema_version") != S.SCHEMA_VERSION:
        raise ModelVersionError(
            f"{path}: model built for schema version {card.get('schema_version')}; "
            f"this ptdenial reads schema version {S.SCHEMA_VERSION}. Retrain with "
            "`ptdenial train`."
        )
    if card.get("feature_set_version") != F.FEATURE_SET_VERSION:
        raise ModelVersionError(
            f"{path}: model built with feature set version "
            f"{card.get('feature_set_version', 'unknown (older ptdenial)')}; this "
            f"ptdenial computes feature set version {F.FEATURE_SET_VERSION}. The "
            "features changed since the model was trained: retrain with "
            "`ptdenial train`."
        )
    now = _versions()
    for lib in ("scikit-learn", "lightgbm"):
        built = str(card.get("versions", {}).get(lib, "?"))
        if built.split(".")[0] != now[lib].split(".")[0]:
            raise ModelVersionError(
                f"{path}: model built with {lib} {built}; installed {lib} is "
                f"{now[lib]} (major versions differ). Retrain with `ptdenial train`."
            )
    payload_check = dict(card)
    if payload_check.get("model_id") in (None, "pending"):
        raise ModelVersionError(f"{path}: model card has no model id; re-save it.")
    return model


# --- baselines and hold-out evaluation -----------------------------------------
BASELINES = ("historical_rate", "rules_only", "logistic_onehot")


def fit_baselines(Xf: pd.DataFrame, y: np.ndarray, *, random_state=0) -> dict:
    """Fit the baselines shown beside the model, on the same training rows.

    * ``historical_rate``: the as-of denial rate of payer x code (no fitting);
    * ``rules_only``: logistic regression on the rule flags alone;
    * ``logistic_onehot``: logistic regression on one-hot categoricals and
      standardized numeric features (missing values imputed, with indicators).

    Parameters
    ----------
    Xf : pandas.DataFrame
        Model features of the training rows.
    y : numpy.ndarray
        Denied (1) or not (0).
    random_state : int

    Returns
    -------
    dict
        Name -> fitted object with ``predict_proba(Xf)``-style scoring through
        :func:`baseline_scores`.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    Xf = Xf.astype(np.float64)
    rule_cols = [c for c in Xf.columns if c.startswith("rule__")]
    cat_cols = [c for c in CATEGORICAL_FEATURES if c in Xf.columns]
    num_cols = [c for c in Xf.columns if c not in cat_cols]
    fitted = {}
    if rule_cols:
        rules = make_pipeline(
            SimpleImputer(strategy="constant", fill_value=0.0),
            LogisticRegression(C=1.0, max_iter=500),
        )
        rules.fit(Xf[rule_cols], y)
        fitted["rules_only"] = (rule_cols, rules)
    onehot = make_pipeline(
        ColumnTransformer(
            [
                (
                    "cat",
                    make_pipeline(
                        SimpleImputer(strategy="constant", fill_value=-1.0),
                        OneHotEncoder(handle_unknown="ignore", min_frequency=20),
                    ),
                    cat_cols,
                ),
                (
                    "num",
                    make_pipeline(
                        SimpleImputer(
                            strategy="median",
                            add_indicator=True,
                            keep_empty_features=True,
                        ),
                        StandardScaler(),
                    ),
                    num_cols,
                ),
            ]
        ),
        LogisticRegression(C=0.5, max_iter=300),
    )
    onehot.fit(Xf, y)
    fitted["logistic_onehot"] = (list(Xf.columns), onehot)
    fitted["historical_rate"] = (["hist_payer_code_rate"], None)
    return fitted


def baseline_scores(fitted: dict, Xf: pd.DataFrame) -> dict:
    """Scores of fitted baselines on feature rows.

    Parameters
    ----------
    fitted : dict
        Output of :func:`fit_baselines`.
    Xf : pandas.DataFrame

    Returns
    -------
    dict of str -> numpy.ndarray
    """
    out = {}
    Xf = Xf.astype(np.float64)
    for name, (cols, est) in fitted.items():
        if est is None:
            rate = Xf[cols[0]].to_numpy(dtype=float)
            out[name] = np.where(np.isnan(rate), np.nanmean(rate), rate)
        else:
            out[name] = est.predict_proba(Xf[cols])[:, 1]
    return out


@dataclasses.dataclass
class HoldoutReport:
    """Result of :func:`train_and_evaluate`.

    Attributes
    ----------
    metrics : pandas.DataFrame
        One row per scorer (model, baselines, and the true probability when
        given), with ROC AUC, PR AUC, Brier, ECE, log loss, lift and capture.
    by_payer : pandas.DataFrame
        The model's metrics per payer on the test window.
    predictions : pandas.DataFrame
        Test-window 97112 lines: keys, outcome and every scorer's score.
    model : DenialRiskModel
        The model trained before the test window.
    test_window : tuple of str
    """

    metrics: pd.DataFrame
    by_payer: pd.DataFrame
    predictions: pd.DataFrame
    model: DenialRiskModel
    test_window: tuple


def train_and_evaluate(
    history, *, test_months=3, truth=None, **params
) -> HoldoutReport:
    """Train on the past, evaluate on the newest months, beside the baselines.

    The newest ``test_months`` (by submission date) are held out. The model
    (and the baselines, on the same training rows) learn from the lines
    submitted before the test window whose outcome was known at its start; the
    history snapshot the features use is refreshed with every outcome known
    before each test line's submission, exactly as the nightly job would see
    it. Metrics are on the test window's adjudicated 97112 lines.

    Parameters
    ----------
    history : pandas.DataFrame
        Validated claims with outcomes.
    test_months : int
    truth : pandas.DataFrame, optional
        Generator truth (claim_id, line_number, true_denial_probability and,
        when present, best_achievable_probability): adds rows
        ``true_probability`` (the generator's probability, random noise
        included: an oracle) and ``best_achievable`` (the noise integrated
        out: the best any model can do from the claim table).
    **params
        :class:`DenialRiskModel` parameters.

    Returns
    -------
    HoldoutReport
    """
    from ptdenial.evaluation import metrics_by_group, time_split

    claims = prepare_history(history, reference=params.get("reference"))
    split = time_split(claims, test_months=test_months, calibrate_months=0)
    past = claims.loc[_submission_dates(claims) <= split["train_end"]]
    past = past.assign(
        **{
            S.PENDING: past[S.PENDING]
            | ~known_at(past, split["calibrate_end"] + pd.Timedelta(days=1))
        }
    )
    # outcomes adjudicated after the cut are unknown at training time
    unknown = past[S.PENDING].to_numpy()
    past = past.assign(**{S.DENIED: past[S.DENIED].mask(unknown)})
    model = DenialRiskModel(**params).fit(past)
    test_mask = split["test"] & (claims[S.CPT_CODE] == SCORED_CODE).to_numpy(
        dtype=bool, na_value=False
    )
    test = claims.loc[test_mask]
    evaluator = model.with_history(claims)
    # features need whole visits (visit context, visit-level rules): compute them
    # on every line, then keep the test window's 97112 lines
    Xf_test = evaluator.transform_features(claims).loc[test.index]
    p = evaluator.predict_proba_features(Xf_test)
    y = test[S.DENIED].astype(bool).to_numpy().astype(int)

    Xf_past = model.transform_features(past)
    train_rows = (~past[S.PENDING]).to_numpy()
    y_past = past[S.DENIED].fillna(False).to_numpy(dtype=bool).astype(int)
    fitted = fit_baselines(
        Xf_past[train_rows],
        y_past[train_rows],
        random_state=params.get("random_state", 0),
    )
    scores = {"model": p, **baseline_scores(fitted, Xf_test)}
    preds = test[[S.CLAIM_ID, S.LINE_NUMBER, S.PAYER_ID, S.DATE_OF_SERVICE]].copy()
    preds["denied"] = y
    dollars = test[S.CHARGE_AMOUNT].to_numpy(dtype=float)
    if truth is not None:
        truth_cols = {
            "true_probability": "true_denial_probability",
            "best_achievable": "best_achievable_probability",
        }
        truth_cols = {k: v for k, v in truth_cols.items() if v in truth.columns}
        t = test[[S.CLAIM_ID, S.LINE_NUMBER]].merge(
            truth[[S.CLAIM_ID, S.LINE_NUMBER, *truth_cols.values()]],
            on=[S.CLAIM_ID, S.LINE_NUMBER],
            how="left",
        )
        for name, col in truth_cols.items():
            scores[name] = t[col].to_numpy(float)
    rows = []
    for name, score in scores.items():
        preds[f"score_{name}"] = score
        rows.append({"scorer": name, **denial_metrics(y, score, dollars=dollars)})
    metrics = pd.DataFrame(rows)
    by_payer = metrics_by_group(
        y, p, test[S.PAYER_ID].astype(str).to_numpy(), dollars=dollars
    )
    test_start = split["calibrate_end"] + pd.Timedelta(days=1)
    window = (str(test_start.date()), str(split["test_end"].date()))
    model.card_ = dict(
        model.card_,
        validation_window=list(window),
        validation_metrics={
            r["scorer"]: {k: _jsonable(v) for k, v in r.items() if k != "scorer"}
            for r in rows
        },
    )
    return HoldoutReport(metrics, by_payer, preds, model, window)
