"""ICD-10-CM validity on a date of service: the code set in force, and its history.

The code set comes from the PyPI package ``simple-icd-10-cm`` (its data file
``code-list-<Month>-<Year>.txt``, read directly: importing the package parses
an 11 MB XML file, which the rules do not need). Version 1.5.0 carries the
**April 2026** release, i.e. fiscal year 2026 (the FY2026 code set in force
2025-10-01 .. 2026-09-30, with its April update).

A code is *billable* when it is a leaf of the classification: no other code
extends it (``R26.8`` has ``R26.81`` and ``R26.89``, so it is a header).

Dates outside the package's fiscal year are judged only where the reference
table ``icd10cm_changes.csv`` gives the history: one row per code whose
billable status changed on ``effective_from`` (``billable_before`` /
``billable_from``). The shipped rows compare the FY2025 code set (the April
2025 release carried by ``simple-icd-10-cm`` 1.4.0) with FY2026, so validity
is known from 2024-10-01 to 2026-09-30. Any other date is **not evaluated**:
the release in force then is not in the tables, and a code that changed in
between would give a false hit.

:func:`icd10_changes` rebuilds such a table from two code lists (the
package's format, or CMS's ``icd10cm-codes-YYYY.txt`` order file): run it each
October with the new release (``ptdenial reference icd10-changes``).
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import importlib.util
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ptdenial.exceptions import ReferenceDataError

__all__ = [
    "IcdCodeSet",
    "icd10_changes",
    "icd10_code_set",
    "read_code_list",
]

_MONTHS = {
    m: i
    for i, m in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ],
        start=1,
    )
}
_CODE = re.compile(r"^[A-Z][0-9][0-9A-Z]{1,5}$")


def _bare(code: str) -> str:
    return code.strip().upper().replace(".", "")


def dotted(code: str) -> str:
    """``R2681`` -> ``R26.81`` (ICD-10-CM puts the dot after 3 characters)."""
    bare = _bare(code)
    return bare if len(bare) <= 3 else f"{bare[:3]}.{bare[3:]}"


def read_code_list(path) -> frozenset[str]:
    """Every code (billable or not) of a code list file, dotless and upper case.

    Parameters
    ----------
    path : str or Path

    Reads the package's ``code-list-*.txt`` (one code per line, chapters and
    blocks included and skipped here) and CMS's ``icd10cm-codes-YYYY.txt`` /
    order files (the code is the first field of each line; CMS's codes file
    lists billable codes only).
    """
    codes = set()
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            fields = line.split()
            if not fields:
                continue
            # order files: "00001 A00     0 Cholera ..." (number, code, flag)
            token = fields[1] if fields[0].isdigit() and len(fields) > 2 else fields[0]
            token = _bare(token)
            if _CODE.match(token):
                codes.add(token)
    if not codes:
        raise ReferenceDataError(
            f"{path}: no ICD-10-CM codes found; expected one code per line "
            "(simple-icd-10-cm code list) or CMS's icd10cm-codes file."
        )
    return frozenset(codes)


def _leaves(codes: frozenset[str]) -> frozenset[str]:
    """Codes no other code of the set extends: the billable ones."""
    parents = {c[:k] for c in codes for k in range(3, len(c))}
    return frozenset(codes - parents)


@dataclasses.dataclass(frozen=True)
class IcdCodeSet:
    """One ICD-10-CM release: its codes, billable codes and fiscal year.

    Attributes
    ----------
    release : str
        E.g. ``"April 2026"``.
    fiscal_year : int
        The fiscal year whose code set it is (FY2026: 2025-10-01 to 2026-09-30).
    codes : frozenset of str
        Every code (dotless), headers included.
    billable : frozenset of str
        Leaf codes (dotless).
    source : str
        Where the codes were read.
    """

    release: str
    fiscal_year: int
    codes: frozenset
    billable: frozenset
    source: str

    @property
    def in_force_from(self) -> pd.Timestamp:
        return pd.Timestamp(f"{self.fiscal_year - 1}-10-01")

    @property
    def in_force_to(self) -> pd.Timestamp:
        return pd.Timestamp(f"{self.fiscal_year}-09-30")

    def children(self, code: str, limit: int = 4) -> list[str]:
        """Billable codes under a header (dotted), first ``limit`` in order."""
        bare = _bare(code)
        leaves = _sorted(self.billable)
        i = bisect.bisect_left(leaves, bare)
        out = []
        while i < len(leaves) and leaves[i].startswith(bare) and len(out) < limit:
            if leaves[i] != bare:
                out.append(dotted(leaves[i]))
            i += 1
        return out


@functools.lru_cache(maxsize=4)
def _sorted(codes: frozenset) -> list[str]:
    return sorted(codes)


def _fiscal_year(release: str) -> int:
    """``"April 2026"`` -> 2026; October releases start the next fiscal year."""
    m = re.match(r"([A-Za-z]+)[ _-]*(\d{4})", release)
    if not m or m.group(1).lower()[:3] not in {k[:3] for k in _MONTHS}:
        raise ReferenceDataError(f"Cannot tell the fiscal year of release {release!r}.")
    month = next(v for k, v in _MONTHS.items() if k[:3] == m.group(1).lower()[:3])
    year = int(m.group(2))
    return year + 1 if month >= 10 else year


@functools.lru_cache(maxsize=1)
def icd10_code_set() -> IcdCodeSet | None:
    """The code set of the installed ``simple-icd-10-cm``, or None if absent.

    Examples
    --------
    >>> from ptdenial.reference import icd10_code_set
    >>> cs = icd10_code_set()
    >>> cs.release, cs.fiscal_year
    ('April 2026', 2026)
    >>> "R2681" in cs.billable, "R268" in cs.billable, "R268" in cs.codes
    (True, False, True)
    >>> cs.children("R26.8")
    ['R26.81', 'R26.89']
    """
    spec = importlib.util.find_spec("simple_icd_10_cm")
    if spec is None or not spec.submodule_search_locations:
        return None
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    lists = sorted(data.glob("code-list-*.txt"))
    if not lists:
        return None
    path = lists[-1]
    release = path.stem.removeprefix("code-list-").replace("-", " ")
    codes = read_code_list(path)
    try:
        from importlib.metadata import version

        pkg = f"simple-icd-10-cm {version('simple-icd-10-cm')}"
    except Exception:  # pragma: no cover - metadata missing in odd installs
        pkg = "simple-icd-10-cm"
    return IcdCodeSet(
        release=release,
        fiscal_year=_fiscal_year(release),
        codes=codes,
        billable=_leaves(codes),
        source=f"{pkg}, data/{path.name}",
    )


def icd10_changes(
    old_codes, new_codes, effective_from, *, old_release: str, new_release: str
) -> pd.DataFrame:
    """The codes whose billable status differs between two releases.

    Parameters
    ----------
    old_codes, new_codes : iterable of str or path
        Every code of each release (headers included), or a code-list file.
        A CMS ``icd10cm-codes`` file lists billable codes only: then every
        code listed is billable and a code missing is not.
    effective_from : date-like
        The day the new release took effect (1 October for a new fiscal year).
    old_release, new_release : str
        Labels recorded in the table (``"April 2025"``).

    Returns
    -------
    pandas.DataFrame
        The columns of ``icd10cm_changes.csv``: ``code`` (dotted),
        ``billable_before``, ``billable_from``, ``change``, ``effective_from``,
        ``source``, ``verified``.

    Examples
    --------
    >>> from ptdenial.reference._icd10 import icd10_changes
    >>> old = ["G35", "R268", "R2681"]
    >>> new = ["G35", "G35A", "R268", "R2681"]
    >>> icd10_changes(old, new, "2025-10-01", old_release="A", new_release="B")[
    ...     ["code", "billable_before", "billable_from", "change"]]
        code  billable_before  billable_from          change
    0    G35             True          False  became a header
    1  G35.A            False           True           added
    """
    old = _as_codes(old_codes)
    new = _as_codes(new_codes)
    old_b, new_b = _leaves(old), _leaves(new)
    rows = []
    for code in sorted(old_b ^ new_b):
        before, after = code in old_b, code in new_b
        if before == after:
            continue
        if after:
            change = "became billable" if code in old else "added"
        else:
            change = "became a header" if code in new else "deleted"
        rows.append(
            {
                "code": dotted(code),
                "billable_before": before,
                "billable_from": after,
                "change": change,
                "effective_from": pd.Timestamp(effective_from),
                "source": f"ICD-10-CM {old_release} vs {new_release}",
                "verified": True,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "code",
            "billable_before",
            "billable_from",
            "change",
            "effective_from",
            "source",
            "verified",
        ],
    )


def _as_codes(codes) -> frozenset[str]:
    if isinstance(codes, str | Path):
        return read_code_list(codes)
    return frozenset(_bare(c) for c in codes)


@dataclasses.dataclass(frozen=True)
class DxValidity:
    """Billable status of codes on dates, from a code set and its change history.

    ``status(codes, days)`` gives, per (code, day): 1 billable, 0 not
    billable, -1 not known (the date is outside the releases the tables
    cover). Built by :func:`dx_validity`.
    """

    code_set: IcdCodeSet | None
    known_from: float  # first day (day number) validity is known
    known_to: float  # last day
    history: dict  # bare code -> sorted list of (effective day, before, from)
    note: str  # why the window is what it is

    def status(self, code: str, day: float) -> int:
        if self.code_set is None or not (self.known_from <= day <= self.known_to):
            return -1
        bare = _bare(code)
        billable = bare in self.code_set.billable
        release_from = _day(self.code_set.in_force_from)
        if day < release_from:
            for when, before, _ in self.history.get(bare, ()):
                if day < when <= release_from:
                    billable = before
                    break
        return 1 if billable else 0

    def describe(self, code: str, day: float) -> tuple[str, str]:
        """Why a code is not billable on a day: (variant, fix hint)."""
        bare = _bare(code)
        cs = self.code_set
        changed = [
            (when, before, after)
            for when, before, after in self.history.get(bare, ())
            if when <= day and before and not after
        ]
        if cs is not None and bare in cs.codes and bare not in cs.billable:
            kids = ", ".join(cs.children(bare))
            hint = (
                f"use a billable code under it ({kids}, ...)"
                if kids
                else ("use a billable code under it")
            )
            if changed:
                since = str(np.datetime64(int(changed[-1][0]), "D"))
                return "header_since", f"{since}|{hint}"
            return "header", hint
        if changed:
            since = str(np.datetime64(int(changed[-1][0]), "D"))
            return "deleted", since
        return "unknown", ""


@functools.lru_cache(maxsize=256)  # status() asks for the release's first day per call
def _day(ts) -> float:
    return float(np.datetime64(pd.Timestamp(ts).date(), "D").astype(np.int64))


def dx_validity(changes: pd.DataFrame | None) -> DxValidity:
    """Validity from the installed code set and a changes table.

    The window starts at the installed release's fiscal year, and extends
    back to the earliest ``effective_from`` of the changes table minus one
    fiscal year when the table is relative to the installed release (its
    latest ``effective_from`` is the release's start).
    """
    cs = icd10_code_set()
    if cs is None:
        return DxValidity(
            None, np.inf, -np.inf, {}, "simple-icd-10-cm is not installed"
        )
    lo, hi = _day(cs.in_force_from), _day(cs.in_force_to)
    history: dict = {}
    note = f"ICD-10-CM {cs.release} (FY{cs.fiscal_year}, {cs.source})"
    if changes is not None and len(changes):
        eff = changes["effective_from"]
        latest = pd.Timestamp(eff.max())
        if latest == cs.in_force_from:
            for code, when, before, after in zip(
                changes["code"],
                eff,
                changes["billable_before"],
                changes["billable_from"],
                strict=True,
            ):
                history.setdefault(_bare(str(code)), []).append(
                    (_day(when), bool(before), bool(after))
                )
            for v in history.values():
                v.sort()
            earliest = pd.Timestamp(eff.min())
            lo = _day(earliest - pd.DateOffset(years=1))
            note += f" and icd10cm_changes.csv back to {earliest.year - 1}-10-01"
        else:
            note += (
                f"; icd10cm_changes.csv is relative to a release starting "
                f"{latest.date()}, not this one: dates before "
                f"{cs.in_force_from.date()} are not evaluated"
            )
    return DxValidity(cs, lo, hi, history, note)
