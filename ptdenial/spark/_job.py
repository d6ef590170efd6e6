"""``ptdenial score --engine spark``: Parquet in, partitioned Parquet out, manifest.

:func:`score_to_parquet` reads the claims with Spark, scores them with
:func:`ptdenial.spark.score_spark` and writes the scored lines (partitioned
by :data:`ptdenial.spark.PARTITION_COLUMN`), the quarantine, the worklist
and the run manifest.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from ptdenial import schema as S
from ptdenial.spark._base import PARTITION_COLUMN, SparkJobError, _require_pyspark
from ptdenial.spark._driver import score_spark
from ptdenial.spark._session import _session, read_claims_spark

__all__ = ["score_to_parquet"]

logger = logging.getLogger("ptdenial.spark")


def _is_local(path: str) -> bool:
    return "://" not in path or path.startswith("file:")


def _local(path: str) -> Path:
    return Path(path.removeprefix("file://").removeprefix("file:"))


def _input_files(claims: str) -> list[dict]:
    if not _is_local(claims):
        return [{"path": claims}]
    import pyarrow.parquet as pq

    from ptdenial.io import claim_files, file_sha256, table_format

    out = []
    for f in claim_files(_local(claims)):
        info = {"path": str(f), "sha256": file_sha256(f), "bytes": f.stat().st_size}
        if table_format(f) != "csv":
            info["rows"] = pq.ParquetFile(f).metadata.num_rows
        out.append(info)
    return out


def _side_path(out: str, name: str) -> str:
    stem = out.rstrip("/")
    for suffix in (".parquet", ".pq"):
        stem = stem.removesuffix(suffix)
    return f"{stem}.{name}"


def _refreshed_model(model_path, history, as_of, out: str):
    """``--history`` on Spark: the refreshed model written beside the output.

    The outcomes are read and validated on the driver (pandas), the model's
    history snapshot replaced, and the refreshed model saved as
    ``<out>.refreshed-model.skops`` (a local ``out``) or in a temporary
    folder, then scored like any model file. Returns the path and the
    history source of the manifest.
    """
    import tempfile

    import pandas as pd

    from ptdenial.model import load_model, save_model
    from ptdenial.scoring._snapshot import read_history, refresh_snapshot

    night = pd.Timestamp(as_of).normalize() if as_of else pd.Timestamp.today()
    local_out = _is_local(out)
    q_default = _side_path(out, "history-quarantine.parquet") if local_out else None
    valid, source = read_history(history, as_of=night.normalize(), quarantine=q_default)
    model = refresh_snapshot(load_model(model_path), valid)
    if local_out:
        path = Path(_local(_side_path(out, "refreshed-model.skops")))
    else:
        path = Path(tempfile.mkdtemp(prefix="ptdenial-refresh-")) / "model.skops"
    return save_model(model, path), source


def _snapshot(model_path, result, config, source) -> dict:
    """The manifest's ``history_snapshot``; its warning logged when stale."""
    from ptdenial.model import load_model
    from ptdenial.scoring._snapshot import snapshot_status

    status = snapshot_status(
        load_model(model_path),
        result.as_of,
        max_age_days=config.max_snapshot_age_days,
        source=source,
    )
    if status["stale"]:
        logger.warning(status["message"])
    return status


