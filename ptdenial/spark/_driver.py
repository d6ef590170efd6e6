"""Driver side: :func:`score_spark`, the shipped model, the worklist.

The driver loads the model first (a refused file stops the run before any
task), ships it once per Spark application, describes the job in a small
dict (:func:`_job_spec`: no model inside) and plans the shuffle by patient.
The worklist's patients are scored again here, with the driver's own
cached model context (one explainer for the whole run).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ptdenial import schema as S
from ptdenial.spark._base import (
    _CANDIDATE,
    _DOLLARS,
    _EXPLANATION,
    _GROUP,
    _KIND,
    _META,
    _Q,
    _SRC_FILE,
    _SRC_ROW,
    _arrow_schema,
    _combined_ddl,
    _quiet_pyspark,
    _require_pyspark,
)
from ptdenial.spark._session import _keyed
from ptdenial.spark._worker import (
    _raw_frame,
    _remember,
    cached_context,
    make_partition_scorer,
)

__all__ = ["SparkScoreResult", "score_spark"]


_SHIPPED: dict = {}


def _ship_model(spark, model_path: Path, sha256: str) -> str:
    """``addFile`` a copy named by its hash, once per Spark application."""
    sc = spark.sparkContext
    name = f"ptdenial-model-{sha256[:16]}.skops"
    key = (sc.applicationId, name)
    if key not in _SHIPPED:
        folder = Path(tempfile.mkdtemp(prefix="ptdenial-spark-"))
        copy = folder / name
        shutil.copyfile(model_path, copy)
        sc.addFile(str(copy))
        _SHIPPED[key] = copy
    return name


def _driver_context(model_path: Path):
    """The driver's model context: the file hashed, loaded once per SHA-256.

    ``load_model`` refuses untrusted or mismatched files here, before any
    task runs; a run on the same file reuses the loaded model.
    """
    from ptdenial.io import file_sha256
    from ptdenial.model import load_model

    sha = file_sha256(model_path)
    context = cached_context(sha)
    if context is None:
        context = _remember(sha, load_model(model_path))
    return context


def _job_spec(
    spark, model_path: Path, sha256: str, *, config, as_of, scored_at,
    ship_model: bool = True, source: str = "<spark DataFrame>",
) -> dict:  # fmt: skip
    """What every task gets: names, hashes, settings and schema, no model.

    With ``ship_model`` the file is shipped once per application
    (``SparkContext.addFile``); otherwise each node reads ``model_path``.
    """
    if ship_model:
        name, local = _ship_model(spark, model_path, sha256), None
    else:
        name, local = model_path.name, str(model_path)
    large = (
        spark.conf.get("spark.sql.execution.arrow.useLargeVarTypes", "false").lower()
        == "true"
    )
    return {
        "model_name": name,
        "model_sha256": sha256,
        "model_local_path": local,
        "config": config.to_dict(),
        "as_of": as_of,
        "scored_at": scored_at,
        "source": source,
        "arrow_schema": _arrow_schema(_combined_ddl(), large),
    }


@dataclass
class SparkScoreResult:
    """What :func:`score_spark` returns.

    Attributes
    ----------
    scored : pyspark.sql.DataFrame
        One row per valid input line, schema :func:`spark_scored_schema`.
    quarantine : pyspark.sql.DataFrame
        One row per input row that failed validation, schema
        :func:`spark_quarantine_schema`.
    worklist : pandas.DataFrame or None
        The worklist (columns of :data:`ptdenial.scoring.WORKLIST_COLUMNS`),
        when asked for.
    as_of : pandas.Timestamp
    scored_at : pandas.Timestamp
    model_id : str
    model_sha256 : str
    partitions : int
        Partitions of the shuffle by patient.
    """

    scored: object
    quarantine: object
    worklist: object
    as_of: object
    scored_at: object
    model_id: str
    model_sha256: str
    partitions: int = 0
    _combined: object = field(repr=False, default=None)
    _patched: dict = field(repr=False, default_factory=dict)

    def summary(self) -> dict:
        """Counts of the run (one small Spark job on the persisted rows).

        Returns
        -------
        dict
            ``counts`` (rows in, valid, quarantined, 97112 lines scored, rule
            hits), ``risk_bands``, ``explanations``, ``rule_lines``.
        """
        from pyspark.sql import functions as F

        from ptdenial.scoring._manifest import _run_summary

        c = self._combined
        is_s = F.col(_KIND) == "s"
        rows = (
            c.groupBy(_KIND, S.RISK_BAND, _EXPLANATION)
            .agg(
                F.count(F.lit(1)).alias("n"),
                F.count(F.nanvl(S.DENIAL_PROBABILITY, F.lit(None))).alias("p"),
                F.sum(F.when(is_s, F.size(S.RULE_HITS)).otherwise(0)).alias("hits"),
            )
            .collect()
        )
        bands = {"low": 0, "medium": 0, "high": 0, "not_scored": 0}
        explained = {"exact": 0, "approximate": 0, "rules": 0}
        counts = {"valid": 0, "quarantined": 0, "scored_97112": 0, "rule_hits": 0}
        for r in rows:
            if r[_KIND] == "q":
                counts["quarantined"] += int(r["n"])
                continue
            counts["valid"] += int(r["n"])
            counts["scored_97112"] += int(r["p"])
            counts["rule_hits"] += int(r["hits"] or 0)
            bands[str(r[S.RISK_BAND])] = bands.get(str(r[S.RISK_BAND]), 0) + r["n"]
            e = str(r[_EXPLANATION])
            explained[e] = explained.get(e, 0) + int(r["n"])
        for kind, moved in self._patched.items():  # worklist lines made exact
            explained["exact"] += int(moved)
            explained[kind] -= int(moved)
        per_rule = (
            c.where(is_s)
            .select(F.explode(F.array_distinct(S.RULE_HITS)).alias("rule_id"))
            .groupBy("rule_id")
            .count()
            .collect()
        )
        return _run_summary(
            rows_in=counts["valid"] + counts["quarantined"], counts=counts,
            bands={k: int(v) for k, v in bands.items()}, explained=explained,
            rule_counts={r["rule_id"]: int(r["count"]) for r in per_rule},
            worklist=0 if self.worklist is None else len(self.worklist),
        )  # fmt: skip

    def unpersist(self) -> None:
        """Release the persisted rows (call when the outputs are written)."""
        if self._combined is not None:
            self._combined.unpersist()


def score_spark(
    df,
    model_path,
    *,
    config=None,
    as_of=None,
    scored_at=None,
    partitions: int | None = None,
    ship_model: bool = True,
    worklist: bool = True,
    persist: bool = True,
    source: str = "<spark DataFrame>",
) -> SparkScoreResult:
    """Score a Spark DataFrame of claim lines with the one-machine batch function.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        Claim lines in the contract (SCHEMA.md), typed or as text. Read
        Parquet written by pandas with :func:`read_claims_spark`.
    model_path : str or Path
        Model file written by :func:`ptdenial.model.save_model`. The driver
        loads it first (a refused file stops here, before any task).
    config : ptdenial.config.ScoringConfig, optional
        ``batch_rows`` is the size of the scoring batches inside a partition.
    as_of, scored_at : optional
        As in :func:`ptdenial.scoring.score_batch`; fixed once on the driver
        (default today / now), so every executor uses the same dates.
    partitions : int, optional
        Partitions of the shuffle by patient. Default: one per
        ``config.batch_rows`` input rows (a count of the input), and at
        least ``defaultParallelism``. Each scoring batch pays a fixed cost
        of a few tenths of a second (validation, rules, features), so
        thousands of tiny partitions are slow; the model load and the
        explainer are paid once per Python worker.
    ship_model : bool, default=True
        Ship the model with ``SparkContext.addFile``. ``False``: every node
        reads ``model_path`` itself (a shared file system, ``/dbfs/...``,
        ``/Volumes/...``).
    worklist : bool, default=True
        Build the worklist and give its lines exact reasons, as ``ptdenial
        score`` does (runs two small Spark jobs now).
    persist : bool, default=True
        Keep the scored rows (memory and disk) so both outputs and the
        summary come from one scoring pass.
    source : str
        Name of the input in quarantine rows when the rows do not come
        straight from files.

    Returns
    -------
    SparkScoreResult

    Raises
    ------
    ptdenial.exceptions.ClaimsSchemaError
        A required column is missing.
    ptdenial.exceptions.ModelVersionError
        The model file is refused.

    Examples
    --------
    >>> from ptdenial.spark import local_session, read_claims_spark, score_spark
    >>> spark = local_session(2)  # doctest: +SKIP
    >>> claims = read_claims_spark(spark, "data/sample/new_claims.parquet")  # doctest: +SKIP
    >>> result = score_spark(claims, "model.skops", as_of="2026-01-01")  # doctest: +SKIP
    >>> result.scored.write.parquet("scored")  # doctest: +SKIP
    """  # noqa: E501
    _require_pyspark()
    from pyspark import StorageLevel
    from pyspark.sql import functions as F
    from pyspark.sql.types import StructType

    from ptdenial.config import ScoringConfig
    from ptdenial.scoring._batch import _run_dates

    config = config if config is not None else ScoringConfig()
    spark = df.sparkSession
    S.check_required_columns(df.columns, source=source)
    model_path = Path(model_path)
    context = _driver_context(model_path)
    model, sha = context.model, context.sha256
    as_of_ts, stamp = _run_dates(as_of, scored_at)
    job = _job_spec(
        spark, model_path, sha, config=config, as_of=as_of_ts, scored_at=stamp,
        ship_model=ship_model, source=source,
    )  # fmt: skip
    if not partitions:  # about one scoring batch per partition, every core busy
        rows = df.count()
        partitions = max(
            spark.sparkContext.defaultParallelism,
            -(-rows // max(1, int(config.batch_rows))),
        )
    keyed = _keyed(df, source)
    ordered = keyed.repartition(int(partitions), _GROUP).sortWithinPartitions(
        _GROUP, _SRC_FILE, _SRC_ROW
    )
    with _quiet_pyspark():
        combined = ordered.mapInArrow(
            make_partition_scorer(job), StructType.fromDDL(_combined_ddl())
        )
    if persist:
        combined = combined.persist(StorageLevel.MEMORY_AND_DISK)
    scored = combined.where(F.col(_KIND) == "s").select(*S.SCORED_COLUMNS)
    quarantine = combined.where(F.col(_KIND) == "q").select(
        *[F.col(_Q + name).alias(name) for name in S.QUARANTINE_COLUMNS]
    )
    result = SparkScoreResult(
        scored=scored, quarantine=quarantine, worklist=None, as_of=as_of_ts,
        scored_at=stamp, model_id=str(model.model_id), model_sha256=sha,
        partitions=int(partitions), _combined=combined,
    )  # fmt: skip
    if worklist:
        _worklist(result, context, keyed, config, as_of_ts, stamp, source)
    return result


def _to_arrow(df):
    """Collect a (small) Spark DataFrame as an Arrow table."""
    import pyarrow as pa

    with _quiet_pyspark():
        if hasattr(df, "toArrow"):  # Spark >= 4.0
            return df.toArrow()
        return pa.Table.from_batches(df._collect_as_arrow())  # Spark 3.5


def _worklist(result, context, keyed, config, as_of_ts, stamp, source):
    """Global top candidates in Spark; their patients re-scored on the driver.

    One explainer (the driver's cached one) serves the re-scoring and the
    worklist's exact reasons.
    """
    import numpy as np

    from ptdenial.scoring import build_worklist, score_batch

    top = int(config.worklist_top)
    if top <= 0:
        return
    groups = _top_groups(result._combined, top)
    if not groups:
        return
    raw = _group_rows(keyed, groups)
    model, explainer = context.model, context.explainer_for(config)
    batch = score_batch(
        model, raw, config=config, as_of=as_of_ts, scored_at=stamp, source=source,
        source_rows=np.arange(len(raw)), explainer=explainer,
    )  # fmt: skip
    wl = build_worklist(batch, config=config, model=model, explainer=explainer)
    result.worklist = wl
    if config.explain == "none" or not len(wl):
        return
    _count_made_exact(result, batch, wl)
    result.scored = _patched_reasons(result.scored, wl)


def _top_groups(combined, top: int) -> list[int]:
    """Patient groups of the ``top`` candidates by dollars at risk (one Spark job)."""
    from pyspark.sql import functions as F

    best = (
        combined.where((F.col(_KIND) == "s") & F.col(_CANDIDATE))
        .orderBy(
            F.col(_DOLLARS).desc_nulls_last(),
            F.coalesce(F.nanvl(S.DENIAL_PROBABILITY, F.lit(None)), F.lit(1.0)).desc(),
            F.col(S.CLAIM_ID).asc(),
            F.col(S.LINE_NUMBER).asc(),
        )
        .limit(top)
        .select(_GROUP)
        .distinct()
        .collect()
    )
    return sorted({int(r[_GROUP]) for r in best})


def _group_rows(keyed, groups):
    """The input rows of these patient groups, in input order, as the raw frame."""
    from pyspark.sql import functions as F

    table = _to_arrow(keyed.where(F.col(_GROUP).isin(groups)))
    table = table.sort_by([(_GROUP, "ascending"), (_SRC_FILE, "ascending"),
                           (_SRC_ROW, "ascending")])  # fmt: skip
    return _raw_frame(table.drop_columns(list(_META)))


def _count_made_exact(result, batch, wl) -> None:
    """Record, per explanation kind, the worklist lines now given exact reasons."""
    import numpy as np
    import pandas as pd

    index = pd.MultiIndex.from_arrays(
        [batch.scored[S.CLAIM_ID].astype(str), batch.scored[S.LINE_NUMBER]]
    )
    pos = index.get_indexer(
        pd.MultiIndex.from_arrays([wl[S.CLAIM_ID].astype(str), wl[S.LINE_NUMBER]])
    )
    # as score_file: 97112 lines not yet exact get exact reasons
    before = batch.context["explanation"].to_numpy(dtype=object)[pos]
    moved = np.isin(pos, batch.features.index.to_numpy()) & (before != "exact")
    kinds, counts = np.unique(before[moved].astype(str), return_counts=True)
    result._patched.update(zip(kinds.tolist(), counts.tolist(), strict=True))


def _patched_reasons(scored, wl):
    """``scored`` with the worklist lines' reasons and fixes (a broadcast join)."""
    from pyspark.sql import functions as F

    rows = list(
        zip(
            wl[S.CLAIM_ID].astype(str).tolist(),
            wl[S.LINE_NUMBER].astype(int).tolist(),
            [list(v) for v in wl[S.REASONS]],
            [list(v) for v in wl[S.SUGGESTED_FIXES]],
            strict=True,
        )
    )
    patch = scored.sparkSession.createDataFrame(
        rows, "_pc string, _pl bigint, _pr array<string>, _pf array<string>"
    )
    joined = scored.join(
        F.broadcast(patch),
        (F.col(S.CLAIM_ID) == F.col("_pc")) & (F.col(S.LINE_NUMBER) == F.col("_pl")),
        "left",
    )
    cols = []
    for name in S.SCORED_COLUMNS:
        if name == S.REASONS:
            cols.append(F.coalesce(F.col("_pr"), F.col(name)).alias(name))
        elif name == S.SUGGESTED_FIXES:
            cols.append(F.coalesce(F.col("_pf"), F.col(name)).alias(name))
        else:
            cols.append(F.col(name))
    return joined.select(*cols)
