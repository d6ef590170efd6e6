"""Model features from the claim-line table, as scikit-learn transformers.

Three transformers, combined by :func:`make_feature_pipeline`:

* :class:`ClaimFeatures`: line, visit, diagnosis, documentation, episode and
  time features, plus categoricals (payer, payer class, credential, place of
  service, clinic, code, primary diagnosis category) as fixed integer codes
  learned at ``fit``;
* :class:`AsOfHistoryEncoder`: **as-of** denial rates of payer x code, payer x
  provider x code, provider, clinic and patient, computed only from lines
  adjudicated *before* each line's reference date (its submission date, or the
  scoring date for new claims), smoothed toward the as-of global rate;
* the rule flags and gaps of :class:`ptdenial.rules.PayerRuleFlagger`.

All three take the validated claims frame (canonical dtypes) and return a
numeric pandas frame (``set_output(transform="pandas")`` is the default
here); missing optional columns become missing features, never errors.

Every feature they output has a :class:`FeatureSpec` (kind, unit, reason
group, display name), found with :func:`feature_spec`.
"""

from ptdenial._distinct import spread as spread  # older private imports
from ptdenial._distinct import text_codes as text_codes
from ptdenial.features._claim import CATEGORICAL_FEATURES, ClaimFeatures
from ptdenial.features._history import HISTORY_KEYS, AsOfHistoryEncoder
from ptdenial.features._specs import (
    FEATURE_KINDS,
    FEATURE_SPECS,
    FEATURE_UNITS,
    FeatureSpec,
    feature_spec,
)
from ptdenial.features._union import (
    FEATURE_SET_VERSION,
    ClaimFeatureSet,
    make_feature_pipeline,
)

__all__ = [
    "ClaimFeatures",
    "AsOfHistoryEncoder",
    "make_feature_pipeline",
    "ClaimFeatureSet",
    "CATEGORICAL_FEATURES",
    "FEATURE_SET_VERSION",
    "HISTORY_KEYS",
    "FeatureSpec",
    "FEATURE_SPECS",
    "FEATURE_KINDS",
    "FEATURE_UNITS",
    "feature_spec",
]