def score_to_parquet(
    claims,
    model_path,
    out,
    *,
    quarantine=None,
    worklist=None,
    config=None,
    as_of=None,
    scored_at=None,
    partitions: int | None = None,
    ship_model: bool = True,
    spark=None,
    spark_conf=None,
    history=None,
):
    """``ptdenial score --engine spark``: Parquet folder in, partitioned Parquet out.

    Reads ``claims`` with Spark, scores it with :func:`score_spark` and
    writes:

    * ``out/``: the scored lines as Parquet partitioned by
      :data:`PARTITION_COLUMN` (``service_month=YYYY-MM/part-*.parquet``,
      the month of ``date_of_service``); the folder is replaced;
    * the quarantine (only when rows failed, or when ``quarantine`` is
      given): a Parquet folder, by default ``<out>.quarantine.parquet``;
    * the worklist CSV and its HTML page, when ``worklist`` is given;
    * the run manifest, ``<out>.manifest.json`` beside ``out`` (on a
      remote ``out``, a one-file text folder of that name).

    Parameters
    ----------
    claims : str or Path
        Parquet file or folder (or CSV), a local path or a URI Spark reads.
    model_path : str or Path
        Model file, readable by the driver.
    out : str or Path
        Output folder (local path or URI).
    quarantine, worklist : str or Path, optional
    config : ptdenial.config.ScoringConfig, optional
    as_of, scored_at : optional
    partitions : int, optional
        See :func:`score_spark`.
    ship_model : bool, default=True
        See :func:`score_spark`.
    spark : pyspark.sql.SparkSession, optional
        Default: the active session, else a new one built from
        ``spark_conf`` (a local one when no cluster master is set); a
        session created here is stopped at the end.
    spark_conf : mapping, optional
        Spark settings for a new session (``spark.master``,
        ``spark.sql.shuffle.partitions``, ...).
    history : str or Path, optional
        Latest outcomes export (local Parquet or CSV), read on the driver:
        the model's history snapshot is refreshed with it for this run and
        the refreshed model written beside the output
        (``<out>.refreshed-model.skops``); see ``ptdenial score --history``.
        The manifest's ``history_snapshot`` gives the snapshot's age.

    Returns
    -------
    tuple of (dict, int)
        The manifest and the exit code: 0, or 3 when rows were quarantined.

    Examples
    --------
    >>> from ptdenial.spark import score_to_parquet
    >>> manifest, code = score_to_parquet(
    ...     "claims/", "model.skops", "scored", as_of="2026-01-01",
    ...     spark_conf={"spark.master": "local[2]"},
    ... )  # doctest: +SKIP
    >>> manifest["partition_by"]  # doctest: +SKIP
    'service_month (month of date_of_service, YYYY-MM)'
    """
    _require_pyspark()
    from ptdenial.config import ScoringConfig

    t_start = time.perf_counter()
    config = config if config is not None else ScoringConfig()
    claims, out = str(claims), str(out)
    source = None
    if history is not None:
        model_path, source = _refreshed_model(model_path, history, as_of, out)
    created = False
    if spark is None:
        spark, created = _session(spark_conf)
    timings: dict = {}
    try:
        inputs = _input_files(claims)
        result, summary, outputs = _score_and_write(
            spark, claims, model_path, out, quarantine, timings, config=config,
            as_of=as_of, scored_at=scored_at, partitions=partitions,
            ship_model=ship_model,
        )  # fmt: skip
        if worklist is not None:
            outputs.update(_write_spark_worklist(result, summary, worklist, config))
        result.unpersist()
        outputs["manifest"] = _side_path(out, "manifest.json")
        timings["total"] = time.perf_counter() - t_start
        manifest = _spark_manifest(
            spark, result, summary, inputs=inputs, outputs=outputs,
            model_path=model_path, ship_model=ship_model, config=config,
            timings=timings,
        )  # fmt: skip
        manifest["history_snapshot"] = _snapshot(model_path, result, config, source)
        _write_manifest(spark, manifest, outputs["manifest"])
        quarantined = summary["counts"]["quarantined"] or (source or {}).get(
            "quarantined"
        )
        code = 3 if quarantined else 0
        logger.info(
            "spark: scored %d lines (%d 97112), quarantined %d, in %.1f s -> %s",
            summary["counts"]["valid"], summary["counts"]["scored_97112"],
            summary["counts"]["quarantined"], timings["total"], out,
        )  # fmt: skip
        return manifest, code
    finally:
        if created:
            spark.stop()


