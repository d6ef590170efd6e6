"""Typed X12 chunks spilled to disk, read back by claim partition or by chunk.

:func:`ptdenial.x12.ingest` reads each file once: the flattener's typed
chunks (:func:`ptdenial.x12._read.scan_x12`) go to a private temporary folder
as Arrow IPC files; in memory stay two bytes a line for the claim's hash
bucket and one for "has problems". The cross-row steps (netting reversals,
choosing the latest remit, matching remits to claims) read the key columns
of one partition of the claims at a time (:meth:`Spill.partition`), and the
output is then made chunk by chunk from the spill.

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

__all__ = [
    "Spill",
    "KEY_COLUMNS",
    "N_BUCKETS",
    "MAX_PARTS",
    "Pieces",
    "claim_buckets",
    "spill_folder",
    "sweep_spills",
]

logger = logging.getLogger("ptdenial.x12")
SPILL_PREFIX = ".ptdenial-ingest-"
_ROW = "__spill_row"

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
        self._bucket: list[np.ndarray] = []
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
        bucket = claim_buckets(frame[S.CLAIM_ID])
        bad = np.fromiter(
            (bool(p) for p in frame[X12_PROBLEMS]), dtype=bool, count=len(frame)
        )
        self._staged.append(((path, len(frame)), bucket, bad, counts_whole(frame)))

    def commit(self):
        for part, bucket, bad, whole in self._staged:
            self.parts.append(part)
            self.n_rows += part[1]
            self._bucket.append(bucket)
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

    def partition(self, part: int, n_parts: int):
        """The key columns of the rows whose claim falls in partition ``part``.

        Rows are split by a stable hash of their claim id
        (:func:`claim_buckets`; bucket modulo ``n_parts``), so every line of
        a claim, in both kinds of file, lands in the same partition. Returns
        ``(keys, bad, rows)``: the key columns in reading order, which of
        them have problems, and their row positions in the whole read.
        """
        if not 0 < n_parts <= MAX_PARTS:
            raise ValueError(f"n_parts must be in 1..{MAX_PARTS}; got {n_parts!r}.")
        columns = list(KEY_COLUMNS[self.kind])
        frames, bads, rows, offset = [], [], [], 0
        parts = zip(self.parts, self._bucket, self._bad, strict=True)
        for (path, n), bucket, bad in parts:
            pick = np.flatnonzero(bucket.astype(np.intp) % n_parts == part)
            if len(pick):
                frames.append(_read_ipc(path, self._dtypes, columns, pick))
                bads.append(bad[pick])
                rows.append(pick + offset)
            offset += n
        if not frames:
            empty = _frame([], _COLUMNS[self.kind])[columns]
            return as_counts(empty, self.whole), np.zeros(0, bool), np.zeros(0, int)
        keys = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        del frames
        return as_counts(keys, self.whole), np.concatenate(bads), np.concatenate(rows)

    def bad(self) -> np.ndarray:
        """Which rows of the whole read have problems (one byte a line)."""
        return np.concatenate(self._bad) if self._bad else np.zeros(0, bool)

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


#: Hash buckets of claim ids; partitions are buckets modulo their number
#: (65,536 buckets: partitions within 0.4% of one another up to 256).
N_BUCKETS = 65_536
#: Most partitions of one ingest.
MAX_PARTS = 256


def claim_buckets(claim_ids: pd.Series) -> np.ndarray:
    """A stable bucket (0..65535) per row from its claim id (missing ids share one).

    The same claim id gives the same bucket in every file, run and process
    (pandas' keyed hash of the text, not Python's salted ``hash``).
    """
    text = claim_ids.astype(object).where(claim_ids.notna(), "")
    values = np.asarray([str(v) for v in text], dtype=object)
    if not len(values):
        return np.zeros(0, np.uint16)
    return (pd.util.hash_array(values) % N_BUCKETS).astype(np.uint16)


def _arrow(frame: pd.DataFrame) -> pa.Table:
    """The frame as an Arrow table (problems as JSON, tuples as lists)."""
    out = frame.copy()
    for name in out.columns:
        if name == X12_PROBLEMS:
            out[name] = [json.dumps(p) for p in out[name]]
        elif name in _LISTS:
            out[name] = [list(v) for v in out[name]]
    return pa.Table.from_pandas(out, preserve_index=False)


def _write_ipc(frame: pd.DataFrame, path: Path):
    table = _arrow(frame)
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
        w.write_table(table)


def _read_ipc(path: Path, dtypes, columns=None, rows=None) -> pd.DataFrame:
    """A spilled chunk (only ``columns`` and ``rows`` when given), typed back.

    A whole chunk is read (not mapped: freed after); a selection is taken
    from the mapped file, so only the pages of its columns are touched.
    """
    if columns is None:
        with pa.OSFile(str(path), "rb") as source:
            frame = pa.ipc.open_file(source).read_all().to_pandas()
    else:
        with pa.memory_map(str(path), "r") as source:
            table = pa.ipc.open_file(source).read_all().select(columns)
            if rows is None:
                rows = np.arange(table.num_rows)
            table = table.take(pa.array(rows))  # a copy: nothing points at the map
            frame = table.to_pandas()
            del table
    return _typed(frame, dtypes)


def _typed(frame: pd.DataFrame, dtypes) -> pd.DataFrame:
    """A frame read from Arrow with the dtypes (and tuples) it was written with."""
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
        elif name in dtypes and frame[name].dtype != dtypes[name]:
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


class Pieces:
    """Frames computed partition by partition, read back chunk by chunk.

    Ingest matches remits to claims one partition (a set of claims) at a
    time, but writes the table in reading order. Each partition's result is
    cut at the spill's chunk boundaries and written as record batches of
    that partition's Arrow file in the private spill folder; :meth:`get`
    gathers one chunk's rows from every partition and puts them back in
    reading order. Only the batch numbers stay in memory (one per chunk and
    partition holding rows of that chunk).

    Parameters
    ----------
    folder : Path
        The private spill folder.
    bounds : array of int
        Row positions where the chunks start, and the end (``n + 1`` values).
    """

    def __init__(self, folder, bounds):
        self.folder = Path(folder)
        self.bounds = np.asarray(bounds, dtype=np.int64)
        self.where: list[list] = [[] for _ in range(max(len(self.bounds) - 1, 1))]
        self.dtypes: dict = {}
        self.template = None

    def put(self, part: int, frame: pd.DataFrame, rows: np.ndarray):
        """Store ``frame``, whose row ``i`` is row ``rows[i]`` of the read."""
        if self.template is None:
            self.template = frame.iloc[0:0].copy()
        if not len(frame):
            return
        path = self.folder / f"pieces-{part}.arrow"
        self.dtypes[path] = frame.dtypes
        table = _arrow(frame.assign(**{_ROW: rows}))
        cuts = np.searchsorted(rows, self.bounds)
        with pa.OSFile(str(path), "wb") as sink:
            with pa.ipc.new_file(sink, table.schema) as writer:
                batch = 0
                for j in range(len(self.bounds) - 1):
                    lo, hi = int(cuts[j]), int(cuts[j + 1])
                    if lo == hi:
                        continue
                    writer.write_batch(
                        table.slice(lo, hi - lo).combine_chunks().to_batches()[0]
                    )
                    self.where[j].append((path, batch))
                    batch += 1

    def get(self, chunk: int) -> pd.DataFrame:
        """The stored rows of chunk ``chunk``, in reading order."""
        frames = []
        for path, batch in self.where[chunk]:
            with pa.OSFile(str(path), "rb") as source:  # reads this batch only
                table = pa.Table.from_batches(
                    [pa.ipc.open_file(source).get_batch(batch)]
                )
                frames.append(_typed(table.to_pandas(), self.dtypes[path]))
                del table
        if not frames:
            return self.template.iloc[0:0].copy()
        out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        order = np.argsort(out[_ROW].to_numpy(), kind="stable")
        out = out.drop(columns=[_ROW]).iloc[order]
        return out.reset_index(drop=True)
