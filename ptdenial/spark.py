"""Score claims on Spark when one machine is not enough (optional extra).

``pip install "ptdenial[spark]"`` adds PySpark. Nothing here imports pyspark
at module level: ``import ptdenial`` and ``import ptdenial.spark`` work
without it, and every function that needs it says how to install it.

How :func:`score_spark` distributes the nightly job:

1. **One group per patient.** Each row gets a group key, a 64-bit hash of
   its trimmed ``patient_id``, so all lines of a patient, hence of each
   visit, share a key. Patients holding a ``(claim_id, line_number)`` that
   appears more than once go to one extra group (key ``-1``), so every copy
   meets in one batch and validation quarantines them all, as
   :func:`ptdenial.scoring.score_file` does.
2. **Repartition by that key**, then sort each partition by key and input
   position. Arrow batches are streamed through ``mapInArrow`` and cut into
   scoring batches of about ``config.batch_rows`` rows (a partition of up to
   twice that is one batch), **only where the key changes**: a patient is
   never split between two batches.
3. **The same batch function as the CLI.** Each batch is turned into the
   same pandas frame ``score_file`` builds (list columns joined with ``|``
   in Arrow, then ``to_pandas``) and given to
   :func:`ptdenial.scoring.score_batch`. The Arrow table it returns is
   handed back to Spark as is; no row goes through pyspark's own pandas
   conversion.
4. **The model reaches each executor once.** The driver loads the model
   (untrusted files are refused there, before any task runs), records its
   SHA-256 and ships the file with ``SparkContext.addFile`` (or, with
   ``ship_model=False``, reads it from a path every node can read). Each
   Python worker loads it once, checks the hash, and keeps it in a
   module-level cache keyed by file name and hash; batches reuse it. The
   model, with its history snapshot, is never part of a task closure.
5. **Bad rows go to the quarantine DataFrame.** One pass produces both
   outputs (the internal rows are persisted, so writing the scored lines and
   the quarantine does not score twice).
6. **The worklist.** The best ``config.worklist_top`` candidates by dollars
   at risk are found in Spark; the rows of their patients (a few thousand
   lines) are scored again on the driver with exact TreeSHAP reasons, which
   replace the path-attribution reasons of those lines in the scored output:
   the same lines and the same reasons as ``ptdenial score``.

``mapInArrow`` rather than ``mapInPandas``: it is the same mechanism (Arrow
batches to a Python function, partition by partition), but the function
receives Arrow record batches. The batch function then sees exactly the
pandas frame the one-machine job builds, and pyspark's pandas conversion,
which PySpark 4 does not fully support with pandas 3, is never used.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from ptdenial import schema as S
from ptdenial._utils import passive_openmp
from ptdenial.exceptions import InputFileError, ModelVersionError, PtdenialError

__all__ = [
    "SparkScoreResult",
    "SparkUnavailableError",
    "SparkJobError",
    "score_spark",
    "score_to_parquet",
    "read_claims_spark",
    "local_session",
    "spark_scored_schema",
    "spark_quarantine_schema",
    "scored_ddl",
    "quarantine_ddl",
    "PARTITION_COLUMN",
    "DUPLICATE_GROUP",
]

logger = logging.getLogger(__name__)

#: Column added to the scored output written by :func:`score_to_parquet`, the
#: month of ``date_of_service`` as ``YYYY-MM``; the output is partitioned by it.
PARTITION_COLUMN = "service_month"
#: Group key of the patients that hold a duplicated ``(claim_id, line_number)``.
DUPLICATE_GROUP = -1

_GROUP = "__ptdenial_group"
_SRC_FILE = "__ptdenial_source"
_SRC_ROW = "__ptdenial_row"
_META = (_GROUP, _SRC_FILE, _SRC_ROW)
_KIND = "__ptdenial_kind"
_DOLLARS = "__ptdenial_dollars_at_risk"
_CANDIDATE = "__ptdenial_candidate"
_EXPLANATION = "__ptdenial_explanation"
_Q = "__q_"
_PANDAS3_WARNING = "PySpark does not yet fully support pandas"
_DATE_COLUMNS = tuple(n for n, spec in S.COLUMNS.items() if spec.kind == "date")
_SCORED_TYPES = {
    S.CLAIM_ID: "string",
    S.LINE_NUMBER: "bigint",
    S.CPT_CODE: "string",
    S.PAYER_ID: "string",
    S.DATE_OF_SERVICE: "timestamp_ntz",
    S.DENIAL_PROBABILITY: "double",
    S.RISK_BAND: "string",
    S.EXPECTED_LOSS: "double",
    S.RULE_HITS: "array<string>",
    S.REASONS: "array<string>",
    S.SUGGESTED_FIXES: "array<string>",
    S.MODEL_VERSION: "string",
    S.SCORED_AT: "timestamp",
}
_QUARANTINE_INTS = (S.SOURCE_ROW, S.Q_N_FAILURES)


class SparkUnavailableError(PtdenialError, ImportError):
    """PySpark (or the Java it needs) is not available."""


def _require_pyspark():
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise SparkUnavailableError(
            "ptdenial.spark needs PySpark: pip install 'ptdenial[spark]' (and a "
            "Java 17 or newer runtime for a local session)."
        ) from exc


@contextlib.contextmanager
def _quiet_pyspark():
    """Silence PySpark's pandas-3 notice: no data goes through its pandas path."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_PANDAS3_WARNING)
        yield


