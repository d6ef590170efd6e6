"""Retraining advice: drift, realized performance and the billing calendar.

Each trigger is one function reading the evidence (:class:`_Evidence`) and
returning the reasons it found and the figures it looked at
(:class:`_Finding`). :func:`recommend_retraining` runs them in a fixed order
(:data:`_TRIGGERS`) and gathers the result in a :class:`RetrainingAdvice`.
"""

from __future__ import annotations

import dataclasses
from enum import StrEnum

import pandas as pd

from ptdenial._utils import jsonable
from ptdenial.evaluation import PSI_MODERATE, PSI_SIGNIFICANT
from ptdenial.monitoring._realized import RealizedPerformance

#: Expected calibration error above this calls for recalibration/retraining.
ECE_LIMIT = 0.05
#: Realized AUC this far below the model card's validation AUC calls for retraining.
AUC_DROP_LIMIT = 0.05


class Severity(StrEnum):
    """How strongly a reason speaks: ``retrain`` now, ``refresh`` the history
    snapshot, or ``watch``."""

    RETRAIN = "retrain"
    REFRESH = "refresh"
    WATCH = "watch"


class Trigger(StrEnum):
    """What a reason is about (the ``trigger`` of ``recommendation.json``)."""

    SCORE_DRIFT = "score_drift"
    SEGMENT_DRIFT = "segment_drift"
    FEATURE_DRIFT = "feature_drift"
    SMALL_BATCH = "small_batch"
    FEW_OUTCOMES = "few_outcomes"
    AUC_DROP = "auc_drop"
    CALIBRATION = "calibration"
    NEW_KX_YEAR = "new_kx_year"
    MODEL_AGE = "model_age"
    NEW_NCCI_QUARTER = "new_ncci_quarter"
    SNAPSHOT_AGE = "snapshot_age"


#: Retrain reasons a stale history snapshot can cause: with a stale snapshot
#: the advice is to refresh first (``ptdenial refresh``) and look again.
_REFRESH_FIRST = frozenset(
    {Trigger.SCORE_DRIFT, Trigger.FEATURE_DRIFT, Trigger.CALIBRATION}
)
#: Default age (days) above which the history snapshot should be refreshed.
MAX_SNAPSHOT_AGE_DAYS = 45


@dataclasses.dataclass(frozen=True)
class RetrainingReason:
    """One reason of a :class:`RetrainingAdvice`.

    Attributes
    ----------
    trigger : Trigger
        What fired (``"score_drift"``, ``"calibration"``, ``"new_kx_year"`` ...).
    severity : Severity
        ``"retrain"`` or ``"watch"``.
    detail : str
        The figures behind it, in a sentence for the operator.
    """

    trigger: Trigger
    severity: Severity
    detail: str

    def to_dict(self) -> dict:
        """``{"trigger", "severity", "detail"}`` as plain strings."""
        return {
            "trigger": str(self.trigger),
            "severity": str(self.severity),
            "detail": self.detail,
        }


@dataclasses.dataclass(frozen=True)
class RetrainingAdvice:
    """The result of :func:`recommend_retraining`.

    Attributes
    ----------
    action : {"retrain", "refresh", "watch", "keep"}
        ``"retrain"`` when a reason says so and a refresh cannot explain it;
        ``"refresh"`` when the model's history snapshot is stale (refresh it
        with ``ptdenial refresh`` or ``ptdenial score --history``, then look
        again: drift of the score or features and a poor calibration are
        what a stale snapshot causes); ``"watch"`` when there are only watch
        reasons; ``"keep"`` when nothing fired.
    reasons : tuple of RetrainingReason
        In the order the triggers run: drift of the score, of segments, of
        features, batch size, realized performance, calendar.
    figures : dict
        The values looked at (``score_psi``, ``features_significant``,
        ``realized_auc``, ``validation_auc``, ``model_age_days`` ...); a
        figure is present only when its input was given.
    as_of : str
        The monitoring date (ISO).

    Notes
    -----
    :meth:`to_dict` is the JSON written to ``recommendation.json``. Reading
    an item (``advice["retrain"]``, ``advice["reasons"]``) reads that dict,
    so code written for the dict that ``recommend_retraining`` used to return
    keeps working.
    """

    action: str
    reasons: tuple[RetrainingReason, ...]
    figures: dict
    as_of: str

    @property
    def retrain(self) -> bool:
        """True when at least one reason calls for retraining."""
        return self.action == "retrain"

    def to_dict(self) -> dict:
        """``retrain`` (bool), ``action``, ``reasons`` (list of dicts), ``checks``,
        ``as_of``."""
        return {
            "retrain": self.retrain,
            "action": self.action,
            "reasons": [r.to_dict() for r in self.reasons],
            "checks": dict(self.figures),
            "as_of": self.as_of,
        }

    def __getitem__(self, key: str):
        return self.to_dict()[key]


