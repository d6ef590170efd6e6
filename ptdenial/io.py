"""Reading and writing claim tables: Parquet (file or folder) and CSV (plain or gzip).

Readers return the raw table (validation is :func:`ptdenial.schema.validate_claims`'s
job). Writers are atomic: they write a temporary file beside the target and
rename it, so a crashed job never leaves half a file under the final name.
:func:`atomic_path` is that one mechanism, for any writer. The suffix of an
output path picks its format.
"""

from __future__ import annotations

import contextlib
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
from ptdenial.schema import arrow_join_lists

__all__ = [
    "read_claims",
    "iter_claim_batches",
    "claim_files",
    "write_table",
    "write_json",
    "atomic_path",
    "file_sha256",
    "table_format",
    "csv_safe",
    "csv_safe_arrow",
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
    """List the files behind a claims path (one file, or a folder's Parquet files).

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
        files = sorted(
            f for f in p.rglob("*") if f.is_file() and f.name.endswith(".parquet")
        )
        if not files:
            raise InputFileError(
                f"{path}: folder holds no .parquet files. Point at a Parquet "
                "file, a folder of Parquet files or a CSV."
            )
        return files
    table_format(p)
    return [p]


def _csv_convert_options():
    # Read every column as text: validation coerces and reports bad values
    # with their original text, instead of pyarrow failing the whole file.
    return pacsv.ConvertOptions(
        column_types=None,
        strings_can_be_null=True,
        null_values=[""],
        auto_dict_encode=False,
    )


def _read_csv_text(path: Path) -> pa.Table:
    try:
        names = pacsv.open_csv(path).schema.names
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputFileError(f"{path}: cannot read as CSV ({exc}).") from exc
    convert = _csv_convert_options()
    convert.column_types = {n: pa.string() for n in names}
    try:
        return pacsv.read_csv(path, convert_options=convert)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputFileError(f"{path}: cannot read as CSV ({exc}).") from exc


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    # List columns (Parquet list<string>) become one "|"-joined string per row,
    # computed in Arrow: the same text form as CSV input, parsed once per unique
    # value by validation instead of once per row.
    for i, field in enumerate(table.schema):
        if pa.types.is_list(field.type) or pa.types.is_large_list(field.type):
            joined = arrow_join_lists(table.column(i))
            table = table.set_column(i, field.name, joined)
    return table.to_pandas(ignore_metadata=True)


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
                table = table.select([c for c in columns if c in table.schema.names])
        else:
            try:
                pf = pq.ParquetFile(f)
                names = pf.schema_arrow.names
                cols = None if columns is None else [c for c in columns if c in names]
                table = pf.read(columns=cols)
            except (pa.ArrowInvalid, OSError) as exc:
                raise InputFileError(f"{f}: cannot read as Parquet ({exc}).") from exc
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
            try:
                names = pacsv.open_csv(f).schema.names
                convert = _csv_convert_options()
                convert.column_types = {n: pa.string() for n in names}
                if columns is not None:
                    convert.include_columns = [c for c in columns if c in names]
                reader = pacsv.open_csv(
                    f,
                    read_options=pacsv.ReadOptions(block_size=1 << 22),
                    convert_options=convert,
                )
            except (pa.ArrowInvalid, OSError) as exc:
                raise InputFileError(f"{f}: cannot read as CSV ({exc}).") from exc
            pending: list[pa.RecordBatch] = []
            pending_rows = 0
            for rb in reader:
                pending.append(rb)
                pending_rows += rb.num_rows
                while pending_rows >= batch_rows:
                    table = pa.Table.from_batches(pending)
                    out, rest = table.slice(0, batch_rows), table.slice(batch_rows)
                    df = _to_pandas(out)
                    df.index = pd.RangeIndex(offset, offset + len(df))
                    offset += len(df)
                    yield df
                    pending = rest.to_batches()
                    pending_rows = rest.num_rows
            if pending_rows:
                df = _to_pandas(pa.Table.from_batches(pending))
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
    """:func:`csv_safe` for a pyarrow string array or chunked array."""
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
                codes, uniques = pd.factorize(
                    col.map(
                        lambda v: tuple(v) if isinstance(v, list | np.ndarray) else v
                    )
                )
                joined = np.array(
                    ["|".join(map(str, u)) for u in uniques] + [""], dtype=object
                )
                out[name] = joined[codes]
    for name in out.columns:
        if out[name].dtype == object or pd.api.types.is_string_dtype(out[name].dtype):
            out[name] = csv_safe(out[name])
    return out


@contextlib.contextmanager
def atomic_path(path) -> Iterator[Path]:
    """Write a file atomically: yield a temporary path, then rename it to ``path``.

    The temporary file has a unique name in the target's folder (so the
    rename stays on one file system and two writers never share it), starts
    empty, and gets the permissions a new file would get. When the block
    ends normally it replaces ``path`` in one step; when it raises (or the
    job is interrupted), the temporary file is removed and ``path`` is left
    as it was. Readers therefore see the old file or the new one, never half
    of one.

    Parameters
    ----------
    path : str or Path
        The file to write; its folder is created if needed.

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
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    # mkstemp creates 0600 files; give the result the usual umask-based mode
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield Path(tmp)
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
