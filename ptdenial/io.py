"""Reading and writing claim tables: Parquet (file or folder) and CSV (plain or gzip).

Readers return the raw table (validation is :func:`ptdenial.schema.validate_claims`'s
job). Writers are atomic: they write a temporary file beside the target and
rename it, so a crashed job never leaves half a file under the final name.
:func:`atomic_path` is that one mechanism, for any writer. The suffix of an
output path picks its format.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ptdenial.exceptions import InputFileError
from ptdenial.schema import (
    COLUMNS,
    READ_ERROR,
    READ_ERROR_TEXT,
    arrow_to_raw,
    join_lists,
)

__all__ = [
    "read_claims",
    "iter_claim_batches",
    "claim_files",
    "write_table",
    "write_table_chunks",
    "write_json",
    "atomic_path",
    "file_sha256",
    "table_format",
    "csv_safe",
    "csv_safe_arrow",
    "csv_columns",
    "iter_csv_tables",
    "READ_ERROR",
    "READ_ERROR_TEXT",
    "as_type",
]

_CSV_SUFFIXES = (".csv", ".csv.gz")
_PARQUET_SUFFIXES = (".parquet", ".pq")


def table_format(path) -> str:
    """Return ``"parquet"`` or ``"csv"`` from a path's suffix (or folder).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    str

    Examples
    --------
    >>> from ptdenial.io import table_format
    >>> table_format("scores.parquet"), table_format("claims.csv.gz")
    ('parquet', 'csv')
    """
    p = Path(path)
    name = p.name.lower()
    if p.is_dir():
        return "parquet"
    if name.endswith(_CSV_SUFFIXES):
        return "csv"
    if name.endswith(_PARQUET_SUFFIXES):
        return "parquet"
    raise InputFileError(
        f"{path}: unknown table format; use a .parquet or .csv (.csv.gz) suffix, "
        "or a folder of .parquet files."
    )


def claim_files(path) -> list[Path]:
    """List the files behind a claims path (one file, or a folder's table files).

    A folder holds Parquet files or CSV files (``.csv``, ``.csv.gz``), read
    recursively in name order; hidden files and files starting with ``_``
    (``_SUCCESS``) are ignored. A folder mixing both kinds is refused: the
    two would be typed differently and one of them silently left out.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    list of Path
        Sorted, so a folder always reads in the same order.

    Examples
    --------
    >>> from ptdenial.io import claim_files
    >>> [p.name for p in claim_files("data/sample/history.parquet")]
    ['history.parquet']
    """
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"{path}: no such file or folder.")
    if p.is_dir():
        files = [
            f
            for f in sorted(p.rglob("*"))
            if f.is_file()
            and not any(part.startswith((".", "_")) for part in f.relative_to(p).parts)
        ]
        parquet = [f for f in files if f.name.lower().endswith(_PARQUET_SUFFIXES)]
        csv = [f for f in files if f.name.lower().endswith(_CSV_SUFFIXES)]
        if parquet and csv:
            raise InputFileError(
                f"{path}: the folder holds {len(parquet)} Parquet and {len(csv)} "
                f"CSV files (e.g. {csv[0].name}); a claims folder holds one kind. "
                "Move the CSV files to their own folder (or convert them), and "
                "read each folder on its own."
            )
        if not (parquet or csv):
            raise InputFileError(
                f"{path}: folder holds no .parquet files (and no .csv files). "
                "Point at a Parquet file, a CSV, or a folder of either."
            )
        return parquet or csv
    table_format(p)
    return [p]


_BLOCK = 1 << 22  # 4 MiB: pyarrow's parse block
_MAX_BLOCK = 1 << 28  # rows longer than 256 MiB are refused
_SNIFF = 1 << 16


def _head(path: Path) -> bytes:
    """The first bytes of a CSV (decompressed when it is .gz)."""
    import gzip

    try:
        if path.name.lower().endswith(".gz"):
            with gzip.open(path, "rb") as fh:
                return fh.read(_SNIFF)
        with open(path, "rb") as fh:
            return fh.read(_SNIFF)
    except (OSError, EOFError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc).split(":")[0]
        raise InputFileError(f"{path}: cannot read as CSV ({reason}).") from exc


def _not_csv(path: Path, head: bytes) -> str | None:
    """Why the bytes cannot be a UTF-8 CSV, or None."""
    if head.startswith(b"PAR1"):
        return "it is a Parquet file; give it a .parquet name"
    if head.startswith(b"\x1f\x8b"):
        return "it is gzip-compressed; give it a .csv.gz name"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or head[:200].count(b"\x00") > 20:
        return (
            "it is UTF-16 encoded (or has NUL bytes); export it again as UTF-8 "
            "CSV (Excel: 'CSV UTF-8 (Comma delimited)')"
        )
    if b"\x00" in head:
        return "it holds NUL bytes: a binary file, not CSV text"
    return None


def csv_columns(path) -> list[str]:
    """The header of a CSV file, checked: UTF-8 text, no column named twice.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    list of str

    Raises
    ------
    InputFileError
        Naming the file and the fix: not a CSV (binary, UTF-16, Parquet,
        gzip without ``.gz``), an empty file, a header that is not UTF-8, or
        duplicate column names.

    Examples
    --------
    >>> from ptdenial.io import csv_columns
    >>> csv_columns("data/sample/new_claims.csv")[:3]
    ['claim_id', 'line_number', 'patient_id']
    """
    import csv
    import io

    path = Path(path)
    head = _head(path)
    why = _not_csv(path, head)
    if why:
        raise InputFileError(f"{path}: cannot read as CSV: {why}.")
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    line = head.split(b"\n", 1)[0]
    if len(line) >= _SNIFF - 3:
        raise InputFileError(
            f"{path}: cannot read as CSV: no line break in the first "
            f"{_SNIFF >> 10} KiB (not a CSV, or a header that long)."
        )
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise InputFileError(
            f"{path}: cannot read as CSV: the header is not UTF-8 text; "
            "export it again as UTF-8 CSV."
        ) from None
    names = next(csv.reader(io.StringIO(text)), None)
    if not names:
        raise InputFileError(f"{path}: the CSV file is empty (no header row).")
    seen, twice = set(), []
    for n in names:
        if n in seen and n not in twice:
            twice.append(n)
        seen.add(n)
    if twice:
        raise InputFileError(
            f"{path}: columns {twice} appear more than once in the header; "
            "rename or remove the copies so each column has one name."
        )
    return names


def _csv_error(path, exc) -> InputFileError:
    """pyarrow's reason without the row text it quotes (PHI)."""
    import re

    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    msg = re.sub(r"(got \d+)\s*:.*", r"\1", msg)
    msg = re.sub(r"'[^']*'|\"[^\"]*\"", "(...)", msg)
    if "straddling" in msg or "block size" in msg:
        msg = f"a row is longer than {_MAX_BLOCK >> 20} MiB"
    return InputFileError(f"{path}: cannot read as CSV ({msg[:200]}).")


def _decode(col: pa.Array, bad: np.ndarray, column: str, why: list) -> pa.Array:
    """Binary cells as UTF-8 text; invalid cells decoded with U+FFFD and flagged."""
    try:
        return col.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    values = col.to_pylist()
    out = []
    for i, v in enumerate(values):
        if v is None:
            out.append(None)
            continue
        try:
            out.append(v.decode("utf-8"))
        except UnicodeDecodeError:
            out.append(v.decode("utf-8", errors="replace"))
            if not bad[i]:
                bad[i] = True
                why[i] = f"column {column} is not UTF-8 text"
    return pa.array(out, type=pa.string())


def _text_table(rb: pa.RecordBatch) -> pa.Table:
    """One parsed slice as text columns plus the two unreadable-row columns."""
    n = rb.num_rows
    bad = np.zeros(n, dtype=bool)
    why = [None] * n
    cols = [
        _decode(rb.column(i), bad, name, why) for i, name in enumerate(rb.schema.names)
    ]
    raw = [None] * n
    for i in np.flatnonzero(bad):
        raw[i] = ",".join("" if c[i].as_py() is None else c[i].as_py() for c in cols)
    names = [*rb.schema.names, READ_ERROR, READ_ERROR_TEXT]
    cols += [pa.array(why, pa.string()), pa.array(raw, pa.string())]
    return pa.Table.from_arrays(cols, names=names)


def _placeholders(rows, names) -> pa.Table:
    """Rows the parser rejected: every column empty, the reason and the raw text."""
    n = len(rows)
    cols = [pa.nulls(n, pa.string()) for _ in names]
    cols.append(pa.array([r[2] for r in rows], pa.string()))
    cols.append(pa.array([r[1] for r in rows], pa.string()))
    return pa.Table.from_arrays(cols, names=[*names, READ_ERROR, READ_ERROR_TEXT])


def _csv_pass(path, names, include, block, skip):
    """One pass over a CSV; yields text tables, rejected rows in their place."""
    import collections

    rejects = collections.deque()

    def on_invalid(row):
        idx = row.number - 2 if row.number is not None else -1
        why = (
            f"row has {row.actual_columns} fields, the header has "
            f"{row.expected_columns}"
        )
        rejects.append((idx, row.text, why))
        return "skip"

    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(
            use_threads=False, block_size=block, column_names=names, skip_rows=1
        ),
        parse_options=pacsv.ParseOptions(
            invalid_row_handler=on_invalid, newlines_in_values=True
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.binary() for n in names},
            include_columns=include,
            strings_can_be_null=True,
            null_values=[""],
        ),
    )
    pos = 0
    for rb in reader:
        parts, i, g = [], 0, rb.num_rows
        while i < g:
            if rejects and rejects[0][0] <= pos:
                parts.append(_placeholders([rejects.popleft()], include))
                pos += 1
                continue
            take = g - i if not rejects else max(1, min(g - i, rejects[0][0] - pos))
            parts.append(_text_table(rb.slice(i, take)))
            i, pos = i + take, pos + take
        yield from _skip(parts, skip)
        skip = max(0, skip - sum(t.num_rows for t in parts))
    if rejects:
        yield from _skip([_placeholders(list(rejects), include)], skip)


