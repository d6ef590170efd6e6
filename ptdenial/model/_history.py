"""A claims history as training data: labels, submission dates, the scored code.

Shared by the estimator (:mod:`ptdenial.model._estimator`) and the hold-out
evaluation (:mod:`ptdenial.model._holdout`), which both turn a validated
history into labelled lines placed in time.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial._payment import payment_table
from ptdenial.evaluation import known_at
from ptdenial.exceptions import PtdenialError
from ptdenial.schema import SCORED_CODE


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


def _payment_table(claims: pd.DataFrame) -> dict:
    """The pricing table of :mod:`ptdenial._payment`, from the history's paid lines."""
    paid = ~claims[S.PENDING].to_numpy(dtype=bool) & ~claims[S.DENIED].fillna(
        False
    ).to_numpy(dtype=bool)
    return payment_table(claims, paid)


def _submission_dates(claims):
    if S.SUBMISSION_DATE in claims:
        return claims[S.SUBMISSION_DATE].fillna(claims[S.DATE_OF_SERVICE])
    return claims[S.DATE_OF_SERVICE]


def _labels(claims: pd.DataFrame) -> np.ndarray:
    """Denied (1) or not (0) per line; pending lines read 0 (masked by callers)."""
    return claims[S.DENIED].fillna(False).to_numpy(dtype=bool).astype(int)


@dataclasses.dataclass(frozen=True)
class _Slices:
    """Where each line of a training history falls in time (masks per line).

    Attributes
    ----------
    when : pandas.Series
        Submission date (date of service where empty).
    adjudicated, code : numpy.ndarray of bool
        Lines with a known outcome; lines of the scored code.
    y : numpy.ndarray of int
        Denied (1) or not (0).
    calib_start : pandas.Timestamp
        First day of the calibration slice.
    train : numpy.ndarray of bool
        Training rows of the trees.
    calib : numpy.ndarray of bool
        Adjudicated lines (every code) submitted from ``calib_start`` on.
    """

    when: pd.Series
    adjudicated: np.ndarray
    code: np.ndarray
    y: np.ndarray
    calib_start: pd.Timestamp
    train: np.ndarray
    calib: np.ndarray

    @property
    def calib_rows(self) -> np.ndarray:
        """The calibrator's rows: the calibration slice's scored-code lines."""
        return self.calib & self.code


def _slice_history(
    claims: pd.DataFrame, *, calibrate_months, calibration, train_codes
) -> _Slices:
    """Training rows and calibration slice of a labelled history.

    The last ``calibrate_months`` (by submission date, counted from the newest
    adjudicated line) are the calibration slice; older lines whose outcome was
    known at its start are the training rows (every adjudicated line without
    calibration; only scored-code lines with ``train_codes="97112"``).
    Raises when either part is too small to fit.
    """
    adjudicated = ~claims[S.PENDING].to_numpy(dtype=bool)
    when = _submission_dates(claims)
    last = when[adjudicated].max()
    calib_start = (last.to_period("M") - (calibrate_months - 1)).to_timestamp()
    w = when.to_numpy()
    known = known_at(claims, calib_start)
    train = adjudicated & (w < np.datetime64(calib_start)) & known
    calib = adjudicated & (w >= np.datetime64(calib_start))
    if calibration is None:
        train = adjudicated
    code = (claims[S.CPT_CODE] == SCORED_CODE).to_numpy(dtype=bool, na_value=False)
    if train_codes == SCORED_CODE:
        train = train & code
    y = _labels(claims)
    if train.sum() < 100 or len(np.unique(y[train])) < 2:
        raise PtdenialError(
            f"Too little history to train: {int(train.sum())} adjudicated "
            "training lines (need at least 100 with both outcomes). Give a "
            "longer history or lower calibrate_months."
        )
    slices = _Slices(when, adjudicated, code, y, calib_start, train, calib)
    rows = slices.calib_rows
    if calibration is not None and (rows.sum() < 50 or len(np.unique(y[rows])) < 2):
        raise PtdenialError(
            "Too few 97112 lines in the calibration slice "
            f"({calib_start.date()} on): {int(rows.sum())}. Give a "
            "longer history or set "
            "calibration=None."
        )
    return slices


def _early_stopping_split(slices: _Slices, months: int):
    """(fit rows, early-stopping rows or None): the newest ``months`` of training.

    Without enough rows on either side, every training row is fitted and
    boosting runs its full number of rounds.
    """
    w = slices.when.to_numpy()
    es_start = (slices.calib_start.to_period("M") - months).to_timestamp()
    es_mask = slices.train & (w >= np.datetime64(es_start))
    fit_mask = slices.train & ~es_mask
    if fit_mask.sum() < 100 or len(np.unique(slices.y[es_mask])) < 2:
        return slices.train, None
    return fit_mask, es_mask


def _profile_rows(slices: _Slices, calibrate_months: int, profile_months: int):
    """Lines of the drift reference: the newest ``profile_months`` of scored code.

    The calibration slice and the training months before it, adjudicated
    scored-code lines; the training rows of that code when there are none.
    """
    start = (
        slices.calib_start.to_period("M") - max(profile_months - calibrate_months, 0)
    ).to_timestamp()
    w = slices.when.to_numpy()
    rows = slices.code & slices.adjudicated & (w >= np.datetime64(start))
    if not rows.any():
        rows = slices.train & slices.code
    return rows
