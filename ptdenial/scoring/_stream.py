"""Streaming with bounded memory: key pass, slots and buckets, spill, reading back.

How the job streams and never splits a visit (the input is not assumed
sorted):

1. :func:`_plan` reads only ``patient_id``, ``claim_id`` and
   ``line_number``, or the whole input when it holds at most
   ``ScoringConfig.keep_input_mib`` in Arrow (:func:`_preload`). Each row gets a
   *slot*, a hash of its patient modulo
   :data:`N_SLOTS`, so all lines of a patient (hence of each visit) share a
   slot. Patients holding a duplicated ``(claim_id, line_number)`` go to one
   extra slot, so every copy of the key meets in the same batch and
   validation quarantines them all; consecutive slots are grouped into
   buckets of about ``batch_rows`` rows;
2. :func:`_spill` streams the input and writes each row to its bucket's
   temporary Arrow IPC file (LZ4); a preloaded input is not spilled;
3. :func:`_bucket_frame` reads one bucket back (or takes it from the
   preloaded input) as a pandas frame ordered by (slot, input row), with
   each row's input row number. A worker process reads the file the parent
   writes for the bucket it hands out (:func:`_write_bucket`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from ptdenial import schema as S
from ptdenial.exceptions import InputFileError
from ptdenial.io import (
    _check_nested,
    _readable_type,
    as_type,
    csv_columns,
    iter_csv_tables,
    table_format,
)
from ptdenial.scoring._batch import BatchResult
from ptdenial.scoring._scratch import private_file

#: Hash slots of the patient partition (buckets are runs of consecutive slots).
N_SLOTS = 1 << 16
_DUP_SLOT = N_SLOTS  # patients holding a duplicated line key
_SRC = "__ptdenial_source_row"
_KEY_COLUMNS = (S.PATIENT_ID, S.CLAIM_ID, S.LINE_NUMBER)
#: A dictionary column with more values than this (and than 1/16 of a
#: bucket's rows) is re-encoded per bucket, or decoded once when preloaded.
_BIG_DICTIONARY = 1024


# --- reading the input --------------------------------------------------------------
# CSV goes through ptdenial.io's reader: every column as text, and a row it
# cannot read (ragged, not UTF-8) kept in place with the two unreadable-row
# columns, so validation quarantines it instead of the night failing.
def _parquet_file(path: Path) -> pq.ParquetFile:
    """The Parquet file's metadata; an unreadable file is refused by name."""
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputFileError(
            f"{path}: cannot read as Parquet ({type(exc).__name__}: not a Parquet "
            "file, or damaged)."
        ) from exc


def _file_columns(path: Path) -> list[str]:
    if table_format(path) == "csv":
        return [*csv_columns(path), S.READ_ERROR, S.READ_ERROR_TEXT]
    return _parquet_file(path).schema_arrow.names


def _iter_arrow(path: Path, batch_rows: int, columns=None):
    """Arrow record batches of one file (CSV: every column as text)."""
    if table_format(path) == "csv":
        for table in iter_csv_tables(path, columns=columns):
            yield from table.to_batches()
        return
    try:
        pf = pq.ParquetFile(path, pre_buffer=False)
        cols = None
        if columns is not None:
            cols = [c for c in columns if c in pf.schema_arrow.names]
        yield from pf.iter_batches(batch_size=batch_rows, columns=cols)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputFileError(
            f"{path}: cannot read as Parquet ({type(exc).__name__}: damaged or "
            "truncated file)."
        ) from exc


def _parquet_rows(files):
    """Total rows from Parquet metadata, or None when an input is CSV."""
    if any(table_format(f) == "csv" for f in files):
        return None
    return sum(_parquet_file(f).metadata.num_rows for f in files)


def _file_schema(f) -> pa.Schema:
    if table_format(f) == "csv":
        return pa.schema([(n, pa.string()) for n in _file_columns(f)])
    return _parquet_file(f).schema_arrow