def _skip(parts, skip):
    """The tables of ``parts`` without their first ``skip`` rows."""
    for t in parts:
        if skip >= t.num_rows:
            skip -= t.num_rows
            continue
        yield t.slice(skip) if skip else t
        skip = 0


def iter_csv_tables(path, *, columns=None) -> Iterator[pa.Table]:
    """Stream a CSV as Arrow tables of text, every row in file order.

    Every column is read as text (validation coerces and reports values).
    Rows the parser cannot split into the header's columns, and rows with
    text that is not UTF-8, stay in their place with empty columns and two
    extra columns, :data:`READ_ERROR` (why) and :data:`READ_ERROR_TEXT` (the
    row as read), so that validation quarantines them instead of the whole
    file failing. A row longer than the parse block is read again with a
    larger block (up to 256 MiB). Messages never quote row text.

    Parameters
    ----------
    path : str or Path
    columns : list of str, optional
        Read only these columns (those that exist).

    Yields
    ------
    pyarrow.Table

    Raises
    ------
    InputFileError
        The file is not a UTF-8 CSV (see :func:`csv_columns`) or cannot be read.
    """
    path = Path(path)
    names = csv_columns(path)
    include = names if columns is None else [c for c in columns if c in names]
    block, done = _BLOCK, 0
    while True:
        try:
            for t in _csv_pass(path, names, include, block, done):
                done += t.num_rows
                yield t
            return
        except (pa.ArrowInvalid, OSError) as exc:
            if "straddl" in str(exc) and block < _MAX_BLOCK:
                block *= 4  # a row longer than the block: read on with a larger one
                continue
            raise _csv_error(path, exc) from None


