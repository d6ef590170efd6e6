"""Declared checks of the coerced values: the table and the function that runs it.

Coercion (:mod:`ptdenial.schema._coerce`) only says whether a value has the
right kind. What a value must further satisfy is declared here, one
:class:`ValueCheck` per (column, rule) in :data:`VALUE_CHECKS`, and
:func:`value_failures` runs the table on a coerced frame. The table's order
is the order failures are recorded in, so it decides which failure a
quarantine row shows first.

Rules
-----
:class:`Matches`
    The text matches a pattern.
:class:`EachItem`
    Every code of a list column has a canonical form.
:class:`Between`
    A number or date within bounds; a bound may be a run parameter
    (:data:`MAX_UNITS`, :data:`RUN_DATE`).
:class:`NotBefore`
    Not before another column of the same row.
:class:`UniqueKey`
    No two rows share a key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ptdenial._distinct import combinations, on_distinct
from ptdenial.schema._columns import (
    ADJUSTMENT_CODES,
    ALLOWED_AMOUNT,
    AUTH_VISITS_APPROVED,
    AUTH_VISITS_USED,
    CHARGE_AMOUNT,
    CLAIM_ID,
    CPT_CODE,
    DATE_COLUMNS,
    DATE_OF_SERVICE,
    DEFAULT_MAX_UNITS,
    DIAGNOSIS_CODES,
    FUTURE_OK_DATES,
    LINE_KEYS,
    MIN_DATE,
    MINUTES,
    MODIFIERS,
    PAID_AMOUNT,
    SUBMISSION_DATE,
    UNITS,
    VISIT_NUMBER,
    VISIT_TIMED_MINUTES,
    VISITS_SINCE_PROGRESS_REPORT,
    YTD_THERAPY_ALLOWED,
    Check,
)
from ptdenial.schema._parse import (
    CPT_PATTERN,
    item_forms,
    normalize_carc,
    normalize_icd10,
    normalize_modifier,
)

__all__ = [
    "Param",
    "MAX_UNITS",
    "RUN_DATE",
    "Matches",
    "EachItem",
    "Between",
    "NotBefore",
    "UniqueKey",
    "ValueCheck",
    "VALUE_CHECKS",
    "Failure",
    "value_failures",
]


@dataclasses.dataclass(frozen=True)
class Param:
    """A bound taken from the run's parameters (``validate_claims`` arguments)."""

    name: str


#: Largest plausible units on one line (``validate_claims(max_units=...)``).
MAX_UNITS = Param("max_units")
#: The run date, normalised to midnight (``validate_claims(run_date=...)``).
RUN_DATE = Param("run_date")


class _Context(NamedTuple):
    frame: pd.DataFrame  # coerced columns
    params: Mapping[str, Any]
    lists: Mapping[str, tuple[np.ndarray, np.ndarray]]  # list column -> codes


def _bound(value, params):
    return params[value.name] if isinstance(value, Param) else value


@dataclasses.dataclass(frozen=True)
class Matches:
    """The text matches ``pattern`` (from its start); missing text passes."""

    pattern: Any

    def columns(self) -> tuple[str, ...]:
        return ()

    def bad(self, values: pd.Series, ctx: _Context) -> np.ndarray:
        pattern = self.pattern.pattern

        def fails(text):
            return (text.notna() & ~text.str.match(pattern).fillna(False)).to_numpy()

        return on_distinct(fails, values)


@dataclasses.dataclass(frozen=True)
class EachItem:
    """Every code of a list column has a canonical form (``normalize`` not None).

    Validation then stores the canonical forms (:meth:`forms`).
    """

    normalize: Callable[[str], str | None]

    def columns(self) -> tuple[str, ...]:
        return ()

    def forms(self, codes: np.ndarray, uniques, index) -> pd.Series:
        """Each row's well-formed codes in canonical form (malformed ones dropped).

        ``uniques[codes]`` are the rows' parsed tuples, as
        :func:`~ptdenial.schema._parse.list_codes` returns them.
        """
        forms = item_forms(uniques, self.normalize)[0]
        return pd.Series(forms[codes], index=index, dtype=object)

    def bad(self, values: pd.Series, ctx: _Context) -> np.ndarray:
        found = ctx.lists.get(values.name)
        if found is None:  # tuples hash: factorize them here
            tuples = values.to_numpy(dtype=object)
            codes, uniques = pd.factorize(tuples, use_na_sentinel=True)
            uniques = [*uniques, ()]  # code -1 (missing) picks the empty list
        else:
            codes, uniques = found  # list_codes: code -1 picks the trailing ()
        return item_forms(uniques, self.normalize)[1][codes]