def _unified_schema(files) -> pa.Schema:
    """One schema for every input file.

    A nested contract column (struct, map, list of lists) is refused, naming
    file, column and type. A column whose type differs between files
    (``units`` int64 in one file, text in another) is read as text, which
    validation parses like CSV, rather than refused: ``validate`` reads the
    same folder the same way. List columns travel as ``|``-joined text
    (joined in ``_conform``).
    """
    schemas = []
    for f in files:
        schemas.append(_file_schema(f))
        if table_format(f) != "csv":
            _check_nested(schemas[-1], f)
    try:
        unified = pa.unify_schemas(schemas, promote_options="permissive")
        fields = [
            pa.field(f.name, pa.string())
            if pa.types.is_list(f.type) or pa.types.is_large_list(f.type)
            else pa.field(f.name, _readable_type(f.type))
            for f in unified
        ]
    except (pa.ArrowInvalid, pa.ArrowTypeError, NotImplementedError):
        names = list(dict.fromkeys(n for sch in schemas for n in sch.names))
        fields = [pa.field(n, pa.string()) for n in names]
    return pa.schema(fields).append(pa.field(_SRC, pa.int64()))


def _conform(rb, schema: pa.Schema, first: int) -> pa.Table:
    table = pa.Table.from_batches([rb])
    cols = []
    for field in schema:
        if field.name == _SRC:
            cols.append(pa.array(np.arange(first, first + rb.num_rows, dtype=np.int64)))
        elif field.name in table.column_names:
            col = table.column(field.name)
            if pa.types.is_list(col.type) or pa.types.is_large_list(col.type):
                col = S.arrow_join_lists(col)
            cols.append(as_type(col, field.type))
        else:
            cols.append(pa.nulls(rb.num_rows, field.type))
    return pa.Table.from_arrays(cols, schema=schema)


def _read_files(files, schema: pa.Schema, batch_rows: int) -> list:
    """Each file as one table of ``schema`` (input row numbers run across files)."""
    tables, offset = [], 0
    for f in files:
        parts = []
        for rb in _iter_arrow(f, batch_rows):
            parts.append(_conform(rb, schema, offset))
            offset += rb.num_rows
        tables.append(pa.concat_tables(parts) if parts else schema.empty_table())
    return tables


