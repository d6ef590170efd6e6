"""Executor side: the function ``mapInArrow`` runs, and the per-model cache.

**Per-model work happens once per Python worker process.** A Spark task
ships only a small job description (the model file's name and SHA-256,
the scoring settings, the output schema): never the model. The first
batch a Python worker scores builds a :class:`ModelContext` for that
SHA-256: it finds the file (``SparkFiles`` or a shared path), checks its
hash, loads the model with its history snapshot, and, when the settings
ask for model reasons, builds the explainer (the trees' path
attributions). The context is kept in a module-level cache keyed by the
SHA-256, so every later batch of the task, and every later task the same
worker runs (``spark.python.worker.reuse``, on by default), reuses it. A
worker holds one model at a time: a new SHA-256 replaces the old one.

:func:`worker_stats` counts, per SHA-256, how often this process loaded the
model, built the explainer and scored a batch (tests read it to prove the
set-up runs once per process).
"""

from __future__ import annotations

from pathlib import Path

from ptdenial import schema as S
from ptdenial._utils import passive_openmp
from ptdenial.exceptions import ModelVersionError
from ptdenial.spark._base import (
    _CANDIDATE,
    _DATE_COLUMNS,
    _DOLLARS,
    _EXPLANATION,
    _GROUP,
    _KIND,
    _META,
    _Q,
    _QUARANTINE_INTS,
    _SRC_FILE,
    _SRC_ROW,
)

__all__ = [
    "ModelContext",
    "cached_context",
    "model_context",
    "make_partition_scorer",
    "score_partition",
    "worker_stats",
]

# sha256 -> ModelContext; at most one entry (one model per worker at a time)
_CONTEXTS: dict = {}
# sha256 -> {"model_loads": n, "explainer_builds": n, "batches": n}
_STATS: dict = {}


def _count(sha256: str, what: str) -> None:
    stats = _STATS.setdefault(
        sha256, {"model_loads": 0, "explainer_builds": 0, "batches": 0}
    )
    stats[what] += 1


def worker_stats() -> dict:
    """Per-model set-up counts of this Python process (a copy).

    Returns
    -------
    dict
        SHA-256 of a model file -> ``{"model_loads", "explainer_builds",
        "batches"}``: how often this process loaded that model, built its
        explainer and scored a batch with it.

    Examples
    --------
    >>> from ptdenial.spark._worker import worker_stats
    >>> isinstance(worker_stats(), dict)
    True
    """
    return {sha: dict(counts) for sha, counts in _STATS.items()}


def _build_explainer(model):
    """The explainer :func:`ptdenial.scoring.score_batch` would build per call."""
    from ptdenial import scoring

    return scoring.make_explainer(model)


class ModelContext:
    """What one Python worker keeps per model: the model and its explainer.

    Parameters
    ----------
    model : ptdenial.model.DenialRiskModel
        Loaded model (its history snapshot included).
    sha256 : str
        SHA-256 of the model file, the cache key.

    Examples
    --------
    >>> from ptdenial.datasets import load_sample_claims
    >>> from ptdenial.model import DenialRiskModel
    >>> from ptdenial.spark._worker import ModelContext
    >>> history = load_sample_claims("history")
    >>> model = DenialRiskModel(n_estimators=30).fit(history)  # doctest: +SKIP
    >>> ctx = ModelContext(model, "0" * 64)
    >>> ctx.explainer() is ctx.explainer()
    True
    """

    def __init__(self, model, sha256: str):
        self.model = model
        self.sha256 = sha256
        self._explainer = None

    def explainer(self):
        """The model's explainer, built on first use and then reused."""
        if self._explainer is None:
            self._explainer = _build_explainer(self.model)
            _count(self.sha256, "explainer_builds")
        return self._explainer

    def explainer_for(self, config):
        """The explainer when ``config`` asks for model reasons, else None."""
        return self.explainer() if config.wants_model_reasons() else None


def cached_context(sha256: str) -> ModelContext | None:
    """This process's context for ``sha256`` when it is loaded, else None.

    Examples
    --------
    >>> from ptdenial.spark._worker import cached_context
    >>> cached_context("f" * 64) is None
    True
    """
    return _CONTEXTS.get(sha256)


def _remember(sha256: str, model) -> ModelContext:
    """Cache ``model`` (already loaded and checked) as this process's context."""
    _count(sha256, "model_loads")
    context = ModelContext(model, sha256)
    _CONTEXTS.clear()  # one model per worker at a time
    _CONTEXTS[sha256] = context
    return context


