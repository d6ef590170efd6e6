"""The estimator: :class:`DenialRiskModel`, a short driver over named fit steps.

``fit`` runs, in order: labels and time slices (:mod:`._history`), the
feature pipeline, the additive base and the trees with early stopping
(:mod:`._linear`), the calibrator (:mod:`._calibration`), the pricing table,
the drift reference profile and the card (:mod:`._card`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from ptdenial import schema as S
from ptdenial._payment import price_lines
from ptdenial._utils import passive_openmp
from ptdenial.evaluation import reference_profile
from ptdenial.exceptions import PtdenialError
from ptdenial.features import CATEGORICAL_FEATURES, make_feature_pipeline
from ptdenial.features._specs import _profile_columns
from ptdenial.model._calibration import (
    _apply_calibration,
    _expit,
    _fit_calibrator,
    _level_offset,
    _make_calibrator,
)
from ptdenial.model._card import _make_card, history_snapshot_card
from ptdenial.model._history import (
    SCORED_CODE,
    _early_stopping_split,
    _payment_table,
    _profile_rows,
    _slice_history,
    prepare_history,
)
from ptdenial.model._linear import LinearBase, sample_rows
from ptdenial.model._memory import release_free_memory

#: Months of the newest history kept as the drift reference profile.
PROFILE_MONTHS = 6


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
    linear_base : {"auto", True, False}, default=False
        Boost the trees from the log-odds of a logistic regression on
        one-hot categoricals and standardized numbers (fitted on the same
        rows first), so the trees learn what is not additive. ``"auto"``:
        with LightGBM (HistGradientBoosting cannot start from given
        log-odds). Off by default: trained once and scored for months
        without retraining, the trees alone ranked better on 8 of 9 worlds
        (0.006-0.02 AUC, the ninth a tie; ECE lower on 5, higher on 3); the
        base helped on 3-month hold-outs of small histories
        (``bench/results/model.md``, deployment notes).
    smoothing, window_days, min_category_count :
        Feature settings, see :mod:`ptdenial.features`.
    history_lag : {"deployment", "anchored", "none"}, default="deployment"
        How training sees the nightly job's information lag: the history
        snapshot a model scores with grows older until it is refreshed
        (``ptdenial refresh``). ``"deployment"``: each training line's
        history features use the outcomes known a drawn staleness (0 to
        ``max_history_lag_days``) before its submission, so the trees learn
        from thinned recent windows as a stale snapshot gives them;
        ``"anchored"``: recent windows end at the snapshot's last outcome
        date; ``"none"``: neither. Measured in ``bench/results/model.md``
        (deployment table).
    max_history_lag_days : int, default=180
        Longest snapshot age trained for with ``history_lag="deployment"``.
    history_count_window_days : int or None, default=None
        ``None``: ``hist_<key>_n`` and ``hist_<key>_rate`` cover all time (a
        count that grows with the calendar). An int (365 measured): the
        lines adjudicated in the last that many days, a bounded count; see
        ``count_window_days`` of :class:`~ptdenial.features.AsOfHistoryEncoder`
        and ``bench/results/model.md`` (deployment notes) for why it is not
        the default yet.
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
    >>> history = load_sample_claims("history")
    >>> model = DenialRiskModel(n_estimators=30).fit(history)  # doctest: +SKIP
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
        linear_base=False,
        smoothing=20.0,
        window_days=90,
        min_category_count=20,
        history_lag="deployment",
        max_history_lag_days=180,
        history_count_window_days=None,
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
        self.history_lag = history_lag
        self.max_history_lag_days = max_history_lag_days
        self.history_count_window_days = history_count_window_days
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
            "history_lag": ("deployment", "anchored", "none"),
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
        )
        # its rows picked here: Xf.loc[mask] would copy the whole training window
        rows = sample_rows(np.flatnonzero(mask), self.random_state)
        self.linear_.fit(Xf.iloc[rows], y[rows])
        return self.linear_.decision_function(Xf)

    # -- fitting --------------------------------------------------------------------
    def fit(self, X, y=None):
        """Train on a claims history.

        The steps, in order: labels and time slices, the feature pipeline
        (fitted on every line), the trees with early stopping (and the refit
        on the training window with ``refit="train"``), the calibrator on the
        calibration slice (then the refit on everything with ``refit="all"``),
        the pricing table, the drift reference profile and the model card.

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
        return self._fit(X)

    def _fit(self, X, history=None):
        """:meth:`fit`; ``history`` = (fitted history encoder, training features).

        ``history`` comes from :func:`ptdenial.spark.train_spark`: the
        snapshot of the whole history and the history features of the lines
        of ``X`` (a sample of it, same row order), both computed on Spark.
        The model then stores that snapshot and learns from those features;
        everything else is fitted on ``X``.
        """
        self._check_params()
        claims = prepare_history(X, reference=self.reference)
        slices = _slice_history(
            claims,
            calibrate_months=self.calibrate_months,
            calibration=self.calibration,
            train_codes=self.train_codes,
        )
        Xf = self._fit_features(X, claims)
        if history is not None:
            Xf = self._use_history(Xf, *history)
        # each step's peak on its own, not on the freed memory of the last one
        release_free_memory()
        self._fit_trees(Xf, slices)
        p = self._fit_calibration(Xf, slices, claims)
        self.payment_table_ = _payment_table(claims)
        profile = self._reference_profile(Xf, claims, slices)
        self.classes_ = np.array([0, 1])
        top = self._top_features(10)
        self.card_ = _make_card(
            self, claims, slices, p, profile=profile, top_features=top
        )
        return self

    def _fit_features(self, X, claims) -> pd.DataFrame:
        """Fit the feature pipeline on every line; the model inputs of each line."""
        self.features_ = make_feature_pipeline(
            reference=self.reference,
            smoothing=self.smoothing,
            window_days=self.window_days,
            min_category_count=self.min_category_count,
            history_lag=self.history_lag,
            max_history_lag_days=self.max_history_lag_days,
            random_state=self.random_state,
            history_count_window_days=getattr(self, "history_count_window_days", None),
        )
        # training features: each line with the information lag it may be
        # scored with (history_lag); int8/float32 where that holds every value
        # exactly (every float64 view of them is the same to the last bit)
        Xf = self.features_._training_features(claims)
        self.feature_names_ = list(Xf.columns)
        self.n_features_in_ = len(X.columns)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return Xf

    def _use_history(self, Xf, encoder, features) -> pd.DataFrame:
        """Swap in a history snapshot fitted elsewhere and its training features."""
        if len(features) != len(Xf):
            raise ValueError(
                f"{len(features)} lines of history features for {len(Xf)} claims"
            )
        self.features_.transformers_ = [
            (name, encoder if name == "history" else part)
            for name, part in self.features_.transformers_
        ]
        cols = [str(c) for c in encoder.get_feature_names_out()]
        Xf[cols] = features[cols].to_numpy(dtype=float)
        return Xf

    def _fit_trees(self, Xf, slices) -> None:
        """Additive base and trees, early-stopped on the newest training months."""
        fit_mask, es_mask = _early_stopping_split(slices, self.early_stopping_months)
        self.estimator_ = self._make_learner()
        base = self._fit_linear(Xf, slices.y, fit_mask)
        release_free_memory()
        self._fit_learner(Xf, slices.y, fit_mask, es_mask, base)
        release_free_memory()
        if es_mask is not None and self.refit == "train":
            # the early-stopping months are the most recent training data: refit
            # on the whole training window with the number of trees they chose
            # (with refit="all" the final refit in _fit_calibration covers them;
            # the calibrator then learns from the early-stopped model, whose
            # data ends before the calibration slice just as well: one boosting
            # run less, see bench/results/model.md)
            self._refit(Xf, slices.y, slices.train)

    def _scoring_view(self, Xf, claims, rows) -> pd.DataFrame:
        """``rows`` of ``Xf`` with history features as scoring computes them.

        Training features carry a drawn staleness (``history_lag``); a night
        scored with a fresh snapshot has none. Only the history part differs.
        """
        enc = self.features_.history_encoder
        part = claims.loc[rows]
        hist = enc.transform(part)
        out = Xf.loc[rows].astype(np.float64)
        cols = [c for c in hist.columns if c in out.columns]
        out[cols] = hist[cols].to_numpy()
        return out

    def _fit_calibration(self, Xf, slices, claims=None) -> np.ndarray:
        """Fit the calibrator on the calibration slice; then refit (``refit="all"``).

        The calibrator learns its shape from the scores, on the slice, of a
        model that had not seen it. After the refit on everything, its level
        is re-anchored (one log-odds offset) so that the refitted model's
        calibrated mean on the slice equals the slice's denial rate: the
        refitted trees know the slice, and applying the out-of-time
        correction to them counted the slice's shift twice (measured:
        lines 12% under-predicted right after training on a world whose
        calibration months differed from the training window;
        ``bench/results/model.md``, deployment table). With
        ``history_lag="deployment"`` the slice is scored as a night with a
        fresh snapshot scores it (no drawn staleness), the way the nightly
        job is meant to run.

        Returns the calibrated probabilities, from the model that had not
        seen the calibration slice, of the slice's lines (NaN elsewhere):
        the card's slice metrics. Only those lines are scored: scoring the
        whole history was a tenth of a 1M-line fit's time, for values no
        step read (a line's score does not depend on the other lines).
        """
        rows = slices.calib_rows
        raw = self._raw_proba(Xf.loc[rows])
        self.calibrator_ = None
        self.calibration_offset_ = 0.0
        if self.calibration is not None:
            self.calibrator_ = _make_calibrator(self.calibration)
            knots = _fit_calibrator(
                self.calibrator_, self.calibration, raw, slices.y[rows]
            )
            if knots is not None:
                self.calibration_knots_ = knots
        p = np.full(len(Xf), np.nan)
        p[rows] = self._calibrate(raw)
        if self.refit == "all" and self.calibrator_ is not None:
            # the calibration months too (their lines are all adjudicated),
            # keeping the calibrator's shape and re-anchoring its level
            self._refit(Xf, slices.y, slices.train | slices.calib)
            rows = slices.calib_rows
            view = Xf.loc[rows]
            if self.history_lag == "deployment" and claims is not None:
                view = self._scoring_view(Xf, claims, rows)
            refitted = self._calibrate(self._raw_proba(view))
            self.calibration_offset_ = _level_offset(
                refitted, float(slices.y[rows].mean())
            )
        return p

    def _reference_profile(self, Xf, claims, slices) -> dict:
        """Drift reference: the newest PROFILE_MONTHS of adjudicated 97112 lines.

        The calibration slice and the training months before it. A single
        3-month slice was measured to be too small and too seasonal: on an
        unchanged world it flagged features for retraining. The scores are
        those of the final model (after any refit), as scoring sees them.
        """
        rows = _profile_rows(slices, self.calibrate_months, PROFILE_MONTHS)
        return reference_profile(
            Xf.loc[rows],
            self._calibrate(self._raw_proba(Xf.loc[rows])),
            segments=claims.loc[rows, S.PAYER_CLASS].astype(str),
            **_profile_columns(Xf.columns),
            # single nights of these months: what one night of claims shows
            # without any drift (the scoring report judges a night by it)
            nights=slices.when.to_numpy()[rows],
        )

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
        rows = _rows_table if self.learner == "lightgbm" else _rows_array
        X_fit = rows(Xf, fit_mask)
        if self.learner == "lightgbm":
            from lightgbm import early_stopping

            kwargs = {}
            if base is not None:
                kwargs["init_score"] = base[fit_mask]
            if self.categorical == "native":
                kwargs["categorical_feature"] = self._categorical_indices()
            if es_mask is not None:
                import inspect

                X_es = rows(Xf, es_mask)
                if "eval_X" in inspect.signature(self.estimator_.fit).parameters:
                    kwargs["eval_X"], kwargs["eval_y"] = (X_es,), (y[es_mask],)
                else:  # lightgbm < 4.6
                    kwargs["eval_set"] = [(X_es, y[es_mask])]
                if base is not None:
                    kwargs["eval_init_score"] = [base[es_mask]]
                kwargs["callbacks"] = [early_stopping(30, verbose=False)]
            self.estimator_.fit(X_fit, y[fit_mask], **kwargs)
            # given an Arrow table, LightGBM records that its data had column
            # names; they are its own default names, as for an array: predict
            # then takes arrays without a feature-names warning
            if getattr(self.estimator_, "_fitted_with_feature_names", False):
                self.estimator_._fitted_with_feature_names = False
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
                    X_val=_rows_array(Xf, es_mask),
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
        release_free_memory()
        self._fit_learner(Xf, y, mask, None, base)
        release_free_memory()
        self.n_iter_ = n_iter

    def _calibrate(self, raw):
        return _apply_calibration(
            self.calibrator_,
            self.calibration,
            getattr(self, "calibration_knots_", None),
            raw,
            getattr(self, "calibration_offset_", 0.0),
        )

    def _raw_margin(self, arr) -> np.ndarray:
        """Uncalibrated log-odds (LightGBM): the trees' plus the additive base's."""
        raw = self.estimator_.booster_.predict(
            arr, num_iteration=self.n_iter_, raw_score=True
        )
        linear = getattr(self, "linear_", None)
        return raw if linear is None else raw + linear.decision_function(arr)

    def _raw_proba(self, Xf):
        if isinstance(Xf, pd.DataFrame) and len(Xf) > _PREDICT_ROWS:
            # a float64 copy of a training history's whole feature matrix was
            # the fit's peak memory; each line's score is its own (the trees
            # and the additive base add in a fixed order), so blocks of rows
            # give the same values to the last bit
            return np.concatenate(
                [
                    self._raw_proba(Xf.iloc[start : start + _PREDICT_ROWS])
                    for start in range(0, len(Xf), _PREDICT_ROWS)
                ]
            )
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
            A copy sharing the fitted trees, calibrator and claim features
            with this model (none is changed after fit); its history encoder
            and card are its own.
        """
        import copy

        from sklearn.base import clone

        check_is_fitted(self, "estimator_")
        # only the history encoder changes: share the trees, calibrator and
        # other fitted parts (never modified after fit) instead of copying them
        enc = clone(self.features_.history_encoder)
        enc.fit(prepare_history(history, reference=self.reference))
        new = copy.copy(self)
        new.features_ = copy.copy(self.features_)
        new.features_.transformers_ = [
            (name, enc if name == "history" else part)
            for name, part in self.features_.transformers_
        ]
        new.card_ = dict(
            new.card_,
            history_refreshed_rows=int(enc.n_history_),
            history_snapshot=history_snapshot_card(enc, refreshed=True),
        )
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


def _rows_table(Xf: pd.DataFrame, mask):
    """The rows of ``Xf`` where ``mask`` is true, for LightGBM, without a float64 copy.

    An Arrow table of ``Xf``'s own (narrow, exact) columns: LightGBM reads
    each as float64 and builds the same bins, trees and model text as from
    ``_rows_array`` (tested), while the table takes about a third of that
    array's memory. Columns are named as LightGBM names an array's
    (``Column_0``, ...). With a LightGBM that takes no Arrow data through
    its scikit-learn interface (before 4.7), the float64 array.
    """
    import lightgbm

    if _version_tuple(lightgbm.__version__) < (4, 7):
        return _rows_array(Xf, mask)
    import pyarrow as pa

    columns = {}
    for j in range(Xf.shape[1]):
        values = Xf.iloc[:, j].to_numpy()
        if values.dtype not in _ARROW_DTYPES:
            values = values.astype(np.float64)
        columns[f"Column_{j}"] = pa.array(values[mask])
    return pa.table(columns)


def _version_tuple(version: str) -> tuple[int, ...]:
    parts = []
    for part in version.split(".")[:2]:
        digits = "".join(ch for ch in part if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


#: Rows scored at a time when a whole training history is scored in fit.
_PREDICT_ROWS = 65_536
_ARROW_DTYPES = (np.dtype(np.int8), np.dtype(np.float32), np.dtype(np.float64))


def _rows_array(Xf: pd.DataFrame, mask) -> np.ndarray:
    """Float64 array of the rows of ``Xf`` where ``mask`` is true.

    The same values (and column-major layout) as
    ``Xf.to_numpy(dtype=np.float64)[mask]``, filled column by column: the
    full-frame float64 copy in between was, for a large history, the size
    of the feature matrix again at the fit's peak.
    """
    out = np.empty((int(np.count_nonzero(mask)), Xf.shape[1]), order="F")
    for j in range(Xf.shape[1]):
        out[:, j] = Xf.iloc[:, j].to_numpy(dtype=np.float64)[mask]
    return out
