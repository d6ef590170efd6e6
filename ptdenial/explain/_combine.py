"""Rule hits and model drivers combined into per-line lists of ids, reasons, fixes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_KIND_ORDER = {"hard": 0, "soft": 1, "payment": 2, "negative": 3}


def _kind_order(kinds: pd.Series) -> np.ndarray:
    """Sort rank of each hit's kind (9 for an unknown kind), per distinct kind."""
    codes, uniques = pd.factorize(kinds, use_na_sentinel=True)
    rank = np.array([_KIND_ORDER.get(k, 9) for k in uniques] + [9], dtype=np.int64)
    return rank[codes]


def combine_reasons(n: int, hits: pd.DataFrame, drivers: pd.DataFrame):
    """Per-line lists: rule ids, reasons (hits first, then drivers), fixes.

    Parameters
    ----------
    n : int
        Number of lines.
    hits : pandas.DataFrame
        Rule hits with ``pos`` (line position), ``rule_id``, ``kind``,
        ``detail``, ``fix``; in catalogue order within a line.
    drivers : pandas.DataFrame
        Output of :meth:`Explainer.model_reasons` (``pos``, ``rank``,
        ``reason``, ``fix``).

    Returns
    -------
    tuple of pyarrow.ListArray
        ``(rule_hits, reasons, suggested_fixes)``, each of length ``n``:
        hard hits, then soft hits, then model drivers by strength; one fix
        per fixable reason, duplicates removed.

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.explain import combine_reasons
    >>> hits = pd.DataFrame({"pos": [1], "rule_id": ["GP_MISSING"], "kind": ["hard"],
    ...                      "detail": ["no GP"], "fix": ["add modifier GP"]})
    >>> drivers = pd.DataFrame({"pos": [1, 0], "rank": [0, 0],
    ...                         "reason": ["no deficit documented", "x"],
    ...                         "fix": ["", ""]})
    >>> ids, reasons, fixes = combine_reasons(2, hits, drivers)
    >>> reasons.to_pylist()
    [['x'], ['no GP', 'no deficit documented']]
    >>> fixes.to_pylist()
    [[], ['add modifier GP']]
    """

    def col(frame, name, dtype=np.int64):
        if not len(frame):
            return np.zeros(0, dtype)
        return frame[name].to_numpy(dtype=dtype)

    def text(frame, name):
        if not len(frame):
            return pa.array([], type=pa.string())
        arr = pa.array(frame[name], from_pandas=True)
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        return arr.cast(pa.string())

    hpos = col(hits, "pos")
    kind = _kind_order(hits["kind"]) if len(hits) else np.zeros(0, np.int64)
    seq = np.arange(len(hits), dtype=np.int64)
    dpos, drank = col(drivers, "pos"), col(drivers, "rank")

    def ordered(pos, order):
        if len(pos) and not (np.all(np.diff(pos) >= 0) and np.all(np.diff(order) >= 0)):
            return np.lexsort((order, pos))
        return None

    def as_list(pos, idx, values):
        if idx is not None:
            pos, values = pos[idx], values.take(pa.array(idx))
        counts = np.bincount(pos, minlength=n) if len(pos) else np.zeros(n, np.int64)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        return pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), values)

    rule_ids = as_list(hpos, ordered(hpos, seq), text(hits, "rule_id"))
    big = np.int64(1 << 40)
    r_pos = np.concatenate([hpos, dpos])
    r_order = np.concatenate([kind * big + seq, 10 * big + drank])
    idx = ordered(r_pos, r_order)
    r_text = pa.concat_arrays([text(hits, "detail"), text(drivers, "reason")])
    reasons = as_list(r_pos, idx, r_text)
    r_fix = pa.concat_arrays([text(hits, "fix"), text(drivers, "fix")])
    if idx is not None:
        r_pos, r_order, r_fix = r_pos[idx], r_order[idx], r_fix.take(pa.array(idx))
    # one fix per fixable reason: drop empty fixes and repeats within a line
    codes = pc.dictionary_encode(r_fix.fill_null("")).indices.to_numpy()
    blank = (pc.fill_null(pc.equal(r_fix, ""), True)).to_numpy(zero_copy_only=False)
    key = r_pos * np.int64(len(codes) + 1) + codes
    _, first = np.unique(key, return_index=True)
    keep = np.zeros(len(key), dtype=bool)
    keep[first] = True
    keep &= ~blank
    sel = np.flatnonzero(keep)
    fixes = as_list(r_pos[sel], None, r_fix.take(pa.array(sel)))
    return rule_ids, reasons, fixes