# --- schemas ----------------------------------------------------------------------
def _ddl(pairs) -> str:
    return ", ".join(f"`{name}` {kind}" for name, kind in pairs)


def scored_ddl() -> str:
    """Spark DDL of the scored output (SCHEMA.md), in contract column order.

    ``date_of_service`` is a ``timestamp_ntz`` (a calendar day, no time
    zone); ``scored_at`` a ``timestamp`` (an instant, UTC).

    Examples
    --------
    >>> from ptdenial.spark import scored_ddl
    >>> scored_ddl().split(", ")[:2]
    ['`claim_id` string', '`line_number` bigint']
    """
    return _ddl((name, _SCORED_TYPES[name]) for name in S.SCORED_COLUMNS)


def quarantine_ddl() -> str:
    """Spark DDL of the quarantine output (as :func:`ptdenial.schema.validate_claims`).

    ``source`` is the input file of the row and ``source_row`` its row
    within that file (0-based) when the input was read from Parquet files;
    for other inputs ``source_row`` is a Spark row id (unique, not a line
    number).

    Examples
    --------
    >>> from ptdenial.spark import quarantine_ddl
    >>> quarantine_ddl().split(", ")[:2]
    ['`source_row` bigint', '`claim_id` string']
    """
    return _ddl(
        (name, "bigint" if name in _QUARANTINE_INTS else "string")
        for name in S.QUARANTINE_COLUMNS
    )


def spark_scored_schema():
    """The scored output's ``pyspark.sql.types.StructType`` (see :func:`scored_ddl`).

    Examples
    --------
    >>> from ptdenial.spark import spark_scored_schema
    >>> spark_scored_schema().fieldNames()[-1]  # doctest: +SKIP
    'scored_at'
    """
    _require_pyspark()
    from pyspark.sql.types import StructType

    return StructType.fromDDL(scored_ddl())


def spark_quarantine_schema():
    """The quarantine output's ``pyspark.sql.types.StructType``."""
    _require_pyspark()
    from pyspark.sql.types import StructType

    return StructType.fromDDL(quarantine_ddl())


def _combined_ddl() -> str:
    """Internal rows of one pass: scored lines and quarantined rows together."""
    pairs = [(_KIND, "string")]
    pairs += [(name, _SCORED_TYPES[name]) for name in S.SCORED_COLUMNS]
    pairs += [
        (_GROUP, "bigint"),
        (_DOLLARS, "double"),
        (_CANDIDATE, "boolean"),
        (_EXPLANATION, "string"),
    ]
    pairs += [
        (_Q + name, "bigint" if name in _QUARANTINE_INTS else "string")
        for name in S.QUARANTINE_COLUMNS
    ]
    return _ddl(pairs)


