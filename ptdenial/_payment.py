"""What a paid line is worth: one pricing table for the model and the analytics.

The amount a line would be paid is learned from the paid lines of a history
(adjudicated, not denied, ``allowed_amount > 0``): the median allowed amount
per unit for the same payer and code, else the same payer class and code,
else the code (a cell needs at least :data:`MIN_PAID_LINES` paid lines), times
the line's units. A line with no such cell gets its charge times the
history's overall allowed-to-charge ratio (sum of allowed over sum of
charges of the paid lines), or its charge when the history has no paid line:
the charge is then the only figure known.

The table is plain JSON-safe Python (lists of keys and values), so a model
file can carry it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial._distinct import key_index

MIN_PAID_LINES = 5

#: Levels of the table, most specific first, with the columns of their key.
LEVELS = (
    ("payer_code", (S.PAYER_ID, S.CPT_CODE)),
    ("class_code", (S.PAYER_CLASS, S.CPT_CODE)),
    ("code", (S.CPT_CODE,)),
)


def _keys(frame: pd.DataFrame, columns) -> np.ndarray | None:
    """Each line's ``"|"``-joined key (:func:`ptdenial._distinct.key_index`)."""
    index = key_index(frame, columns)
    if index is None:
        return None
    inverse, unique_keys = index
    return unique_keys[inverse]


def payment_table(history: pd.DataFrame, paid: np.ndarray) -> dict:
    """Median allowed amount per unit of paid lines, by level, and the ratio.

    Parameters
    ----------
    history : pandas.DataFrame
        Lines with ``units``, ``charge_amount``, ``allowed_amount`` and the
        key columns.
    paid : numpy.ndarray of bool
        Which lines were paid.

    Returns
    -------
    dict
        ``{level: {"keys": [...], "values": [...]}, "ratio": float}``.
    """
    paid = np.asarray(paid, dtype=bool)
    if S.ALLOWED_AMOUNT in history.columns:
        allowed = history[S.ALLOWED_AMOUNT].to_numpy(dtype=float, na_value=np.nan)
        paid = paid & (np.nan_to_num(allowed) > 0)
    else:
        allowed = np.zeros(len(history))
        paid = np.zeros(len(history), dtype=bool)
    units = history[S.UNITS].to_numpy(dtype=float, na_value=1.0)
    per_unit = allowed[paid] / np.maximum(units[paid], 1.0)
    out: dict = {}
    for name, columns in LEVELS:
        keys = _keys(history, columns)
        if keys is None or not paid.any():
            out[name] = {"keys": [], "values": []}
            continue
        stats = pd.Series(per_unit).groupby(keys[paid]).agg(["median", "size"])
        stats = stats[stats["size"] >= MIN_PAID_LINES]
        out[name] = {
            "keys": [str(k) for k in stats.index],
            "values": [float(v) for v in stats["median"]],
        }
    charge = history[S.CHARGE_AMOUNT].to_numpy(dtype=float, na_value=0.0)
    total = charge[paid].sum()
    ratio = float(allowed[paid].sum() / total) if paid.any() and total > 0 else 1.0
    out["ratio"] = ratio if np.isfinite(ratio) else 1.0
    return out


def price_lines(table: dict, claims: pd.DataFrame) -> np.ndarray:
    """Expected payment of each line if it is paid, in USD, from a table.

    Parameters
    ----------
    table : dict
        Output of :func:`payment_table`.
    claims : pandas.DataFrame

    Returns
    -------
    numpy.ndarray of float
    """
    units = pd.to_numeric(claims[S.UNITS], errors="coerce").to_numpy(float)
    units = np.maximum(np.where(np.isnan(units), 1.0, units), 1.0)
    per_unit = np.full(len(claims), np.nan)
    for name, columns in LEVELS:
        index = key_index(claims, columns)
        level = table.get(name) or {"keys": []}
        if index is None or not level["keys"]:
            continue
        inverse, unique_keys = index
        idx = pd.Index(level["keys"], dtype=object).get_indexer(unique_keys)[inverse]
        vals = np.where(idx >= 0, np.asarray(level["values"], float)[idx], np.nan)
        per_unit = np.where(np.isnan(per_unit), vals, per_unit)
    charge = pd.to_numeric(claims[S.CHARGE_AMOUNT], errors="coerce").to_numpy(float)
    fallback = np.nan_to_num(charge) * table.get("ratio", 1.0)
    return np.where(np.isnan(per_unit), fallback, per_unit * units)
