"""The as-of history snapshot on Spark, equal to the one-machine encoder.

:func:`history_snapshot` computes, with Spark SQL/DataFrame operations only
(no Python function per row):

* the **snapshot the model stores**: per history key (payer x code, payer x
  provider x code, provider, clinic, patient) and adjudication day, the
  number of adjudicated lines and of denied ones, aggregated in Spark; only
  these counts (one row per distinct key and day) reach the driver, where
  the keys are hashed exactly as :class:`ptdenial.features.AsOfHistoryEncoder`
  hashes them (raw identifiers are not kept);
* the **as-of features of every line**: for each key, the lines of that key
  adjudicated strictly before the line's information cut-off, and before its
  recent-window start. Each distinct (key, day) question is answered once by
  a running sum over the key's days (a union of the day counts and the
  questions, ordered by day, questions first on a tie); the answers are
  joined back to the lines.

Everything that depends on the reference day alone (the drawn staleness of
training lines, the window start, the global as-of rate) is computed on the
driver for the few distinct days, with the encoder's own code, and broadcast.
So the result equals the one-machine encoder's to the last bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial.exceptions import ConfigError
from ptdenial.features import AsOfHistoryEncoder
from ptdenial.features._columns import _Distinct
from ptdenial.features._history import _DAY_BITS, _hash_keys
from ptdenial.spark._base import SparkJobError, _require_pyspark

__all__ = ["HistorySnapshot", "history_snapshot"]

_NS_PER_DAY = 86_400 * 10**9
_REF, _INFO, _RECENT = "_ref_day", "_info_day", "_recent_day"


@dataclass
class HistorySnapshot:
    """What :func:`history_snapshot` returns.

    Attributes
    ----------
    encoder : ptdenial.features.AsOfHistoryEncoder
        Fitted from the Spark counts; the same fitted state as
        ``AsOfHistoryEncoder(...).fit`` on the whole table in pandas.
    features : pyspark.sql.DataFrame or None
        The ``keep`` columns and the encoder's output columns
        (``encoder.get_feature_names_out()``, in that order) per line.
    """

    encoder: AsOfHistoryEncoder
    features: object = None


def _epoch_day(df, col: str):
    """Days since 1970-01-01 of a date-like column, whatever its Spark type.

    Integers are nanosecond timestamps (Parquet written by pandas, read
    with ``spark.sql.legacy.parquet.nanosAsLong``); instants are taken in
    UTC; dates, timestamps without zone and ISO text by their calendar day.
    """
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    kind = df.schema[col].dataType
    c = F.col(f"`{col}`")
    if isinstance(kind, T.IntegralType):
        ns = c.cast("long")
        return ((ns - F.pmod(ns, F.lit(_NS_PER_DAY))) / F.lit(_NS_PER_DAY)).cast("int")
    if isinstance(kind, T.TimestampType):
        s = F.unix_seconds(c)
        return ((s - F.pmod(s, F.lit(86_400))) / F.lit(86_400)).cast("int")
    return F.datediff(F.to_date(c), F.to_date(F.lit("1970-01-01")))


def _key_column(df, col: str):
    """A key column as the encoder sees it: text, missing as "\\x00"; absent: ""."""
    from pyspark.sql import functions as F

    if col not in df.columns:
        return F.lit("")
    return F.coalesce(F.col(f"`{col}`").cast("string"), F.lit("\x00"))


def _reference_day(df, as_of):
    """The line's reference day: submission (else service) date, capped at as_of."""
    from pyspark.sql import functions as F

    ref = _epoch_day(df, S.DATE_OF_SERVICE)
    if S.SUBMISSION_DATE in df.columns:
        ref = F.coalesce(_epoch_day(df, S.SUBMISSION_DATE), ref)
    if as_of is None:
        return F.coalesce(ref, F.lit(0))  # no date: day 0, as the encoder does
    cap = int(np.datetime64(pd.Timestamp(as_of).date(), "D").astype(np.int64))
    return F.when(ref.isNull() | (ref > cap), F.lit(cap)).otherwise(ref)


def _collect(sdf) -> pd.DataFrame:
    import pyarrow as pa

    if hasattr(sdf, "toArrow"):  # Spark 4
        return sdf.toArrow().to_pandas()
    return pa.Table.from_batches(sdf._collect_as_arrow()).to_pandas()


def _counts(hist, cols, key_names):
    """Adjudicated and denied lines per distinct key and day (Spark)."""
    from pyspark.sql import functions as F

    return hist.groupBy(*[key_names[c] for c in cols], "_adj").agg(
        F.count(F.lit(1)).alias("_n"), F.sum("_den").alias("_d")
    )


