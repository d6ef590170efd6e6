"""Is the model still fit for the claims it scores? Drift, realized performance.

Three checks, each a plain function on frames and dicts:

* **Drift** (:func:`reference_profile`, :func:`drift_table`): the training
  data's per-feature distributions (and the score's) are stored as a compact
  JSON profile in the model card; a new batch is compared against it with the
  **population stability index** (PSI).
* **Realized performance** (:func:`realized_performance`): once the
  remittances of scored lines arrive, scores and outcomes are joined by
  ``(claim_id, line_number)``; AUC, Brier score, calibration error and the
  reliability table are reported overall and per month, and every row that
  did not match is counted, never dropped silently.
* **Retraining** (:func:`recommend_retraining`): drift, realized performance
  and the billing calendar (a new KX-threshold year, the quarterly NCCI/MUE
  files) turned into one :class:`RetrainingAdvice`: an action (``retrain``,
  ``watch`` or ``keep``), its reasons (:class:`RetrainingReason`, each with
  a :class:`Trigger` and a :class:`Severity`) and the figures looked at.

The profile, PSI and drift table live in :mod:`ptdenial.evaluation` (the
model builds the profile at training time and never imports monitoring);
they are re-exported here, where a monitoring job looks for them. The PSI
thresholds and the features left out of the profile are documented there.

This package never imports :mod:`ptdenial.model`; functions that need a model
take any object with ``card_``, ``transform_features`` and
``predict_proba_features`` (duck typing).

Layout: realized performance (``_realized``), the retraining triggers and
advice (``_advice``), and the batch helpers (``_batch``: :func:`monitor_batch`,
:func:`model_profile`, :func:`history_as_of`).
"""

from ptdenial.evaluation import (
    DEFAULT_EXCLUDE,
    MIN_SEGMENT_ROWS,
    PROFILE_FORMAT,
    PSI_MODERATE,
    PSI_SIGNIFICANT,
    SCORE_NAME,
    drift_table,
    population_stability_index,
    psi_status,
    reference_profile,
)
from ptdenial.evaluation import MAX_SEGMENTS as MAX_SEGMENTS
from ptdenial.monitoring._advice import (
    AUC_DROP_LIMIT,
    ECE_LIMIT,
    RetrainingAdvice,
    RetrainingReason,
    Severity,
    Trigger,
    recommend_retraining,
    retraining_verdict,
)
from ptdenial.monitoring._batch import (
    batch_kind,
    history_as_of,
    model_profile,
    monitor_batch,
)
from ptdenial.monitoring._realized import RealizedPerformance, realized_performance

__all__ = [
    "PSI_MODERATE",
    "PSI_SIGNIFICANT",
    "ECE_LIMIT",
    "AUC_DROP_LIMIT",
    "DEFAULT_EXCLUDE",
    "MIN_SEGMENT_ROWS",
    "PROFILE_FORMAT",
    "SCORE_NAME",
    "reference_profile",
    "population_stability_index",
    "psi_status",
    "drift_table",
    "RealizedPerformance",
    "realized_performance",
    "recommend_retraining",
    "retraining_verdict",
    "RetrainingAdvice",
    "RetrainingReason",
    "Trigger",
    "Severity",
    "model_profile",
    "monitor_batch",
    "history_as_of",
    "batch_kind",
]
