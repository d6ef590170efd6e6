"""Monitoring a batch: the history as known on a date, a model's profile, one call.

Functions that need a model take any object with ``card_``,
``transform_features`` and ``predict_proba_features`` (duck typing): this
package never imports :mod:`ptdenial.model`.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial.evaluation import drift_table
from ptdenial.evaluation._profile import _check_profile
from ptdenial.exceptions import PtdenialError
from ptdenial.monitoring._advice import recommend_retraining
from ptdenial.monitoring._realized import realized_performance


def history_as_of(claims: pd.DataFrame, when, *, reference=None) -> pd.DataFrame:
    """The history as it was known on a date: for training a model "back then".

    Keeps the lines submitted on or before ``when`` (the date of service where
    the submission date is empty) and blanks the outcome of every line
    adjudicated after ``when``: such lines become pending (``denied`` empty,
    remittance columns empty). Use it to replay monitoring on a history: train
    on ``history_as_of(claims, cut)``, then compare later batches with it.

    Parameters
    ----------
    claims : pandas.DataFrame
        Validated claims with outcome columns.
    when : date-like
        The extraction date.
    reference : ptdenial.reference.Reference, optional
        Used to derive the labels.

    Returns
    -------
    pandas.DataFrame
        With ``denied``, ``partially_denied`` and ``pending``.

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.monitoring import history_as_of
    >>> lines = pd.DataFrame({
    ...     "date_of_service": pd.to_datetime(["2025-01-02", "2025-01-20",
    ...                                        "2025-03-01"]),
    ...     "submission_date": pd.to_datetime(["2025-01-05", "2025-01-25",
    ...                                        "2025-03-03"]),
    ...     "adjudication_date": pd.to_datetime(["2025-01-20", "2025-02-20",
    ...                                          "2025-03-20"]),
    ...     "allowed_amount": [0.0, 30.0, 30.0], "paid_amount": [0.0, 24.0, 24.0],
    ...     "adjustment_codes": [("CO-50",), ("CO-45",), ("CO-45",)]})
    >>> history_as_of(lines, "2025-01-31")[["denied", "pending"]]
       denied  pending
    0    True    False
    1    <NA>     True
    """
    cut = pd.Timestamp(when)
    labelled = claims
    if not (S.DENIED in claims.columns and S.PENDING in claims.columns):
        labelled = S.derive_outcomes(claims, reference=reference)
    sent = labelled[S.DATE_OF_SERVICE]
    if S.SUBMISSION_DATE in labelled.columns:
        sent = labelled[S.SUBMISSION_DATE].fillna(sent)
    out = labelled.loc[(sent <= cut).to_numpy(dtype=bool)].copy()
    adj = out[S.ADJUDICATION_DATE] if S.ADJUDICATION_DATE in out else None
    later = (
        (adj > cut).fillna(False).to_numpy(dtype=bool)
        if adj is not None
        else np.zeros(len(out), bool)
    )
    if later.any():
        unknown = pd.Series(later, index=out.index)
        for col in (S.DENIED, S.PARTIALLY_DENIED):
            if col in out:
                out[col] = out[col].mask(unknown)
        out[S.PENDING] = out[S.PENDING].mask(unknown, True)
        for col in (S.ADJUDICATION_DATE, S.ALLOWED_AMOUNT, S.PAID_AMOUNT):
            if col in out:
                out[col] = out[col].mask(unknown)
        for col in (S.ADJUSTMENT_CODES, S.REMARK_CODES):
            if col in out:
                out[col] = out[col].where(
                    ~unknown, pd.Series([()] * len(out), index=out.index)
                )
    return out


#: A batch sent over at most this many submission dates is judged as one night.
NIGHT_MAX_DATES = 3


def batch_kind(claims: pd.DataFrame) -> str:
    """``"night"`` for a batch sent on at most :data:`NIGHT_MAX_DATES` dates.

    One night's claims differ from months of lines by construction (see
    :func:`ptdenial.evaluation.drift_table`); a longer batch is a window.

    Parameters
    ----------
    claims : pandas.DataFrame
        With ``submission_date`` (``date_of_service`` where it is empty).

    Returns
    -------
    str
        ``"night"`` or ``"window"``.

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.monitoring import batch_kind
    >>> batch_kind(pd.DataFrame({"submission_date": pd.to_datetime(
    ...     ["2026-01-02"] * 3), "date_of_service": pd.to_datetime(
    ...     ["2025-12-30"] * 3)}))
    'night'
    """
    sent = claims[S.DATE_OF_SERVICE]
    if S.SUBMISSION_DATE in claims.columns:
        sent = claims[S.SUBMISSION_DATE].fillna(sent)
    return "night" if sent.nunique() <= NIGHT_MAX_DATES else "window"


def model_profile(model) -> dict:
    """The reference profile stored in a model's card.

    Parameters
    ----------
    model : object
        A fitted model with a ``card_`` dict (e.g. ``DenialRiskModel``).

    Returns
    -------
    dict

    Raises
    ------
    PtdenialError
        When the card has no profile.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from ptdenial.monitoring import model_profile
    >>> model_profile(SimpleNamespace(card_={}))
    Traceback (most recent call last):
    ...
    ptdenial.exceptions.PtdenialError: The model card has no reference_profile...
    """
    card = getattr(model, "card_", None) or {}
    profile = card.get("reference_profile")
    if isinstance(profile, str):
        profile = json.loads(profile)
    if not profile:
        raise PtdenialError(
            "The model card has no reference_profile, so drift cannot be "
            "measured. Retrain the model with this ptdenial version "
            "(`ptdenial train`), which stores the profile in the card."
        )
    _check_profile(profile)
    return profile


def monitor_batch(
    model,
    claims: pd.DataFrame,
    *,
    scored: pd.DataFrame | None = None,
    outcomes: pd.DataFrame | None = None,
    as_of=None,
    cpt_code: str | None = S.SCORED_CODE,
    min_rows: int = 100,
    reference=None,
) -> dict:
    """Drift of a batch against the model's profile, realized performance, advice.

    Parameters
    ----------
    model : object
        Fitted model with ``card_`` (holding ``reference_profile``),
        ``transform_features(claims, as_of=...)`` and
        ``predict_proba_features(Xf)``.
    claims : pandas.DataFrame
        Validated claims of the batch.
    scored : pandas.DataFrame, optional
        Earlier scoring output (keys + ``denial_probability``). When omitted
        and ``outcomes`` is given, the batch is scored now.
    outcomes : pandas.DataFrame, optional
        Later remittances/outcomes for the scored lines.
    as_of : date-like, optional
        Scoring date for the history features; also the monitoring date.
    cpt_code : str or None
        Only these lines are compared (the scored code by default).
    min_rows : int
        See :func:`drift_table`.
    reference : ptdenial.reference.Reference, optional

    Returns
    -------
    dict
        ``drift`` (DataFrame), ``realized`` (RealizedPerformance or None),
        ``recommendation`` (:class:`RetrainingAdvice`), ``scores`` (DataFrame
        of keys + probability).
    """
    profile = model_profile(model)
    # features on every line of the batch (visit-level features and rules need
    # the whole visit), then the monitored code's rows
    Xf = model.transform_features(claims, as_of=as_of)
    batch = claims
    if cpt_code is not None:
        keep = (claims[S.CPT_CODE] == cpt_code).to_numpy(dtype=bool, na_value=False)
        batch = claims.loc[keep]
        Xf = Xf.loc[keep]
    p = np.asarray(model.predict_proba_features(Xf), dtype=float)
    segment_by = profile.get("segment_by")
    segments = batch[segment_by] if segment_by in batch.columns else None
    drift = drift_table(
        profile,
        Xf,
        p,
        segments=segments,
        min_rows=min_rows,
        batch=batch_kind(batch),
    )
    scores = batch[[*S.LINE_KEYS, S.DATE_OF_SERVICE]].copy()
    scores[S.DENIAL_PROBABILITY] = p
    realized = None
    if outcomes is not None or (
        scored is not None and S.ADJUDICATION_DATE in scored.columns
    ):
        realized = realized_performance(
            scored if scored is not None else scores, outcomes, reference=reference
        )
    when = as_of
    if when is None and len(batch):
        when = pd.to_datetime(batch[S.DATE_OF_SERVICE]).max()
    recommendation = recommend_retraining(
        drift, realized, card=getattr(model, "card_", None), as_of=when
    )
    return {
        "drift": drift,
        "realized": realized,
        "recommendation": recommendation,
        "scores": scores,
    }
