"""One bucket of the streaming job, scored by whichever process takes it.

:func:`score_bucket` reads a spilled bucket back, runs
:func:`~ptdenial.scoring.score_batch` and keeps what the run needs from it:
the scored part and the quarantine go to Arrow IPC files in the run's
scratch folder, and a :class:`BucketOut` carries the rest (counts, the
scores and drift sample for the report, the worklist candidates). The job
merges the outs in bucket order, so the run's outputs do not depend on
which process scored which bucket.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial.scoring._batch import BatchResult, _words, score_batch
from ptdenial.scoring._output import _quarantine_arrow
from ptdenial.scoring._stream import _bucket_frame, _valid_slots, _write_ipc
from ptdenial.scoring._timing import StageTimer
from ptdenial.scoring._worklist import _Worklist


@dataclasses.dataclass
class BucketState:
    """What a process needs to score buckets of one run (all of it picklable).

    ``model`` and ``explainer`` are set in the process that scores.
    """

    plan: object
    files: list
    schema: object
    workdir: Path
    config: object
    as_of: pd.Timestamp
    stamp: pd.Timestamp
    claims: str
    file_starts: np.ndarray
    drift_step: int
    model: object = None
    explainer: object = None


@dataclasses.dataclass
class BucketOut:
    """What the job keeps of one bucket besides its files."""

    k: int
    timings: dict
    s_path: Path | None = None
    q_path: Path | None = None
    tally: dict | None = None
    candidates: tuple | None = None


def _counts(values: pd.Series) -> dict:
    """Lines per distinct value (counted on the codes, not the texts)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    n = np.bincount(codes[codes >= 0], minlength=len(uniques))
    return {str(u): int(c) for u, c in zip(uniques, n, strict=True) if c}


def tally_part(result: BatchResult, slots, drift_step: int) -> dict:
    """The counts of one batch, and its scores and drift sample for the report.

    ``slots`` is the slot of each valid line (the drift sample picks lines by
    slot, so it does not depend on the batches).
    """
    scored = result.scored
    part = {
        "valid": len(scored),
        "quarantined": len(result.quarantine),
        "bands": _counts(scored[S.RISK_BAND]),
        "explained": _counts(result.context["explanation"]),
        "rule_counts": {},
        "rule_hits": len(result.hits),
        "scored_97112": len(result.features),
        "q_summary": {},
    }
    if len(result.hits):
        part["rule_counts"] = result.hits.groupby("rule_id")["pos"].nunique().to_dict()
    q = result.quarantine
    if len(q):
        part["q_summary"] = q.groupby([S.Q_COLUMN, S.Q_CHECK]).size().to_dict()
    feats = result.features
    if len(feats):
        at = feats.index.to_numpy()
        part["scores"] = scored[S.DENIAL_PROBABILITY].to_numpy(
            dtype=np.float32, na_value=np.nan
        )[at]
        part["segments"] = _words(result.claims[S.PAYER_CLASS].iloc[feats.index], "")
        keep = slots[at] % drift_step == 0
        if keep.any():
            part["drift"] = feats.loc[keep].reset_index(drop=True)
    return part


def _name_sources(state: BucketState, q: pd.DataFrame) -> None:
    """With several input files, each quarantined row names its own file."""
    if len(state.files) > 1:
        rows = q[S.SOURCE_ROW].to_numpy(dtype=np.int64)
        which = np.searchsorted(state.file_starts, rows, "right") - 1
        names = np.asarray([str(f) for f in state.files], object)
        q[S.Q_SOURCE] = names[which]


def keep_bucket(state: BucketState, k: int, result: BatchResult, raw, src) -> BucketOut:
    """Spill a batch's scored and quarantined rows; keep counts and candidates.

    The candidates carry every line of their patients with a claim edit
    (every line of a patient is in this batch), so the worklist values the
    fixes of its final lines once (``timings`` holds the ``fix_value``
    seconds).
    """
    out = BucketOut(k=k, timings={})
    q = result.quarantine
    if len(q):
        _name_sources(state, q)
        out.q_path = _write_ipc(
            state.workdir / f"q-{k}.arrow", _quarantine_arrow(q), compress=False
        )
    out.s_path = _write_ipc(state.workdir / f"s-{k}.arrow", result.arrow, compress=True)
    slots = None
    if len(result.features):  # the drift sample picks lines by slot
        slots = _valid_slots(result, raw, state.plan.slot, src)
    out.tally = tally_part(result, slots, state.drift_step)
    pool = _Worklist(
        state.config.worklist_top, fix_model=state.model, config=state.config
    )
    out.candidates = pool.candidates(result, k)
    out.timings = pool.timer.seconds
    return out


def score_bucket(state: BucketState, k: int) -> BucketOut:
    """Read bucket ``k`` back, score it and keep what the run needs."""
    timer = StageTimer()
    with timer.stage("read_batches"):
        raw, src = _bucket_frame(
            k, state.plan, state.files, state.schema, state.workdir,
            state.config.batch_rows,
        )  # fmt: skip
    if not len(raw):
        return BucketOut(k=k, timings=timer.seconds)
    result = score_batch(
        state.model, raw, config=state.config, as_of=state.as_of,
        scored_at=state.stamp, source_rows=src, source=state.claims,
        explainer=state.explainer,
    )  # fmt: skip
    timer.merge(result.timings)
    with timer.stage("bookkeeping"):
        out = keep_bucket(state, k, result, raw, src)
    # carrying the worklist candidates' patients is timed with the fixes
    fix = out.timings.get("fix_value", 0.0)
    timer.add("bookkeeping", -fix)
    timer.add("fix_value", fix)
    out.timings = timer.seconds
    return out