def _score_and_write(spark, claims, model_path, out, quarantine, timings, **settings):
    """Score with Spark, write the scored lines and the quarantine.

    Returns the result, its summary and the outputs written. A Spark failure
    becomes a :class:`SparkJobError` naming the input.
    """
    from pyspark.errors import PySparkException
    from pyspark.sql import functions as F

    t0 = time.perf_counter()
    try:
        df = read_claims_spark(spark, claims)
        result = score_spark(df, model_path, source=claims, **settings)
        timings["score_and_worklist"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        summary = result.summary()
        timings["summary"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        (
            result.scored.withColumn(
                PARTITION_COLUMN, F.date_format(S.DATE_OF_SERVICE, "yyyy-MM")
            )
            .write.mode("overwrite")
            .partitionBy(PARTITION_COLUMN)
            .parquet(out)
        )
        q_path = str(quarantine) if quarantine is not None else None
        if q_path is None and summary["counts"]["quarantined"]:
            q_path = _side_path(out, "quarantine.parquet")
        if q_path is not None:
            result.quarantine.write.mode("overwrite").parquet(q_path)
        timings["write"] = time.perf_counter() - t0
    except PySparkException as exc:
        first = str(exc).strip().splitlines()[0][:500] if str(exc) else ""
        raise SparkJobError(
            f"{claims}: the Spark job failed: {type(exc).__name__}: {first}"
        ) from exc
    outputs = {"scored": out}
    if q_path is not None:
        outputs["quarantine"] = q_path
    return result, summary, outputs


def _write_spark_worklist(result, summary, worklist, config) -> dict:
    """The worklist CSV and HTML (empty when no line qualifies); their paths."""
    import pandas as pd

    from ptdenial.scoring import WORKLIST_COLUMNS, write_worklist

    wl = result.worklist
    if wl is None:
        wl = pd.DataFrame({c: pd.Series([], dtype=object) for c in WORKLIST_COLUMNS})
    csv_path, html_path = write_worklist(
        wl,
        worklist,
        title=f"ptdenial worklist, claims of {result.as_of.date()}",
        subtitle=f"model {result.model_id}; "
        f"{summary['counts']['valid']:,} lines scored on Spark; "
        f"top {config.worklist_top} by dollars at risk",
        rank=config.worklist_rank,
    )
    return {"worklist_csv": str(csv_path), "worklist_html": str(html_path)}


def _spark_manifest(spark, result, summary, *, inputs, outputs, model_path,
                    ship_model, config, timings) -> dict:  # fmt: skip
    """The run manifest: the local job's, plus the engine and Spark settings."""
    import pyspark

    from ptdenial.scoring._manifest import _run_manifest, _versions

    sc = spark.sparkContext
    return _run_manifest(
        inputs=inputs,
        outputs=outputs,
        summary=summary,
        model={
            "model_id": result.model_id,
            "path": str(model_path),
            "sha256": result.model_sha256,
            "shipped": "SparkContext.addFile" if ship_model else "shared path",
        },
        as_of=result.as_of,
        stamp=result.scored_at,
        config=config,
        timings=timings,
        versions={**_versions(), "pyspark": pyspark.__version__},
        engine="spark",
        partition_by=f"{PARTITION_COLUMN} (month of {S.DATE_OF_SERVICE}, YYYY-MM)",
        spark={
            "version": spark.version,
            "master": sc.master,
            "default_parallelism": sc.defaultParallelism,
            "shuffle_partitions": spark.conf.get("spark.sql.shuffle.partitions"),
            "partitions": result.partitions,
            "arrow_max_records_per_batch": spark.conf.get(
                "spark.sql.execution.arrow.maxRecordsPerBatch"
            ),
        },
    )


def _write_manifest(spark, manifest: dict, path: str) -> None:
    """JSON beside a local output; a one-file text folder on a remote one."""
    if _is_local(path):
        from ptdenial.io import write_json

        write_json(manifest, _local(path))
    else:
        import json

        text = json.dumps(manifest, indent=2, sort_keys=True, default=str)
        spark.sparkContext.parallelize([text], 1).saveAsTextFile(path)