def _fit_encoder(enc, hist, key_names, columns) -> None:
    """Fit ``enc`` from the Spark counts: the driver sees one row a key and day."""
    from pyspark.sql import functions as F

    glob = _collect(
        hist.groupBy("_adj").agg(
            F.count(F.lit(1)).alias("_n"), F.sum("_den").alias("_d")
        )
    )
    tables = {}
    for name, cols in enc._keys().items():
        counts = _collect(_counts(hist, cols, key_names))
        # the key values as the encoder would see them: a missing value is
        # "\x00" and an absent column "" (both hash the same as in pandas)
        frame = pd.DataFrame(
            {c: counts[key_names[c]].astype(object) for c in cols if c in columns}
        )
        tables[name] = (
            _hash_keys(_Distinct(frame), cols),
            counts["_adj"].to_numpy(np.int64),
            counts["_n"].to_numpy(np.int64),
            counts["_d"].to_numpy(float),
        )
    enc._set_snapshot(
        (
            glob["_adj"].to_numpy(np.int64),
            glob["_n"].to_numpy(np.int64),
            glob["_d"].to_numpy(float),
        ),
        tables,
    )
    enc.feature_names_in_ = np.asarray(columns, dtype=object)
    enc.n_features_in_ = len(columns)


def _day_table(spark, enc, ref_days: np.ndarray, drawn: bool):
    """Per distinct reference day: cut-off, window start, age, global rates.

    Computed on the driver with the encoder's own code (few distinct days)
    and returned as a small Spark DataFrame to broadcast.
    """
    frame = pd.DataFrame(
        {S.DATE_OF_SERVICE: ref_days.astype("datetime64[D]").astype("datetime64[ns]")}
    )
    saved, enc.as_of = enc.as_of, None  # ref_days are capped already
    try:
        info, start, long_start, age = enc._query_days(frame, drawn)
    finally:
        enc.as_of = saved
    if long_start is not None:
        raise ConfigError(
            "history counts over a bounded window (count_window_days="
            f"{enc.count_window_days}) are not computed by the Spark engine yet; "
            "train locally, or leave history_count_window_days unset"
        )
    width = np.clip(info - start, 0, (1 << _DAY_BITS) - 1)
    g_rate = enc._global_rate(info)
    prior = np.nan_to_num(g_rate, nan=0.0)
    rows = [
        (int(r), int(i), int(i - w), float(a), float(g), float(p))
        for r, i, w, a, g, p in zip(
            ref_days, info, width, age, g_rate, prior, strict=True
        )
    ]
    ddl = (
        f"{_REF} int, {_INFO} int, {_RECENT} int, _age double, "
        "_global double, _prior double"
    )
    return spark.createDataFrame(rows, ddl)


def _as_of_counts(counts, questions, k):
    """Lines (and denied) of each question's key adjudicated before its day.

    ``counts``: key columns ``k``, ``_adj``, ``_n``, ``_d``; ``questions``:
    ``k`` and ``_q``. One running sum per key over its days, questions
    placed before the counts of their own day (strictly before).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    zero = F.lit(0).cast("long")
    rows = counts.select(
        *k, F.col("_adj").alias("_day"), F.lit(1).alias("_tag"), "_n", "_d"
    ).unionByName(
        questions.select(
            *k,
            F.col("_q").alias("_day"),
            F.lit(0).alias("_tag"),
            zero.alias("_n"),
            zero.alias("_d"),
        )
    )
    w = (
        Window.partitionBy(*k)
        .orderBy("_day", "_tag")
        .rowsBetween(Window.unboundedPreceding, Window.currentRow)
    )
    return (
        rows.select(
            *k,
            "_day",
            "_tag",
            F.sum("_n").over(w).alias("_cn"),
            F.sum("_d").over(w).alias("_cd"),
        )
        .where(F.col("_tag") == 0)
        .select(*k, F.col("_day").alias("_q"), "_cn", "_cd")
    )


def _rate(d, n, prior, m: float):
    """``(d + m * prior) / (n + m)``, NaN where ``n + m`` is 0 (as in pandas)."""
    from pyspark.sql import functions as F

    return F.when(n + F.lit(m) > 0, (d + F.lit(m) * prior) / (n + F.lit(m))).otherwise(
        F.lit(float("nan"))
    )


def _line_features(enc, lines, counts_by_key, key_names, keep):
    """The encoder's output columns per line (Spark)."""
    from pyspark.sql import functions as F

    m = float(enc.smoothing)
    out = lines
    for name, cols in enc._keys().items():
        k = [key_names[c] for c in cols]
        counts = counts_by_key[name]
        questions = (
            lines.select(*k, F.col(_INFO).alias("_q"))
            .union(lines.select(*k, F.col(_RECENT).alias("_q")))
            .distinct()
        )
        answers = _as_of_counts(counts, questions, k)
        before = answers.select(
            *k,
            F.col("_q").alias(_INFO),
            F.col("_cn").alias("_n"),
            F.col("_cd").alias("_d"),
        )
        older = answers.select(
            *k,
            F.col("_q").alias(_RECENT),
            F.col("_cn").alias("_n_old"),
            F.col("_cd").alias("_d_old"),
        )
        out = out.join(before, [*k, _INFO], "left").join(older, [*k, _RECENT], "left")
        n = F.coalesce(F.col("_n"), F.lit(0)).cast("double")
        d = F.coalesce(F.col("_d"), F.lit(0)).cast("double")
        n_r = n - F.coalesce(F.col("_n_old"), F.lit(0)).cast("double")
        d_r = d - F.coalesce(F.col("_d_old"), F.lit(0)).cast("double")
        out = out.select(
            "*",
            n.alias(f"hist_{name}_n"),
            _rate(d, n, F.col("_prior"), m).alias(f"hist_{name}_rate"),
            n_r.alias(f"hist_{name}_n_recent"),
            _rate(d_r, n_r, F.col("_prior"), m).alias(f"hist_{name}_rate_recent"),
        ).drop("_n", "_d", "_n_old", "_d_old")
    out = out.withColumn("hist_global_rate", F.col("_global"))
    if enc.lag == "deployment":
        out = out.withColumn("hist_age_days", F.col("_age"))
    names = [str(c) for c in enc.get_feature_names_out()]
    return out.select(*[F.col(f"`{c}`") for c in keep], *names)


