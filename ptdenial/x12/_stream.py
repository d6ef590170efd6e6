"""Typed X12 chunks spilled to disk, with their compact keys kept in memory.

:func:`ptdenial.x12.ingest` reads each file once: the flattener's typed
chunks (:func:`ptdenial.x12._read.scan_x12`) go to a private temporary folder
as Arrow IPC files, and only the columns the cross-row steps need (netting
reversals, choosing the latest remit, matching remits to claims) stay in
memory. The output is then made chunk by chunk from the spill.

The spill folder (:func:`spill_folder`) is private (``0700``) and removed at
the end of the run, also when it fails. A run killed outright (SIGKILL, power
loss) leaves it behind; its name carries the host, process id and process
start time of the run that made it, and the next ingest writing beside the
same output removes those whose process is gone, and only those: never
another user's, another host's or a running one's.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ptdenial import schema as S
from ptdenial._owner import owner_tag, remove_stale
from ptdenial.x12._flatten import (
    CLAIM_LEVEL,
    CLAIM_STATUS,
    LINE_CONTROL_NUMBER,
    REMIT_CLAIM_INDEX,
    X12_PROBLEMS,
)
from ptdenial.x12._read import (
    _LISTS,
    CLAIM_COLUMNS_837P,
    REMIT_COLUMNS_835,
    _frame,
    as_counts,
    counts_whole,
)

__all__ = ["Spill", "KEY_COLUMNS", "spill_folder", "sweep_spills"]

logger = logging.getLogger("ptdenial.x12")
SPILL_PREFIX = ".ptdenial-ingest-"

# Columns the whole-file steps read (the rest stays in the spill): the line
# keys both files carry, and the 835's remittance fields.
_LINE_KEYS = (
    S.CLAIM_ID,
    S.LINE_NUMBER,
    S.PAYER_ID,
    LINE_CONTROL_NUMBER,
    S.CPT_CODE,
    S.DATE_OF_SERVICE,
    S.UNITS,
    S.CHARGE_AMOUNT,
)
KEY_COLUMNS = {
    "837P": _LINE_KEYS,
    "835": (
        *_LINE_KEYS,
        S.ALLOWED_AMOUNT,
        S.PAID_AMOUNT,
        S.ADJUDICATION_DATE,
        S.ADJUSTMENT_CODES,
        S.REMARK_CODES,
        CLAIM_STATUS,
        CLAIM_LEVEL,
        REMIT_CLAIM_INDEX,
    ),
}
_COLUMNS = {"837P": CLAIM_COLUMNS_837P, "835": REMIT_COLUMNS_835}


class Spill:
    """The typed chunks of one kind (``"837P"`` or ``"835"``) of a read.

    A sink for :func:`ptdenial.x12._read.scan_x12`: chunks of the other kind
    are ignored; a file's chunks are staged and kept only when the whole file
    was read (:meth:`commit`), as :func:`ptdenial.x12.read_x12` does.

    Parameters
    ----------
    kind : {"837P", "835"}
    folder : Path
        A private temporary folder (removed by the caller).
    chunk_rows : int
        Largest chunk.
    """

    def __init__(self, kind: str, folder, chunk_rows: int):
        if int(chunk_rows) < 1:
            raise ValueError(f"chunk_rows must be at least 1; got {chunk_rows!r}.")
        self.kind = kind
        self.folder = Path(folder)
        self.chunk_rows = int(chunk_rows)
        self.parts: list[tuple[Path, int]] = []
        self.n_rows = 0
        self._keys: list[pd.DataFrame] = []
        self._bad: list[np.ndarray] = []
        self._whole: dict = {}
        self._dtypes = None
        self._staged: list = []

    def __call__(self, kind, frame):
        if kind != self.kind:
            return
        path = self.folder / f"{self.kind}-{len(self.parts) + len(self._staged)}.arrow"
        self._dtypes = frame.dtypes
        _write_ipc(frame, path)
        keys = frame[list(KEY_COLUMNS[self.kind])].copy()
        for name in keys.columns:
            keys[name] = _shared(keys[name])
        bad = np.fromiter(
            (bool(p) for p in frame[X12_PROBLEMS]), dtype=bool, count=len(frame)
        )
        self._staged.append(((path, len(frame)), keys, bad, counts_whole(frame)))

    def commit(self):
        for part, keys, bad, whole in self._staged:
            self.parts.append(part)
            self.n_rows += part[1]
            self._keys.append(keys)
            self._bad.append(bad)
            for name, ok in whole.items():
                self._whole[name] = self._whole.get(name, True) and ok
        self._staged = []

    def drop(self):
        for (path, _n), *_ in self._staged:
            path.unlink(missing_ok=True)
        self._staged = []

    @property
    def whole(self) -> dict:
        """Count columns whole over the whole read (as ``read_x12`` decides)."""
        if not self.parts:
            return counts_whole(_frame([], _COLUMNS[self.kind]))
        return self._whole

    def empty(self) -> pd.DataFrame:
        """A typed frame without rows (the columns of this kind)."""
        return as_counts(_frame([], _COLUMNS[self.kind]), self.whole)

    def keys(self) -> tuple[pd.DataFrame, np.ndarray]:
        """The compact key columns of every row read, and which rows have problems.

        Handed over once: the spill keeps no copy (the whole-file steps are
        what holds memory per line), and a second call is an error.
        """
        if self._keys is None:
            raise RuntimeError("Spill.keys() hands the keys over once")
        parts, self._keys = self._keys, None
        if not parts:
            empty = _frame([], _COLUMNS[self.kind])[list(KEY_COLUMNS[self.kind])]
            return as_counts(empty, self.whole), np.zeros(0, bool)
        keys = pd.concat(parts, ignore_index=True)
        del parts
        return as_counts(keys, self.whole), np.concatenate(self._bad)

    def chunks(self):
        """The full typed chunks in reading order (one in memory at a time)."""
        if not self.parts:
            yield 0, self.empty()
            return
        offset = 0
        for path, n in self.parts:
            frame = as_counts(_read_ipc(path, self._dtypes), self.whole)
            yield offset, frame
            offset += n


def _shared(col: pd.Series) -> pd.Series:
    """The column with one object per distinct value (payer ids, codes, tuples).

    Each row's text or tuple is otherwise its own object; pointing the rows
    of a repeated value at one object keeps the key columns small.
    """
    if col.dtype != object and not isinstance(col.dtype, pd.StringDtype):
        return col
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    if len(uniques) > len(col) // 2:  # mostly distinct (claim ids): no gain
        return col
    values = np.empty(len(uniques) + 1, dtype=object)
    values[:-1] = list(uniques)
    values[-1] = None if col.dtype == object else pd.NA
    out = values[codes]  # code -1 (missing) picks the last entry
    if col.dtype == object:
        return pd.Series(out, index=col.index, dtype=object)
    return pd.Series(pd.array(out, dtype=col.dtype), index=col.index)


def _write_ipc(frame: pd.DataFrame, path: Path):
    out = frame.copy()
    for name in out.columns:
        if name == X12_PROBLEMS:
            out[name] = [json.dumps(p) for p in out[name]]
        elif name in _LISTS:
            out[name] = [list(v) for v in out[name]]
    table = pa.Table.from_pandas(out, preserve_index=False)
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
        w.write_table(table)


def _read_ipc(path: Path, dtypes) -> pd.DataFrame:
    with pa.OSFile(str(path), "rb") as source:  # read, not mapped: freed after
        frame = pa.ipc.open_file(source).read_all().to_pandas()
    for name in frame.columns:
        if name == X12_PROBLEMS:
            frame[name] = pd.Series(
                [tuple(tuple(p) for p in json.loads(v)) for v in frame[name]],
                dtype=object,
            )
        elif name in _LISTS:
            frame[name] = pd.Series(
                [() if v is None else tuple(v) for v in frame[name]], dtype=object
            )
        elif frame[name].dtype != dtypes[name]:
            frame[name] = frame[name].astype(dtypes[name])
    return frame


def _spill_tag(name: str) -> str | None:
    return name[len(SPILL_PREFIX) :] if name.startswith(SPILL_PREFIX) else None


def sweep_spills(folder) -> list[Path]:
    """Remove the spill folders of killed ingest runs in ``folder``.

    Only entries this user owns, named by :func:`spill_folder` on this host,
    whose process is gone (not running, or its pid now another process's:
    :func:`ptdenial._owner.is_stale`). Returns what was removed.
    """
    removed = remove_stale(folder, _spill_tag)
    if removed:
        n = len(removed)
        logger.info("removed %d spill folder(s) of killed runs in %s", n, folder)
    return removed


@contextlib.contextmanager
def spill_folder(folder=None):
    """A private (``0700``) spill folder, removed however the run ends.

    In ``folder`` (beside the output; the system's temporary folder when
    None), after removing the leftovers of killed runs there
    (:func:`sweep_spills`).
    """
    if folder is not None:
        Path(folder).mkdir(parents=True, exist_ok=True)
    where = Path(folder if folder is not None else tempfile.gettempdir())
    sweep_spills(where)
    tmp = Path(tempfile.mkdtemp(prefix=SPILL_PREFIX + owner_tag(), dir=where))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