def _read_csv_text(path: Path) -> pa.Table:
    tables = list(iter_csv_tables(path))
    if not tables:
        names = csv_columns(path)
        return pa.table({n: pa.array([], pa.string()) for n in names})
    table = pa.concat_tables(tables)
    return _drop_unused_read_error(table)


def _drop_unused_read_error(table: pa.Table) -> pa.Table:
    """Without the unreadable-row columns when every row was read."""
    if READ_ERROR in table.column_names and table.column(READ_ERROR).null_count == len(
        table
    ):
        table = table.drop_columns([READ_ERROR, READ_ERROR_TEXT])
    return table


def as_type(col, t: pa.DataType):
    """``col`` cast to ``t``; to text by value when Arrow has no such cast.

    Parameters
    ----------
    col : pyarrow.Array or pyarrow.ChunkedArray
    t : pyarrow.DataType

    Returns
    -------
    pyarrow.Array or pyarrow.ChunkedArray
    """
    if col.type == t:
        return col
    try:
        return col.cast(t)
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError):
        if t != pa.string():
            raise
    values = col.to_pylist()
    return pa.array([None if v is None else str(v) for v in values], pa.string())


def _check_nested(schema: pa.Schema, source) -> None:
    """Refuse a contract column of nested values (struct, map, list of lists...).

    No kind reads them (a code list may be a list of scalars), and without
    this the job would fail deep inside with Arrow's own error. Names the
    file, the column and its type, never a value.
    """
    for field in schema:
        spec = COLUMNS.get(field.name)
        t = field.type
        if spec is None or not pa.types.is_nested(t):
            continue
        if (
            spec.kind == "list"
            and (pa.types.is_list(t) or pa.types.is_large_list(t))
            and not pa.types.is_nested(t.value_type)
        ):
            continue
        what = (
            "a list of codes or delimited text"
            if spec.kind == "list"
            else ("one plain value per row")
        )
        raise InputFileError(
            f"{source}: column {field.name!r} holds nested values ({t}); "
            f"write it as {what} (see docs/input-types.md)."
        )


