"""Spark sessions and input: a local session, reading claims, the patient key.

Everything that touches the input DataFrame before the scoring pass: a
local session set up for ptdenial, reading Parquet written by pandas, each
row's source file and row, and the group key that keeps a patient (hence
each visit) in one scoring batch.
"""

from __future__ import annotations

import os
import sys

from ptdenial import schema as S
from ptdenial._utils import passive_openmp
from ptdenial.exceptions import InputFileError
from ptdenial.spark._base import (
    _GROUP,
    _SRC_FILE,
    _SRC_ROW,
    DUPLICATE_GROUP,
    SparkUnavailableError,
    _quiet_pyspark,
    _require_pyspark,
)

__all__ = ["local_session", "read_claims_spark"]


def local_session(cores: int = 2, *, shuffle_partitions: int | None = None, conf=None):
    """A local Spark session set up for ptdenial (tests, benchmarks, one machine).

    Python workers run this interpreter; Arrow is on; the UI is off; the
    session time zone is UTC; Parquet nanosecond timestamps (what pandas and
    ptdenial write) are readable (see :func:`read_claims_spark`); idle
    OpenMP threads sleep. An active session is returned as it is.

    Parameters
    ----------
    cores : int
        ``local[cores]``.
    shuffle_partitions : int, optional
        ``spark.sql.shuffle.partitions`` (default ``4 * cores``).
    conf : mapping, optional
        More Spark settings, applied last.

    Returns
    -------
    pyspark.sql.SparkSession

    Examples
    --------
    >>> from ptdenial.spark import local_session
    >>> spark = local_session(2)  # doctest: +SKIP
    """
    _require_pyspark()
    from pyspark.sql import SparkSession

    passive_openmp()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    settings = {
        "spark.master": f"local[{int(cores)}]",
        "spark.app.name": "ptdenial",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": str(shuffle_partitions or 4 * int(cores)),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.legacy.parquet.nanosAsLong": "true",
        "spark.python.worker.reuse": "true",
        "spark.executorEnv.OMP_WAIT_POLICY": "PASSIVE",
        "spark.driver.extraJavaOptions": "-Duser.timezone=UTC",
    }
    settings.update(dict(conf or {}))
    builder = SparkSession.builder
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        with _quiet_pyspark():
            spark = builder.getOrCreate()
    except Exception as exc:  # py4j / Java start-up errors have many types
        raise SparkUnavailableError(
            f"could not start a local Spark session ({type(exc).__name__}: "
            f"{str(exc)[:300]}). Spark needs Java 17 or newer on PATH or in "
            "JAVA_HOME."
        ) from exc
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def read_claims_spark(spark, path, *, fmt=None):
    """Read a claims Parquet file/folder (or CSV) as a Spark DataFrame.

    Parquet files written by pandas or ptdenial store timestamps in
    nanoseconds, which Spark cannot read as timestamps; this sets
    ``spark.sql.legacy.parquet.nanosAsLong`` on the session so they come in
    as integers, which :func:`score_spark` turns back into dates exactly as
    the one-machine job reads them. Files of a folder may differ in their
    optional columns (``mergeSchema``). CSV is read with a header and every
    column as text, as the one-machine job does.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    path : str or Path
        File, folder, or any URI Spark reads (``s3a://``, ``abfss://``, ...).
    fmt : {"parquet", "csv"}, optional
        Default: ``csv`` when the path ends in ``.csv`` or ``.csv.gz``.

    Returns
    -------
    pyspark.sql.DataFrame

    Examples
    --------
    >>> from ptdenial.spark import local_session, read_claims_spark
    >>> spark = local_session(2)  # doctest: +SKIP
    >>> claims = read_claims_spark(spark, "data/sample/new_claims.parquet")  # doctest: +SKIP
    >>> "patient_id" in claims.columns  # doctest: +SKIP
    True
    """  # noqa: E501
    _require_pyspark()
    from pyspark.errors import AnalysisException

    text = str(path)
    if fmt is None:
        fmt = "csv" if text.lower().endswith((".csv", ".csv.gz")) else "parquet"
    try:
        if fmt == "csv":
            return spark.read.csv(text, header=True, inferSchema=False)
        spark.conf.set("spark.sql.legacy.parquet.nanosAsLong", "true")
        return spark.read.option("mergeSchema", "true").parquet(text)
    except AnalysisException as exc:
        raise InputFileError(f"{text}: Spark cannot read it as {fmt} ({exc}).") from exc


def _with_source(df, source: str):
    """Add each row's input file and row within it (or a row id)."""
    from pyspark.errors import AnalysisException
    from pyspark.sql import functions as F

    path = F.regexp_replace(F.col("_metadata.file_path"), "^file:(//)?", "")
    row_id = F.monotonically_increasing_id()
    for file_col, row_col in (
        (path, F.col("_metadata.row_index").cast("bigint")),  # Parquet files
        (path, row_id),  # other files (CSV): a row id, not the line in the file
        (F.lit(source), row_id),  # not read from files
    ):
        try:
            out = df.select("*", file_col.alias(_SRC_FILE), row_col.alias(_SRC_ROW))
            out.schema  # noqa: B018 - resolve now
            return out
        except AnalysisException:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def _keyed(df, source: str):
    """Input rows with their group key (patient hash; duplicated keys together)."""
    from pyspark.sql import functions as F

    df = _with_source(df, source)
    pk = F.coalesce(F.trim(F.col(S.PATIENT_ID).cast("string")), F.lit(""))
    ck = F.trim(F.col(S.CLAIM_ID).cast("string"))
    line = F.trim(F.col(S.LINE_NUMBER).cast("string"))
    as_int = F.expr(f"try_cast(try_cast(trim(cast(`{S.LINE_NUMBER}` as string)) "
                    "as double) as bigint)")  # fmt: skip
    lk = F.coalesce(as_int.cast("string"), line)
    keys = df.select(pk.alias("_pk"), ck.alias("_ck"), lk.alias("_lk"))
    dup_keys = (
        keys.where(F.col("_ck").isNotNull() & F.col("_lk").isNotNull())
        .groupBy("_ck", "_lk")
        .count()
        .where(F.col("count") > 1)
        .drop("count")
    )
    dup_patients = (
        keys.join(dup_keys, ["_ck", "_lk"], "left_semi")
        .select("_pk")
        .distinct()
        .withColumn("_dup", F.lit(True))
    )
    out = df.withColumn("_pk", pk).join(dup_patients, "_pk", "left")
    group = F.when(F.col("_dup"), F.lit(DUPLICATE_GROUP)).otherwise(
        F.xxhash64(F.col("_pk"))
    )
    return out.withColumn(_GROUP, group).drop("_pk", "_dup")


def _session(conf: dict | None):
    """The active session, or a new one (local ones set up by local_session)."""
    from pyspark.sql import SparkSession

    conf = dict(conf or {})
    active = SparkSession.getActiveSession()
    if active is not None:
        return active, False
    master = conf.get("spark.master", os.environ.get("MASTER"))
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ  # spark-submit, pyspark shell
    if not submitted and (master is None or master.startswith("local")):
        cores = os.cpu_count() or 1
        if master and "[" in master and "*" not in master:
            cores = int(master.split("[", 1)[1].split(",")[0].rstrip("]"))
        return local_session(cores, conf=conf), True
    builder = SparkSession.builder.appName("ptdenial")
    for key, value in conf.items():
        builder = builder.config(key, value)
    with _quiet_pyspark():
        spark = builder.getOrCreate()
    spark.conf.set("spark.sql.legacy.parquet.nanosAsLong", "true")
    return spark, True
