"""The nightly job behind ``ptdenial score``: stream a file, write every output.

:func:`score_file` is a short driver: check and hash the inputs, plan the
buckets (:mod:`ptdenial.scoring._stream`), then a :class:`_Run` spills the
rows, scores bucket by bucket with :func:`~ptdenial.scoring.score_batch`,
keeps the worklist's best lines and the counts, gives the worklist exact
reasons and writes the scored output, the quarantine and the worklist,
each atomically; last, the manifest. One :class:`StageTimer` records
``hash_inputs``, ``key_pass``, ``spill``, ``read_batches``, the batch
stages, ``bookkeeping``, ``fix_value`` (the worklist candidates' patients
carried per batch, the final worklist lines' fixes re-scored once),
``worklist_exact``, ``write_outputs`` and
``total``.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import functools
import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial.config import ScoringConfig
from ptdenial.explain import Explainer
from ptdenial.io import claim_files, file_sha256, table_format, write_json
from ptdenial.scoring._batch import (
    _run_dates,
    scored_arrow_schema,
)
from ptdenial.scoring._bucket import BucketOut, BucketState, score_bucket
from ptdenial.scoring._manifest import _manifest, _outputs
from ptdenial.scoring._output import (
    _default_side_path,
    _manifest_path,
    _write_quarantine,
    _write_tables,
)
from ptdenial.scoring._scratch import scratch, signals_end_run
from ptdenial.scoring._snapshot import read_history, refresh_snapshot, snapshot_status
from ptdenial.scoring._stream import (
    _file_columns,
    _parquet_rows,
    _plan,
    _read_ipc,
    _spill,
    _unified_schema,
    _write_bucket,
)
from ptdenial.scoring._timing import StageTimer
from ptdenial.scoring._workers import Workers, worker_count
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

    def merge(self, part: dict):
        """Count one batch (:func:`~ptdenial.scoring._bucket.tally_part`)."""
        counts = self.counts
        for name in ("valid", "quarantined", "scored_97112", "rule_hits"):
            counts[name] += int(part[name])
        self._bump(self.bands, ((str(b), n) for b, n in part["bands"].items()))
        self._bump(self.explained, ((str(e), n) for e, n in part["explained"].items()))
        self._bump(self.rule_counts, part["rule_counts"].items())
        self._bump(self.q_summary, part["q_summary"].items())
        if "scores" in part:
            self.scores.append(part["scores"])
            self.segments.append(part["segments"])
        if "drift" in part:
            self.drift.append(part["drift"])

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


def _advance(bar, done: int) -> None:
    if done > bar.n:
        bar.update(done - bar.n)


class _Run:
    """The state of one :func:`score_file` run between the key pass and the manifest."""

    def __init__(self, model, *, claims, files, schema, plan, config, as_of, stamp,
                 timer):  # fmt: skip
        self.model, self.claims, self.files, self.schema = model, claims, files, schema
        self.plan, self.config, self.as_of, self.stamp = plan, config, as_of, stamp
        self.timer = timer
        self.explainer = Explainer(model) if config.explain != "none" else None
        # the pool values the fixes of its final lines once, at the end
        self.pool = _Worklist(config.worklist_top, fix_model=model, config=config)
        self.tally = _Tally(plan.n_in, config.drift_sample_rows)
        self.file_starts = np.concatenate([[0], np.cumsum(plan.file_rows)]).astype(
            np.int64
        )
        self.q_paths, self.s_paths = [], []

    def score(self, workdir: Path, workers=None):
        """Spill the rows to their buckets, then score and keep bucket by bucket.

        ``workers`` (started before the key pass) are closed here when the
        input turned out too small for them.
        """
        plan, timer = self.plan, self.timer
        state = self._state(workdir)
        if workers is not None and not worker_count(
            self.config.workers, plan.n_buckets
        ):
            workers.close()
            workers = None
        if workers is not None:
            if plan.order is not None:  # preloaded: a bucket's file on demand
                workers.prepare = functools.partial(_write_bucket, plan, workdir)
            workers.give(self._shipped(state))
        with timer.stage("spill"):
            if plan.n_buckets > 1 and plan.preload is None:
                _spill(
                    self.files, self.schema, plan, workdir,
                    batch_rows=self.config.batch_rows, claims=self.claims,
                )  # fmt: skip
        outs = self._score_all(state, workers)
        plan.release()
        self.workers = len(workers.procs) if workers is not None else 0
        for out in outs:
            self._keep(out)

    def _state(self, workdir: Path) -> BucketState:
        return BucketState(
            plan=self.plan, files=self.files, schema=self.schema, workdir=workdir,
            config=self.config, as_of=self.as_of, stamp=self.stamp,
            claims=str(self.claims), file_starts=self.file_starts,
            drift_step=self.tally.drift_step, model=self.model,
            explainer=self.explainer,
        )  # fmt: skip

    @staticmethod
    def _shipped(state: BucketState) -> BucketState:
        """The state a worker process gets: no model, a plan without the spill map."""
        plan = dataclasses.replace(
            state.plan, row_bucket=None, preload=None, order=None, starts=None
        )
        return dataclasses.replace(state, plan=plan, model=None, explainer=None)

    def _score_all(self, state: BucketState, workers) -> list:
        """Every bucket's out, in bucket order (with workers: whoever took it)."""
        n = self.plan.n_buckets
        bar = _progress(self.config, n, "scoring")
        outs: dict = {}
        if workers is None:
            for k in range(n):
                outs[k] = score_bucket(state, k)
                bar.update(1)
        else:
            workers.start()
            while (k := workers.take()) < n:
                outs[k] = score_bucket(state, k)
                workers.drain()
                _advance(bar, len(outs) + len(workers.done))
            for k in range(n):
                if k not in outs:
                    found = workers.wait_for(k)
                    outs[k] = found if found is not None else score_bucket(state, k)
                    _advance(bar, len(outs) + len(workers.done))
        bar.close()
        return [outs[k] for k in range(n)]

    def _keep(self, out: BucketOut):
        """Merge one bucket's out: timings, files, counts, worklist candidates."""
        self.timer.merge(out.timings)
        if out.tally is None:
            return
        with self.timer.stage("bookkeeping"):
            if out.q_path is not None:
                self.q_paths.append(out.q_path)
            self.s_paths.append((out.k, out.s_path))
            self.tally.merge(out.tally)
            if out.candidates is not None:
                self.pool.merge(out.candidates)

    def finish_worklist(self):
        """The worklist with exact reasons, and the patches of the scored parts."""
        with self.timer.stage("worklist_exact"):
            wl, patches = self.pool.finish(self.model, self.explainer, self.config)
            self.tally.counts["worklist"] = len(wl)
        # the re-score of the worklist's fixes is timed on its own
        fix = self.pool.timer.seconds.get("fix_value", 0.0)
        self.timer.add("worklist_exact", -fix)
        self.timer.add("fix_value", fix)
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
                    rank=self.config.worklist_rank,
                )
        return _outputs(out, q_path, wl_paths)

    def _scored_parts(self, patches):
        parts = _read_ahead([path for _, path in self.s_paths])
        for (k, _), table in zip(self.s_paths, parts, strict=True):
            yield _patch(table, patches.get(k))

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


