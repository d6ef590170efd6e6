"""The history snapshot on a scoring night: refresh it, and say how old it is.

The model's history features (denial rates per payer x code, provider,
clinic, patient) come from the outcomes in its snapshot. A snapshot that is
not refreshed grows older night after night: its recent windows thin out
and new patients have no history. :func:`refresh_snapshot` replaces it by
a newer outcomes export for one run (``ptdenial score --history``);
:func:`snapshot_status` gives its age on the night, for the manifest, the
report and a warning above ``ScoringConfig.max_snapshot_age_days``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from ptdenial.exceptions import PtdenialError
from ptdenial.io import file_sha256, read_claims, write_table
from ptdenial.scoring._output import _default_side_path

logger = logging.getLogger("ptdenial.scoring")


def _snapshot_card(model) -> dict:
    card = getattr(model, "card_", {}) or {}
    snap = card.get("history_snapshot")
    if snap is None:  # a model whose card predates the entry: read the encoder
        enc = model.features_.history_encoder
        snap = {"last_outcome_date": getattr(enc, "last_outcome_date_", None)}
    return snap


def snapshot_status(model, as_of, *, max_age_days: int, source=None) -> dict:
    """The history snapshot's age on the night, and whether it is stale.

    Parameters
    ----------
    model : ptdenial.model.DenialRiskModel
        Fitted (possibly refreshed).
    as_of : date-like
        The scoring night.
    max_age_days : int
        Age above which the snapshot is ``stale``.
    source : dict, optional
        The outcomes file it was refreshed from for this run.

    Returns
    -------
    dict
        ``last_outcome_date`` (newest adjudication it knows), ``age_days``
        (the night minus that date), ``max_age_days``, ``stale``,
        ``refreshed`` (from ``--history`` tonight or by ``ptdenial
        refresh``), ``source`` and ``message`` (a sentence for people, empty
        when fresh).
    """
    snap = _snapshot_card(model)
    last = snap.get("last_outcome_date")
    night = pd.Timestamp(as_of).normalize()
    age = None if last is None else int((night - pd.Timestamp(last)).days)
    stale = age is None or age > max_age_days
    status = {
        "last_outcome_date": last,
        "age_days": age,
        "max_age_days": int(max_age_days),
        "stale": bool(stale),
        "refreshed": bool(source is not None or snap.get("refreshed", False)),
        "source": source,
        "message": "",
    }
    if stale:
        known = "no outcome at all" if last is None else f"outcomes up to {last}"
        status["message"] = (
            f"The model's history snapshot knows {known}"
            + ("" if age is None else f", {age} days before this run")
            + f" (more than {max_age_days}): recent denial rates are thin or "
            "old and new patients have no history. Refresh it with the latest "
            "outcomes: `ptdenial score ... --history OUTCOMES` for this run, or "
            "`ptdenial refresh MODEL --history OUTCOMES --out NEW_MODEL`."
        )
    return status


def read_history(path, *, as_of, quarantine=None, default_like=None):
    """Read and validate an outcomes export; quarantine its failing rows.

    Parameters
    ----------
    path : str or Path
        Parquet file or folder, or CSV: claims with outcome columns.
    as_of : date-like
        Run date (dates after it are implausible).
    quarantine : str or Path, optional
        Where failing rows go; by default, when rows fail, beside
        ``default_like`` as ``<stem>.history-quarantine.<suffix>``.
    default_like : str or Path, optional
        The run's scored output, for the default quarantine path.

    Returns
    -------
    valid : pandas.DataFrame
    info : dict
        ``path``, ``sha256``, ``rows``, ``quarantined`` and ``quarantine``
        (path written, or None).
    """
    from ptdenial.schema import validate_claims

    files_path = Path(path)
    raw = read_claims(files_path)
    valid, quar = validate_claims(raw, source=str(files_path), run_date=as_of)
    info = {
        "path": str(files_path),
        "sha256": file_sha256(files_path) if files_path.is_file() else None,
        "rows": int(len(raw)),
        "quarantined": int(len(quar)),
        "quarantine": None,
    }
    if len(quar):
        if quarantine is None and default_like is not None:
            quarantine = _default_side_path(Path(default_like), "history-quarantine")
        if quarantine is not None:
            write_table(quar, Path(quarantine))
            info["quarantine"] = str(quarantine)
        logger.warning(
            "%s: %d of %d outcome rows quarantined%s",
            files_path,
            len(quar),
            len(raw),
            f" (written to {quarantine})" if quarantine is not None else "",
        )
    return valid, info


def refresh_snapshot(model, history: pd.DataFrame):
    """A copy of ``model`` whose history snapshot is ``history``'s outcomes.

    The trees and the calibrator are unchanged (no retraining): only the
    history features see the newer outcomes. Raises a clear error when the
    table has no adjudicated line.

    Parameters
    ----------
    model : ptdenial.model.DenialRiskModel
    history : pandas.DataFrame
        Validated claims with outcome columns.

    Returns
    -------
    ptdenial.model.DenialRiskModel
    """
    new = model.with_history(history)
    if new.card_["history_snapshot"]["adjudicated_lines"] == 0:
        raise PtdenialError(
            "The outcomes given to refresh the history have no adjudicated line "
            "(adjudication_date and paid_amount/adjustment_codes, or denied). "
            "Give the practice's history export with its remittance columns."
        )
    return new
