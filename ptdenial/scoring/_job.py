"""The nightly job behind ``ptdenial score``: stream a file, write every output.

:func:`score_file` is a short driver: check and hash the inputs, plan the
buckets (:mod:`ptdenial.scoring._stream`), then a :class:`_Run` spills the
rows, scores bucket by bucket with :func:`~ptdenial.scoring.score_batch`,
keeps the worklist's best lines and the counts, gives the worklist exact
reasons and writes the scored output, the quarantine and the worklist,
each atomically; last, the manifest. One :class:`StageTimer` records
``hash_inputs``, ``key_pass``, ``spill``, ``read_batches``, the batch
stages, ``bookkeeping``, ``worklist_exact``, ``write_outputs`` and
``total``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial.config import ScoringConfig
from ptdenial.explain import Explainer
from ptdenial.io import claim_files, file_sha256, table_format, write_json
from ptdenial.scoring._batch import (
    BatchResult,
    _run_dates,
    _words,
    score_batch,
    scored_arrow_schema,
)
from ptdenial.scoring._manifest import _manifest, _outputs
from ptdenial.scoring._output import (
    _default_side_path,
    _manifest_path,
    _quarantine_arrow,
    _write_quarantine,
    _write_tables,
)
from ptdenial.scoring._snapshot import read_history, refresh_snapshot, snapshot_status
from ptdenial.scoring._stream import (
    _bucket_frame,
    _file_columns,
    _plan,
    _read_ipc,
    _spill,
    _unified_schema,
    _valid_slots,
    _write_ipc,
)
from ptdenial.scoring._timing import StageTimer
from ptdenial.scoring._worklist import _patch, _Worklist, write_worklist

logger = logging.getLogger("ptdenial.scoring")


@dataclasses.dataclass
class ScoreRun:
    """What :func:`score_file` did.

    Attributes
    ----------
    manifest : dict
        The run manifest (also written as JSON beside the output).
    worklist : pandas.DataFrame
        The worklist (also written when a worklist path was given).
    scores : numpy.ndarray
        Denial probabilities of the scored 97112 lines (for the report).
    drift_features : pandas.DataFrame
        A deterministic sample of the 97112 lines' model features.
    rule_counts : pandas.Series
        Lines hit per rule id.
    quarantine_summary : pandas.DataFrame
        Quarantined rows per column and check.
    exit_code : int
        0 when every row was scored, 3 when rows were quarantined.
    score_segments : numpy.ndarray
        The payer class of each score in ``scores`` (drift per segment).
    """

    manifest: dict
    worklist: pd.DataFrame
    scores: np.ndarray
    drift_features: pd.DataFrame
    rule_counts: pd.Series
    quarantine_summary: pd.DataFrame
    exit_code: int
    score_segments: np.ndarray = dataclasses.field(
        default_factory=lambda: np.zeros(0, dtype=object)
    )


# --- what the run counts ------------------------------------------------------------
class _Tally:
    """Counts across batches (the manifest) and samples for the report."""

    def __init__(self, n_in: int, drift_sample_rows: int):
        self.counts = {"valid": 0, "quarantined": 0, "scored_97112": 0, "rule_hits": 0}
        self.bands = {"low": 0, "medium": 0, "high": 0, "not_scored": 0}
        self.explained = {"exact": 0, "approximate": 0, "rules": 0}
        self.rule_counts: dict = {}
        self.q_summary: dict = {}
        self.scores, self.segments, self.drift = [], [], []
        self.drift_step = max(1, int(np.ceil(n_in / 2 / max(drift_sample_rows, 1))))

    @staticmethod
    def _bump(counter: dict, items):
        for key, n in items:
            counter[key] = counter.get(key, 0) + int(n)

    def add(self, result: BatchResult, slots: np.ndarray):
        """Count one batch; ``slots``: the slot of each valid line (97112 lines)."""
        scored = result.scored
        self.counts["valid"] += len(scored)
        self.counts["quarantined"] += len(result.quarantine)
        bands = scored[S.RISK_BAND].value_counts()
        self._bump(self.bands, ((str(b), n) for b, n in bands.items()))
        explained = result.context["explanation"].value_counts()
        self._bump(self.explained, ((str(e), n) for e, n in explained.items()))
        if len(result.hits):
            per_rule = result.hits.groupby("rule_id")["pos"].nunique()
            self._bump(self.rule_counts, per_rule.items())
            self.counts["rule_hits"] += len(result.hits)
        feats = result.features
        self.counts["scored_97112"] += len(feats)
        if len(feats):
            self.scores.append(
                scored[S.DENIAL_PROBABILITY].to_numpy(
                    dtype=np.float32, na_value=np.nan
                )[feats.index.to_numpy()]
            )
            self.segments.append(
                _words(result.claims[S.PAYER_CLASS].iloc[feats.index], "")
            )
            keep = slots[feats.index.to_numpy()] % self.drift_step == 0
            if keep.any():
                self.drift.append(feats.loc[keep].reset_index(drop=True))

    def add_quarantine(self, q: pd.DataFrame):
        self._bump(self.q_summary, q.groupby([S.Q_COLUMN, S.Q_CHECK]).size().items())

    def made_exact(self, patches: dict):
        """Lines whose approximate reasons the worklist made exact."""
        for rows, _, _ in patches.values():
            self.explained["exact"] += len(rows)
            self.explained["approximate"] -= len(rows)


# --- the run ------------------------------------------------------------------------
def _progress(config, total, desc):
    on = config.progress == "on" or (
        config.progress == "auto"
        and hasattr(sys.stderr, "isatty")
        and sys.stderr.isatty()
    )
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="batch", disable=not on, leave=False)


@contextlib.contextmanager
def _scratch(folder: Path):
    """A temporary folder beside the output, removed however the run ends."""
    folder.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=".ptdenial-score-", dir=folder))
    try:
        yield workdir
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


class _Run:
    """The state of one :func:`score_file` run between the key pass and the manifest."""

    def __init__(self, model, *, claims, files, schema, plan, config, as_of, stamp,
                 timer):  # fmt: skip
        self.model, self.claims, self.files, self.schema = model, claims, files, schema
        self.plan, self.config, self.as_of, self.stamp = plan, config, as_of, stamp
        self.timer = timer
        self.explainer = Explainer(model) if config.explain != "none" else None
        self.pool = _Worklist(config.worklist_top)
        self.tally = _Tally(plan.n_in, config.drift_sample_rows)
        self.file_starts = np.concatenate([[0], np.cumsum(plan.file_rows)]).astype(
            np.int64
        )
        self.q_paths, self.s_paths = [], []

    def score(self, workdir: Path):
        """Spill the rows to their buckets, then score and keep bucket by bucket."""
        plan, timer = self.plan, self.timer
        with timer.stage("spill"):
            if plan.n_buckets > 1:
                _spill(
                    self.files, self.schema, plan, workdir,
                    batch_rows=self.config.batch_rows, claims=self.claims,
                )  # fmt: skip
        bar = _progress(self.config, plan.n_buckets, "scoring")
        for k in range(plan.n_buckets):
            with timer.stage("read_batches"):
                raw, src = _bucket_frame(
                    k, plan, self.files, self.schema, workdir, self.config.batch_rows
                )
            if len(raw):
                result = score_batch(
                    self.model, raw, config=self.config, as_of=self.as_of,
                    scored_at=self.stamp, source_rows=src, source=str(self.claims),
                    explainer=self.explainer,
                )  # fmt: skip
                timer.merge(result.timings)
                with timer.stage("bookkeeping"):
                    self._keep(k, result, raw, src, workdir)
            bar.update(1)
        bar.close()

    def _keep(self, k, result: BatchResult, raw, src, workdir: Path):
        """Spill the batch's scored and quarantined rows; count; offer to the pool."""
        q = result.quarantine
        if len(q):
            if len(self.files) > 1:
                rows = q[S.SOURCE_ROW].to_numpy(dtype=np.int64)
                which = np.searchsorted(self.file_starts, rows, "right") - 1
                names = np.asarray([str(f) for f in self.files], object)
                q[S.Q_SOURCE] = names[which]
            self.tally.add_quarantine(q)
            qt = _quarantine_arrow(q)
            qp = _write_ipc(workdir / f"q-{k}.arrow", qt, compress=False)
            self.q_paths.append(qp)
        path = _write_ipc(workdir / f"s-{k}.arrow", result.arrow, compress=True)
        self.s_paths.append((k, path))
        slots = None
        if len(result.features):  # the drift sample picks lines by slot
            slots = _valid_slots(result, raw, self.plan.slot, src)
        self.tally.add(result, slots)
        self.pool.add(result, k)

    def finish_worklist(self):
        """The worklist with exact reasons, and the patches of the scored parts."""
        with self.timer.stage("worklist_exact"):
            wl, patches = self.pool.finish(self.model, self.explainer, self.config)
            self.tally.counts["worklist"] = len(wl)
        self.tally.made_exact(patches)
        return wl, patches

    def write(self, out: Path, quarantine, worklist, wl, patches) -> dict:
        """Quarantine, scored output and worklist files; returns the outputs."""
        with self.timer.stage("write_outputs"):
            q_path = Path(quarantine) if quarantine is not None else None
            if q_path is None and self.tally.counts["quarantined"]:
                q_path = _default_side_path(out, "quarantine")
            if q_path is not None:
                _write_quarantine(self.q_paths, q_path)
            _write_tables(out, scored_arrow_schema(), self._scored_parts(patches))
            wl_paths = None
            if worklist is not None:
                wl_paths = write_worklist(
                    wl,
                    worklist,
                    title=f"ptdenial worklist, claims of {self.as_of.date()}",
                    subtitle=f"model {self.model.model_id}; "
                    f"{self.tally.counts['valid']:,} lines scored; "
                    f"top {self.config.worklist_top} by dollars at risk",
                )
        return _outputs(out, q_path, wl_paths)

    def _scored_parts(self, patches):
        for k, path in self.s_paths:
            yield _patch(_read_ipc(path), patches.get(k))
            path.unlink()

    def check_accounting(self):
        counts, n_in = self.tally.counts, self.plan.n_in
        if counts["valid"] + counts["quarantined"] != n_in:  # pragma: no cover
            raise AssertionError(
                f"row accounting failed: {n_in} in, {counts['valid']} scored, "
                f"{counts['quarantined']} quarantined"
            )

    def result(self, manifest: dict, wl: pd.DataFrame) -> ScoreRun:
        tally = self.tally
        drift = (
            pd.concat(tally.drift, ignore_index=True)
            if tally.drift
            else pd.DataFrame(columns=self.model.feature_names_)
        )
        qs = pd.DataFrame(
            [(c, k, n) for (c, k), n in sorted(tally.q_summary.items())],
            columns=[S.Q_COLUMN, S.Q_CHECK, "rows"],
        )
        rule_counts = pd.Series(tally.rule_counts, dtype=np.int64)
        return ScoreRun(
            manifest=manifest,
            worklist=wl,
            scores=np.concatenate(tally.scores)
            if tally.scores
            else np.zeros(0, np.float32),
            drift_features=drift,
            rule_counts=rule_counts.sort_values(ascending=False),
            quarantine_summary=qs,
            exit_code=3 if tally.counts["quarantined"] else 0,
            score_segments=np.concatenate(tally.segments)
            if tally.segments
            else np.zeros(0, dtype=object),
        )


