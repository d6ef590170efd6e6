"""The committed sample: writing it to files and loading it in memory."""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd

from ptdenial import schema as S
from ptdenial.datasets._make import (
    DEFAULT_SAMPLE_PATIENTS,
    DEFAULT_SAMPLE_SEED,
    SampleData,
    make_sample,
)
from ptdenial.io import write_json, write_table


def _as_text(df: pd.DataFrame) -> pd.DataFrame:
    """Every column as text, the way the CSV files hold it."""
    out = {}
    for name in df.columns:
        col = df[name]
        if pd.api.types.is_datetime64_any_dtype(col.dtype):
            out[name] = (
                col.dt.strftime("%Y-%m-%d").astype(object).where(col.notna(), "")
            )
        elif col.dtype == object:
            out[name] = S.join_lists(col)
        else:
            out[name] = col.astype(object).map(lambda v: "" if pd.isna(v) else str(v))
    return pd.DataFrame(out, index=df.index)


# The deliberately broken files: bad values by row, payer classes by row,
# dropped columns.
_BAD_VALUES = {
    17: (S.UNITS, "two"),
    342: (S.DATE_OF_SERVICE, "2025-13-45"),
    777: (S.CHARGE_AMOUNT, "abc"),
}
_BAD_PAYER_CLASSES = {5: "hmo", 50: "self_pay", 95: "Medicare Part B"}
_DROPPED = [S.UNITS, S.DIAGNOSIS_CODES]


def _malformed(history: pd.DataFrame):
    """Deliberately broken files for tests, with what validation must report."""
    base = _as_text(history.head(1000)).reset_index(drop=True)
    bad = base.copy()
    for row, (col, value) in _BAD_VALUES.items():
        bad.loc[row, col] = value
    missing = base.head(50).drop(columns=_DROPPED)
    dup = pd.concat([base.head(100), base.iloc[[0, 1]]], ignore_index=True)
    payer = base.head(100).copy()
    for row, value in _BAD_PAYER_CLASSES.items():
        payer.loc[row, S.PAYER_CLASS] = value
    files = {
        "bad_types.csv": bad,
        "missing_columns.csv": missing,
        "duplicate_keys.csv": dup,
        "unknown_payer_class.csv": payer,
    }
    return files, _expected(files)


def _expected(files: dict) -> dict:
    """What validation must report for each of the :func:`_malformed` files."""
    bad, missing = files["bad_types.csv"], files["missing_columns.csv"]
    dup, payer = files["duplicate_keys.csv"], files["unknown_payer_class.csv"]
    return {
        "bad_types.csv": {
            "rows": len(bad),
            "valid": len(bad) - 3,
            "quarantined": 3,
            "failures": [
                {"source_row": r, "column": c, "check": "type", "value": v}
                for r, (c, v) in _BAD_VALUES.items()
            ],
        },
        "missing_columns.csv": {
            "rows": len(missing),
            "error": "ClaimsSchemaError",
            "missing": list(_DROPPED),
        },
        "duplicate_keys.csv": {
            "rows": len(dup),
            "valid": len(dup) - 4,
            "quarantined": 4,
            "failures": [
                {"source_row": r, "column": S.CLAIM_ID, "check": "duplicate_key"}
                for r in (0, 1, 100, 101)
            ],
        },
        "unknown_payer_class.csv": {
            "rows": len(payer),
            "valid": len(payer) - 3,
            "quarantined": 3,
            "failures": [
                {
                    "source_row": r,
                    "column": S.PAYER_CLASS,
                    "check": "vocabulary",
                    "value": v,
                }
                for r, v in _BAD_PAYER_CLASSES.items()
            ],
        },
    }


def write_sample(
    out_dir,
    n_patients: int = DEFAULT_SAMPLE_PATIENTS,
    random_state=DEFAULT_SAMPLE_SEED,
) -> list[Path]:
    """Write the sample (Parquet and CSV), its truth, and malformed test files.

    Files written under ``out_dir``: ``history.parquet``, ``history.csv``,
    ``new_claims.parquet``, ``new_claims.csv``, ``history_truth.parquet``,
    ``new_claims_truth.parquet`` and, under ``malformed/``,
    ``bad_types.csv`` (1,000 rows, 3 with a bad value), ``missing_columns.csv``
    (no ``units`` and no ``diagnosis_codes``), ``duplicate_keys.csv`` (two
    keys appear twice), ``unknown_payer_class.csv`` (3 rows) and
    ``expected.json`` (what validation must report for each). Every file is
    written atomically.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        Folder to write to; created if missing. Existing files are replaced.
    n_patients : int, default=DEFAULT_SAMPLE_PATIENTS
        Patients of the history.
    random_state : int or None, default=DEFAULT_SAMPLE_SEED
        Seed; the defaults reproduce the committed ``data/sample``.

    Returns
    -------
    list of pathlib.Path
        The files written.

    See Also
    --------
    make_sample : The same tables in memory.
    load_sample_claims : The committed sample, without files.

    Examples
    --------
    >>> import tempfile
    >>> from ptdenial.datasets import write_sample
    >>> paths = write_sample(tempfile.mkdtemp(), n_patients=60, random_state=5)
    >>> sorted(p.name for p in paths)[:3]
    ['bad_types.csv', 'duplicate_keys.csv', 'expected.json']
    """
    out = Path(out_dir)
    data = make_sample(n_patients, random_state)
    written = [
        write_table(data.history, out / "history.parquet"),
        write_table(data.history, out / "history.csv"),
        write_table(data.new_claims, out / "new_claims.parquet"),
        write_table(data.new_claims, out / "new_claims.csv"),
        write_table(data.history_truth, out / "history_truth.parquet"),
        write_table(data.new_claims_truth, out / "new_claims_truth.parquet"),
    ]
    files, expected = _malformed(data.history)
    for name, frame in files.items():
        written.append(write_table(frame, out / "malformed" / name))
    written.append(write_json(expected, out / "malformed" / "expected.json"))
    return written


@functools.lru_cache(maxsize=1)
def _default_sample() -> SampleData:
    """The committed sample, generated once per process."""
    return make_sample()


_KINDS = ("history", "new_claims", "history_truth", "new_claims_truth")


def load_sample_claims(kind: str = "history") -> pd.DataFrame:
    """The committed sample, regenerated in memory (works from an installed wheel).

    Identical to ``read_claims("data/sample/<kind>.parquet")`` after
    :func:`ptdenial.schema.validate_claims`. Generated once per process and
    cached; each call returns a copy.

    Parameters
    ----------
    kind : str, default="history"
        Which table of :class:`SampleData`: ``"history"``, ``"new_claims"``,
        ``"history_truth"`` or ``"new_claims_truth"``.

    Returns
    -------
    pandas.DataFrame
        A copy of the table, in canonical dtypes.

    Raises
    ------
    ValueError
        If ``kind`` is not one of the four names.

    See Also
    --------
    make_sample : The generator behind it, with other sizes and seeds.

    Examples
    --------
    >>> from ptdenial.datasets import load_sample_claims
    >>> new = load_sample_claims("new_claims")
    >>> 1500 < len(new) < 2500
    True
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {list(_KINDS)}; got {kind!r}.")
    return getattr(_default_sample(), kind).copy()