# --- the key pass -------------------------------------------------------------------
def _hash_text(values) -> np.ndarray:
    """uint64 hash of stripped text per row (null hashes like ""), on uniques."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    arr = pc.utf8_trim_whitespace(pc.cast(values, pa.string()))
    enc = pc.dictionary_encode(arr)
    uniques = enc.dictionary.to_numpy(zero_copy_only=False).astype(object)
    hashes = pd.util.hash_array(np.append(uniques, ""), categorize=False)
    idx = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return hashes[idx]  # -1 picks the appended ""


def _line_hash(claim, line) -> np.ndarray:
    """Hash of (claim_id, line_number) with line numbers normalized ("01" = 1)."""
    if isinstance(line, pa.ChunkedArray):
        line = line.combine_chunks()
    if pa.types.is_integer(line.type):
        ints = pc.fill_null(pc.cast(line, pa.int64()), -1).to_numpy()
        h = pd.util.hash_array(ints)
    else:
        enc = pc.dictionary_encode(pc.utf8_trim_whitespace(pc.cast(line, pa.string())))
        text = pd.Series(enc.dictionary.to_numpy(zero_copy_only=False).astype(object))
        num = pd.to_numeric(text, errors="coerce")
        # whole numbers a float holds exactly; larger ones (beyond int64 too)
        # keep their text, which validation quarantines
        whole = (num == np.round(num)) & (num.abs() < 2**53)
        as_int = num.where(whole).astype("Int64").astype("string")
        norm = as_int.fillna(text).astype(object).to_numpy()
        hashes = pd.util.hash_array(np.append(norm, ""), categorize=False)
        h = hashes[enc.indices.fill_null(-1).to_numpy(zero_copy_only=False)]
    return _hash_text(claim) * np.uint64(1_000_003) ^ h


def _duplicated(values: np.ndarray) -> np.ndarray:
    """Whether each value occurs more than once (every copy is flagged)."""
    order = np.argsort(values, kind="stable")
    sv = values[order]
    dup_sorted = np.zeros(len(sv), dtype=bool)
    if len(sv) > 1:
        same = sv[1:] == sv[:-1]
        dup_sorted[1:] |= same
        dup_sorted[:-1] |= same
    dup = np.zeros(len(sv), dtype=bool)
    dup[order] = dup_sorted
    return dup


def _key_pass(sources):
    """Slot of every row (patient hash), per-file row counts, rows on duplicated keys.

    ``sources`` holds, per file, an iterable of Arrow batches or tables with
    at least the key columns.
    """
    slots, lines, patients, counts = [], [], [], []
    for batches in sources:
        n = 0
        for rb in batches:
            ph = _hash_text(rb.column(S.PATIENT_ID))
            patients.append(ph)
            slots.append((ph % np.uint64(N_SLOTS)).astype(np.int32))
            lines.append(_line_hash(rb.column(S.CLAIM_ID), rb.column(S.LINE_NUMBER)))
            n += rb.num_rows
        counts.append(n)
    if not slots:
        return np.zeros(0, np.int32), counts, 0
    slot = np.concatenate(slots)
    line = np.concatenate(lines)
    del lines
    dup = _duplicated(line)
    del line
    n_dup = int(dup.sum())
    if n_dup:
        patient = np.concatenate(patients)
        moved = np.isin(patient, np.unique(patient[dup]))
        slot[moved] = _DUP_SLOT
    return slot, counts, n_dup


def _buckets(slot: np.ndarray, batch_rows: int) -> np.ndarray:
    """Bucket of each slot: runs of consecutive slots of about ``batch_rows`` rows."""
    counts = np.bincount(slot, minlength=N_SLOTS + 1).astype(np.int64)
    before = np.concatenate([[0], np.cumsum(counts[:N_SLOTS])[:-1]])
    raw = before // max(batch_rows, 1)
    _, bucket = np.unique(raw, return_inverse=True)
    out = np.empty(N_SLOTS + 1, dtype=np.int64)
    out[:N_SLOTS] = bucket
    out[_DUP_SLOT] = bucket.max() + 1 if counts[_DUP_SLOT] else -1
    return out


@dataclasses.dataclass
class _Plan:
    """What the key pass decided: every row's slot and bucket.

    Attributes
    ----------
    slot : numpy.ndarray
        Slot of every input row (input row numbers run across files).
    file_rows : list of int
        Rows per input file.
    n_dup : int
        Rows of patients that hold a duplicated line key.
    row_bucket : numpy.ndarray
        Bucket of every input row.
    n_buckets : int
    preload : list of pyarrow.Table or None
        The whole input, when the key pass read it (:func:`_preload`).
    order, starts : numpy.ndarray or None
        With a preloaded input of several buckets: the input rows ordered by
        (bucket, slot, input row), and where each bucket starts in ``order``.
    """

    slot: np.ndarray
    file_rows: list
    n_dup: int
    row_bucket: np.ndarray
    n_buckets: int
    preload: list | None = None
    order: np.ndarray | None = None
    starts: np.ndarray | None = None

    def release(self) -> None:
        """Drop the preloaded input (every bucket has been read)."""
        self.preload = self.order = self.starts = None

    @property
    def n_in(self) -> int:
        return int(len(self.slot))


def _preload(files, schema: pa.Schema, batch_rows: int, budget: int):
    """Each file as one table of ``schema``, or None above ``budget`` bytes.

    Gives up as soon as the tables read so far, or the Parquet row count at
    their bytes per row, pass ``budget`` (a CSV input: as soon as its files
    are larger than ``budget``, its text being at least that in Arrow).
    """
    total = _parquet_rows(files)
    if total is None and sum(f.stat().st_size for f in files) > budget:
        return None
    tables, offset, size = [], 0, 0
    for f in files:
        parts = []
        for rb in _iter_arrow(f, batch_rows):
            parts.append(_conform(rb, schema, offset))
            offset += rb.num_rows
            size += parts[-1].nbytes
            if size > budget or (total and size / offset * total > budget):
                return None
        tables.append(pa.concat_tables(parts) if parts else schema.empty_table())
    return tables


def _plan(files, schema: pa.Schema, batch_rows: int, keep_bytes: int) -> _Plan:
    """The key pass: slots, duplicated keys and buckets of every input row.

    An input of at most ``keep_bytes`` in Arrow (``ScoringConfig.keep_input_mib``:
    a 1M-line extract is 250-350 MiB, about half of what one 100k-line batch
    needs while it is scored) is read once, whole, and kept (no spill); a
    larger one is read for its keys only, so the peak memory stays bounded
    whatever the input's size.
    """
    preload = _preload(files, schema, batch_rows, keep_bytes) if keep_bytes else None
    if preload is not None:
        slot, file_rows, n_dup = _key_pass([[t] for t in preload])
    else:
        key_batch = max(batch_rows, 200_000)
        slot, file_rows, n_dup = _key_pass(
            [_iter_arrow(f, key_batch, list(_KEY_COLUMNS)) for f in files]
        )
    n_in = int(len(slot))
    bucket_of_slot = _buckets(slot, batch_rows) if n_in else np.zeros(0)
    row_bucket = bucket_of_slot[slot] if n_in else np.zeros(0, np.int64)
    n_buckets = int(row_bucket.max()) + 1 if n_in else 0
    plan = _Plan(slot, file_rows, n_dup, row_bucket, n_buckets, preload)
    if preload is not None and n_buckets > 1:
        plan.preload = [_decode_dictionaries(pa.concat_tables(preload))]
        plan.order = np.lexsort((np.arange(n_in), slot, row_bucket))
        plan.starts = np.searchsorted(
            row_bucket[plan.order], np.arange(n_buckets + 1, dtype=np.int64)
        )
    return plan


# --- spill and read back ------------------------------------------------------------
def _ipc_options():
    return ipc.IpcWriteOptions(compression="lz4")


def _read_ipc(path: Path) -> pa.Table:
    with pa.OSFile(str(path), "rb") as fh:
        return ipc.open_stream(fh).read_all()


def _write_ipc(path: Path, table: pa.Table, *, compress: bool) -> Path:
    """One table as a private (``0600``) Arrow IPC stream (LZ4 when ``compress``)."""
    options = _ipc_options() if compress else None
    with pa.OSFile(str(private_file(path)), "wb") as sink:
        with ipc.new_stream(sink, table.schema, options=options) as w:
            w.write_table(table)
    return path


def _by_bucket(table: pa.Table, bucket: np.ndarray):
    """``(bucket, rows)`` slices of ``table``, rows in input order within a bucket."""
    order = np.argsort(bucket, kind="stable")
    table = table.take(pa.array(order))
    bs = bucket[order]
    cuts = np.flatnonzero(np.diff(bs)) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [len(bs)]])
    for s, e in zip(starts, ends, strict=True):
        yield int(bs[s]), table.slice(s, e - s)


def _spill(files, schema: pa.Schema, plan: _Plan, workdir: Path, *, batch_rows, claims):
    """Write every input row to its bucket's IPC file ``in-<bucket>.arrow``.

    Raises
    ------
    InputFileError
        The input does not hold the rows the key pass counted.
    """
    writers = {}
    offset = 0
    for f in files:
        for rb in _iter_arrow(f, batch_rows):
            tab = _conform(rb, schema, offset)
            b = plan.row_bucket[offset : offset + rb.num_rows]
            offset += rb.num_rows
            for k, part in _by_bucket(tab, b):
                if k not in writers:
                    path = private_file(workdir / f"in-{k}.arrow")
                    sink = pa.OSFile(str(path), "wb")
                    writers[k] = (
                        sink,
                        ipc.new_stream(sink, schema, options=_ipc_options()),
                    )
                writers[k][1].write_table(part)
    for sink, w in writers.values():
        w.close()
        sink.close()
    if offset != plan.n_in:
        raise InputFileError(
            f"{claims}: the file changed while it was read ({plan.n_in} rows, "
            f"then {offset}); score it again."
        )


def _preloaded_bucket(plan: _Plan, k: int) -> pa.Table:
    """Bucket ``k`` of a preloaded input, rows ordered by (slot, input row)."""
    rows = plan.order[plan.starts[k] : plan.starts[k + 1]]
    return plan.preload[0].take(pa.array(rows))


def _write_bucket(plan: _Plan, workdir: Path, k: int) -> None:
    """Bucket ``k`` of a preloaded input as the file a worker process reads."""
    _write_ipc(workdir / f"in-{k}.arrow", _preloaded_bucket(plan, k), compress=False)


def _big_dictionaries(table: pa.Table):
    """``(position, field)`` of the dictionary columns with many distinct values.

    A bucket read back from its spill keeps the dictionaries of every input
    batch it came from: a dictionary-encoded ``patient_id`` of a 1M-line
    extract holds about every patient of the file, and pandas would build
    them all as categories for each bucket (and Arrow unify them per take).
    """
    for i, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            size = sum(len(c.dictionary) for c in table.column(i).chunks)
            if size > max(_BIG_DICTIONARY, table.num_rows // 16):
                yield i, field


def _compact_dictionaries(table: pa.Table) -> pa.Table:
    """Big dictionary columns re-encoded on the values the table holds."""
    for i, field in list(_big_dictionaries(table)):
        values = pc.cast(table.column(i), field.type.value_type)
        table = table.set_column(i, field.name, pc.dictionary_encode(values))
    return table


def _decode_dictionaries(table: pa.Table) -> pa.Table:
    """Big dictionary columns as plain text (a preloaded input, once)."""
    for i, field in list(_big_dictionaries(table)):
        values = pc.cast(table.column(i), field.type.value_type)
        table = table.set_column(i, field.name, values)
    return table


def _bucket_frame(k: int, plan: _Plan, files, schema, workdir: Path, batch_rows: int):
    """Rows of bucket ``k`` as a raw pandas frame, and their input row numbers.

    Rows are ordered by (slot, input row): the same order for any
    ``batch_rows``.
    """
    if plan.n_buckets > 1 and plan.order is not None:
        tab = _preloaded_bucket(plan, k)
        src = tab.column(_SRC).to_numpy()
        return S.arrow_to_raw(_compact_dictionaries(tab.drop_columns([_SRC]))), src
    if plan.n_buckets > 1:
        path = workdir / f"in-{k}.arrow"
        tab = _read_ipc(path) if path.exists() else schema.empty_table()
        path.unlink(missing_ok=True)
    else:
        tables = plan.preload
        plan.preload = None
        if tables is None:
            tables = _read_files(files, schema, batch_rows)
        tab = pa.concat_tables(tables) if tables else schema.empty_table()
    src = tab.column(_SRC).to_numpy()
    order = np.lexsort((src, plan.slot[src])) if len(src) else np.zeros(0, np.int64)
    tab = tab.take(pa.array(order)).drop_columns([_SRC])
    src = src[order]
    raw = S.arrow_to_raw(_compact_dictionaries(tab))
    return raw, src


def _valid_slots(result: BatchResult, raw: pd.DataFrame, slot, src) -> np.ndarray:
    """Slot of each valid line of a batch (valid lines keep the raw order)."""
    kept = np.ones(len(raw), dtype=bool)
    if len(result.quarantine):
        rows = result.quarantine[S.SOURCE_ROW].to_numpy(dtype=np.int64)
        kept[np.isin(src, rows)] = False
    return slot[src[kept]]