def _arrow_schema(ddl: str, large: bool):
    """The Arrow schema Spark expects back from ``mapInArrow`` for ``ddl``."""
    import pyarrow as pa

    text = pa.large_string() if large else pa.string()
    types = {
        "string": text,
        "bigint": pa.int64(),
        "double": pa.float64(),
        "boolean": pa.bool_(),
        "timestamp_ntz": pa.timestamp("us"),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "array<string>": (pa.large_list if large else pa.list_)(text),
    }
    fields = []
    for part in ddl.split(", "):
        name, kind = part.rsplit(" ", 1)
        fields.append(pa.field(name.strip("`"), types[kind]))
    return pa.schema(fields)


# --- session and input ----------------------------------------------------------
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
    """
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


# --- worker side ------------------------------------------------------------------
_WORKER_MODELS: dict = {}


def _worker_model(name: str, sha256: str, local_path: str | None, threads: int):
    """The model of this Python worker, loaded once per (file name, SHA-256)."""
    key = (name, sha256)
    model = _WORKER_MODELS.get(key)
    if model is not None:
        return model
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
            f"{path}: the model on this executor has SHA-256 {actual[:16]}..., the "
            f"driver loaded {sha256[:16]}...; the file changed during the run. "
            "Score again."
        )
    model = load_model(path)
    estimator = getattr(model, "estimator_", None)
    if estimator is not None and hasattr(estimator, "n_jobs"):
        estimator.n_jobs = max(1, int(threads))  # one Spark task, its own cores
    _WORKER_MODELS.clear()  # one model per worker at a time
    _WORKER_MODELS[key] = model
    return model


def _raw_frame(table):
    """The pandas frame ``score_file`` builds from the same Arrow data.

    Lists joined with ``|`` (validation parses both forms alike, text is
    faster); contract dates that Spark hands over as integers (nanosecond
    Parquet timestamps), instants or days become timestamp[ns], as
    ``pyarrow`` reads them from the file.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    cols, names = [], []
    for fld in table.schema:
        col = table.column(fld.name)
        kind = fld.type
        if pa.types.is_list(kind) or pa.types.is_large_list(kind):
            col = pc.binary_join(col.cast(pa.list_(pa.string())), "|")
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


def _score_table(table, model, job: dict):
    """Score one batch (whole groups); the combined Arrow rows for Spark."""
    import numpy as np
    import pyarrow as pa

    from ptdenial.config import ScoringConfig
    from ptdenial.scoring import score_batch

    group = table.column(_GROUP).to_numpy()
    src_file = np.asarray(table.column(_SRC_FILE).to_pylist(), dtype=object)
    src_row = table.column(_SRC_ROW).to_numpy()
    raw = _raw_frame(table.drop_columns(list(_META)))
    n = len(raw)
    config = ScoringConfig(**job["config"])
    result = score_batch(
        model, raw, config=config, as_of=job["as_of"], scored_at=job["scored_at"],
        source_rows=np.arange(n), source=job["source"],
    )  # fmt: skip
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


def _make_partition_scorer(job: dict):
    """The function ``mapInArrow`` runs on each partition (captures no model)."""

    def score_partition(batches):
        import numpy as np
        import pyarrow as pa

        try:
            from pyspark import TaskContext

            ctx = TaskContext.get()
            threads = ctx.cpus() if ctx is not None else 1
        except (ImportError, AttributeError):
            threads = 1
        model = _worker_model(
            job["model_name"], job["model_sha256"], job["model_local_path"], threads
        )
        target = max(1, int(job["config"]["batch_rows"]))
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
            yield from _score_table(table.slice(0, cut), model, job)
            rest = table.slice(cut)
            pending, rows = rest.to_batches(), rest.num_rows
        if rows:
            yield from _score_table(pa.Table.from_batches(pending), model, job)

    return score_partition


