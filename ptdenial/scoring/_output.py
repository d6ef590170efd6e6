"""The job's output files: Parquet/CSV writer (atomic via io), quarantine, paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ptdenial import schema as S
from ptdenial.io import atomic_path, csv_safe_arrow, table_format
from ptdenial.scoring._scratch import temp_tag
from ptdenial.scoring._stream import _read_ipc

_TABLE_SUFFIXES = (".gz", ".csv", ".parquet", ".pq")


def _csv_ready(table: pa.Table) -> pa.Table:
    cols, names = [], []
    for field in table.schema:
        col = table.column(field.name)
        if pa.types.is_list(field.type):
            sep = "|" if field.name == S.RULE_HITS else " | "
            col = S.arrow_join_lists(col, sep).fill_null("")
        elif pa.types.is_timestamp(field.type) and field.name == S.DATE_OF_SERVICE:
            col = pc.strftime(col, format="%Y-%m-%d")
        elif pa.types.is_timestamp(field.type):
            col = pc.strftime(col, format="%Y-%m-%dT%H:%M:%SZ")
        cols.append(csv_safe_arrow(col))  # no formulas for spreadsheets (OWASP)
        names.append(field.name)
    return pa.Table.from_arrays(cols, names=names)


class _TableWriter:
    """Parquet or CSV (by suffix) writer of consecutive tables to one file."""

    def __init__(self, path: Path, schema: pa.Schema, *, like: Path):
        self.kind = table_format(like)
        self.path = path
        self.schema = schema
        self.writer = None
        self.compressed = Path(like).name.lower().endswith(".gz")

    def write(self, table: pa.Table):
        if self.kind == "csv":
            table = _csv_ready(table)
            if self.writer is None:
                self._sink = (
                    pa.CompressedOutputStream(str(self.path), "gzip")
                    if self.compressed
                    else pa.OSFile(str(self.path), "wb")
                )
                self.writer = pacsv.CSVWriter(self._sink, table.schema)
            self.writer.write_table(table)
        else:
            if self.writer is None:
                self.writer = pq.ParquetWriter(str(self.path), self.schema)
            self.writer.write_table(table.cast(self.schema))

    def close(self):
        if self.writer is None:
            self.write(self.schema.empty_table())
        self.writer.close()
        if self.kind == "csv":
            self._sink.close()


def _write_tables(target: Path, schema: pa.Schema, tables) -> Path:
    """Write consecutive tables to ``target`` (format by suffix), atomically."""
    with atomic_path(target, tag=temp_tag()) as tmp:
        writer = _TableWriter(tmp, schema, like=target)
        for table in tables:
            writer.write(table)
        writer.close()
    return target


def _quarantine_arrow(frame: pd.DataFrame) -> pa.Table:
    cols = {}
    for name in frame.columns:
        if name in (S.SOURCE_ROW, S.Q_N_FAILURES):
            cols[name] = pa.array(frame[name].to_numpy(dtype=np.int64))
        else:
            cols[name] = pa.array(frame[name].astype("string"), type=pa.string())
    return pa.table(cols)


def _write_quarantine(paths, target: Path):
    """The spilled quarantine parts as one table at ``target`` (empty: the columns)."""
    tables = [_read_ipc(p) for p in paths]
    if tables:
        table = pa.concat_tables(tables, promote_options="permissive")
    else:
        table = pa.table(
            {
                c: pa.array(
                    [],
                    type=pa.int64()
                    if c in (S.SOURCE_ROW, S.Q_N_FAILURES)
                    else pa.string(),
                )
                for c in S.QUARANTINE_COLUMNS
            }
        )
    _write_tables(target, table.schema, [table])


def _stem(out: Path) -> str:
    stem = out.name
    for s in _TABLE_SUFFIXES:
        stem = stem.removesuffix(s)
    return stem


def _default_side_path(out: Path, name: str) -> Path:
    suffix = ".csv" if table_format(out) == "csv" else ".parquet"
    return out.with_name(f"{_stem(out)}.{name}{suffix}")


def _manifest_path(out: Path) -> Path:
    return out.with_name(f"{_stem(out)}.manifest.json")