def retraining_verdict(advice) -> str:
    """The recommendation in words: ``"RETRAIN"``, ``"REFRESH ..."`` or
    ``"no retraining needed"``.

    The one wording of the verdict, for the CLI, the monitoring page and
    notebooks.

    Parameters
    ----------
    advice : RetrainingAdvice or dict
        The advice, or its :meth:`RetrainingAdvice.to_dict`.

    Returns
    -------
    str

    Examples
    --------
    >>> from ptdenial.monitoring import retraining_verdict
    >>> retraining_verdict({"retrain": False, "reasons": []})
    'no retraining needed'
    >>> retraining_verdict({"retrain": False, "action": "refresh", "reasons": []})
    'REFRESH the history snapshot (ptdenial refresh), no retraining yet'
    """
    if hasattr(advice, "to_dict"):
        advice = advice.to_dict()
    if advice["retrain"]:
        return "RETRAIN"
    if advice.get("action") == "refresh":
        return "REFRESH the history snapshot (ptdenial refresh), no retraining yet"
    return "no retraining needed"


@dataclasses.dataclass(frozen=True)
class _Evidence:
    """Everything the triggers read, and their limits."""

    drift: pd.DataFrame | None
    summary: dict | None
    card: dict | None
    as_of: pd.Timestamp
    important: frozenset
    auc_drop: float
    ece_limit: float
    min_evaluable: int
    max_age_days: int
    share_drifted: float
    max_snapshot_age_days: int = MAX_SNAPSHOT_AGE_DAYS


@dataclasses.dataclass
class _Finding:
    """What one trigger found: its reasons and the figures it looked at."""

    reasons: list = dataclasses.field(default_factory=list)
    figures: dict = dataclasses.field(default_factory=dict)

    def add(self, trigger: Trigger, severity: Severity, detail: str) -> None:
        self.reasons.append(RetrainingReason(trigger, severity, detail))


def _has_drift(ev: _Evidence) -> bool:
    return ev.drift is not None and len(ev.drift) > 0


def _score_drift(ev: _Evidence) -> _Finding:
    """Significant PSI of the whole score: retrain; moderate: watch."""
    found = _Finding()
    if not _has_drift(ev):
        return found
    score = ev.drift.loc[ev.drift["kind"] == "score"]
    if not len(score):
        return found
    psi = jsonable(score["psi"].iloc[0])
    status = score["status"].iloc[0]
    found.figures["score_psi"] = psi
    if status == "significant":
        found.add(
            Trigger.SCORE_DRIFT,
            Severity.RETRAIN,
            f"PSI of the score is {psi:.3f} (>= {PSI_SIGNIFICANT}): the "
            "risk mix of new lines differs from training.",
        )
    elif status == "moderate":
        found.add(
            Trigger.SCORE_DRIFT,
            Severity.WATCH,
            f"PSI of the score is {psi:.3f} ({PSI_MODERATE}-{PSI_SIGNIFICANT}).",
        )
    return found


def _segment_drift(ev: _Evidence) -> _Finding:
    """Significant PSI of one segment's scores (a payer class): watch.

    A payer class's scores can move with the season or the case mix
    (measured on unchanged generator worlds: PSI up to 0.5 on a few hundred
    lines); the outcomes decide, see realized performance.
    """
    found = _Finding()
    if not _has_drift(ev):
        return found
    drift = ev.drift
    segs = drift.loc[
        (drift["kind"] == "score_segment") & (drift["status"] == "significant")
    ]
    found.figures["segments_significant"] = segs["feature"].tolist()
    if len(segs):
        found.add(
            Trigger.SEGMENT_DRIFT,
            Severity.WATCH,
            "the scores of some segments moved significantly (a payer "
            "policy change?): "
            + ", ".join(
                f"{f} PSI {p:.2f}"
                for f, p in zip(segs["feature"], segs["psi"], strict=True)
            ),
        )
    return found


