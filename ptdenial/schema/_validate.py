"""Validation: every row of a raw table ends up valid or quarantined, never lost.

:func:`validate_claims` coerces each contract column to its kind
(:mod:`ptdenial.schema._coerce`), runs the declared value checks
(:mod:`ptdenial.schema._checks`), stores the canonical code forms, and
splits the rows into the valid table and a quarantine with one row per
failed input row (its first failure, every reason).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from ptdenial.exceptions import ClaimsSchemaError
from ptdenial.schema._checks import VALUE_CHECKS, Between, EachItem, value_failures
from ptdenial.schema._coerce import coerce_column, is_blank
from ptdenial.schema._columns import (
    CLAIM_ID,
    COLUMNS,
    DEFAULT_MAX_UNITS,
    LINE_NUMBER,
    Q_CHECK,
    Q_COLUMN,
    Q_N_FAILURES,
    Q_REASON,
    Q_SOURCE,
    Q_VALUE,
    QUARANTINE_COLUMNS,
    READ_ERROR,
    READ_ERROR_TEXT,
    REQUIRED_COLUMNS,
    SOURCE_ROW,
    UNREADABLE_ROW,
    Check,
)

__all__ = ["ValidationResult", "validate_claims", "check_required_columns"]


class ValidationResult(NamedTuple):
    """Valid rows with canonical dtypes, and the quarantine table."""

    valid: pd.DataFrame
    quarantine: pd.DataFrame


def check_required_columns(columns, *, source: str = "<DataFrame>") -> None:
    """Raise one :class:`ClaimsSchemaError` naming every missing required column.

    Parameters
    ----------
    columns : iterable of str
        The columns present.
    source : str
        The file name used in the message.

    Raises
    ------
    ClaimsSchemaError

    Examples
    --------
    >>> from ptdenial.schema import check_required_columns
    >>> check_required_columns(["claim_id"], source="x.csv")
    Traceback (most recent call last):
    ...
    ptdenial.exceptions.ClaimsSchemaError: x.csv: missing required columns ...
    """
    present = list(columns)
    missing = [c for c in REQUIRED_COLUMNS if c not in present]
    if missing:
        raise ClaimsSchemaError(
            f"{source}: missing required columns {missing}. "
            f"Columns present: {present}. Fix: add these columns (names are "
            "snake_case as in SCHEMA.md), or map your export's column names "
            "to them.",
            missing=missing,
            source=source,
        )


class _Failures:
    """Collects (row position, column, check, value, reason) failures."""

    def __init__(self, n: int):
        self.n = n
        self.parts: list[pd.DataFrame] = []

    def add(self, mask, column, check, values, reason):
        """Record the rows of ``mask`` as failing ``check`` on ``column``."""
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        pos = np.flatnonzero(mask)
        vals = pd.Series(values).iloc[pos] if values is not None else None
        self.parts.append(
            pd.DataFrame(
                {
                    "_pos": pos,
                    Q_COLUMN: column,
                    Q_CHECK: check.value,
                    Q_VALUE: (
                        [_show(v) for v in vals]
                        if vals is not None
                        else [""] * len(pos)
                    ),
                    Q_REASON: reason,
                }
            )
        )

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame(
                {"_pos": pd.Series([], dtype=int)}
                | {c: pd.Series([], dtype=object) for c in (Q_COLUMN, Q_CHECK)}
                | {c: pd.Series([], dtype=object) for c in (Q_VALUE, Q_REASON)}
            )
        return pd.concat(self.parts, ignore_index=True)


def _show(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and np.isnan(v):
        return ""
    if v is pd.NA or v is pd.NaT:
        return ""
    if isinstance(v, np.ndarray | list | tuple):
        return "|".join(str(x) for x in v)
    return str(v)


def validate_claims(
    df: pd.DataFrame,
    *,
    source: str = "<DataFrame>",
    run_date=None,
    max_units: int = DEFAULT_MAX_UNITS,
    first_row: int = 0,
) -> ValidationResult:
    """Check every row of a claim-line table against the contract.

    Rows that pass come back with canonical dtypes; rows that fail go to a
    quarantine table with their keys, source row number, the failed column
    and check, the offending value and a readable reason. Every input row
    ends up in exactly one of the two tables.

    Parameters
    ----------
    df : pandas.DataFrame
        Raw table (CSV strings or Parquet types). Extra columns are kept.
    source : str
        File name (or description) used in messages and the quarantine table.
    run_date : date-like, optional
        Dates after this day are implausible (except ``cert_through_date``).
        Defaults to today.
    max_units : int
        Largest plausible units on one line.
    first_row : int
        Row number of ``df``'s first row in its source (for streamed batches).

    Returns
    -------
    ValidationResult
        ``(valid, quarantine)``. ``valid`` keeps the input index; the
        quarantine has one row per failed input row (the first failure in
        ``column``/``check``/``value``; all reasons in ``reason``).

    Raises
    ------
    ClaimsSchemaError
        If required columns are missing (one message naming all of them).

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.schema import validate_claims
    >>> raw = pd.DataFrame({
    ...     "claim_id": ["C1", "C1"], "line_number": ["1", "2"],
    ...     "patient_id": ["P1", "P1"], "payer_id": ["MCR", "MCR"],
    ...     "payer_class": ["medicare", "medicare"],
    ...     "date_of_service": ["2025-03-03", "2025-03-03"],
    ...     "cpt_code": ["97112", "97110"], "units": ["2", "0"],
    ...     "charge_amount": ["80.00", "70.00"],
    ...     "diagnosis_codes": ["R26.81", "R2681;M6281"],
    ...     "rendering_provider_id": ["1234567890", "1234567890"],
    ... })
    >>> valid, quarantine = validate_claims(raw, run_date="2025-03-31")
    >>> len(valid), len(quarantine)
    (1, 1)
    >>> quarantine.loc[0, ["claim_id", "column", "check", "value"]].tolist()
    ['C1', 'units', 'units_range', '0']
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"validate_claims expects a pandas DataFrame; got {type(df)}")
    check_required_columns(df.columns, source=source)
    df, unreadable = _split_unreadable(df)
    fails = _Failures(len(df))
    out, lists = _coerce_columns(df, fails, run_date=run_date)
    canon = pd.DataFrame(out, index=df.index, copy=False)  # CoW: no deep copy
    for failure in value_failures(
        canon, raw=df, run_date=run_date, max_units=max_units, lists=lists
    ):
        fails.add(
            failure.mask, failure.column, failure.check, failure.values, failure.message
        )
    for vc in VALUE_CHECKS:  # codes in their canonical form (e.g. R2681 -> R26.81)
        if isinstance(vc.rule, EachItem) and vc.column in lists:
            canon[vc.column] = vc.rule.forms(*lists[vc.column], index=df.index)
    f = fails.frame()
    if unreadable is not None:  # an unreadable row fails for that reason alone
        f = pd.concat([unreadable, f[~f["_pos"].isin(unreadable["_pos"])]])
    is_bad = np.zeros(len(df), dtype=bool)
    is_bad[f["_pos"].to_numpy()] = True
    # no .copy(): under Copy-on-Write the selection already behaves as one
    valid = canon.loc[~is_bad]
    quarantine = _build_quarantine(df, f, source=source, first_row=first_row)
    return ValidationResult(valid, quarantine)


