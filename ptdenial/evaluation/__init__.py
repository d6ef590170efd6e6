"""How good are scores, and how far has a batch moved? Metrics, splits, drift.

Everything here takes plain arrays, a claims frame or a profile dict; nothing
fits a model. Metrics are reported overall and per group (e.g. per payer) as
tidy frames.

Definitions
-----------
* **ECE** (expected calibration error): lines sorted by score into
  ``n_bins`` equal-count bins; the count-weighted mean of
  ``|mean(score) - mean(outcome)|`` over bins.
* **lift@k**: denial rate among the top ``k`` share of lines by score,
  divided by the overall denial rate. **capture@k**: share of all denials
  that fall in the top ``k``.
* **dollars captured at capacity**: the share of denied dollars that a
  review team reaching the top ``capacity`` lines by expected loss would see.
* **Time-based splits** (:func:`time_split`, :func:`rolling_origin_splits`):
  a line trains only when its outcome was known (adjudicated) before the cut.

Drift (also reached as :mod:`ptdenial.monitoring`)
---------------------------------------------------
The training data's per-feature distributions (and the score's) are kept as a
compact JSON profile (:func:`reference_profile`, stored in the model card); a
new batch is compared against it with the **population stability index**
(:func:`drift_table`). For bins *i* with reference share *e_i* and current
share *a_i*::

    PSI = sum_i (a_i - e_i) * ln(a_i / e_i)

Shares are floored at ``1e-4`` so an empty bin does not give an infinite
value. Numeric features use the reference's quantile bins (``n_bins`` equal-
count bins, fewer when values repeat) plus one bin for missing values;
categorical features (the model's ``cat__*`` integer codes) use one bin per
frequent code, one for the rest and one for missing values.

Thresholds (ptdenial's configuration, following common practice in credit-
risk model monitoring): PSI below **0.10** is *stable*, **0.10 - 0.25**
*moderate* (watch), **0.25** and above *significant* (investigate,
retrain). PSI of a batch drawn from the very same distribution is not zero:
it is about ``(bins - 1) * (1/n_reference + 1/n_current)``, so batches under
``min_rows`` lines are reported as ``insufficient_data`` rather than judged.

Calendar features (``month_index``, ``day_of_week``), year-to-date amounts
(``ytd_therapy_allowed`` and the KX gaps built on it) and the as-of history
features (``hist_*``: prior denial counts and rates, which grow and move with
the practice's accumulated history) are left out of the profile by default
(:data:`DEFAULT_EXCLUDE`): a later batch always differs from the training
data on them, and that difference alone says nothing about the model.

A payer that changes its policy hardly moves the distribution of all scores
when it is one payer among many, so the profile can also keep the score
distribution **per segment** (per payer: ``segments=claims["payer_id"]``); a
segment whose scores drift is reported as its own row
(``denial_probability[COM04]``).
"""

from ptdenial.evaluation._drift import (
    PSI_MODERATE,
    PSI_SIGNIFICANT,
    drift_table,
    population_stability_index,
    psi_status,
)
from ptdenial.evaluation._metrics import TOP_SHARES as TOP_SHARES
from ptdenial.evaluation._metrics import (
    calibration_table,
    denial_metrics,
    ece_noise_floor,
    expected_calibration_error,
    lift_table,
    metrics_by_group,
)
from ptdenial.evaluation._profile import (
    DEFAULT_EXCLUDE,
    MIN_SEGMENT_ROWS,
    PROFILE_FORMAT,
    SCORE_NAME,
    reference_profile,
)
from ptdenial.evaluation._profile import MAX_SEGMENTS as MAX_SEGMENTS
from ptdenial.evaluation._splits import (
    TimeSplit,
    known_at,
    rolling_origin_splits,
    time_split,
)

__all__ = [
    "expected_calibration_error",
    "calibration_table",
    "lift_table",
    "denial_metrics",
    "metrics_by_group",
    "TimeSplit",
    "time_split",
    "rolling_origin_splits",
    "known_at",
    "ece_noise_floor",
    "PSI_MODERATE",
    "PSI_SIGNIFICANT",
    "DEFAULT_EXCLUDE",
    "MIN_SEGMENT_ROWS",
    "PROFILE_FORMAT",
    "SCORE_NAME",
    "reference_profile",
    "population_stability_index",
    "psi_status",
    "drift_table",
]
