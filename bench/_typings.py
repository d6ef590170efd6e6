"""The same claim lines written three ways, as the scoring bench reads them.

``datasets``: as ``ptdenial.datasets`` writes them (pandas types: large
strings, ``timestamp[ns]`` dates, int64, double amounts, ``list<string>``).
``warehouse``: as a warehouse export types them (``date32``, a naive and a
zoned timestamp, dictionary strings, large strings, int16/int32,
``decimal128(12, 2)``, bool, ``list<string>``). ``csv``: text, as a CSV
export writes it (ISO dates, amounts with two decimals, Y/N, lists joined by
``;``). The values are the same; only the types differ. Conversions stream
by row group, so a 5M-line file converts in bounded memory.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

TYPINGS = ("datasets", "warehouse", "csv")
_LARGE = {"claim_id", "prior_auth_number", "note_text"}
_INT16 = {"line_number", "visit_number", "visits_since_progress_report"}
_NAIVE_TS = {"submission_date"}
_ZONED_TS = {"note_signed_date"}
_ZONE = "America/Chicago"


def _warehouse_column(name: str, col: pa.Array) -> pa.Array:
    t = col.type
    if pa.types.is_timestamp(t):
        if name in _NAIVE_TS:
            return pc.cast(col, pa.timestamp("us"))
        if name in _ZONED_TS:  # local midnight in the practice's zone
            return pc.assume_timezone(pc.cast(col, pa.timestamp("ms")), _ZONE)
        return pc.cast(pc.cast(col, pa.timestamp("s")), pa.date32())
    if pa.types.is_large_string(t) or pa.types.is_string(t):
        if name in _LARGE:
            return pc.cast(col, pa.large_string())
        return pc.dictionary_encode(pc.cast(col, pa.string()))
    if pa.types.is_integer(t):
        return pc.cast(col, pa.int16() if name in _INT16 else pa.int32())
    if pa.types.is_floating(t):
        return pc.cast(pc.round(col, 2), pa.decimal128(12, 2))
    return col


def _text_column(col: pa.Array) -> pa.Array:
    t = col.type
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return pc.binary_join(col, ";")
    if pa.types.is_timestamp(t):
        return pc.strftime(col, "%Y-%m-%d")
    if pa.types.is_boolean(t):
        return pc.if_else(col, "Y", "N")
    if pa.types.is_floating(t):
        return pc.cast(pc.cast(pc.round(col, 2), pa.decimal128(12, 2)), pa.string())
    if pa.types.is_dictionary(t):
        col = col.dictionary_decode()
    return pc.cast(col, pa.string())


def warehouse_batch(rb: pa.RecordBatch) -> pa.Table:
    """One batch of ``datasets`` lines, typed as a warehouse export."""
    return pa.table(
        {f.name: _warehouse_column(f.name, rb.column(f.name)) for f in rb.schema}
    )


def text_batch(rb: pa.RecordBatch) -> pa.Table:
    """One batch of ``datasets`` lines as CSV text."""
    return pa.table({f.name: _text_column(rb.column(f.name)) for f in rb.schema})


def write_typings(source: Path, typings=TYPINGS) -> dict:
    """Write ``source`` (a ``datasets`` Parquet file) in the other typings.

    Returns ``{typing: path}``; existing files are kept.
    """
    paths = {"datasets": source}
    targets = {
        "warehouse": source.with_name(source.stem + ".warehouse.parquet"),
        "csv": source.with_name(source.stem + ".csv"),
    }
    for typing, path in targets.items():
        if typing not in typings:
            continue
        paths[typing] = path
        if path.exists():
            continue
        tmp = path.with_name(path.name + ".tmp")
        writer = None
        for rb in pq.ParquetFile(source).iter_batches(batch_size=100_000):
            if typing == "warehouse":
                part = warehouse_batch(rb)
                if writer is None:
                    writer = pq.ParquetWriter(str(tmp), part.schema)
                writer.write_table(part, row_group_size=100_000)
            else:
                part = text_batch(rb)
                if writer is None:
                    writer = pacsv.CSVWriter(str(tmp), part.schema)
                writer.write_table(part)
        writer.close()
        tmp.replace(path)
    return {k: v for k, v in paths.items() if k in typings}