def history_snapshot(
    claims,
    encoder=None,
    *,
    features=True,
    training=True,
    keep=(S.CLAIM_ID, S.LINE_NUMBER),
) -> HistorySnapshot:
    """The history snapshot and the lines' as-of features, computed on Spark.

    Equal, exactly, to the one-machine
    :class:`ptdenial.features.AsOfHistoryEncoder` on the same table:
    ``encoder.fit(claims)`` for the stored snapshot, and
    ``encoder.fit_transform(claims)`` (training, each line with its drawn
    staleness when ``lag="deployment"``) or ``encoder.fit(claims)
    .transform(claims)`` (``training=False``) for the features. Only Spark
    SQL/DataFrame operations touch the lines (see the module docstring);
    the driver receives one row per distinct (key, adjudication day) and
    per distinct reference day.

    Parameters
    ----------
    claims : pyspark.sql.DataFrame
        Claims with outcomes, as :func:`ptdenial.model.prepare_history`
        gives them: the key columns, ``date_of_service``,
        ``submission_date`` (optional), ``adjudication_date`` and ``denied``
        (boolean). Dates may be dates, timestamps, ISO text, or integers of
        nanoseconds (Parquet read by :func:`ptdenial.spark.read_claims_spark`).
    encoder : ptdenial.features.AsOfHistoryEncoder, optional
        Its parameters are used (it is not modified). Default: the
        encoder's defaults, as in the model.
    features : bool, default=True
        Also compute the lines' features (else ``features`` is None).
    training : bool, default=True
        Training features (``fit_transform``) rather than scoring ones.
    keep : sequence of str
        Columns of ``claims`` carried into the features frame to identify
        the lines.

    Returns
    -------
    HistorySnapshot
        ``encoder`` (fitted) and ``features`` (a Spark DataFrame, lazy).

    Examples
    --------
    >>> from ptdenial.spark import history_snapshot, local_session
    >>> spark = local_session(2)  # doctest: +SKIP
    >>> claims = spark.read.parquet("history.parquet")  # doctest: +SKIP
    >>> snap = history_snapshot(claims)  # doctest: +SKIP
    >>> snap.features.write.parquet("history_features.parquet")  # doctest: +SKIP
    """
    _require_pyspark()
    from sklearn.base import clone

    enc = clone(encoder) if encoder is not None else AsOfHistoryEncoder()
    enc._validate_params()
    need = [S.DATE_OF_SERVICE, S.ADJUDICATION_DATE, S.DENIED, *keep]
    missing = [c for c in need if c not in claims.columns]
    if missing:
        raise SparkJobError(
            f"history_snapshot needs the columns {missing}, absent from the claims "
            "given. Pass the history with outcomes "
            "(see ptdenial.model.prepare_history)."
        )
    spark = claims.sparkSession
    cols = sorted({c for key in enc._keys().values() for c in key})
    key_names = {c: f"_k{i}" for i, c in enumerate(cols)}
    keyed = [_key_column(claims, c).alias(key_names[c]) for c in cols]
    adj = _epoch_day(claims, S.ADJUDICATION_DATE)
    from pyspark.sql import functions as F

    hist = claims.where(
        F.col(S.ADJUDICATION_DATE).isNotNull() & F.col(S.DENIED).isNotNull()
    ).select(*keyed, adj.alias("_adj"), F.col(S.DENIED).cast("int").alias("_den"))
    hist = hist.persist()
    try:
        _fit_encoder(enc, hist, key_names, list(claims.columns))
    finally:
        hist.unpersist()
    if not features:
        return HistorySnapshot(enc, None)
    lines = claims.select(
        *[F.col(f"`{c}`") for c in keep],
        *keyed,
        _reference_day(claims, enc.as_of).alias(_REF),
    )
    ref_days = _collect(lines.select(_REF).distinct())[_REF].to_numpy(np.int64)
    days = _day_table(
        spark, enc, np.sort(ref_days), training and enc.lag == "deployment"
    )
    lines = lines.join(F.broadcast(days), _REF, "left")
    counts = {name: _counts(hist, key, key_names) for name, key in enc._keys().items()}
    return HistorySnapshot(enc, _line_features(enc, lines, counts, key_names, keep))
