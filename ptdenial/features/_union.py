"""The feature union: rule flags and gaps, claim features, as-of history."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ptdenial import schema as S
from ptdenial._utils import ClaimsTransformerMixin
from ptdenial.features._claim import ClaimFeatures
from ptdenial.features._columns import _compact
from ptdenial.features._history import AsOfHistoryEncoder

#: Version of the feature set. Bump it whenever a feature is added, removed or
#: computed differently: a model file records the version it was trained with,
#: and :func:`ptdenial.model.load_model` refuses a file from another version
#: (its fitted transformers would not match this code).
FEATURE_SET_VERSION = 4


class ClaimFeatureSet(ClaimsTransformerMixin, TransformerMixin, BaseEstimator):
    """Rule flags and gaps, claim features and as-of history, side by side.

    Every part sees the claims' dated documentation as it stood when each
    line was sent (:func:`ptdenial.schema.documents_as_sent`): a plan of
    care certified, a progress report or a note signed after a line's
    ``submission_date`` is absent from that line's features, as it was from
    the claim that went out. Labels are never changed.

    A small feature union whose fitted state holds only plain Python and NumPy
    objects, so a model that contains it saves safely with skops (scikit-learn's
    ``FeatureUnion`` keeps pandas objects in its fitted state).

    Parameters
    ----------
    reference : ptdenial.reference.Reference, optional
    as_of : date-like, optional
        Scoring date for the history features.
    smoothing, window_days : see :class:`AsOfHistoryEncoder`
    history_lag, max_history_lag_days, history_count_window_days : see
        ``lag``, ``max_lag_days`` and ``count_window_days`` of
        :class:`AsOfHistoryEncoder`
    min_category_count : see :class:`ClaimFeatures`
    random_state : int, default=0
        Salt of the drawn staleness of training lines.

    Attributes
    ----------
    transformers_ : list of (str, estimator)
        ``rules``, ``claim`` and ``history``, fitted.
    feature_names_out_ : list of str
    """

    _fitted_attribute = "transformers_"

    def __init__(
        self,
        *,
        reference=None,
        as_of=None,
        smoothing=20.0,
        window_days=90,
        min_category_count=20,
        history_lag="deployment",
        max_history_lag_days=180,
        random_state=0,
        history_count_window_days=None,
    ):
        self.reference = reference
        self.as_of = as_of
        self.smoothing = smoothing
        self.window_days = window_days
        self.min_category_count = min_category_count
        self.history_lag = history_lag
        self.max_history_lag_days = max_history_lag_days
        self.random_state = random_state
        self.history_count_window_days = history_count_window_days

    def fit(self, X, y=None):
        """Fit the three parts.

        Parameters
        ----------
        X : pandas.DataFrame
            Validated claims with labels (see :func:`ptdenial.schema.derive_outcomes`).
        y : ignored

        Returns
        -------
        self
        """
        from ptdenial.rules import PayerRuleFlagger

        self.transformers_ = [
            ("rules", PayerRuleFlagger(reference=self.reference)),
            (
                "claim",
                ClaimFeatures(
                    min_category_count=self.min_category_count, reference=self.reference
                ),
            ),
            (
                "history",
                AsOfHistoryEncoder(
                    smoothing=self.smoothing,
                    window_days=self.window_days,
                    as_of=self.as_of,
                    lag=self.history_lag,
                    max_lag_days=self.max_history_lag_days,
                    random_state=self.random_state,
                    count_window_days=self.history_count_window_days,
                ),
            ),
        ]
        sent = S.documents_as_sent(X)
        for _, est in self.transformers_:
            # the history encoder keeps outcomes only: the documents do not matter
            est.fit(sent)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = len(X.columns)
        names = []
        for _, est in self.transformers_:
            names.extend(str(n) for n in est.get_feature_names_out())
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"Feature names are not unique: {dup}")
        self.feature_names_out_ = names
        return self

    @property
    def history_encoder(self):
        """The fitted :class:`AsOfHistoryEncoder`."""
        check_is_fitted(self, "transformers_")
        return self.transformers_[-1][1]

    def transform(self, X):
        """All features of the claims.

        Parameters
        ----------
        X : pandas.DataFrame

        Returns
        -------
        pandas.DataFrame
        """
        check_is_fitted(self, "transformers_")
        return self._transform(X, training=False)

    def fit_transform(self, X, y=None, **fit_params):
        """Fit, then the training features of ``X``.

        The history part gives each line the information lag it was trained
        for (:meth:`AsOfHistoryEncoder.fit_transform`); the other parts are
        the same as in :meth:`transform`.

        Parameters
        ----------
        X : pandas.DataFrame
            Validated claims with labels.
        y : ignored

        Returns
        -------
        pandas.DataFrame
        """
        self.fit(X, y)
        return self._transform(X, training=True)

    def _training_features(self, X) -> pd.DataFrame:
        """:meth:`fit_transform` with each column in its narrowest exact dtype.

        For the estimator's fit: the same values as :meth:`fit_transform`
        (int8/float32 only where they hold every value exactly), in about a
        third of the memory. Each part is narrowed as it is computed, so
        the float64 matrix of every line is never held whole.
        """
        self.fit(X)
        return self._transform(X, training=True, compact=True)

    def _transform(self, X, *, training: bool, compact: bool = False) -> pd.DataFrame:
        self.history_encoder.as_of = self.as_of
        # a line's features see its documents as they were when it was sent
        X = S.documents_as_sent(X)
        parts = []
        for name, est in self.transformers_:
            narrow = compact
            if name == "history":
                out = est._features(X, drawn=training and est.lag == "deployment")
            elif compact and isinstance(est, ClaimFeatures):
                # narrowed feature by feature: the largest part
                out, narrow = est._transform(X, compact=True), False
            else:
                out = est.transform(X)
            if not isinstance(out, pd.DataFrame):
                out = pd.DataFrame(
                    out, index=X.index, columns=est.get_feature_names_out()
                )
            parts.append(_compact(out) if narrow else out)
            del out
        return pd.concat(parts, axis=1)[self.feature_names_out_]

    def _output_names(self):
        return self.feature_names_out_


def make_feature_pipeline(
    *,
    reference=None,
    as_of=None,
    smoothing=20.0,
    window_days=90,
    min_category_count=20,
    history_lag="deployment",
    max_history_lag_days=180,
    random_state=0,
    history_count_window_days=None,
):
    """The full feature set: rule flags and gaps, claim features, as-of history.

    Parameters
    ----------
    reference : ptdenial.reference.Reference, optional
    as_of : date-like, optional
        Scoring date for the history features.
    smoothing, window_days : see :class:`AsOfHistoryEncoder`
    min_category_count : see :class:`ClaimFeatures`
    history_lag, max_history_lag_days, random_state, history_count_window_days :
        see :class:`ClaimFeatureSet`

    Returns
    -------
    ClaimFeatureSet

    Examples
    --------
    >>> from ptdenial.datasets import load_sample_claims
    >>> from ptdenial.schema import derive_outcomes
    >>> from ptdenial.features import make_feature_pipeline
    >>> claims = derive_outcomes(load_sample_claims("history").head(2000))
    >>> X = make_feature_pipeline().fit_transform(claims)
    >>> X.shape[0], X.columns.is_unique
    (2000, True)
    """
    return ClaimFeatureSet(
        reference=reference,
        as_of=as_of,
        smoothing=smoothing,
        window_days=window_days,
        min_category_count=min_category_count,
        history_lag=history_lag,
        max_history_lag_days=max_history_lag_days,
        random_state=random_state,
        history_count_window_days=history_count_window_days,
    )