# --- the job ------------------------------------------------------------------------
def score_file(
    model,
    claims,
    out,
    *,
    quarantine=None,
    worklist=None,
    config: ScoringConfig | None = None,
    as_of=None,
    scored_at=None,
    model_path=None,
    history=None,
    history_quarantine=None,
) -> ScoreRun:
    """The nightly job: stream a claims file, write scores, quarantine, worklist.

    The manifest's ``history_snapshot`` gives the age of the history the
    model scores with (days from its newest outcome to ``as_of``); above
    ``config.max_snapshot_age_days`` the job logs a warning (stderr) and the
    report shows it. ``history`` refreshes the snapshot for this run.

    Parameters
    ----------
    model : ptdenial.model.DenialRiskModel
    claims : str or Path
        Parquet file, folder of Parquet files, or CSV (``.csv``/``.csv.gz``).
    out : str or Path
        Scored output; ``.parquet`` or ``.csv`` by suffix; written atomically.
    quarantine : str or Path, optional
        Quarantined rows. When omitted and rows fail validation, they are
        written to ``<out stem>.quarantine.<suffix>`` beside the output.
    worklist : str or Path, optional
        Worklist CSV (an HTML page is written beside it with ``.html``), or
        an ``.html`` path (the CSV goes beside it).
    config : ScoringConfig, optional
    as_of : date-like, optional
        Run date (see :func:`score_batch`); default today.
    scored_at : timestamp-like, optional
        Default: midnight UTC of ``as_of`` when given, else now.
    model_path : str or Path, optional
        Recorded (with its SHA-256) in the manifest.
    history : str, Path or pandas.DataFrame, optional
        The latest outcomes export (Parquet file or folder, or CSV; or a
        frame): validated like any input (failing rows quarantined), then
        the model's history snapshot is replaced by its adjudicated lines
        for this run (:func:`ptdenial.model.DenialRiskModel.with_history`;
        the trees and calibrator are unchanged).
    history_quarantine : str or Path, optional
        Where the outcomes' failing rows go (default when rows fail:
        ``<out stem>.history-quarantine.<suffix>``).

    Returns
    -------
    ScoreRun

    Raises
    ------
    ClaimsSchemaError
        A required column is missing (nothing is written).
    InputFileError
        The input cannot be read.
    """
    config = config if config is not None else ScoringConfig()
    timer = StageTimer()
    as_of_ts, stamp = _run_dates(as_of, scored_at)
    out = Path(out)
    table_format(out)  # fail early on an unknown suffix
    files = claim_files(claims)
    for f in files:
        S.check_required_columns(_file_columns(f), source=str(f))
    model, source = _with_history(model, history, as_of_ts, out, history_quarantine)
    snapshot = snapshot_status(
        model, as_of_ts, max_age_days=config.max_snapshot_age_days, source=source
    )
    if snapshot["stale"]:
        logger.warning(snapshot["message"])
    with timer.stage("hash_inputs"):
        inputs = [{"path": str(f), "sha256": file_sha256(f), "bytes": f.stat().st_size}
                  for f in files]  # fmt: skip
    schema = _unified_schema(files)
    with timer.stage("key_pass"):
        plan = _plan(files, schema, config.batch_rows)
    for info, rows in zip(inputs, plan.file_rows, strict=True):
        info["rows"] = int(rows)
    logger.info(
        "%s: %d rows in %d file(s); %d batch(es) of about %d rows; %d rows share a "
        "duplicated line key",
        claims, plan.n_in, len(files), plan.n_buckets, config.batch_rows, plan.n_dup,
    )  # fmt: skip
    with _scratch(out.parent) as workdir:
        run = _Run(model, claims=claims, files=files, schema=schema, plan=plan,
                   config=config, as_of=as_of_ts, stamp=stamp, timer=timer)  # fmt: skip
        run.score(workdir)
        wl, patches = run.finish_worklist()
        outputs = run.write(out, quarantine, wl=wl, patches=patches, worklist=worklist)
    run.check_accounting()
    timer.seconds["total"] = timer.elapsed()
    manifest = _manifest(
        model=model, model_path=model_path, inputs=inputs, outputs=outputs,
        tally=run.tally, plan=plan, config=config, as_of=as_of_ts, stamp=stamp,
        timings=timer.seconds,
    )  # fmt: skip
    manifest["history_snapshot"] = snapshot
    manifest["outputs"]["manifest"] = str(_manifest_path(out))
    if source is not None and source["quarantine"] is not None:
        manifest["outputs"]["history_quarantine"] = source["quarantine"]
    write_json(manifest, _manifest_path(out))
    logger.info(
        "scored %d lines (%d 97112), quarantined %d, in %.2f s -> %s",
        run.tally.counts["valid"], run.tally.counts["scored_97112"],
        run.tally.counts["quarantined"], timer.seconds["total"], out,
    )  # fmt: skip
    result = run.result(manifest, wl)
    if source is not None and source["quarantined"]:
        result.exit_code = 3
    return result


def _with_history(model, history, as_of, out: Path, quarantine):
    """The model with its snapshot refreshed from ``history`` (or as it is)."""
    if history is None:
        return model, None
    if isinstance(history, pd.DataFrame):
        valid, quar = S.validate_claims(history, source="<history>", run_date=as_of)
        source = {"path": None, "sha256": None, "rows": len(history),
                  "quarantined": len(quar), "quarantine": None}  # fmt: skip
        if len(quar) and quarantine is not None:
            from ptdenial.io import write_table

            write_table(quar, Path(quarantine))
            source["quarantine"] = str(quarantine)
    else:
        valid, source = read_history(
            history, as_of=as_of, quarantine=quarantine, default_like=out
        )
    return refresh_snapshot(model, valid), source
