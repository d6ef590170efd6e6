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

Layout: the estimator (``_estimator``), labels and time slices of a
history (``_history``), the additive linear base (``_linear``), calibration
(``_calibration``), the model card (``_card``), model files
(``_persistence``), and the hold-out evaluation with its baselines
(``_holdout``).
"""

from ptdenial.model._calibration import PROBABILITY_FLOOR as PROBABILITY_FLOOR
from ptdenial.model._estimator import PROFILE_MONTHS as PROFILE_MONTHS
from ptdenial.model._estimator import DenialRiskModel
from ptdenial.model._history import SCORED_CODE, prepare_history
from ptdenial.model._holdout import (
    BASELINES,
    HoldoutReport,
    baseline_scores,
    fit_baselines,
    train_and_evaluate,
)
from ptdenial.model._memory import available_memory, check_training_memory, parse_size
from ptdenial.model._persistence import load_model, save_model

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
    "check_training_memory",
    "available_memory",
    "parse_size",
]
