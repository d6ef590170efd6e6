"""The lazy PySpark import and the schemas of ``ptdenial.spark``.

The column names of the internal rows (``__ptdenial_*``) and the Spark and
Arrow schemas of the outputs live here, so the driver, the executors and
the command-line job agree on them. The errors of ``ptdenial.spark`` are
defined in :mod:`ptdenial.exceptions` and re-exported here.
"""

from __future__ import annotations

import contextlib
import warnings

from ptdenial import schema as S
from ptdenial.exceptions import SparkJobError, SparkUnavailableError

__all__ = [
    "SparkUnavailableError",
    "SparkJobError",
    "PARTITION_COLUMN",
    "DUPLICATE_GROUP",
    "scored_ddl",
    "quarantine_ddl",
    "spark_scored_schema",
    "spark_quarantine_schema",
]

#: Column added to the scored output written by
#: :func:`ptdenial.spark.score_to_parquet`, the month of ``date_of_service``
#: as ``YYYY-MM``; the output is partitioned by it.
PARTITION_COLUMN = "service_month"
#: Group key of the patients that hold a duplicated ``(claim_id, line_number)``.
DUPLICATE_GROUP = -1

# internal columns: input rows (group key, file, row in file) ...
_GROUP = "__ptdenial_group"
_SRC_FILE = "__ptdenial_source"
_SRC_ROW = "__ptdenial_row"
_META = (_GROUP, _SRC_FILE, _SRC_ROW)
# ... and the rows one scoring pass returns (scored "s" or quarantined "q")
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
    """The quarantine output's ``pyspark.sql.types.StructType``.

    Examples
    --------
    >>> from ptdenial.spark import spark_quarantine_schema
    >>> spark_quarantine_schema().fieldNames()[0]  # doctest: +SKIP
    'source_row'
    """
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