def _readable_type(t: pa.DataType) -> pa.DataType:
    """``t`` when validation reads it typed, else text.

    Text (plain, large, dictionary), booleans, floats, integers up to
    ``int64`` and ``uint32``, dates, timestamps, decimals, nulls and lists
    stay (:func:`ptdenial.schema.arrow_to_raw` reads them in bulk).
    ``uint64`` (NumPy's int64 cannot hold all of it), binary, time, duration
    and the like are read as text, which validation parses like CSV: a bad
    value is quarantined instead of failing the night. Nested columns are
    refused before (``_check_nested``).
    """
    if pa.types.is_dictionary(t):
        return t if _readable_type(t.value_type) == t.value_type else pa.string()
    plain = (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_boolean(t)
        or pa.types.is_floating(t)
        or pa.types.is_timestamp(t)
        or pa.types.is_date(t)
        or pa.types.is_decimal(t)
        or pa.types.is_null(t)
        or pa.types.is_list(t)
        or pa.types.is_large_list(t)
        or (pa.types.is_integer(t) and t != pa.uint64())
    )
    return t if plain else pa.string()


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    # List columns (Parquet list<string>) become one "|"-joined string per row,
    # computed in Arrow: the same text form as CSV input, parsed once per unique
    # value by validation instead of once per row. Dates, decimals, integers
    # and booleans keep types validation reads in bulk (schema.arrow_to_raw);
    # types it cannot read (uint64, binary ...) come as text.
    for i, field in enumerate(table.schema):
        t = _readable_type(field.type)
        if t != field.type:
            table = table.set_column(i, field.name, as_type(table.column(i), t))
    return arrow_to_raw(table)


def read_claims(path, *, columns=None) -> pd.DataFrame:
    """Read a claims table: a Parquet file, a folder of Parquet files, or a CSV.

    Parameters
    ----------
    path : str or Path
        ``.parquet`` file, folder of ``.parquet`` files, ``.csv`` or ``.csv.gz``.
    columns : list of str, optional
        Read only these columns (those that exist).

    Returns
    -------
    pandas.DataFrame
        The raw table; CSV columns are all text, and Parquet list columns
        come back as ``|``-joined text (the CSV form). Pass it to
        :func:`ptdenial.schema.validate_claims`.

    Examples
    --------
    >>> from ptdenial.io import read_claims
    >>> raw = read_claims("data/sample/new_claims.csv")
    >>> "claim_id" in raw.columns
    True
    """
    files = claim_files(path)
    frames = []
    for f in files:
        if table_format(f) == "csv":
            table = _read_csv_text(f)
            if columns is not None:
                keep = [*columns, READ_ERROR, READ_ERROR_TEXT]
                table = table.select([c for c in table.schema.names if c in keep])
        else:
            try:
                pf = pq.ParquetFile(f)
                names = pf.schema_arrow.names
                cols = None if columns is None else [c for c in columns if c in names]
                table = pf.read(columns=cols)
            except (pa.ArrowInvalid, OSError) as exc:
                raise InputFileError(f"{f}: cannot read as Parquet ({exc}).") from exc
            _check_nested(table.schema, f)
        frames.append(_to_pandas(table))
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, ignore_index=True)