@dataclasses.dataclass(frozen=True)
class Between:
    """``low <= value <= high`` (either bound optional); missing values pass."""

    low: Any = None
    high: Any = None

    def columns(self) -> tuple[str, ...]:
        return ()

    def bad(self, values: pd.Series, ctx: _Context) -> np.ndarray:
        low, high = _bound(self.low, ctx.params), _bound(self.high, ctx.params)
        if low is not None and high is not None:
            out = values.notna() & ((values < low) | (values > high))
        else:
            out = values < low if low is not None else values > high
        return out.fillna(False).to_numpy()


@dataclasses.dataclass(frozen=True)
class NotBefore:
    """Not before the same row's ``other`` column; a missing side passes."""

    other: str

    def columns(self) -> tuple[str, ...]:
        return (self.other,)

    def bad(self, values: pd.Series, ctx: _Context) -> np.ndarray:
        return (values < ctx.frame[self.other]).fillna(False).to_numpy()


@dataclasses.dataclass(frozen=True)
class UniqueKey:
    """No two rows share the ``key`` columns' values (rows missing a part pass).

    Every copy fails; the failure shows the key as ``claim/line`` text.
    """

    key: tuple[str, ...]

    def columns(self) -> tuple[str, ...]:
        return self.key

    def bad(self, values: pd.Series, ctx: _Context) -> np.ndarray:
        codes, known = [], np.ones(len(values), dtype=bool)
        for c in self.key:  # each column factorized once, then their combinations
            k, _ = pd.factorize(ctx.frame[c], use_na_sentinel=True)
            codes.append(np.asarray(k, dtype=np.int64) + 1)
            known &= k >= 0
        if not len(values):
            return known
        combo, first = combinations(codes)
        dup = np.bincount(combo, minlength=len(first))[combo] > 1
        return dup & known

    def shown(self, ctx: _Context) -> pd.Series:
        parts = [ctx.frame[c].astype(str) for c in self.key]
        out = parts[0]
        for part in parts[1:]:
            out = out + "/" + part
        return out


@dataclasses.dataclass(frozen=True)
class ValueCheck:
    """One declared check: the rows of ``column`` that break ``rule`` fail ``check``.

    Parameters
    ----------
    column : str
        The column checked (the check is skipped when the frame lacks it, or
        a column the rule compares with).
    check : Check
        The reason code a failure carries.
    rule : Matches, EachItem, Between, NotBefore or UniqueKey
    reason : str
        The readable reason, with the fix; ``{column}``, ``{max_units}`` and
        ``{run_date}`` are filled in.
    shows : {"value", "raw"}
        The value a failure shows: the coerced one or the one read.
    """

    column: str
    check: Check
    rule: Any
    reason: str
    shows: str = "value"


class Failure(NamedTuple):
    """Rows failing one declared check, with the values the quarantine shows."""

    mask: np.ndarray
    column: str
    check: Check
    message: str
    values: pd.Series


_NEGATIVE = "{column} must not be negative"
_COUNTS = (
    MINUTES,
    VISIT_TIMED_MINUTES,
    AUTH_VISITS_APPROVED,
    AUTH_VISITS_USED,
    VISITS_SINCE_PROGRESS_REPORT,
)
_AMOUNTS = (CHARGE_AMOUNT, ALLOWED_AMOUNT, PAID_AMOUNT, YTD_THERAPY_ALLOWED)


def _date_checks():
    for name in DATE_COLUMNS:
        yield ValueCheck(
            name,
            Check.DATE_BEFORE_2000,
            Between(low=MIN_DATE),
            "{column} is before " + str(MIN_DATE.date()),
        )
        if name not in FUTURE_OK_DATES:
            yield ValueCheck(
                name,
                Check.DATE_AFTER_RUN,
                Between(high=RUN_DATE),
                "{column} is after the run date {run_date}",
            )