# --- driver side ------------------------------------------------------------------
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
        return {
            "counts": {
                "rows_in": counts["valid"] + counts["quarantined"],
                "valid": counts["valid"],
                "quarantined": counts["quarantined"],
                "scored": counts["valid"],
                "scored_97112": counts["scored_97112"],
                "not_scored": bands.get("not_scored", 0),
                "rule_hits": counts["rule_hits"],
                "worklist": 0 if self.worklist is None else len(self.worklist),
            },
            "risk_bands": {k: int(v) for k, v in bands.items()},
            "explanations": explained,
            "rule_lines": {r["rule_id"]: int(r["count"]) for r in sorted(per_rule)},
        }

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
        least ``defaultParallelism``. Each partition pays a fixed cost of
        about a second (validation, rules and explainer set-up), so
        thousands of tiny partitions are slow.
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
    from ptdenial.io import file_sha256
    from ptdenial.model import load_model
    from ptdenial.scoring import _run_dates

    config = config if config is not None else ScoringConfig()
    spark = df.sparkSession
    S.check_required_columns(df.columns, source=source)
    model_path = Path(model_path)
    model = load_model(model_path)
    sha = file_sha256(model_path)
    as_of_ts, stamp = _run_dates(as_of, scored_at)
    if ship_model:
        name, local = _ship_model(spark, model_path, sha), None
    else:
        name, local = model_path.name, str(model_path)
    large = (
        spark.conf.get("spark.sql.execution.arrow.useLargeVarTypes", "false").lower()
        == "true"
    )
    job = {
        "model_name": name,
        "model_sha256": sha,
        "model_local_path": local,
        "config": config.to_dict(),
        "as_of": as_of_ts,
        "scored_at": stamp,
        "source": source,
        "arrow_schema": _arrow_schema(_combined_ddl(), large),
    }
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
            _make_partition_scorer(job), StructType.fromDDL(_combined_ddl())
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
        _worklist(result, model, keyed, config, as_of_ts, stamp, source)
    return result


def _to_arrow(df):
    """Collect a (small) Spark DataFrame as an Arrow table."""
    import pyarrow as pa

    with _quiet_pyspark():
        if hasattr(df, "toArrow"):  # Spark >= 4.0
            return df.toArrow()
        return pa.Table.from_batches(df._collect_as_arrow())  # Spark 3.5