def _split_unreadable(df: pd.DataFrame):
    """The frame without the reader's columns, and failures of unreadable rows."""
    if READ_ERROR not in df.columns:
        return df, None
    why = df[READ_ERROR]
    text = df[READ_ERROR_TEXT] if READ_ERROR_TEXT in df.columns else None
    df = df.drop(columns=[c for c in (READ_ERROR, READ_ERROR_TEXT) if c in df])
    bad = why.notna().to_numpy()
    if not bad.any():
        return df, None
    pos = np.flatnonzero(bad)
    values = text.iloc[pos].map(_show).to_numpy() if text is not None else ""
    failures = pd.DataFrame(
        {
            "_pos": pos,
            Q_COLUMN: "(row)",
            Q_CHECK: UNREADABLE_ROW,
            Q_VALUE: values,
            Q_REASON: (
                "the row could not be read: " + why.iloc[pos].astype(str)
            ).to_numpy(),
        }
    )
    return df, failures


def _outside_range(fails: _Failures, coerced, name: str, raw, run_date) -> None:
    """Dates ``datetime64[ns]`` cannot hold: quarantined with the value as given.

    Before 1677 fails ``date_before_2000``; after 2262 fails
    ``date_after_run_date``, or for a column allowed to lie ahead
    (``cert_through_date``) ``type``: no real date is that far ahead.
    """
    if coerced.early is None:
        return
    reasons = {
        vc.check: vc.reason
        for vc in VALUE_CHECKS
        if vc.column == name and isinstance(vc.rule, Between)
    }
    run_day = pd.Timestamp(run_date if run_date is not None else pd.Timestamp.today())
    early = reasons[Check.DATE_BEFORE_2000].format(column=name)
    fails.add(coerced.early, name, Check.DATE_BEFORE_2000, raw, early)
    if Check.DATE_AFTER_RUN in reasons:
        late = reasons[Check.DATE_AFTER_RUN].format(
            column=name, run_date=run_day.normalize().date()
        )
        fails.add(coerced.late, name, Check.DATE_AFTER_RUN, raw, late)
    else:
        late = (
            f"{name} is after {_LAST_DAY}, the last date ptdenial can hold; give "
            "the real date (an open end such as 9999-12-31 is not one)"
        )
        fails.add(coerced.late, name, Check.TYPE, raw, late)


