"""``ptdenial train --engine spark``: a history larger than memory.

:func:`train_spark` splits the work where the memory goes:

1. **Validation and labels on Spark.** The history is read with Spark,
   grouped by patient as the scoring job groups it (all lines of a patient,
   and every copy of a duplicated line key, in one partition), and each
   partition is validated and labelled with the one-machine code
   (:func:`ptdenial.schema.validate_claims`,
   :func:`ptdenial.model.prepare_history`). Only the columns the history
   snapshot needs leave the partition.
2. **The history snapshot on Spark** (:func:`ptdenial.spark.history_snapshot`):
   the counts the model stores and every line's as-of history features,
   over the **whole** history.
3. **A bounded sample to the learner.** Patients fall in 10,000 buckets by
   a seeded hash of their ``patient_id``; whole buckets are drawn, in order,
   while their rows add up to at most ``max_lines`` (every bucket when the
   history has at most ``max_lines`` rows): a hard bound. All lines of a
   drawn patient are kept, so episode and visit features are
   whole. Only the drawn lines (their raw columns and history features)
   reach the driver, which validates them again (the same rows pass: a
   patient's lines are validated together in both places) and fits the
   model on them with the snapshot and features of step 2.

With ``max_lines`` at least the history's size, the model is the one
``ptdenial train`` fits on the same file (tested). The driver holds about
``max_lines`` lines at a time plus the snapshot (one entry per distinct key
and adjudication day); see ``docs/spark.md`` for the memory rule.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial.exceptions import PtdenialError
from ptdenial.spark._base import _GROUP, _SRC_FILE, _SRC_ROW, _require_pyspark
from ptdenial.spark._history import _collect, history_snapshot

__all__ = ["SparkTrainResult", "train_spark"]

logger = logging.getLogger("ptdenial.spark")

#: Default bound on the lines sent to the learner (about 2.5 KiB each in the
#: one-machine fit, ``bench/results/model.md``: some 5 GiB at the peak).
DEFAULT_MAX_LINES = 2_000_000

_IN = "__ptdenial_sampled"
_DATES = (S.DATE_OF_SERVICE, S.SUBMISSION_DATE, S.ADJUDICATION_DATE)
#: Patients fall in this many buckets by a seeded hash; whole buckets are drawn.
_BUCKETS = 10_000


@dataclass
class SparkTrainResult:
    """What :func:`train_spark` returns.

    Attributes
    ----------
    model : ptdenial.model.DenialRiskModel
        Fitted on the sample, with the whole history's snapshot.
    info : dict
        ``history_rows`` (read), ``history_lines`` (valid), ``sampled_lines``
        (given to the learner), ``fraction`` (of patients drawn),
        ``max_lines``, ``seed``, ``spark_seconds`` (reading, validation,
        snapshot, collecting the sample), ``fit_seconds`` (the learner) and
        ``rule`` (a sentence for the card).
    """

    model: object
    info: dict = field(default_factory=dict)


def _key_columns(encoder) -> list[str]:
    return sorted({c for key in encoder._keys().values() for c in key})


def _narrow_ddl(keys: list[str]) -> str:
    parts = [f"`{c}` string" for c in keys]
    parts += [f"`{c}` date" for c in _DATES]
    parts += [f"`{S.DENIED}` boolean", f"`{_SRC_FILE}` string", f"`{_SRC_ROW}` bigint"]
    parts += [f"`{_IN}` boolean"]
    return ", ".join(parts)


def _prepare_partition(batches, job: dict):
    """Validate and label one partition (whole patients); yield the narrow columns."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from ptdenial.model import prepare_history
    from ptdenial.reference import load_reference
    from ptdenial.schema import validate_claims
    from ptdenial.spark._worker import _raw_frame

    batches = list(batches)
    if not batches:
        return
    frame = _raw_frame(pa.Table.from_batches(batches))
    meta = frame[[_SRC_FILE, _SRC_ROW, _IN]]
    frame = frame.drop(columns=[_SRC_FILE, _SRC_ROW, _IN, _GROUP], errors="ignore")
    valid, _ = validate_claims(frame, source=job["source"], run_date=job["as_of"])
    if not len(valid):
        return
    ref = load_reference(job["reference"]) if job["reference"] else None
    claims = prepare_history(valid, reference=ref)
    cols = {}
    for c in job["keys"]:
        values = claims[c] if c in claims else pd.Series(pd.NA, index=claims.index)
        cols[c] = pa.array(values.astype("string"), type=pa.string())
    for c in _DATES:
        if c in claims:
            ts = pa.array(claims[c].to_numpy("datetime64[ns]"), type=pa.timestamp("ns"))
            cols[c] = pc.cast(ts, pa.date32(), safe=False)
        else:
            cols[c] = pa.nulls(len(claims), pa.date32())
    cols[S.DENIED] = pa.array(claims[S.DENIED].astype("boolean"), type=pa.bool_())
    m = meta.loc[claims.index]
    cols[_SRC_FILE] = pa.array(m[_SRC_FILE].astype(str), type=pa.string())
    cols[_SRC_ROW] = pa.array(m[_SRC_ROW].to_numpy(np.int64), type=pa.int64())
    cols[_IN] = pa.array(m[_IN].astype(bool), type=pa.bool_())
    yield from pa.table(cols).to_batches()