def _feature_drift(ev: _Evidence) -> _Finding:
    """Significant PSI on an important feature or on many features: retrain.

    On a few features only: watch.
    """
    found = _Finding()
    if not _has_drift(ev):
        return found
    feats = ev.drift.loc[~ev.drift["kind"].isin(["score", "score_segment"])]
    sig = feats.loc[feats["status"] == "significant", "feature"].tolist()
    judged = feats.loc[feats["status"].isin(["stable", "moderate", "significant"])]
    found.figures["features_significant"] = sig
    found.figures["features_judged"] = int(len(judged))
    hit_important = [f for f in sig if f in ev.important]
    if hit_important:
        found.add(
            Trigger.FEATURE_DRIFT,
            Severity.RETRAIN,
            "significant PSI on important features: " + ", ".join(hit_important),
        )
    elif len(judged) and len(sig) >= ev.share_drifted * len(judged):
        found.add(
            Trigger.FEATURE_DRIFT,
            Severity.RETRAIN,
            f"{len(sig)} of {len(judged)} features drifted significantly: "
            + ", ".join(sig[:8]),
        )
    elif sig:
        found.add(
            Trigger.FEATURE_DRIFT,
            Severity.WATCH,
            "significant PSI on: " + ", ".join(sig[:8]),
        )
    return found


def _small_batch(ev: _Evidence) -> _Finding:
    """A batch too small to judge drift: watch."""
    found = _Finding()
    if not _has_drift(ev):
        return found
    whole = ev.drift.loc[ev.drift["kind"] != "score_segment"]
    if (whole["status"] == "insufficient_data").any():
        found.add(
            Trigger.SMALL_BATCH,
            Severity.WATCH,
            f"batch has {int(whole['n_current'].max())} rows: too few to judge drift.",
        )
    return found


def _realized(ev: _Evidence) -> _Finding:
    """Realized AUC well below the card's, or a large ECE: retrain.

    With fewer than ``min_evaluable`` adjudicated lines nothing is judged
    (watch).
    """
    found = _Finding()
    summary = ev.summary
    if not summary:
        return found
    n_eval = int(summary.get("evaluable") or 0)
    base_auc, source = _card_validation_auc(ev.card)
    found.figures.update(
        evaluable=n_eval,
        realized_auc=summary.get("roc_auc"),
        realized_ece=summary.get("ece"),
        validation_auc=base_auc,
    )
    if n_eval < ev.min_evaluable:
        found.add(
            Trigger.FEW_OUTCOMES,
            Severity.WATCH,
            f"only {n_eval} scored lines have outcomes (< {ev.min_evaluable}); "
            "performance not judged.",
        )
        return found
    auc = summary.get("roc_auc")
    if auc is not None and base_auc is not None and base_auc - auc > ev.auc_drop:
        found.add(
            Trigger.AUC_DROP,
            Severity.RETRAIN,
            f"realized AUC {auc:.3f} is {base_auc - auc:.3f} below the "
            f"card's {source} AUC {base_auc:.3f} (limit {ev.auc_drop}).",
        )
    ece = summary.get("ece")
    if ece is not None and ece > ev.ece_limit:
        found.add(
            Trigger.CALIBRATION,
            Severity.RETRAIN,
            f"realized calibration error (ECE) {ece:.3f} > {ev.ece_limit}: "
            "probabilities no longer match observed denial rates.",
        )
    return found


def _calendar(ev: _Evidence) -> _Finding:
    """A new year (KX threshold) or an old model: retrain; a new quarter: watch."""
    found = _Finding()
    trained = _card_trained_through(ev.card)
    if trained is None:
        return found
    as_of = ev.as_of
    age = int((as_of - trained).days)
    found.figures.update(trained_through=str(trained.date()), model_age_days=age)
    if as_of.year > trained.year:
        found.add(
            Trigger.NEW_KX_YEAR,
            Severity.RETRAIN,
            f"data ends in {trained.year}, now {as_of.year}: new KX threshold "
            "and yearly fee-schedule/code changes.",
        )
    elif age > ev.max_age_days:
        found.add(
            Trigger.MODEL_AGE,
            Severity.RETRAIN,
            f"the training data ended {age} days ago (> {ev.max_age_days}).",
        )
    if as_of.to_period("Q") > trained.to_period("Q"):
        found.add(
            Trigger.NEW_NCCI_QUARTER,
            Severity.WATCH,
            f"{as_of.to_period('Q')} NCCI PTP/MUE files replace those of "
            f"{trained.to_period('Q')}: load them into the reference tables; "
            "retrain if the edits that matter changed.",
        )
    return found


