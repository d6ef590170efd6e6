"""A minimal reference scorer: what a capable analyst writes in an afternoon.

One process: read the claims (Parquet of any typing, or CSV with pyarrow's
type inference), build 22 hand features with Arrow and NumPy, predict with a
200-iteration ``HistGradientBoostingClassifier`` trained beforehand, write
``claim_id``, ``line_number`` and the score to Parquet. No validation, no
rules, no explanations, no worklist: the yardstick issue #16 measures the
nightly job against ("<= 2x a bare scorer").

Every line is scored (the job scores only the 97112 lines, so the reference
predicts about three times as many rows).

The model is trained on the shipped sample's history (untimed, in the same
process, before the clock starts).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_DELIMS = r"[,;| ]+"
_CATEGORIES = ("payer_class", "cpt_code", "place_of_service", "provider_credential")


def _read(path: Path) -> pa.Table:
    if str(path).endswith((".csv", ".csv.gz")):
        import pyarrow.csv as pacsv

        return pacsv.read_csv(path)
    import pyarrow.parquet as pq

    return pq.read_table(path)


def _col(table: pa.Table, name: str):
    if name not in table.column_names:
        return pa.nulls(table.num_rows)
    col = table.column(name).combine_chunks()
    if pa.types.is_dictionary(col.type):
        col = col.dictionary_decode()
    return col


def _num(table, name) -> np.ndarray:
    col = _col(table, name)
    if pa.types.is_null(col.type):
        return np.full(table.num_rows, np.nan)
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        col = pc.cast(pc.replace_substring_regex(col, r"[$,\s]", ""), pa.float64())
    return pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False)


def _days(table, name) -> np.ndarray:
    """Days since 1970 (NaN when missing) of a date, timestamp or ISO text column."""
    col = _col(table, name)
    if pa.types.is_null(col.type):
        return np.full(table.num_rows, np.nan)
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        col = pc.strptime(
            pc.utf8_slice_codeunits(col, 0, 10), "%Y-%m-%d", "s", error_is_null=True
        )
    if pa.types.is_timestamp(col.type) and col.type.tz is not None:
        col = pc.local_timestamp(col)
    ts = pc.cast(pc.cast(col, pa.timestamp("s")), pa.int64())
    return ts.to_numpy(zero_copy_only=False).astype(float) / 86_400.0


def _text(table, name):
    col = _col(table, name)
    if pa.types.is_list(col.type) or pa.types.is_large_list(col.type):
        col = pc.binary_join(col, "|")
    if pa.types.is_null(col.type):
        return pa.array([""] * table.num_rows)
    return pc.fill_null(pc.cast(col, pa.string()), "")


def _codes(table, name, vocab) -> np.ndarray:
    idx = pc.index_in(_text(table, name), value_set=pa.array(vocab))
    return pc.fill_null(idx, -1).to_numpy(zero_copy_only=False).astype(float)


def features(table: pa.Table, vocabs: dict) -> np.ndarray:
    """22 hand features per line, as a float matrix."""
    units = _num(table, "units")
    charge = _num(table, "charge_amount")
    dos = _days(table, "date_of_service")
    dx = _text(table, "diagnosis_codes")
    mods = pc.utf8_upper(_text(table, "modifiers"))
    cols = [
        units,
        charge,
        charge / np.where(units > 0, units, np.nan),
        _num(table, "minutes"),
        _num(table, "visit_timed_minutes"),
        _num(table, "visit_number"),
        _num(table, "visits_since_progress_report"),
        _num(table, "auth_visits_approved") - _num(table, "auth_visits_used"),
        _num(table, "ytd_therapy_allowed"),
        _days(table, "submission_date") - dos,
        dos - _days(table, "episode_start_date"),
        dos - _days(table, "last_progress_report_date"),
        _days(table, "cert_through_date") - dos,
        (np.nan_to_num(dos) + 3) % 7,
        pc.list_value_length(pc.split_pattern_regex(dx, _DELIMS)).to_numpy(
            zero_copy_only=False
        ),
        pc.list_value_length(pc.split_pattern_regex(mods, _DELIMS)).to_numpy(
            zero_copy_only=False
        ),
        *(
            pc.match_substring(mods, code).to_numpy(zero_copy_only=False)
            for code in ("GP", "KX", "59")
        ),
        *(_codes(table, name, vocabs[name]) for name in _CATEGORIES),
    ]
    return np.column_stack([np.asarray(c, dtype=float) for c in cols])


def train(history_table: pa.Table, labels: np.ndarray):
    """The reference model: 200 boosting iterations on the hand features."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    vocabs = {}
    for name in _CATEGORIES:
        counts = pc.value_counts(_text(history_table, name)).to_pylist()
        counts.sort(key=lambda d: -d["counts"])
        vocabs[name] = [d["values"] for d in counts[:50]]
    X = features(history_table, vocabs)
    model = HistGradientBoostingClassifier(
        max_iter=200, early_stopping=False, learning_rate=0.05, random_state=0
    )
    model.fit(X, labels)
    return model, vocabs


def score(path, out, model, vocabs) -> dict:
    """Read, featurize, predict, write; seconds per step."""
    import pyarrow.parquet as pq

    t0 = time.perf_counter()
    table = _read(Path(path))
    t1 = time.perf_counter()
    X = features(table, vocabs)
    t2 = time.perf_counter()
    p = model.predict_proba(X)[:, 1]
    t3 = time.perf_counter()
    keys = pa.table(
        {
            "claim_id": pc.cast(_col(table, "claim_id"), pa.string()),
            "line_number": _col(table, "line_number"),
            "denial_probability": pa.array(p),
        }
    )
    pq.write_table(keys, out)
    t4 = time.perf_counter()
    return {
        "seconds": t4 - t0,
        "read_s": t1 - t0,
        "features_s": t2 - t1,
        "predict_s": t3 - t2,
        "write_s": t4 - t3,
        "rows": table.num_rows,
        "features": X.shape[1],
    }