def model_context(
    sha256: str, *, name: str, local_path: str | None, threads: int = 1
) -> ModelContext:
    """This process's :class:`ModelContext` for the model file with ``sha256``.

    Loaded once per process: later calls with the same hash return the same
    object.

    Parameters
    ----------
    sha256 : str
        SHA-256 the driver computed; the file found here must match it.
    name : str
        File name given to ``SparkContext.addFile`` (used when
        ``local_path`` is None).
    local_path : str, optional
        A path every node can read (``ship_model=False``).
    threads : int
        LightGBM threads (the CPUs of one Spark task).

    Returns
    -------
    ModelContext

    Raises
    ------
    ptdenial.exceptions.ModelVersionError
        The file on this node is not the one the driver loaded.
    """
    context = _CONTEXTS.get(sha256)
    if context is not None:
        return context
    passive_openmp()
    from ptdenial.io import file_sha256
    from ptdenial.model import load_model

    if local_path is None:
        from pyspark import SparkFiles

        path = Path(SparkFiles.get(name))
    else:
        path = Path(local_path)
    actual = file_sha256(path)
    if actual != sha256:
        raise ModelVersionError(
            f"{path}: the model on this executor has SHA-256 {actual}, the "
            f"driver loaded {sha256}; the file changed during the run. "
            "Score again."
        )
    # the driver loaded and verified these very bytes (same SHA-256, checked
    # above) with the card beside them; the card is not shipped to executors
    model = load_model(path, trust_unverified=True)
    estimator = getattr(model, "estimator_", None)
    if estimator is not None and hasattr(estimator, "n_jobs"):
        estimator.n_jobs = max(1, int(threads))  # one Spark task, its own cores
    return _remember(sha256, model)


def _raw_frame(table):
    """The pandas frame ``score_file`` builds from the same Arrow data.

    Lists joined with ``|`` (validation parses both forms alike, text is
    faster); contract dates that Spark hands over as integers (nanosecond
    Parquet timestamps), instants or days become timestamp[ns], as
    ``pyarrow`` reads them from the file.
    """
    import pyarrow as pa

    cols, names = [], []
    for fld in table.schema:
        col = table.column(fld.name)
        kind = fld.type
        if pa.types.is_list(kind) or pa.types.is_large_list(kind):
            col = S.arrow_join_lists(col)
        elif fld.name in _DATE_COLUMNS and (
            pa.types.is_integer(kind)
            or pa.types.is_timestamp(kind)
            or pa.types.is_date(kind)
        ):
            if pa.types.is_integer(kind):
                col = col.cast(pa.int64()).cast(pa.timestamp("ns"))
            elif pa.types.is_timestamp(kind) and kind.tz is not None:
                col = col.cast(pa.timestamp(kind.unit, tz="UTC")).cast(
                    pa.timestamp("ns")
                )
            else:
                col = col.cast(pa.timestamp("ns"))
        elif pa.types.is_large_string(kind):
            col = col.cast(pa.string())
        cols.append(col)
        names.append(fld.name)
    return pa.Table.from_arrays(cols, names=names).to_pandas(ignore_metadata=True)


def _conform(cols: dict, schema, n: int):
    import pyarrow as pa

    arrays = []
    for fld in schema:
        col = cols[fld.name]
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks()
        if col.type != fld.type:
            col = col.cast(fld.type)
        arrays.append(col)
    return pa.Table.from_arrays(arrays, schema=schema)