def iter_claim_batches(
    path, batch_rows: int = 100_000, *, columns=None
) -> Iterator[pd.DataFrame]:
    """Stream a claims table in batches of at most ``batch_rows`` rows.

    Parquet is read with ``ParquetFile.iter_batches(pre_buffer=False)``, CSV
    with pyarrow's streaming reader, so memory stays bounded whatever the
    file size. Each batch's index continues the previous one, so index values
    are the source row numbers.

    Parameters
    ----------
    path : str or Path
    batch_rows : int
    columns : list of str, optional

    Yields
    ------
    pandas.DataFrame

    Examples
    --------
    >>> from ptdenial.io import iter_claim_batches
    >>> sizes = [len(b) for b in iter_claim_batches("data/sample/new_claims.parquet",
    ...                                             batch_rows=500)]
    >>> max(sizes) <= 500
    True
    """
    if batch_rows < 1:
        raise ValueError(f"batch_rows must be >= 1; got {batch_rows}.")
    offset = 0
    for f in claim_files(path):
        if table_format(f) == "csv":
            pending: list[pa.Table] = []
            pending_rows = 0
            for table in iter_csv_tables(f, columns=columns):
                pending.append(table)
                pending_rows += table.num_rows
                while pending_rows >= batch_rows:
                    table = pa.concat_tables(pending)
                    out, rest = table.slice(0, batch_rows), table.slice(batch_rows)
                    df = _to_pandas(_drop_unused_read_error(out))
                    df.index = pd.RangeIndex(offset, offset + len(df))
                    offset += len(df)
                    yield df
                    pending, pending_rows = [rest], rest.num_rows
            if pending_rows:
                df = _to_pandas(_drop_unused_read_error(pa.concat_tables(pending)))
                df.index = pd.RangeIndex(offset, offset + len(df))
                offset += len(df)
                yield df
        else:
            try:
                pf = pq.ParquetFile(f, pre_buffer=False)
                names = pf.schema_arrow.names
                cols = None if columns is None else [c for c in columns if c in names]
                for rb in pf.iter_batches(batch_size=batch_rows, columns=cols):
                    df = _to_pandas(pa.Table.from_batches([rb]))
                    df.index = pd.RangeIndex(offset, offset + len(df))
                    offset += len(df)
                    yield df
            except (pa.ArrowInvalid, OSError) as exc:
                raise InputFileError(f"{f}: cannot read as Parquet ({exc}).") from exc


def _arrow_ready(df: pd.DataFrame) -> pd.DataFrame:
    """Make list columns (tuples) writable and text-friendly for Arrow."""
    out = df.copy()
    for name in out.columns:
        col = out[name]
        if col.dtype == object and len(col):
            sample = col.dropna()
            first = sample.iloc[0] if len(sample) else None
            if isinstance(first, tuple | list | np.ndarray):
                out[name] = col.map(
                    lambda v: (
                        list(v)
                        if isinstance(v, tuple | list | np.ndarray)
                        else ([] if v is None else v)
                    )
                )
    return out


# CSV formula injection (OWASP): a text cell starting with one of these is run
# as a formula by Excel, LibreOffice and Sheets. Such cells get a leading "'"
# unless the whole cell is a plain number ("-12.50" stays a number).
_FORMULA_START = r"^[=+\-@\t\r]"
_PLAIN_NUMBER = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$"


