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
  files) turned into one recommendation with its reasons.

The profile, PSI and drift table live in :mod:`ptdenial.evaluation` (the
model builds the profile at training time and never imports monitoring);
they are re-exported here, where a monitoring job looks for them. The PSI
thresholds and the features left out of the profile are documented there.

This module never imports :mod:`ptdenial.model`; functions that need a model
take any object with ``card_``, ``transform_features`` and
``predict_proba_features`` (duck typing).
"""

from __future__ import annotations

import json
from typing import NamedTuple

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial.evaluation import (
    DEFAULT_EXCLUDE,
    MIN_SEGMENT_ROWS,
    PROFILE_FORMAT,
    PSI_MODERATE,
    PSI_SIGNIFICANT,
    SCORE_NAME,
    calibration_table,
    denial_metrics,
    drift_table,
    population_stability_index,
    psi_status,
    reference_profile,
)
from ptdenial.evaluation._profile import _check_profile
from ptdenial.exceptions import ClaimsSchemaError, PtdenialError

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
    "model_profile",
    "monitor_batch",
    "history_as_of",
]

#: Expected calibration error above this calls for recalibration/retraining.
ECE_LIMIT = 0.05
#: Realized AUC this far below the model card's validation AUC calls for retraining.
AUC_DROP_LIMIT = 0.05
_MONTH = "month"
_SCORED_CODE = "97112"


# --- realized performance --------------------------------------------------------
class RealizedPerformance(NamedTuple):
    """Scores joined with later outcomes.

    Attributes
    ----------
    summary : dict
        Row counts (scored, with outcome, unmatched on either side, pending,
        evaluable) and metrics on evaluable lines (``roc_auc``, ``pr_auc``,
        ``brier``, ``ece``, ``denial_rate``, ``mean_score`` ...).
    by_month : pandas.DataFrame
        The same per month of service.
    calibration : pandas.DataFrame
        Reliability table (:func:`ptdenial.evaluation.calibration_table`).
    joined : pandas.DataFrame
        One row per key from either side with ``match`` in ``matched``,
        ``no_outcome`` (scored, remittance not arrived), ``no_score``
        (outcome for a line that was never scored).
    """

    summary: dict
    by_month: pd.DataFrame
    calibration: pd.DataFrame
    joined: pd.DataFrame


def _key_frame(df: pd.DataFrame, name: str) -> pd.DataFrame:
    missing = [c for c in S.LINE_KEYS if c not in df.columns]
    if missing:
        raise ClaimsSchemaError(
            f"{name} lacks the key columns {missing}; columns present: "
            f"{list(df.columns)}. Scores and outcomes are joined on "
            f"{list(S.LINE_KEYS)}.",
            missing=missing,
        )
    out = df.copy()
    out[S.CLAIM_ID] = out[S.CLAIM_ID].astype("string")
    out[S.LINE_NUMBER] = pd.to_numeric(out[S.LINE_NUMBER], errors="coerce").astype(
        "Int64"
    )
    return out


def _coerce_outcomes(df: pd.DataFrame) -> pd.DataFrame:
    """Outcome columns read from CSV/Parquet as text -> canonical dtypes."""
    out = df.copy()
    if S.ADJUDICATION_DATE in out and not pd.api.types.is_datetime64_any_dtype(
        out[S.ADJUDICATION_DATE].dtype
    ):
        out[S.ADJUDICATION_DATE] = pd.to_datetime(
            out[S.ADJUDICATION_DATE], errors="coerce", format="mixed"
        )
    for col in (S.ALLOWED_AMOUNT, S.PAID_AMOUNT):
        if col in out and not pd.api.types.is_float_dtype(out[col].dtype):
            out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
    if S.ADJUSTMENT_CODES in out:
        out[S.ADJUSTMENT_CODES] = S.parse_list_column(out[S.ADJUSTMENT_CODES])
    for col in (S.DENIED, S.PENDING):
        if col in out and not pd.api.types.is_bool_dtype(out[col].dtype):
            text = out[col].astype("string").str.strip().str.lower()
            out[col] = text.map({"true": True, "1": True, "false": False, "0": False})
            out[col] = out[col].astype("boolean")
    return out


def _metrics(y: np.ndarray, p: np.ndarray, n_bins: int) -> dict:
    m = denial_metrics(y, p, n_bins=n_bins) if y.size else {"n": 0}
    keep = ("roc_auc", "pr_auc", "brier", "log_loss", "ece")
    out = {k: _clean(m.get(k, float("nan"))) for k in keep}
    out["evaluable"] = int(y.size)
    out["denied"] = int(y.sum())
    out["denial_rate"] = _clean(y.mean()) if y.size else None
    out["mean_score"] = _clean(p.mean()) if p.size else None
    return out


def _clean(v):
    if v is None:
        return None
    if isinstance(v, float | np.floating):
        return None if np.isnan(v) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


def realized_performance(
    scored: pd.DataFrame,
    outcomes: pd.DataFrame | None = None,
    *,
    n_bins: int = 10,
    reference=None,
) -> RealizedPerformance:
    """Join scores with later outcomes by line key; AUC and calibration by month.

    Parameters
    ----------
    scored : pandas.DataFrame
        Output of scoring: ``claim_id``, ``line_number``,
        ``denial_probability`` and (for the monthly view)
        ``date_of_service`` or ``scored_at``. Rows without a probability
        (lines of other codes) are counted as ``not_scored`` and left out.
    outcomes : pandas.DataFrame, optional
        Later claims/remittances with the line keys and either ``denied`` /
        ``pending`` or the outcome columns (``adjudication_date``,
        ``paid_amount``, ``adjustment_codes``) from which they are derived.
        When omitted, ``scored`` must carry the outcomes itself.
    n_bins : int
        Bins of the calibration error and table.
    reference : ptdenial.reference.Reference, optional
        Used to derive outcomes.

    Returns
    -------
    RealizedPerformance

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.monitoring import realized_performance
    >>> scored = pd.DataFrame({"claim_id": ["C1", "C2", "C3", "C4"],
    ...                        "line_number": [1, 1, 1, 1],
    ...                        "denial_probability": [0.9, 0.2, 0.1, 0.5],
    ...                        "date_of_service": pd.to_datetime(["2025-01-03"] * 4)})
    >>> outcomes = pd.DataFrame({"claim_id": ["C1", "C2", "C3", "C9"],
    ...                          "line_number": [1, 1, 1, 1],
    ...                          "denied": pd.array([True, False, None, False],
    ...                                             "boolean"),
    ...                          "pending": pd.array([False, False, True, False],
    ...                                              "boolean")})
    >>> r = realized_performance(scored, outcomes)
    >>> {k: r.summary[k] for k in ("scored", "matched", "no_outcome", "no_score",
    ...                             "pending", "evaluable")}
    {'scored': 4, 'matched': 3, 'no_outcome': 1, 'no_score': 1, 'pending': 1,
     'evaluable': 2}
    """
    sc = _key_frame(scored, "scored")
    if S.DENIAL_PROBABILITY not in sc.columns:
        raise ClaimsSchemaError(
            f"scored lacks {S.DENIAL_PROBABILITY!r}; pass the output of "
            "ptdenial scoring.",
            missing=[S.DENIAL_PROBABILITY],
        )
    sc[S.DENIAL_PROBABILITY] = pd.to_numeric(
        sc[S.DENIAL_PROBABILITY], errors="coerce"
    ).astype(float)
    if outcomes is None:
        oc = _coerce_outcomes(sc)
        sc = sc.drop(
            columns=[c for c in (S.DENIED, S.PENDING) if c in sc.columns],
            errors="ignore",
        )
    else:
        oc = _coerce_outcomes(_key_frame(outcomes, "outcomes"))
    if not (S.DENIED in oc.columns and S.PENDING in oc.columns):
        if S.ADJUDICATION_DATE not in oc.columns and S.DENIED not in oc.columns:
            raise ClaimsSchemaError(
                "outcomes carry neither denied/pending nor adjudication_date "
                "(with paid_amount and adjustment_codes); pass the remittance "
                "data of the scored lines.",
                missing=[S.ADJUDICATION_DATE],
            )
        oc = S.derive_outcomes(oc, reference=reference)
    n_scored_rows = len(sc)
    has_p = sc[S.DENIAL_PROBABILITY].notna().to_numpy()
    not_scored = int((~has_p).sum())
    sc = sc.loc[has_p]
    dup_scored = int(sc.duplicated(list(S.LINE_KEYS)).sum())
    sc = sc.drop_duplicates(list(S.LINE_KEYS), keep="last")
    # several remittances for a line (corrections): keep the latest adjudication
    if S.ADJUDICATION_DATE in oc.columns:
        oc = oc.sort_values(S.ADJUDICATION_DATE, kind="stable", na_position="first")
    dup_outcomes = int(oc.duplicated(list(S.LINE_KEYS)).sum())
    oc = oc.drop_duplicates(list(S.LINE_KEYS), keep="last")

    when_col = next(
        (c for c in (S.DATE_OF_SERVICE, S.SCORED_AT) if c in sc.columns), None
    )
    left = sc[[*S.LINE_KEYS, S.DENIAL_PROBABILITY]].copy()
    if when_col is not None:
        left[_MONTH] = (
            pd.to_datetime(sc[when_col]).dt.tz_localize(None)
            if getattr(pd.to_datetime(sc[when_col]).dt, "tz", None) is not None
            else pd.to_datetime(sc[when_col])
        )
    right_cols = [*S.LINE_KEYS, S.DENIED, S.PENDING]
    right = oc[right_cols].copy()
    if when_col is None and S.DATE_OF_SERVICE in oc.columns:
        right[_MONTH] = pd.to_datetime(oc[S.DATE_OF_SERVICE])
    joined = left.merge(right, on=list(S.LINE_KEYS), how="outer", indicator=True)
    joined["match"] = joined["_merge"].map(
        {"both": "matched", "left_only": "no_outcome", "right_only": "no_score"}
    )
    joined = joined.drop(columns="_merge")
    if _MONTH in joined.columns:
        joined[_MONTH] = joined[_MONTH].dt.to_period("M").dt.to_timestamp()
    matched = (joined["match"] == "matched").to_numpy()
    pending = joined[S.PENDING].fillna(True).to_numpy(dtype=bool)
    evaluable = matched & ~pending
    y = joined[S.DENIED].fillna(False).to_numpy(dtype=bool)
    p = joined[S.DENIAL_PROBABILITY].to_numpy(dtype=float, na_value=np.nan)

    summary = {
        "scored_rows": int(n_scored_rows),
        "not_scored": not_scored,
        "scored": int(has_p.sum()),
        "outcome_rows": int(len(oc)),
        "duplicate_scored_keys": dup_scored,
        "duplicate_outcome_keys": dup_outcomes,
        "matched": int(matched.sum()),
        "no_outcome": int((joined["match"] == "no_outcome").sum()),
        "no_score": int((joined["match"] == "no_score").sum()),
        "pending": int((matched & pending).sum()),
    }
    summary.update(_metrics(y[evaluable].astype(float), p[evaluable], n_bins))
    calib = calibration_table(y[evaluable].astype(float), p[evaluable], n_bins=n_bins)

    rows = []
    if _MONTH in joined.columns:
        months = joined[_MONTH].to_numpy()
        for month in sorted(pd.unique(joined[_MONTH].dropna())):
            sel = months == np.datetime64(month)
            ev = sel & evaluable
            row = {
                _MONTH: pd.Timestamp(month),
                "scored": int((sel & (joined["match"] != "no_score").to_numpy()).sum()),
                "matched": int((sel & matched).sum()),
                "no_outcome": int((sel & (joined["match"] == "no_outcome")).sum()),
                "no_score": int((sel & (joined["match"] == "no_score")).sum()),
                "pending": int((sel & matched & pending).sum()),
            }
            row.update(_metrics(y[ev].astype(float), p[ev], n_bins))
            rows.append(row)
    by_month = pd.DataFrame(rows)
    if not by_month.empty:
        metric_cols = ["roc_auc", "pr_auc", "brier", "log_loss", "ece"]
        metric_cols += ["denial_rate", "mean_score"]
        by_month[metric_cols] = by_month[metric_cols].astype(float)
    return RealizedPerformance(summary, by_month, calib, joined)


# --- retraining --------------------------------------------------------------------
def _card_validation_auc(card: dict | None):
    if not card:
        return None, None
    for key in ("validation_metrics", "test_metrics", "calibration_slice_metrics"):
        block = card.get(key)
        if isinstance(block, dict) and isinstance(block.get("model"), dict):
            block = block["model"]  # {scorer: metrics} as written by training
        if isinstance(block, dict) and block.get("roc_auc") is not None:
            return float(block["roc_auc"]), key
    return None, None


def _card_trained_through(card: dict | None):
    if not card:
        return None
    dates = []
    for key in ("training_window", "calibration_window"):
        window = card.get(key) or []
        dates += [pd.Timestamp(d) for d in window if d]
    return max(dates) if dates else None


def recommend_retraining(
    drift: pd.DataFrame | None = None,
    realized: RealizedPerformance | dict | None = None,
    *,
    card: dict | None = None,
    as_of=None,
    important_features=None,
    auc_drop: float = AUC_DROP_LIMIT,
    ece_limit: float = ECE_LIMIT,
    min_evaluable: int = 200,
    max_age_days: int = 365,
    share_drifted: float = 0.25,
) -> dict:
    """Turn drift, realized performance and the billing calendar into a decision.

    Triggers of ``retrain``:

    * significant PSI (>= 0.25) on the whole score, or on an important feature
      (``important_features``, else the card's ``top_features``), or on at
      least ``share_drifted`` of all profiled features;
    * realized AUC more than ``auc_drop`` below the card's validation AUC
      (with at least ``min_evaluable`` adjudicated lines);
    * realized calibration error (ECE) above ``ece_limit``;
    * a new calendar year since the training data ended (new KX threshold;
      yearly fee schedule and code changes);
    * a model older than ``max_age_days``.

    ``watch`` reasons (reported, no retrain on their own): moderate PSI on the
    score, significant PSI on the score of one segment (e.g. a payer class:
    look at that payer's recent denials; the realized calibration decides),
    significant PSI on other features, a new calendar quarter since
    training (the CMS NCCI PTP and MUE files change quarterly: load the new
    files into the reference tables; retrain if the edits that matter
    changed), too few adjudicated lines to judge performance.

    Parameters
    ----------
    drift : pandas.DataFrame, optional
        Output of :func:`drift_table`.
    realized : RealizedPerformance or dict, optional
        Output of :func:`realized_performance` (or its ``summary``).
    card : dict, optional
        The model card (``model.card_``): validation metrics and windows.
    as_of : date-like, optional
        The monitoring date (today by default).
    important_features : iterable of str, optional
    auc_drop, ece_limit : float
    min_evaluable : int
    max_age_days : int
    share_drifted : float

    Returns
    -------
    dict
        ``retrain`` (bool), ``reasons`` (list of dicts with ``trigger``,
        ``severity`` (``retrain``/``watch``) and ``detail``), ``checks``
        (the values looked at) and ``as_of``.

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.monitoring import recommend_retraining
    >>> drift = pd.DataFrame({"feature": ["denial_probability", "units"],
    ...                       "kind": ["score", "numeric"], "psi": [0.31, 0.02],
    ...                       "status": ["significant", "stable"]})
    >>> card = {"training_window": ["2024-01-01", "2024-09-30"],
    ...         "calibration_window": ["2024-10-01", "2024-12-31"]}
    >>> rec = recommend_retraining(drift, card=card, as_of="2025-01-15")
    >>> rec["retrain"], [r["trigger"] for r in rec["reasons"]]
    (True, ['score_drift', 'new_kx_year', 'new_ncci_quarter'])
    """
    as_of = pd.Timestamp(
        as_of if as_of is not None else pd.Timestamp.today()
    ).normalize()
    reasons: list[dict] = []
    checks: dict = {}

    def reason(trigger, severity, detail):
        reasons.append({"trigger": trigger, "severity": severity, "detail": detail})

    if drift is not None and len(drift):
        score = drift.loc[drift["kind"] == "score"]
        if len(score):
            psi = _clean(score["psi"].iloc[0])
            status = score["status"].iloc[0]
            checks["score_psi"] = psi
            if status == "significant":
                reason(
                    "score_drift",
                    "retrain",
                    f"PSI of the score is {psi:.3f} (>= {PSI_SIGNIFICANT}): the "
                    "risk mix of new lines differs from training.",
                )
            elif status == "moderate":
                reason(
                    "score_drift",
                    "watch",
                    f"PSI of the score is {psi:.3f} "
                    f"({PSI_MODERATE}-{PSI_SIGNIFICANT}).",
                )
        segs = drift.loc[
            (drift["kind"] == "score_segment") & (drift["status"] == "significant")
        ]
        checks["segments_significant"] = segs["feature"].tolist()
        if len(segs):
            # a payer class's scores can move with the season or the case mix
            # (measured on unchanged generator worlds: PSI up to 0.5 on a few
            # hundred lines); the outcomes decide, see realized performance
            reason(
                "segment_drift",
                "watch",
                "the scores of some segments moved significantly (a payer "
                "policy change?): "
                + ", ".join(
                    f"{f} PSI {p:.2f}"
                    for f, p in zip(segs["feature"], segs["psi"], strict=True)
                ),
            )
        feats = drift.loc[~drift["kind"].isin(["score", "score_segment"])]
        sig = feats.loc[feats["status"] == "significant", "feature"].tolist()
        judged = feats.loc[feats["status"].isin(["stable", "moderate", "significant"])]
        checks["features_significant"] = sig
        checks["features_judged"] = int(len(judged))
        important = set(important_features or (card or {}).get("top_features") or [])
        hit_important = [f for f in sig if f in important]
        if hit_important:
            reason(
                "feature_drift",
                "retrain",
                "significant PSI on important features: " + ", ".join(hit_important),
            )
        elif len(judged) and len(sig) >= share_drifted * len(judged):
            reason(
                "feature_drift",
                "retrain",
                f"{len(sig)} of {len(judged)} features drifted significantly: "
                + ", ".join(sig[:8]),
            )
        elif sig:
            reason(
                "feature_drift",
                "watch",
                "significant PSI on: " + ", ".join(sig[:8]),
            )
        whole = drift.loc[drift["kind"] != "score_segment"]
        if (whole["status"] == "insufficient_data").any():
            reason(
                "small_batch",
                "watch",
                f"batch has {int(whole['n_current'].max())} rows: too few to judge "
                "drift.",
            )

    summary = (
        realized.summary if isinstance(realized, RealizedPerformance) else realized
    )
    if summary:
        n_eval = int(summary.get("evaluable") or 0)
        checks["evaluable"] = n_eval
        checks["realized_auc"] = summary.get("roc_auc")
        checks["realized_ece"] = summary.get("ece")
        base_auc, source = _card_validation_auc(card)
        checks["validation_auc"] = base_auc
        if n_eval < min_evaluable:
            reason(
                "few_outcomes",
                "watch",
                f"only {n_eval} scored lines have outcomes (< {min_evaluable}); "
                "performance not judged.",
            )
        else:
            auc = summary.get("roc_auc")
            if auc is not None and base_auc is not None and base_auc - auc > auc_drop:
                reason(
                    "auc_drop",
                    "retrain",
                    f"realized AUC {auc:.3f} is {base_auc - auc:.3f} below the "
                    f"card's {source} AUC {base_auc:.3f} (limit {auc_drop}).",
                )
            ece = summary.get("ece")
            if ece is not None and ece > ece_limit:
                reason(
                    "calibration",
                    "retrain",
                    f"realized calibration error (ECE) {ece:.3f} > {ece_limit}: "
                    "probabilities no longer match observed denial rates.",
                )

    trained = _card_trained_through(card)
    if trained is not None:
        checks["trained_through"] = str(trained.date())
        age = int((as_of - trained).days)
        checks["model_age_days"] = age
        if as_of.year > trained.year:
            reason(
                "new_kx_year",
                "retrain",
                f"data ends in {trained.year}, now {as_of.year}: new KX threshold "
                "and yearly fee-schedule/code changes.",
            )
        elif age > max_age_days:
            reason(
                "model_age",
                "retrain",
                f"the training data ended {age} days ago (> {max_age_days}).",
            )
        if as_of.to_period("Q") > trained.to_period("Q"):
            reason(
                "new_ncci_quarter",
                "watch",
                f"{as_of.to_period('Q')} NCCI PTP/MUE files replace those of "
                f"{trained.to_period('Q')}: load them into the reference tables; "
                "retrain if the edits that matter changed.",
            )

    return {
        "retrain": any(r["severity"] == "retrain" for r in reasons),
        "reasons": reasons,
        "checks": checks,
        "as_of": str(as_of.date()),
    }


# --- backtesting ------------------------------------------------------------------
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


# --- model helpers (duck-typed) --------------------------------------------------
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
    cpt_code: str | None = _SCORED_CODE,
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
        ``recommendation`` (dict), ``scores`` (DataFrame of keys + probability).
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
    drift = drift_table(profile, Xf, p, segments=segments, min_rows=min_rows)
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
