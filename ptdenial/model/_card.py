"""The model card: what a fitted model was trained on, and how well it did.

The card (``model.card_``, a JSON-safe dict) travels inside the model file and
beside it as ``<file>.card.json`` (:func:`ptdenial.model.save_model`):
schema and feature-set versions, parameters, training and calibration
windows, row counts, feature names, library versions, the calibration slice's
metrics, the drift reference profile and the most important features.
:func:`ptdenial.model.load_model` checks the versions it records.
"""

from __future__ import annotations

from ptdenial import features as F
from ptdenial import schema as S
from ptdenial._utils import jsonable, library_versions
from ptdenial.evaluation import denial_metrics
from ptdenial.features import CATEGORICAL_FEATURES


def _versions() -> dict:
    return library_versions(
        "ptdenial", "scikit-learn", "lightgbm", "numpy", "pandas", "skops", "python"
    )


def _make_card(model, claims, slices, p, *, profile, top_features) -> dict:
    """The card of a model just fitted on ``claims``.

    Parameters
    ----------
    model : DenialRiskModel
        Fitted (trees, calibrator, feature names).
    claims : pandas.DataFrame
        The labelled history it was fitted on.
    slices : ptdenial.model._history._Slices
        Its training rows and calibration slice.
    p : numpy.ndarray
        Calibrated probabilities of the calibration slice's lines (NaN
        elsewhere), from the model that had not seen the slice.
    profile : dict
        The drift reference profile.
    top_features : list of str

    Returns
    -------
    dict
        With ``model_id`` ``"pending"`` until :func:`ptdenial.model.save_model`.
    """
    w = slices.when
    train_mask, calib_mask = slices.train, slices.calib_rows
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
            str(slices.calib_start.date()),
            str(w[calib_mask].max().date()) if calib_mask.any() else None,
        ],
        "rows": {
            "history": int(len(claims)),
            "adjudicated": int((~claims[S.PENDING]).sum()),
            "pending": int(claims[S.PENDING].sum()),
            "train": int(train_mask.sum()),
            "train_97112": int((train_mask & slices.code).sum()),
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
        m = denial_metrics(slices.y[calib_mask], p[calib_mask])
        card["calibration_slice_metrics"] = {k: jsonable(v) for k, v in m.items()}
    card["history_snapshot"] = history_snapshot_card(model.features_.history_encoder)
    card["model_id"] = "pending"
    card["reference_profile"] = profile
    card["top_features"] = top_features
    return card


def history_snapshot_card(encoder, *, refreshed: bool = False) -> dict:
    """The card's ``history_snapshot`` entry: what the history features know.

    ``last_outcome_date`` is the newest adjudication date in the snapshot:
    on a scoring night, the snapshot's age is the night minus that date.
    """
    return {
        "last_outcome_date": encoder.last_outcome_date_,
        "adjudicated_lines": int(encoder.n_history_),
        "lag": encoder.lag,
        "max_lag_days": int(encoder.max_lag_days),
        # days of the hist_<key>_n / _rate counts (None: all time)
        "count_window_days": getattr(encoder, "count_window_days", None),
        "refreshed": bool(refreshed),
    }
