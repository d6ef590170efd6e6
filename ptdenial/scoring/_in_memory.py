"""Score an in-memory frame: one batch, then exact reasons for the worklist lines."""

from __future__ import annotations

import warnings

import pandas as pd

from ptdenial.config import ScoringConfig
from ptdenial.exceptions import DataQualityWarning
from ptdenial.explain import Explainer
from ptdenial.scoring._batch import _arrow_to_scored, score_batch
from ptdenial.scoring._worklist import _patch, _Worklist


def score_claims(
    model, claims: pd.DataFrame, *, config=None, as_of=None, scored_at=None
) -> pd.DataFrame:
    """Score an in-memory frame of claim lines (all lines of each visit included).

    One :func:`score_batch`, then the lines that reach the worklist get
    exact TreeSHAP reasons (as in :func:`score_file`). Rows that fail
    validation are left out of the result with a
    :class:`~ptdenial.exceptions.DataQualityWarning`; use :func:`score_batch`
    to get them.

    Parameters
    ----------
    model : ptdenial.model.DenialRiskModel
    claims : pandas.DataFrame
        Raw or validated claim lines.
    config : ScoringConfig, optional
    as_of : date-like, optional
    scored_at : timestamp-like, optional

    Returns
    -------
    pandas.DataFrame
        Columns :data:`ptdenial.schema.SCORED_COLUMNS`, one row per valid line.

    Examples
    --------
    >>> from ptdenial.datasets import load_sample_claims
    >>> from ptdenial.model import DenialRiskModel
    >>> from ptdenial.scoring import score_claims
    >>> history = load_sample_claims("history")
    >>> model = DenialRiskModel(n_estimators=30).fit(history)  # doctest: +SKIP
    >>> new = load_sample_claims("new_claims")
    >>> scored = score_claims(model, new, as_of="2026-01-01")
    >>> scored.columns.tolist()[5:8]
    ['denial_probability', 'risk_band', 'expected_loss']
    """
    config = config if config is not None else ScoringConfig()
    explainer = Explainer(model) if config.explain != "none" else None
    result = score_batch(
        model, claims, config=config, as_of=as_of, scored_at=scored_at,
        explainer=explainer,
    )  # fmt: skip
    if len(result.quarantine):
        warnings.warn(
            f"{len(result.quarantine)} of {len(claims)} rows failed validation and "
            "are not scored; score_batch returns them with their reasons.",
            DataQualityWarning,
            stacklevel=2,
        )
    pool = _Worklist(config.worklist_top)
    pool.add(result, 0)
    _, patches = pool.finish(model, explainer, config)
    return _arrow_to_scored(_patch(result.arrow, patches.get(0)))