_LAST_DAY = "2262-04-11"


def _coerce_columns(df: pd.DataFrame, fails: _Failures, *, run_date=None):
    """Each contract column in its canonical dtype; other columns as they are.

    Records the values that cannot be coerced, the dates out of range and
    the empty required values in ``fails``. Returns the columns and, per
    list column, its distinct tuples (``(codes, parsed)``) for the checks to
    reuse.
    """
    out, lists = {}, {}
    for name in df.columns:
        spec = COLUMNS.get(name)
        raw = df[name]
        if spec is None:
            out[name] = raw
            continue
        coerced = coerce_column(raw, spec)
        if coerced.bad is not None:
            fails.add(coerced.bad, name, coerced.check, raw, coerced.reason)
        _outside_range(fails, coerced, name, raw, run_date)
        if not spec.nullable:
            blank = coerced.blank if coerced.blank is not None else is_blank(raw)
            fails.add(blank, name, Check.NOT_NULL, raw, f"{name} is empty")
        out[name] = coerced.values
        if coerced.lists is not None:
            lists[name] = coerced.lists
    return out, lists


def _build_quarantine(df, f, *, source, first_row):
    if len(f) == 0:
        empty = {c: pd.Series([], dtype=object) for c in QUARANTINE_COLUMNS}
        empty[SOURCE_ROW] = pd.Series([], dtype="int64")
        empty[Q_N_FAILURES] = pd.Series([], dtype="int64")
        return pd.DataFrame(empty)
    f = f.sort_values("_pos", kind="stable")
    grouped = f.groupby("_pos", sort=True)
    first = grouped.first()
    reasons = grouped[Q_REASON].agg(lambda r: "; ".join(dict.fromkeys(r)))
    counts = grouped.size()
    pos = first.index.to_numpy()
    claim = df[CLAIM_ID].iloc[pos].map(_show).to_numpy()
    line = df[LINE_NUMBER].iloc[pos].map(_show).to_numpy()
    q = pd.DataFrame(
        {
            SOURCE_ROW: pos.astype("int64") + int(first_row),
            CLAIM_ID: claim,
            LINE_NUMBER: line,
            Q_COLUMN: first[Q_COLUMN].to_numpy(),
            Q_CHECK: first[Q_CHECK].to_numpy(),
            Q_VALUE: first[Q_VALUE].to_numpy(),
            Q_REASON: reasons.to_numpy(),
            Q_N_FAILURES: counts.to_numpy().astype("int64"),
            Q_SOURCE: source,
        }
    )
    # keep the whole raw row, as text, so nothing is lost
    raw = df.iloc[pos]
    for name in raw.columns:
        if name in (CLAIM_ID, LINE_NUMBER) or name in q.columns:
            continue
        q[name] = raw[name].map(_show).to_numpy()
    return q.reset_index(drop=True)