def _worklist(result, model, keyed, config, as_of_ts, stamp, source):
    """Global top candidates in Spark; their patients re-scored on the driver."""
    import numpy as np
    import pandas as pd
    from pyspark.sql import functions as F

    from ptdenial.scoring import build_worklist, score_batch

    combined = result._combined
    top = int(config.worklist_top)
    if top <= 0:
        return
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
    groups = sorted({int(r[_GROUP]) for r in best})
    if not groups:
        return
    table = _to_arrow(keyed.where(F.col(_GROUP).isin(groups)))
    table = table.sort_by([(_GROUP, "ascending"), (_SRC_FILE, "ascending"),
                           (_SRC_ROW, "ascending")])  # fmt: skip
    raw = _raw_frame(table.drop_columns(list(_META)))
    batch = score_batch(
        model, raw, config=config, as_of=as_of_ts, scored_at=stamp, source=source,
        source_rows=np.arange(len(raw)),
    )  # fmt: skip
    wl = build_worklist(batch, config=config, model=model)
    result.worklist = wl
    if config.explain == "none" or not len(wl):
        return
    # worklist lines whose reasons in Spark were path attributions get exact ones
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
    rows = list(
        zip(
            wl[S.CLAIM_ID].astype(str).tolist(),
            wl[S.LINE_NUMBER].astype(int).tolist(),
            [list(v) for v in wl[S.REASONS]],
            [list(v) for v in wl[S.SUGGESTED_FIXES]],
            strict=True,
        )
    )
    spark = combined.sparkSession
    patch = spark.createDataFrame(
        rows, "_pc string, _pl bigint, _pr array<string>, _pf array<string>"
    )
    joined = result.scored.join(
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
    result.scored = joined.select(*cols)


# --- the command-line job ---------------------------------------------------------
class SparkJobError(PtdenialError, RuntimeError):
    """A Spark job of the scoring run failed (the message carries Spark's reason)."""


def _is_local(path: str) -> bool:
    return "://" not in path or path.startswith("file:")


def _local(path: str) -> Path:
    return Path(path.removeprefix("file://").removeprefix("file:"))


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

    Returns
    -------
    tuple of (dict, int)
        The manifest and the exit code: 0, or 3 when rows were quarantined.
    """
    _require_pyspark()
    from pyspark.errors import PySparkException
    from pyspark.sql import functions as F

    from ptdenial.config import ScoringConfig
    from ptdenial.io import write_json, write_table
    from ptdenial.scoring import _versions, worklist_html, worklist_paths

    t_start = time.perf_counter()
    config = config if config is not None else ScoringConfig()
    claims, out = str(claims), str(out)
    created = False
    if spark is None:
        spark, created = _session(spark_conf)
    timings: dict = {}
    try:
        inputs = _input_files(claims)
        t0 = time.perf_counter()
        try:
            df = read_claims_spark(spark, claims)
            result = score_spark(
                df, model_path, config=config, as_of=as_of, scored_at=scored_at,
                partitions=partitions, ship_model=ship_model, source=claims,
            )  # fmt: skip
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
        if worklist is not None:
            from ptdenial.scoring import WORKLIST_COLUMNS

            wl = result.worklist
            if wl is None:
                import pandas as pd

                wl = pd.DataFrame({c: pd.Series([], dtype=object)
                                   for c in WORKLIST_COLUMNS})  # fmt: skip
            csv_path, html_path = worklist_paths(worklist)
            write_table(wl, csv_path)
            page = worklist_html(
                wl,
                title=f"ptdenial worklist, claims of {result.as_of.date()}",
                subtitle=f"model {result.model_id}; "
                f"{summary['counts']['valid']:,} lines scored on Spark; "
                f"top {config.worklist_top} by dollars at risk",
            )
            tmp = html_path.with_name(f".{html_path.name}.tmp")
            tmp.write_text(page, encoding="utf-8")
            tmp.replace(html_path)
            outputs["worklist_csv"], outputs["worklist_html"] = (
                str(csv_path),
                str(html_path),
            )
        result.unpersist()
        import pyspark

        versions = _versions()
        versions["pyspark"] = pyspark.__version__
        sc = spark.sparkContext
        manifest_path = _side_path(out, "manifest.json")
        outputs["manifest"] = manifest_path
        timings["total"] = time.perf_counter() - t_start
        manifest = {
            "command": "score",
            "engine": "spark",
            "inputs": inputs,
            "outputs": outputs,
            "partition_by": f"{PARTITION_COLUMN} (month of {S.DATE_OF_SERVICE}, "
            "YYYY-MM)",
            **summary,
            "model": {
                "model_id": result.model_id,
                "path": str(model_path),
                "sha256": result.model_sha256,
                "shipped": "SparkContext.addFile" if ship_model else "shared path",
            },
            "as_of": str(result.as_of.date()),
            "scored_at": result.scored_at.isoformat(),
            "config": config.to_dict(),
            "spark": {
                "version": spark.version,
                "master": sc.master,
                "default_parallelism": sc.defaultParallelism,
                "shuffle_partitions": spark.conf.get("spark.sql.shuffle.partitions"),
                "partitions": result.partitions,
                "arrow_max_records_per_batch": spark.conf.get(
                    "spark.sql.execution.arrow.maxRecordsPerBatch"
                ),
            },
            "timings_s": {k: round(v, 4) for k, v in timings.items()},
            "versions": versions,
        }
        if _is_local(manifest_path):
            write_json(manifest, _local(manifest_path))
        else:
            import json

            text = json.dumps(manifest, indent=2, sort_keys=True, default=str)
            spark.sparkContext.parallelize([text], 1).saveAsTextFile(manifest_path)
        code = 3 if summary["counts"]["quarantined"] else 0
        logger.info(
            "spark: scored %d lines (%d 97112), quarantined %d, in %.1f s -> %s",
            summary["counts"]["valid"], summary["counts"]["scored_97112"],
            summary["counts"]["quarantined"], timings["total"], out,
        )  # fmt: skip
        return manifest, code
    finally:
        if created:
            spark.stop()
