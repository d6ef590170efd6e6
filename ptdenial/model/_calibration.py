"""Calibration of the trees' scores: centered isotonic regression or a sigmoid.

The calibrator is fitted on a later time slice than the trees (see
:class:`ptdenial.model.DenialRiskModel`). ``"isotonic"`` is centered isotonic
regression (Oron and Flournoy, 2017): the isotonic fit's levels placed at the
mean raw score of their blocks and joined linearly, so lines the trees rank
apart keep distinct probabilities. ``"sigmoid"`` is a logistic regression on
the raw log-odds (Platt scaling).
"""

from __future__ import annotations

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

#: Calibrated probabilities are kept within [floor, 1 - floor].
PROBABILITY_FLOOR = 0.001
_EPS = 1e-6


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


def _make_calibrator(method):
    """An unfitted calibrator for ``method`` (``"isotonic"`` or ``"sigmoid"``)."""
    if method == "isotonic":
        return IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
    return LogisticRegression(C=1e6)


def _fit_calibrator(calibrator, method, raw, y):
    """Fit ``calibrator`` on raw probabilities; the centered knots for isotonic.

    Returns
    -------
    numpy.ndarray of shape (2, k) or None
        :func:`_centered_isotonic_knots` of the fit (``None`` for sigmoid).
    """
    if method == "isotonic":
        calibrator.fit(raw, y)
        return _centered_isotonic_knots(raw, calibrator.predict(raw))
    calibrator.fit(_logit(raw).reshape(-1, 1), y)
    return None


def _level_offset(p: np.ndarray, target_rate: float) -> float:
    """Log-odds ``d`` such that ``mean(expit(logit(p) - d)) == target_rate``.

    The re-anchoring of a calibrator after the final refit (see
    :meth:`ptdenial.model.DenialRiskModel._fit_calibration`): one parameter,
    found by bisection (the mean is monotone in ``d``).
    """
    z = _logit(np.asarray(p, dtype=float))
    target = float(np.clip(target_rate, _EPS, 1 - _EPS))
    lo, hi = -10.0, 10.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if _expit(z - mid).mean() > target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _apply_calibration(calibrator, method, knots, raw, offset=0.0):
    """Calibrated probabilities of raw ones, kept off 0 and 1.

    ``knots`` (centered isotonic) win over the plain isotonic steps when given;
    models saved before the knots existed still use the steps. ``offset``
    (log-odds) re-anchors the calibrated level (:func:`_level_offset`).
    """
    if calibrator is None:
        return raw
    if method == "isotonic" and knots is not None:
        p = np.interp(raw, knots[0], knots[1])
    elif method == "isotonic":
        p = calibrator.predict(raw)
    else:
        p = calibrator.predict_proba(_logit(raw).reshape(-1, 1))[:, 1]
    if offset:
        p = _expit(_logit(p) - offset)
    # A claim line is never certain to be paid or denied: keep probabilities
    # off 0 and 1 (an isotonic step fitted on few lines can reach them).
    return np.clip(p, PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)