def _snapshot(ev: _Evidence) -> _Finding:
    """A history snapshot older than ``max_snapshot_age_days``: refresh."""
    found = _Finding()
    snap = (ev.card or {}).get("history_snapshot") or {}
    last = snap.get("last_outcome_date")
    if last is None:
        return found
    age = int((ev.as_of - pd.Timestamp(last)).days)
    found.figures.update(snapshot_last_outcome=last, snapshot_age_days=age)
    if age > ev.max_snapshot_age_days:
        found.add(
            Trigger.SNAPSHOT_AGE,
            Severity.REFRESH,
            f"the model's history snapshot knows outcomes up to {last}, {age} days "
            f"ago (> {ev.max_snapshot_age_days}): refresh it with the latest "
            "outcomes (`ptdenial refresh MODEL --history OUTCOMES --out NEW`, or "
            "`ptdenial score ... --history OUTCOMES`), then monitor again; "
            "retrain only if drift or calibration persist.",
        )
    return found


#: The triggers, in the order their reasons and figures are reported.
_TRIGGERS = (
    _score_drift,
    _segment_drift,
    _feature_drift,
    _small_batch,
    _realized,
    _calendar,
    _snapshot,
)


def _action(reasons) -> str:
    """retrain > refresh > watch > keep; a stale snapshot comes first when it
    can explain every retrain reason."""
    severities = {r.severity for r in reasons}
    retrain = {r.trigger for r in reasons if r.severity == Severity.RETRAIN}
    if Severity.REFRESH in severities and retrain <= _REFRESH_FIRST:
        return "refresh"
    if retrain:
        return "retrain"
    if severities:
        return "watch"
    return "keep"


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
    max_snapshot_age_days: int = MAX_SNAPSHOT_AGE_DAYS,
) -> RetrainingAdvice:
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

    ``refresh`` (the action when it explains every retrain reason): the
    card's history snapshot (``history_snapshot.last_outcome_date``) is more
    than ``max_snapshot_age_days`` old on ``as_of``. A stale snapshot
    thins the recent history rates and leaves new patients without
    history, which moves the score and the calibration: refresh first
    (no retraining), then look again.

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
    max_snapshot_age_days : int

    Returns
    -------
    RetrainingAdvice
        ``action``, ``reasons`` (:class:`RetrainingReason`: ``trigger``,
        ``severity``, ``detail``), ``figures`` (the values looked at) and
        ``as_of``; :meth:`RetrainingAdvice.to_dict` gives the JSON form
        (``retrain``, ``reasons``, ``checks``, ``as_of``).

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.monitoring import recommend_retraining
    >>> drift = pd.DataFrame({"feature": ["denial_probability", "units"],
    ...                       "kind": ["score", "numeric"], "psi": [0.31, 0.02],
    ...                       "status": ["significant", "stable"]})
    >>> card = {"training_window": ["2024-01-01", "2024-09-30"],
    ...         "calibration_window": ["2024-10-01", "2024-12-31"]}
    >>> advice = recommend_retraining(drift, card=card, as_of="2025-01-15")
    >>> advice.action, [str(r.trigger) for r in advice.reasons]
    ('retrain', ['score_drift', 'new_kx_year', 'new_ncci_quarter'])
    >>> advice.to_dict()["retrain"], advice.figures["score_psi"]
    (True, 0.31)
    """
    when = as_of if as_of is not None else pd.Timestamp.today()
    evidence = _Evidence(
        drift=drift,
        summary=(
            realized.summary if isinstance(realized, RealizedPerformance) else realized
        ),
        card=card,
        as_of=pd.Timestamp(when).normalize(),
        important=frozenset(
            important_features or (card or {}).get("top_features") or []
        ),
        auc_drop=auc_drop,
        ece_limit=ece_limit,
        min_evaluable=min_evaluable,
        max_age_days=max_age_days,
        share_drifted=share_drifted,
        max_snapshot_age_days=max_snapshot_age_days,
    )
    reasons: list[RetrainingReason] = []
    figures: dict = {}
    for trigger in _TRIGGERS:
        found = trigger(evidence)
        reasons += found.reasons
        figures.update(found.figures)
    return RetrainingAdvice(
        action=_action(reasons),
        reasons=tuple(reasons),
        figures=figures,
        as_of=str(evidence.as_of.date()),
    )