def _read_ahead(paths):
    """Each spilled part's table (the file then removed), the next one read meanwhile.

    Arrow reads and decompresses a part, and writes the Parquet output,
    without holding the interpreter: with the next part read on a thread
    while this one is written, the job's last serial step overlaps the two.
    At most two parts are in memory.
    """
    if not paths:
        return

    def read(path):
        table = _read_ipc(path)
        path.unlink()
        return table

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        ahead = pool.submit(read, paths[0])
        for nxt in [*paths[1:], None]:
            table = ahead.result()
            if nxt is not None:
                ahead = pool.submit(read, nxt)
            yield table
            del table


# --- the job ------------------------------------------------------------------------
_CSV_BYTES_PER_ROW = 250  # a claim line as CSV text, about


@contextlib.contextmanager
def _early_workers(model, files, config):
    """Worker processes started before the key pass, when the input looks big.

    They load the model while this process reads the keys. The guess uses
    Parquet row counts or CSV sizes; :meth:`_Run.score` closes them when the
    plan shows fewer batches than they pay back.
    """
    total = _parquet_rows(files)
    if total is None:
        total = sum(f.stat().st_size for f in files) // _CSV_BYTES_PER_ROW
    guess = -(-int(total) // config.batch_rows)
    n = worker_count(config.workers, guess)
    workers = Workers(n, model, config) if n else None
    try:
        yield workers
    finally:
        if workers is not None:
            workers.close()


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
    with (
        signals_end_run(),
        scratch(out.parent) as workdir,
        _early_workers(model, files, config) as workers,
    ):
        with timer.stage("key_pass"):
            plan = _plan(files, schema, config.batch_rows, config.keep_input_mib << 20)
        for info, rows in zip(inputs, plan.file_rows, strict=True):
            info["rows"] = int(rows)
        logger.info(
            "%s: %d rows in %d file(s); %d batch(es) of about %d rows; %d rows "
            "share a duplicated line key", claims, plan.n_in, len(files),
            plan.n_buckets, config.batch_rows, plan.n_dup,
        )  # fmt: skip
        run = _Run(model, claims=claims, files=files, schema=schema, plan=plan,
                   config=config, as_of=as_of_ts, stamp=stamp, timer=timer)  # fmt: skip
        run.score(workdir, workers)
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