def _bucket(seed: int):
    """Spark column: the patient's draw bucket (seeded hash of the id)."""
    from pyspark.sql import functions as F

    pid = F.coalesce(F.trim(F.col(S.PATIENT_ID).cast("string")), F.lit(""))
    return F.pmod(F.xxhash64(pid, F.lit(int(seed))), F.lit(_BUCKETS))


def _threshold(raw, seed: int, max_lines: int) -> tuple[int, int]:
    """Rows read, and how many buckets fit under ``max_lines`` rows.

    Buckets are taken in order while their rows, added up, stay within the
    bound: the drawn patients never bring more than ``max_lines`` rows.
    """
    per = _collect(raw.groupBy(_bucket(seed).alias("_b")).count())
    counts = np.zeros(_BUCKETS, dtype=np.int64)
    counts[per["_b"].to_numpy(np.int64)] = per["count"].to_numpy(np.int64)
    cum = np.cumsum(counts)
    return int(cum[-1]), int(np.searchsorted(cum, max_lines, side="right"))


def _local_sample(keyed, feats_sdf, *, source, as_of):
    """The drawn lines on the driver: validated claims and their history features."""
    from ptdenial.schema import validate_claims
    from ptdenial.spark._worker import _raw_frame

    table = keyed.where(f"`{_IN}`").drop(_GROUP, _IN)
    import pyarrow as pa

    arrow = table.toArrow() if hasattr(table, "toArrow") else None
    if arrow is None:  # Spark 3.5
        arrow = pa.Table.from_batches(table._collect_as_arrow())
    frame = _raw_frame(arrow).sort_values([_SRC_FILE, _SRC_ROW], kind="stable")
    frame = frame.reset_index(drop=True)
    meta = frame[[_SRC_FILE, _SRC_ROW]]
    valid, _ = validate_claims(
        frame.drop(columns=[_SRC_FILE, _SRC_ROW]), source=source, run_date=as_of
    )
    feats = _collect(feats_sdf.where(f"`{_IN}`").drop(_IN))
    at = pd.MultiIndex.from_frame(meta.loc[valid.index].astype({_SRC_FILE: str}))
    feats = feats.set_index([_SRC_FILE, _SRC_ROW]).reindex(at)
    found = feats.notna().any(axis=1).to_numpy()
    if not found.all():
        # a line key duplicated across patients, only one of them drawn: the
        # executors quarantined every copy, the driver saw one (never trained on)
        logger.warning(
            "%d drawn lines were quarantined on the executors (a line key shared "
            "with a patient not drawn); left out of training",
            int((~found).sum()),
        )
        valid, feats = valid.loc[found], feats.loc[found]
    return valid, feats.reset_index(drop=True)


def _check_driver(source: str, lines: int, memory_limit) -> None:
    """The driver's sample must fit in memory (before any line is collected)."""
    if memory_limit is False:
        return
    from ptdenial.model import check_training_memory

    check_training_memory(
        lines,
        limit=memory_limit,
        source=f"{source} (--engine spark, the driver's sample)",
        advice="Lower --max-lines, or give the driver more memory "
        "(spark.driver.memory); --memory-limit sets another limit.",
    )