#: Every declared value check, in the order they run.
VALUE_CHECKS: tuple[ValueCheck, ...] = (
    ValueCheck(
        CPT_CODE,
        Check.CPT_FORMAT,
        Matches(CPT_PATTERN),
        "cpt_code must be 5 characters: 5 digits (CPT) or a letter and "
        "4 digits (HCPCS)",
        shows="raw",
    ),
    ValueCheck(
        DIAGNOSIS_CODES,
        Check.ICD10_FORMAT,
        EachItem(normalize_icd10),
        "diagnosis_codes must be ICD-10-CM codes such as R26.81 "
        "(letter, digit, letter/digit, then up to 4 characters)",
    ),
    ValueCheck(
        MODIFIERS,
        Check.MODIFIER_FORMAT,
        EachItem(normalize_modifier),
        "each modifier must be 2 letters/digits (e.g. GP, KX, 59)",
    ),
    ValueCheck(
        ADJUSTMENT_CODES,
        Check.TYPE,
        EachItem(normalize_carc),
        "adjustment_codes must look like CO-45 or PR-2 (group-CARC)",
        shows="raw",
    ),
    ValueCheck(
        UNITS,
        Check.UNITS_RANGE,
        Between(1, MAX_UNITS),
        "units must be between 1 and {max_units}",
    ),
    *(ValueCheck(c, Check.NON_NEGATIVE, Between(low=0), _NEGATIVE) for c in _COUNTS),
    ValueCheck(
        VISIT_NUMBER,
        Check.NON_NEGATIVE,
        Between(low=1),
        "visit_number is 1-based (1 = evaluation day)",
    ),
    *(ValueCheck(c, Check.NON_NEGATIVE, Between(low=0), _NEGATIVE) for c in _AMOUNTS),
    *_date_checks(),
    ValueCheck(
        SUBMISSION_DATE,
        Check.SUBMISSION_BEFORE_SERVICE,
        NotBefore(DATE_OF_SERVICE),
        "submission_date is before date_of_service",
    ),
    ValueCheck(
        CLAIM_ID,
        Check.DUPLICATE_KEY,
        UniqueKey(LINE_KEYS),
        "(claim_id, line_number) appears more than once; every copy is "
        "quarantined because the right one cannot be told",
    ),
)


def value_failures(
    frame: pd.DataFrame,
    *,
    raw: pd.DataFrame | None = None,
    run_date=None,
    max_units: int = DEFAULT_MAX_UNITS,
    checks=VALUE_CHECKS,
    lists=None,
) -> Iterator[Failure]:
    """Run the declared value checks on a coerced frame.

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns in their canonical dtypes (as validation coerces them).
    raw : pandas.DataFrame, optional
        The same rows as read; checks declared with ``shows="raw"`` show
        these values. Defaults to ``frame``.
    run_date : date-like, optional
        Dates after this day fail (except ``cert_through_date``). Defaults
        to today.
    max_units : int
        Largest plausible units on one line.
    checks : sequence of ValueCheck
        Defaults to :data:`VALUE_CHECKS`.
    lists : mapping, optional
        ``{list column: (codes, distinct tuples)}`` already computed, reused
        instead of factorizing the tuples again.

    Yields
    ------
    Failure
        ``(mask, column, check, message, values)`` for each check that some
        row fails, in the order of ``checks``.

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.schema import value_failures
    >>> frame = pd.DataFrame({
    ...     "units": pd.array([2, 0, 120], dtype="Int64"),
    ...     "minutes": pd.array([30, -5, None], dtype="Int64"),
    ... })
    >>> for f in value_failures(frame, run_date="2025-03-31"):
    ...     print(f.column, f.check, f.mask.tolist(), f.message)
    units units_range [False, True, True] units must be between 1 and 99
    minutes non_negative [False, True, False] minutes must not be negative
    """
    raw = frame if raw is None else raw
    run_day = pd.Timestamp(run_date if run_date is not None else pd.Timestamp.today())
    params = {"max_units": max_units, "run_date": run_day.normalize()}
    ctx = _Context(frame, params, lists or {})
    for vc in checks:
        needed = (vc.column, *vc.rule.columns())
        if not all(c in frame.columns for c in needed):
            continue
        mask = vc.rule.bad(frame[vc.column], ctx)
        if not mask.any():
            continue
        if isinstance(vc.rule, UniqueKey):
            values = vc.rule.shown(ctx)
        else:
            values = (raw if vc.shows == "raw" else frame)[vc.column]
        message = vc.reason.format(
            column=vc.column, max_units=max_units, run_date=params["run_date"].date()
        )
        yield Failure(mask, vc.column, vc.check, message, values)