def csv_safe(values: pd.Series) -> pd.Series:
    """Text cells a spreadsheet would run as formulas, neutralised with ``'``.

    A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
    return gets a leading apostrophe (OWASP's advice against CSV injection),
    unless the cell is a plain number, which stays a number. Non-text
    values pass through.

    Parameters
    ----------
    values : pandas.Series

    Returns
    -------
    pandas.Series

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.io import csv_safe
    >>> cells = pd.Series(["=HYPERLINK(1)", "@SUM(A1)", "-12.5", "97112", "-2+3"])
    >>> csv_safe(cells).tolist()
    ["'=HYPERLINK(1)", "'@SUM(A1)", '-12.5', '97112', "'-2+3"]
    """
    if not (values.dtype == object or pd.api.types.is_string_dtype(values.dtype)):
        return values
    text = values.astype("string")
    risky = text.str.contains(_FORMULA_START, regex=True, na=False) & ~text.str.match(
        _PLAIN_NUMBER, na=False
    )
    if not risky.any():
        return values
    out = values.astype(object).copy()
    out[risky.to_numpy()] = ("'" + text[risky]).to_numpy(dtype=object)
    return out


def csv_safe_arrow(col):
    """:func:`csv_safe` for a pyarrow string array or chunked array.

    Parameters
    ----------
    col : pyarrow.Array or pyarrow.ChunkedArray

    Returns
    -------
    pyarrow.Array or pyarrow.ChunkedArray
        Non-text columns unchanged.
    """
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        return col
    risky = pc.and_(
        pc.match_substring_regex(col, _FORMULA_START),
        pc.invert(pc.match_substring_regex(col, _PLAIN_NUMBER)),
    )
    if not pc.any(risky).as_py():
        return col
    quoted = pc.binary_join_element_wise(pa.scalar("'", col.type), col, "")
    return pc.if_else(risky, quoted, col)


def _csv_ready(df: pd.DataFrame) -> pd.DataFrame:
    """Lists become ``|``-joined text, dates ISO text, formulas neutralised, for CSV."""
    out = df.copy()
    for name in out.columns:
        col = out[name]
        if pd.api.types.is_datetime64_any_dtype(col.dtype):
            out[name] = col.dt.strftime("%Y-%m-%d").where(col.notna(), None)
        elif col.dtype == object and len(col):
            sample = col.dropna()
            first = sample.iloc[0] if len(sample) else None
            if isinstance(first, tuple | list | np.ndarray):
                out[name] = join_lists(col)
    for name in out.columns:
        if out[name].dtype == object or pd.api.types.is_string_dtype(out[name].dtype):
            out[name] = csv_safe(out[name])
    return out