def _snapshot_and_sample(raw, encoder, job, *, rows, buckets, seed):
    """Steps 1-3 of the module docstring: the snapshot, and the drawn lines.

    Returns the :class:`HistorySnapshot`, the number of valid history
    lines, the drawn lines (validated claims) and their history features
    (same order).
    """
    from pyspark.sql import functions as F

    from ptdenial.spark._session import _keyed

    keyed = _keyed(raw, job["source"]).withColumn(_IN, _bucket(seed) < F.lit(buckets))
    keyed = keyed.persist()
    keys = [c for c in _key_columns(encoder) if c in raw.columns]
    job = dict(job, keys=keys)
    spark = raw.sparkSession
    parts = max(spark.sparkContext.defaultParallelism, rows // 200_000 + 1)
    narrow = (
        keyed.repartition(int(parts), _GROUP)
        .mapInArrow(lambda it: _prepare_partition(it, job), _narrow_ddl(keys))
        .persist()
    )
    try:
        snap = history_snapshot(
            narrow, encoder, training=True, keep=(_SRC_FILE, _SRC_ROW, _IN)
        )
        lines = int(narrow.count())
        valid, feats = _local_sample(
            keyed, snap.features, source=job["source"], as_of=job["as_of"]
        )
    finally:
        narrow.unpersist()
        keyed.unpersist()
    return snap, lines, valid, feats


def train_spark(
    history,
    *,
    params=None,
    max_lines: int = DEFAULT_MAX_LINES,
    seed: int = 0,
    as_of=None,
    reference_path=None,
    spark=None,
    conf=None,
    memory_limit=None,
) -> SparkTrainResult:
    """Train on a history folder larger than memory (Spark + a bounded sample).

    Parameters
    ----------
    history : str or Path
        Parquet file or folder (or CSV) of claims with outcomes; any path
        Spark reads.
    params : dict, optional
        :class:`ptdenial.model.DenialRiskModel` parameters.
    max_lines : int, default=2_000_000
        Bound on the rows given to the learner. Patients fall in 10,000
        buckets by a seeded hash of ``patient_id``; buckets are taken in
        order while their rows add up to at most ``max_lines`` (all of them
        when the history is smaller). A drawn patient keeps all its lines.
    seed : int, default=0
        Seed of the patient draw.
    as_of : date-like, optional
        Run date for the date checks of validation.
    reference_path : str or Path, optional
        Folder of reference-table overrides (read on every executor).
    spark : pyspark.sql.SparkSession, optional
        Default: the active session, or a local one.
    conf : dict, optional
        Spark settings for a new session.
    memory_limit : int or str or False, optional
        The driver's sample (``max_lines``, or the history when smaller) must
        fit in it (:func:`ptdenial.model.check_training_memory`; default the
        memory available; ``False``: no check). Checked before any line is
        collected.

    Returns
    -------
    SparkTrainResult

    Examples
    --------
    >>> from ptdenial.spark import train_spark
    >>> result = train_spark("history/", max_lines=1_000_000)  # doctest: +SKIP
    >>> result.info["fraction"]  # doctest: +SKIP
    0.31
    """
    _require_pyspark()
    import time

    from ptdenial.model import DenialRiskModel
    from ptdenial.reference import load_reference

    t0 = time.perf_counter()
    from ptdenial.spark._session import _session, read_claims_spark

    if int(max_lines) < 1:
        raise ValueError(f"max_lines must be at least 1; got {max_lines!r}.")
    params = dict(params or {})
    if reference_path is not None:
        params["reference"] = load_reference(reference_path)
    model = DenialRiskModel(**params)
    model._check_params()
    if spark is None:
        spark, _ = _session(conf)
    source = str(history)
    raw = read_claims_spark(spark, source)
    rows, buckets = _threshold(raw, seed, int(max_lines))
    if rows == 0:
        raise PtdenialError(f"{source}: the history has no rows.")
    if buckets == 0:
        raise PtdenialError(
            f"{source}: --max-lines {int(max_lines)} is below the lines of a single "
            f"draw bucket (1/{_BUCKETS} of the patients); raise it."
        )
    fraction = buckets / _BUCKETS
    _check_driver(source, min(rows, int(max_lines)), memory_limit)
    job = {
        "source": source,
        "as_of": None if as_of is None else str(pd.Timestamp(as_of).date()),
        "reference": None if reference_path is None else str(reference_path),
    }
    snap, lines, valid, feats = _snapshot_and_sample(
        raw, _encoder_of(model), job, rows=rows, buckets=buckets, seed=seed
    )
    logger.info("%d history lines; %d drawn for the learner", lines, len(valid))
    t1 = time.perf_counter()
    model._fit(valid, history=(snap.encoder, feats))
    t2 = time.perf_counter()
    info = {
        "engine": "spark",
        "history_rows": int(rows),
        "history_lines": lines,
        "sampled_lines": int(len(valid)),
        "fraction": float(fraction),
        "max_lines": int(max_lines),
        "seed": int(seed),
        "spark_seconds": round(t1 - t0, 1),
        "fit_seconds": round(t2 - t1, 1),
        "rule": (
            "history snapshot and history features from every line (Spark); "
            f"learner fitted on the lines of {fraction:.2%} of the patients "
            f"(whole hash buckets of patient_id, seed {int(seed)}, all lines of "
            f"a drawn patient) to stay within {int(max_lines)} lines"
        ),
    }
    model.card_ = dict(model.card_, training_sample=info)
    return SparkTrainResult(model, info)


def _encoder_of(model):
    """The (unfitted) history encoder ``model.fit`` would build."""
    from ptdenial.features import AsOfHistoryEncoder

    return AsOfHistoryEncoder(
        smoothing=model.smoothing,
        window_days=model.window_days,
        lag=model.history_lag,
        max_lag_days=model.max_history_lag_days,
        random_state=model.random_state,
    )
