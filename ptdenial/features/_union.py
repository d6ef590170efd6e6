"""The feature union: rule flags and gaps, claim features, as-of history."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ptdenial._utils import ClaimsTransformerMixin
from ptdenial.features._claim import ClaimFeatures
from ptdenial.features._history import AsOfHistoryEncoder

#: Version of the feature set. Bump it whenever a feature is added, removed or
#: computed differently: a model file records the version it was trained with,
#: and :func:`ptdenial.model.load_model` refuses a file from another version
#: (its fitted transformers would not match this code).
FEATURE_SET_VERSION = 3


class ClaimFeatureSet(ClaimsTransformerMixin, TransformerMixin, BaseEstimator):
    """Rule flags and gaps, claim features and as-of history, side by side.

    A small feature union whose fitted state holds only plain Python and NumPy
    objects, so a model that contains it saves safely with skops (scikit-learn's
    ``FeatureUnion`` keeps pandas objects in its fitted state).

    Parameters
    ----------
    reference : ptdenial.reference.Reference, optional
    as_of : date-like, optional
        Scoring date for the history features.
    smoothing, window_days : see :class:`AsOfHistoryEncoder`
    min_category_count : see :class:`ClaimFeatures`

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
    ):
        self.reference = reference
        self.as_of = as_of
        self.smoothing = smoothing
        self.window_days = window_days
        self.min_category_count = min_category_count

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
                ),
            ),
        ]
        for _, est in self.transformers_:
            est.fit(X)
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
        self.history_encoder.as_of = self.as_of
        parts = []
        for _, est in self.transformers_:
            out = est.transform(X)
            if not isinstance(out, pd.DataFrame):
                out = pd.DataFrame(
                    out, index=X.index, columns=est.get_feature_names_out()
                )
            parts.append(out)
        return pd.concat(parts, axis=1)[self.feature_names_out_]

    def _output_names(self):
        return self.feature_names_out_


def make_feature_pipeline(
    *, reference=None, as_of=None, smoothing=20.0, window_days=90, min_category_count=20
):
    """The full feature set: rule flags and gaps, claim features, as-of history.

    Parameters
    ----------
    reference : ptdenial.reference.Reference, optional
    as_of : date-like, optional
        Scoring date for the history features.
    smoothing, window_days : see :class:`AsOfHistoryEncoder`
    min_category_count : see :class:`ClaimFeatures`

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
    )