@contextlib.contextmanager
def atomic_path(path, *, tag: str = "") -> Iterator[Path]:
    """Write a file atomically: yield a temporary path, then rename it to ``path``.

    The temporary file has a unique name in the target's folder (so the
    rename stays on one file system and two writers never share it), starts
    empty and readable by this user only (``0600``) while it is written, and
    gets the permissions a new file would get just before the rename. When the block
    ends normally it replaces ``path`` in one step; when it raises (or the
    job is interrupted), the temporary file is removed and ``path`` is left
    as it was. Readers therefore see the old file or the new one, never half
    of one.

    Parameters
    ----------
    path : str or Path
        The file to write; its folder is created if needed.
    tag : str
        Put into the temporary name after ``.<name>.``, so that a later run
        can recognise (and sweep) what a killed writer left behind; the
        scoring job puts its host, process id and start time there.

    Yields
    ------
    pathlib.Path
        Where to write. Its name ends in ``.tmp``, not in the target's
        suffix: pass the format explicitly to writers that guess it from the
        suffix.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from ptdenial.io import atomic_path
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    ...     target.exists()
    False
    >>> target.read_text(), [p.name for p in target.parent.iterdir()]
    ('done', ['notes.txt'])
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.{tag}", suffix=".tmp", dir=path.parent
    )
    os.close(fd)
    # mkstemp creates 0600 files: private while written (outputs hold patient
    # rows); the finished file gets the usual umask-based mode
    umask = os.umask(0)
    os.umask(umask)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_table(df: pd.DataFrame, path, *, index: bool = False) -> Path:
    """Write a table atomically; ``.parquet`` or ``.csv``/``.csv.gz`` by suffix.

    List columns are written as Parquet ``list<string>`` or, in CSV, as
    ``|``-delimited text (which :func:`read_claims` and validation read back).

    Parameters
    ----------
    df : pandas.DataFrame
    path : str or Path
        Exactly the path written.
    index : bool
        Write the index too.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> from ptdenial.io import write_table, read_claims
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "t.parquet"
    >>> _ = write_table(pd.DataFrame({"modifiers": [("GP", "KX"), ()]}), out)
    >>> read_claims(out)["modifiers"].tolist()  # lists come back as "|" text
    ['GP|KX', '']
    """
    path = Path(path)
    fmt = "csv" if path.name.lower().endswith(_CSV_SUFFIXES) else None
    if fmt is None:
        if not path.name.lower().endswith(_PARQUET_SUFFIXES):
            raise InputFileError(
                f"{path}: output format unknown; use a .parquet or .csv suffix."
            )
        fmt = "parquet"
    with atomic_path(path) as tmp:
        if fmt == "parquet":
            table = pa.Table.from_pandas(_arrow_ready(df), preserve_index=index)
            pq.write_table(table, tmp)
        else:
            compression = "gzip" if path.name.lower().endswith(".gz") else None
            _csv_ready(df).to_csv(tmp, index=index, compression=compression)
    return path


def write_table_chunks(frames, path) -> int:
    """Write consecutive DataFrames as one table, atomically; returns the rows.

    Like :func:`write_table`, for a table made chunk by chunk: only one chunk
    is in memory at a time. Parquet gets one row group per chunk, with the
    first chunk's schema (all-empty columns as text); CSV gets one header.
    Give at least one chunk (an empty frame gives the columns only).

    Parameters
    ----------
    frames : iterable of pandas.DataFrame
        Same columns in the same order.
    path : str or Path
        ``.parquet`` or ``.csv``/``.csv.gz``.

    Returns
    -------
    int

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> from ptdenial.io import write_table_chunks, read_claims
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "t.parquet"
    >>> parts = (pd.DataFrame({"a": [i], "m": [("GP",) * i]}) for i in range(3))
    >>> write_table_chunks(parts, out)
    3
    >>> read_claims(out)["m"].tolist()
    ['', 'GP', 'GP|GP']
    """
    path = Path(path)
    fmt = table_format(path)
    if not path.name.lower().endswith(_CSV_SUFFIXES + _PARQUET_SUFFIXES):
        raise InputFileError(
            f"{path}: output format unknown; use a .parquet or .csv suffix."
        )
    rows, writer, schema = 0, None, None
    with atomic_path(path) as tmp:
        if fmt == "parquet":
            for df in frames:
                table = pa.Table.from_pandas(_arrow_ready(df), preserve_index=False)
                if writer is None:
                    schema = pa.schema([_no_null_type(f) for f in table.schema])
                    schema = schema.with_metadata(table.schema.metadata)
                    writer = pq.ParquetWriter(str(tmp), schema)
                writer.write_table(table.cast(schema))
                rows += len(df)
            if writer is not None:
                writer.close()
        else:
            opener = gzip.open if path.name.lower().endswith(".gz") else open
            with opener(tmp, "wt", newline="", encoding="utf-8") as fh:
                for i, df in enumerate(frames):
                    _csv_ready(df).to_csv(fh, index=False, header=i == 0)
                    rows += len(df)
    return rows


def _no_null_type(field: pa.Field) -> pa.Field:
    """A column all empty in the first chunk is text (lists of text)."""
    if pa.types.is_null(field.type):
        return field.with_type(pa.string())
    if pa.types.is_list(field.type) and pa.types.is_null(field.type.value_type):
        return field.with_type(pa.list_(pa.string()))
    return field


def write_json(obj, path) -> Path:
    """Write JSON atomically (sorted keys, ISO dates).

    Parameters
    ----------
    obj : object
        JSON-serialisable; other objects are written with ``str``.
    path : str or Path

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from ptdenial.io import write_json
    >>> p = write_json({"rows": 3}, pathlib.Path(tempfile.mkdtemp()) / "m.json")
    >>> import json
    >>> json.loads(p.read_text())
    {'rows': 3}
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")
    return path


def file_sha256(path) -> str:
    """SHA-256 of a file's bytes (streamed).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    str
        64 hexadecimal characters.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from ptdenial.io import file_sha256
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> _ = p.write_text("abc")
    >>> file_sha256(p)[:12]
    'ba7816bf8f01'
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