def _score_table(table, context: ModelContext, config, job: dict):
    """Score one batch (whole groups); the combined Arrow rows for Spark."""
    import numpy as np
    import pyarrow as pa

    from ptdenial import scoring

    group = table.column(_GROUP).to_numpy()
    src_file = np.asarray(table.column(_SRC_FILE).to_pylist(), dtype=object)
    src_row = table.column(_SRC_ROW).to_numpy()
    raw = _raw_frame(table.drop_columns(list(_META)))
    n = len(raw)
    result = scoring.score_batch(
        context.model, raw, config=config, as_of=job["as_of"],
        scored_at=job["scored_at"], source_rows=np.arange(n), source=job["source"],
        explainer=context.explainer_for(config),
    )  # fmt: skip
    _count(context.sha256, "batches")
    schema = job["arrow_schema"]
    q = result.quarantine
    kept = np.ones(n, dtype=bool)
    qpos = q[S.SOURCE_ROW].to_numpy(dtype=np.int64) if len(q) else np.zeros(0, int)
    kept[qpos] = False
    vpos = np.flatnonzero(kept)
    scored = result.arrow
    m = scored.num_rows
    ctx = result.context
    cols = {_KIND: pa.array(["s"] * m)}
    for name in S.SCORED_COLUMNS:
        cols[name] = scored.column(name)
    cols[_GROUP] = pa.array(group[vpos], type=pa.int64())
    cols[_DOLLARS] = pa.array(
        ctx["dollars_at_risk"].to_numpy(dtype=float), from_pandas=True
    )
    cols[_CANDIDATE] = pa.array(ctx["worklist_candidate"].to_numpy(dtype=bool))
    cols[_EXPLANATION] = pa.array(ctx["explanation"].astype(str).tolist())
    for name in S.QUARANTINE_COLUMNS:
        cols[_Q + name] = pa.nulls(m)
    parts = [_conform(cols, schema, m)]
    if len(q):
        k = len(q)
        qcols = {_KIND: pa.array(["q"] * k)}
        for name in schema.names:
            if name != _KIND and not name.startswith(_Q):
                qcols[name] = pa.nulls(k)
        for name in S.QUARANTINE_COLUMNS:
            if name == S.SOURCE_ROW:
                values = pa.array(src_row[qpos], type=pa.int64())
            elif name == S.Q_SOURCE:
                values = pa.array([str(s) for s in src_file[qpos]])
            elif name in _QUARANTINE_INTS:
                values = pa.array(q[name].to_numpy(dtype=np.int64))
            elif name in q.columns:
                values = pa.array(q[name].astype("string"), type=pa.string())
            else:
                values = pa.nulls(k)
            qcols[_Q + name] = values
        parts.append(_conform(qcols, schema, k))
    for part in parts:
        yield from part.to_batches()


def _task_cpus() -> int:
    try:
        from pyspark import TaskContext

        ctx = TaskContext.get()
        return ctx.cpus() if ctx is not None else 1
    except (ImportError, AttributeError):
        return 1


def score_partition(batches, job: dict):
    """Score one partition's Arrow batches (sorted by group key), whole groups.

    Batches are buffered up to ``config.batch_rows`` rows (a partition of up
    to twice that is one call) and cut only where the group key changes.

    Parameters
    ----------
    batches : iterable of pyarrow.RecordBatch
        Input rows with the internal key columns, sorted by group.
    job : dict
        The job description built on the driver.

    Yields
    ------
    pyarrow.RecordBatch
        Combined rows (scored and quarantined) in the job's Arrow schema.
    """
    import numpy as np
    import pyarrow as pa

    from ptdenial.config import ScoringConfig

    context = model_context(
        job["model_sha256"], name=job["model_name"],
        local_path=job["model_local_path"], threads=_task_cpus(),
    )  # fmt: skip
    config = ScoringConfig(**job["config"])
    target = max(1, int(config.batch_rows))
    pending, rows = [], 0
    for rb in batches:
        if rb.num_rows == 0:
            continue
        pending.append(rb)
        rows += rb.num_rows
        if rows < 2 * target:  # a partition of about `target` rows: one call
            continue
        table = pa.Table.from_batches(pending)
        group = table.column(_GROUP).to_numpy()
        # score about `target` rows, ending where a group ends
        cut = int(np.searchsorted(group, group[target - 1], side="right"))
        if cut == len(group):  # one group fills the buffer: keep reading it
            continue
        yield from _score_table(table.slice(0, cut), context, config, job)
        rest = table.slice(cut)
        pending, rows = rest.to_batches(), rest.num_rows
    if rows:
        yield from _score_table(pa.Table.from_batches(pending), context, config, job)


def make_partition_scorer(job: dict):
    """The function ``mapInArrow`` runs on each partition.

    It captures only ``job`` (names, hashes, settings, schema: a few
    kilobytes), never the model; the model comes from this process's cache
    (:func:`model_context`).

    Parameters
    ----------
    job : dict
        The job description built on the driver.

    Returns
    -------
    callable
        ``batches -> batches``.

    Examples
    --------
    >>> from ptdenial.spark._worker import make_partition_scorer
    >>> scorer = make_partition_scorer({"model_sha256": "0" * 64})
    >>> list(scorer.__code__.co_freevars)
    ['job']
    """

    def scorer(batches):
        return score_partition(batches, job)

    return scorer
