"""Read folders of 835/837P files into typed claim-line tables."""

from __future__ import annotations

import dataclasses
import logging
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial.exceptions import DataQualityWarning, InputFileError
from ptdenial.io import file_sha256
from ptdenial.x12._codes import resolve_key
from ptdenial.x12._flatten import (
    ADJUDICATED_CPT_CODE,
    CLAIM_ADJUSTMENT_CODES,
    CLAIM_FREQUENCY,
    CLAIM_LEVEL,
    CLAIM_REMARK_CODES,
    CLAIM_STATUS,
    DENTAL,
    ICD9_DIAGNOSIS_CODES,
    INSTITUTIONAL,
    LINE_CONTROL_NUMBER,
    PAID_UNITS,
    PAYER_CLAIM_CONTROL_NUMBER,
    PAYER_NAME,
    PROFESSIONAL,
    REMIT_CLAIM_INDEX,
    SOURCE_FILE,
    SOURCE_SEGMENT,
    X12_PROBLEMS,
    X12_VERSION,
    Flat835,
    Flat837P,
)
from ptdenial.x12._lexer import X12FormatError, iter_segments

__all__ = [
    "X12Read",
    "x12_files",
    "read_x12",
    "read_835",
    "read_837p",
    "net_reversals",
    "CLAIM_COLUMNS_837P",
    "REMIT_COLUMNS_835",
]

logger = logging.getLogger(__name__)

CLAIM_COLUMNS_837P = (
    S.CLAIM_ID,
    S.LINE_NUMBER,
    S.PATIENT_ID,
    S.PAYER_ID,
    S.PAYER_CLASS,
    S.DATE_OF_SERVICE,
    S.CPT_CODE,
    S.MODIFIERS,
    S.UNITS,
    S.CHARGE_AMOUNT,
    S.DIAGNOSIS_CODES,
    S.RENDERING_PROVIDER_ID,
    S.PROVIDER_CREDENTIAL,
    S.CLINIC_ID,
    S.REFERRING_PROVIDER_ID,
    S.PLACE_OF_SERVICE,
    S.SUBMISSION_DATE,
    S.PRIOR_AUTH_NUMBER,
    S.EPISODE_START_DATE,
    LINE_CONTROL_NUMBER,
    ICD9_DIAGNOSIS_CODES,
    CLAIM_FREQUENCY,
    PAYER_NAME,
    SOURCE_FILE,
    X12_VERSION,
    SOURCE_SEGMENT,
    X12_PROBLEMS,
)
REMIT_COLUMNS_835 = (
    S.CLAIM_ID,
    S.LINE_NUMBER,
    S.PATIENT_ID,
    S.PAYER_ID,
    S.PAYER_CLASS,
    S.DATE_OF_SERVICE,
    S.CPT_CODE,
    S.MODIFIERS,
    S.UNITS,
    S.CHARGE_AMOUNT,
    S.DIAGNOSIS_CODES,
    S.RENDERING_PROVIDER_ID,
    S.ADJUDICATION_DATE,
    S.ALLOWED_AMOUNT,
    S.PAID_AMOUNT,
    S.ADJUSTMENT_CODES,
    S.REMARK_CODES,
    LINE_CONTROL_NUMBER,
    CLAIM_STATUS,
    PAID_UNITS,
    ADJUDICATED_CPT_CODE,
    PAYER_CLAIM_CONTROL_NUMBER,
    CLAIM_ADJUSTMENT_CODES,
    CLAIM_REMARK_CODES,
    CLAIM_LEVEL,
    REMIT_CLAIM_INDEX,
    PAYER_NAME,
    SOURCE_FILE,
    X12_VERSION,
    SOURCE_SEGMENT,
    X12_PROBLEMS,
)
_DATES = {
    S.DATE_OF_SERVICE,
    S.SUBMISSION_DATE,
    S.EPISODE_START_DATE,
    S.ADJUDICATION_DATE,
}
_MONEY = {S.CHARGE_AMOUNT, S.ALLOWED_AMOUNT, S.PAID_AMOUNT}
_COUNTS = {S.UNITS, PAID_UNITS}
_LISTS = {
    S.MODIFIERS,
    S.DIAGNOSIS_CODES,
    S.ADJUSTMENT_CODES,
    S.REMARK_CODES,
    CLAIM_ADJUSTMENT_CODES,
    CLAIM_REMARK_CODES,
    ICD9_DIAGNOSIS_CODES,
}
# Dates a pandas datetime64[ns] column can hold (YYYYMMDD text compares).
_DATE_MIN, _DATE_MAX = "16770922", "22620411"
# Rows kept as dicts before they are typed into a frame (bounds memory).
_CHUNK_ROWS = 20_000
_X12_START = re.compile(rb"^\s*(?:\xef\xbb\xbf)?(?:ISA|ST[^A-Za-z0-9\s])")


@dataclasses.dataclass
class X12Read:
    """Everything read from a set of X12 files.

    Attributes
    ----------
    claims : pandas.DataFrame
        837P service lines (:data:`CLAIM_COLUMNS_837P`).
    remits : pandas.DataFrame
        835 service lines (:data:`REMIT_COLUMNS_835`), reversals netted.
    reversed : pandas.DataFrame
        Remit lines cancelled by a CLP02 = 22 reversal (originals and
        reversals), so nothing disappears unseen.
    files : list of dict
        One entry per input file: ``path``, ``sha256``, ``status`` (``read``,
        ``error``, ``skipped``), ``kinds``, ``versions``, ``n_claims``,
        ``n_lines``, ``error``, ``warnings``.
    errors : list of X12FormatError or InputFileError
        Files that could not be read; the others were.
    problems : list of X12FormatError
        Files read although their trailer counts or control numbers disagree
        (SE01/GE01/IEA01 ...); each names the file and the segment.
    key_source : str
        Where the pseudonymization key came from (never the key).
    """

    claims: pd.DataFrame
    remits: pd.DataFrame
    reversed: pd.DataFrame
    files: list
    errors: list
    problems: list = dataclasses.field(default_factory=list)
    key_source: str = ""


def x12_files(paths) -> tuple[list[Path], list[dict]]:
    """List X12 files: each path is a file or a folder (searched recursively).

    Inside folders, hidden files and files that do not start like X12 (``ISA``
    or a bare ``ST``) are skipped and listed as such (and so are, in
    :func:`read_x12` with ``expect``, files of the other kind); a file named
    explicitly is always read.

    Parameters
    ----------
    paths : str, Path or list of them

    Returns
    -------
    (list of Path, list of dict)
        Files to read, and skipped files (``path``, ``status``, ``reason``).

    Examples
    --------
    >>> from ptdenial.x12 import x12_files
    >>> x12_files([])
    ([], [])
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    files, skipped = [], []
    for p in map(Path, paths):
        if not p.exists():
            raise InputFileError(f"{p}: no such file or folder.")
        if p.is_dir():
            for f in sorted(x for x in p.rglob("*") if x.is_file()):
                if any(part.startswith(".") for part in f.relative_to(p).parts):
                    continue
                with open(f, "rb") as fh:
                    head = fh.read(64)
                if _X12_START.match(head):
                    files.append(_InFolder(f))
                else:
                    skipped.append(
                        {
                            "path": str(f),
                            "status": "skipped",
                            "reason": "not an X12 file (no ISA/ST at the start)",
                        }
                    )
        else:
            files.append(p)

    return files, skipped


class _InFolder(type(Path())):
    """A path found inside a folder (not named by the user)."""


class _WrongKind(X12FormatError):
    """The file holds no transaction set of the expected kind."""


def _transaction(seg, gs_version, path, kinds, versions, notes, flat):
    """The flattener an ST starts (``None`` for a skipped kind), its version."""
    st01 = seg.get(1)
    version = seg.get(3) or gs_version
    versions.add(version)
    if st01 == "835":
        kinds.add("835")
        return flat["835"], version
    if st01 != "837":
        kinds.add(st01)
        notes.append(
            f"{path}: segment {seg.pos} (ST): transaction set "
            f"{st01} is neither 835 nor 837; skipped"
        )
        return None, version
    if any(t in version for t in INSTITUTIONAL + DENTAL):
        kind = "837I" if any(t in version for t in INSTITUTIONAL) else "837D"
        kinds.add(kind)
        notes.append(
            f"{path}: segment {seg.pos} (ST): {kind} ({version}) "
            "is not professional; transaction skipped"
        )
        return None, version
    if not any(t in version for t in PROFESSIONAL):
        notes.append(
            f"{path}: segment {seg.pos} (ST): 837 version "
            f"{version!r} not recognized; read as 837P"
        )
    kinds.add("837P")
    return flat["837P"], version


def _read_one(path, key, cache, claim_index_start, expect, strict, problems, emit):
    """Flatten one file; raises X12FormatError on malformed input.

    Typed chunks of at most ``emit.chunk_rows`` rows go to ``emit(kind, frame)``
    as they fill (kind ``"835"`` or ``"837P"``), so memory holds one chunk of
    row dicts, not the file's rows. Returns the 835 and 837P flatteners, the
    kinds and versions found and the notes.
    """
    flat = {
        "835": Flat835(path, key, cache, claim_index_start),
        "837P": Flat837P(path, key, cache),
    }
    columns = {"835": REMIT_COLUMNS_835, "837P": CLAIM_COLUMNS_837P}
    size = emit.chunk_rows
    kinds, versions, notes = set(), set(), []
    gs_version = ""
    current = None
    for seg in iter_segments(path, strict=strict, notes=notes, problems=problems):
        sid = seg.id
        if sid == "GS":
            gs_version = seg.get(8)
        elif sid == "ST":
            if current is not None:  # the previous transaction lost its SE
                current.end()
            current, version = _transaction(
                seg, gs_version, path, kinds, versions, notes, flat
            )
            if current is not None:
                current.start(version)
            continue
        if current is None:
            continue
        current.feed(seg)
        if sid == "SE":
            current.end()
            current = None
        for kind, f in flat.items():  # type the rows chunk by chunk: bounded memory
            while len(f.rows) >= size:
                emit(kind, _frame(f.rows[:size], columns[kind]))
                del f.rows[:size]
    if current is not None:  # a transaction without SE: keep its last claim
        current.end()
    if expect is not None and expect not in kinds:
        found = ", ".join(sorted(kinds)) or "no transaction set"
        raise _WrongKind(
            f"{path}: expected {expect} transactions, found {found}. Fix: pass "
            "835 files with --remits-835 and 837P files with --claims-837.",
            path=str(path),
        )
    for kind, f in flat.items():
        for i in range(0, len(f.rows), size):
            emit(kind, _frame(f.rows[i : i + size], columns[kind]))
        f.rows = []
    notes.extend(flat["835"].notes)
    return flat["835"], flat["837P"], kinds, versions, notes


class _Frames:
    """Typed chunks kept in memory, by kind; a file's chunks count once it is read.

    The interface :func:`scan_x12` writes to (``chunk_rows``, ``__call__``,
    ``commit``, ``drop``); :mod:`ptdenial.x12._stream` spills them to disk
    instead.
    """

    def __init__(self, chunk_rows=_CHUNK_ROWS):
        self.chunk_rows = int(chunk_rows)
        self.frames = {"835": [], "837P": []}
        self._staged = []

    def __call__(self, kind, frame):
        self._staged.append((kind, frame))

    def commit(self):
        for kind, frame in self._staged:
            self.frames[kind].append(frame)
        self._staged = []

    def drop(self):
        self._staged = []


def scan_x12(paths, key, *, expect, strict, sink) -> tuple[list, list, list]:
    """Read files one by one into ``sink``; one bad file never stops the run.

    Returns the per-file report, the errors and the problems (see
    :class:`X12Read`). A file's chunks reach ``sink`` as it is read and are
    committed when the whole file was read, dropped when it failed.
    """
    files, skipped = x12_files(paths)
    cache: dict = {}
    report, errors, problems = list(skipped), [], []
    claim_index = 0
    for path in files:
        entry = {"path": str(path), "status": "read", "error": None}
        found: list = []
        try:
            entry["sha256"] = file_sha256(path)
            f835, f837, kinds, versions, notes = _read_one(
                path, key, cache, claim_index, expect, strict, found, sink
            )
        except Exception as exc:  # noqa: BLE001 - one bad file never stops the run
            sink.drop()
            exc = _as_file_error(path, exc)
            if isinstance(exc, _WrongKind) and isinstance(path, _InFolder):
                entry.update(status="skipped", reason=str(exc))
            else:
                entry.update(status="error", error=str(exc))
                errors.append(exc)
                logger.info("%s", exc)
            report.append(entry)
            continue
        sink.commit()
        claim_index = f835.claim_index
        problems.extend(found)
        entry["problems"] = [str(p) for p in found]
        entry.update(
            kinds=sorted(kinds),
            versions=sorted(versions),
            warnings=notes,
            n_claims_837=f837.n_claims,
            n_lines_837=f837.n_lines,
            n_claims_835=f835.n_claims,
            n_svc_835=f835.n_svc,
        )
        if not (kinds & {"835", "837P"}):
            entry["status"] = "skipped"
        report.append(entry)
    return report, errors, problems


def read_x12(paths, *, key=None, key_file=None, expect=None, strict=False) -> X12Read:
    """Read 835 and 837P files (or folders of them) into claim-line tables.

    A file that cannot be read is reported in ``errors`` and ``files``; the
    other files are still read.

    Parameters
    ----------
    paths : str, Path or list of them
        Files or folders. Each file may hold several interchanges, groups and
        transaction sets, of both kinds.
    key, key_file : optional
        Pseudonymization key (see :func:`resolve_key`).
    expect : {"835", "837P"}, optional
        Refuse files holding no transaction set of this kind.
    strict : bool
        Refuse files whose trailer counts or control numbers disagree, or whose
        composites use another separator than ISA16. By default such files are
        read and the disagreement is reported in ``problems``.

    Returns
    -------
    X12Read

    Examples
    --------
    >>> from ptdenial.x12 import read_x12
    >>> read_x12([], key="k").claims.shape[0]
    0
    """
    raw_key, key_source = resolve_key(key, key_file=key_file)
    sink = _Frames()
    report, errors, problems = scan_x12(
        paths, raw_key, expect=expect, strict=strict, sink=sink
    )
    claims = _concat(sink.frames["837P"], CLAIM_COLUMNS_837P)
    remits = _concat(sink.frames["835"], REMIT_COLUMNS_835)
    remits, reversed_ = net_reversals(remits)
    return X12Read(claims, remits, reversed_, report, errors, problems, key_source)


def _as_file_error(path, exc: Exception) -> Exception:
    """Our error for a file that could not be read (never one quoting file content)."""
    if isinstance(exc, X12FormatError | InputFileError):
        return exc
    if isinstance(exc, OSError):
        return InputFileError(
            f"{path}: cannot read the file ({exc.strerror or type(exc).__name__})."
        )
    err = X12FormatError(
        f"{path}: could not be read: unexpected {type(exc).__name__} in ptdenial's "
        "X12 reader. The other files were read. Please report this (the file's "
        "structure, not its content) to the ptdenial maintainers.",
        path=str(path),
    )
    err.internal = True  # a reader bug, not a bad file: the fuzz tests look for it
    logger.debug("reading %s failed", path, exc_info=exc)
    return err


def _concat(frames, columns) -> pd.DataFrame:
    """One frame of the typed chunks; counts become Int64 when all are whole."""
    frames = [f for f in frames if len(f)] or [_frame([], columns)]
    out = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    return as_counts(out, counts_whole(out))


def counts_whole(frame: pd.DataFrame) -> dict:
    """For each count column: are all its values whole numbers?"""
    whole = {}
    for name in sorted(_COUNTS & set(frame.columns)):
        num = frame[name].astype("float64")
        whole[name] = bool(((num.dropna() % 1) == 0).all())
    return whole


def as_counts(frame: pd.DataFrame, whole: dict) -> pd.DataFrame:
    """Count columns as Int64 where ``whole`` (over the whole read) says so."""
    for name, ok in whole.items():
        if ok and name in frame:
            frame[name] = frame[name].astype("float64").round().astype("Int64")
    return frame


def _frame(rows, columns) -> pd.DataFrame:
    """Type one chunk of row dicts; values that do not parse become problems.

    A value that is present but cannot be read (a date that is not YYYYMMDD or
    lies outside 1677-09-22..2262-04-11, an amount or count that is not a
    number, a line number that is not whole) is left empty and the row gets a
    problem in ``x12_problems`` naming the column, so ingest quarantines it
    with the original text.
    """
    problems = [list(r.get(X12_PROBLEMS, ())) for r in rows]
    out = {}
    for name in columns:
        values = [r.get(name) for r in rows]
        col, bad, what = _typed(name, values)
        if bad is not None:
            for i in np.flatnonzero(bad):
                problems[i].append((name, str(values[i]), f"{name} {what}"))
        out[name] = col.reset_index(drop=True)
    out[X12_PROBLEMS] = pd.Series([tuple(p) for p in problems], dtype=object)
    return pd.DataFrame(out, columns=list(columns))


def _typed(name, values):
    """(column, rows whose value did not parse or None, what is wrong)."""
    if name == X12_PROBLEMS:
        return pd.Series(values, dtype=object), None, ""
    if name in _LISTS:
        col = pd.Series(values, dtype=object)
        if len(col):
            col = col.map(lambda v: v if isinstance(v, tuple) else ())
        return col, None, ""
    text = pd.Series(values, dtype=object).replace("", None)
    given = text.notna().to_numpy()
    if name in _DATES:
        eight = text.astype("string").str.fullmatch(r"\d{8}").fillna(False)
        digits = text.where(eight.astype(bool))
        in_range = digits.between(_DATE_MIN, _DATE_MAX).fillna(False).astype(bool)
        parsed = pd.to_datetime(
            digits.where(in_range), format="%Y%m%d", errors="coerce"
        )
        col = parsed.astype("datetime64[ns]")
        bad = given & col.isna().to_numpy()
        return col, bad, "is not a date YYYYMMDD between 1677-09-22 and 2262-04-11"
    if name in _MONEY or name in _COUNTS or name in (S.LINE_NUMBER, REMIT_CLAIM_INDEX):
        num = pd.to_numeric(text, errors="coerce").astype("float64")
        num = num.where(np.isfinite(num))
        bad = given & num.isna().to_numpy()
        if name in _MONEY or name in _COUNTS:
            return num, bad, "is not a number"
        whole = num.notna() & ((num % 1) == 0)
        bad = given & ~whole.to_numpy()
        return num.where(whole).astype("Int64"), bad, "is not a whole number"
    if name == S.PAYER_CLASS:
        return pd.Series(pd.Categorical(values, dtype=S.PAYER_CLASS_DTYPE)), None, ""
    if name == S.PROVIDER_CREDENTIAL:
        return pd.Series(pd.Categorical(values, dtype=S.CREDENTIAL_DTYPE)), None, ""
    if name == CLAIM_LEVEL:
        return pd.Series(values, dtype="boolean"), None, ""
    col = pd.Series(values, dtype=object).astype("string").str.strip()
    return col.mask(col == ""), None, ""


def net_reversals(remits: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Net CLP02 = 22 reversal lines against the lines they reverse.

    A reversal line (claim status 22) is matched to the latest earlier
    non-reversal line of the same claim id and payer with the same line
    control number (or, without one, the same procedure, date of service and
    units; claim-level rows match claim-level rows). Paid, allowed and charge
    amounts are summed: when the sums are zero the pair cancels and both rows
    move to the second table; otherwise the original row stays with the
    netted amounts. A reversal without an original stays in the remits (its
    negative amounts make validation quarantine it).

    Parameters
    ----------
    remits : pandas.DataFrame
        Output of the 835 flattener (:data:`REMIT_COLUMNS_835`).

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        Netted remits, and the cancelled rows.

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.x12 import net_reversals
    >>> r = pd.DataFrame({"claim_id": ["C1", "C1"], "payer_id": ["P", "P"],
    ...     "line_control_number": ["1", "1"], "cpt_code": ["97112"] * 2,
    ...     "date_of_service": pd.to_datetime(["2025-01-02"] * 2),
    ...     "units": [2, -2], "charge_amount": [80.0, -80.0],
    ...     "allowed_amount": [60.0, -60.0], "paid_amount": [48.0, -48.0],
    ...     "claim_status": ["1", "22"], "remit_claim_index": [1, 2]})
    >>> kept, cancelled = net_reversals(r)
    >>> len(kept), len(cancelled)
    (0, 2)
    """
    plan = reversal_plan(remits)
    if plan is None:
        return remits, remits.iloc[0:0].copy()
    df = remits.reset_index(drop=True)
    cancelled = df.loc[plan.cancel]
    kept = apply_netting(df.copy(), plan, 0).loc[~plan.cancel]
    return kept.reset_index(drop=True), cancelled.reset_index(drop=True)


_NETTED = (S.PAID_AMOUNT, S.ALLOWED_AMOUNT, S.CHARGE_AMOUNT)


@dataclasses.dataclass
class ReversalPlan:
    """What :func:`net_reversals` does, by row position in the remits.

    ``cancel`` marks the rows that leave (reversals, and originals that net
    to zero); ``rows`` are the originals whose amounts become ``amounts``.
    """

    cancel: np.ndarray
    rows: np.ndarray
    amounts: dict


def reversal_plan(remits: pd.DataFrame) -> ReversalPlan | None:
    """Pair reversals with their originals (``None`` when there is no reversal).

    Needs only the key and amount columns, so the pairing of a large file is
    made on its compact keys and applied chunk by chunk (:func:`apply_netting`).
    """
    status = remits.get(CLAIM_STATUS)
    if status is None or not (status == "22").any():
        return None
    df = remits.reset_index(drop=True)
    df = df[[c for c in df.columns if c not in (X12_PROBLEMS,)]].copy()
    df["_row"] = np.arange(len(df))
    lcn = df[LINE_CONTROL_NUMBER].fillna("")
    units = df[S.UNITS].astype("Float64").abs()
    df["_k1"] = np.where(
        lcn != "",
        "L:" + lcn,
        "P:"
        + df[S.CPT_CODE].fillna("").astype(str)
        + "|"
        + df[S.DATE_OF_SERVICE].astype(str)
        + "|"
        + units.astype(str),
    )
    is_rev = (df[CLAIM_STATUS] == "22").to_numpy()
    keys = [S.CLAIM_ID, S.PAYER_ID, "_k1"]
    rev = df.loc[is_rev, keys + ["_row", REMIT_CLAIM_INDEX]]
    orig = df.loc[~is_rev, keys + ["_row", REMIT_CLAIM_INDEX]]
    pairs = rev.merge(orig, on=keys, suffixes=("_r", "_o"))
    pairs = pairs[pairs[REMIT_CLAIM_INDEX + "_o"] < pairs[REMIT_CLAIM_INDEX + "_r"]]
    # latest original per reversal, and each original reversed once; a stable
    # sort, so that equal claims keep their reading order (a partition of the
    # claims then pairs as the whole file does)
    pairs = pairs.sort_values(REMIT_CLAIM_INDEX + "_o", kind="stable")
    pairs = pairs.drop_duplicates("_row_r", keep="last")
    pairs = pairs.drop_duplicates("_row_o", keep="last")
    ro, rr = pairs["_row_o"].to_numpy(), pairs["_row_r"].to_numpy()
    cancel = np.zeros(len(df), bool)
    amounts = {}
    for col in _NETTED:
        a = df[col].to_numpy(dtype=float, na_value=np.nan)
        summed = np.nansum(np.vstack([a[ro], a[rr]]), axis=0)
        both_nan = np.isnan(a[ro]) & np.isnan(a[rr])
        amounts[col] = np.where(both_nan, np.nan, summed)
    net = pd.DataFrame({c: amounts[c] for c in _NETTED})
    zero = (net.fillna(0).abs() < 0.005).all(axis=1).to_numpy()
    cancel[ro[zero]] = True
    cancel[rr] = True  # reversal rows are absorbed either way
    return ReversalPlan(cancel, ro, amounts)


def apply_netting(chunk: pd.DataFrame, plan: ReversalPlan, offset: int):
    """Netted amounts on the rows ``offset``.. of ``chunk`` (changed in place)."""
    n = len(chunk)
    sel = (plan.rows >= offset) & (plan.rows < offset + n)
    local = plan.rows[sel] - offset
    for col in _NETTED:
        values = chunk[col].to_numpy(dtype=float, na_value=np.nan).copy()
        values[local] = plan.amounts[col][sel]
        chunk[col] = values
    return chunk


def _raise_or_warn(result: X12Read, on_error: str):
    if on_error not in ("raise", "warn"):
        raise ValueError(f"on_error must be 'raise' or 'warn'; got {on_error!r}.")
    if result.errors and on_error == "raise":
        raise result.errors[0]
    for exc in [*result.errors, *result.problems]:
        warnings.warn(str(exc), DataQualityWarning, stacklevel=3)


def read_835(
    paths, *, key=None, key_file=None, on_error="raise", strict=False
) -> pd.DataFrame:
    """Read 835 remittances into line-level outcomes.

    One row per SVC line: payer (N1*PR id, else REF*2U, else name), claim id
    (CLP01) and status (CLP02), procedure and modifiers (the submitted code of
    SVC06 when the payer changed it, SVC01 otherwise), units (SVC07, else
    SVC05, else 1), charge, allowed (AMT*B6), paid, CAS group-reason codes,
    LQ*HE remark codes, REF*6R line control number, date of service (DTM*472,
    else DTM*150, else the claim's DTM*232) and the adjudication date (DTM*405
    production date, else BPR16). A claim without SVC lines gives one
    claim-level row carrying the claim's CAS codes. Claim-level CAS of claims
    with lines goes to ``claim_adjustment_codes``; lines of a denied claim
    (CLP02 = 4) without their own CAS take the claim-level codes.
    Reversals (CLP02 = 22) are netted, see :func:`net_reversals`.

    Parameters
    ----------
    paths : str, Path or list of them
        Files or folders.
    key, key_file : optional
        Pseudonymization key (see :func:`resolve_key`).
    on_error : {"raise", "warn"}
        Raise the first unreadable file's error, or warn and skip it. Files
        read despite wrong trailer counts always warn.
    strict : bool
        Treat wrong trailer counts and control numbers as unreadable files.

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from ptdenial.x12 import read_835
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "r.835"
    >>> _ = p.write_text("ST*835*1~BPR*I*48*C*CHK************20250110~N1*PR*ACME*XV*A1~"
    ...     "CLP*C1*1*80*48**CI~NM1*QC*1*DOE*JANE****MI*M1~SVC*HC:97112:GP*80*48**2~"
    ...     "DTM*472*20250102~CAS*CO*45*20~CAS*PR*2*12~REF*6R*1~AMT*B6*60~SE*12*1~")
    >>> r = read_835(p, key="k")
    >>> r[["claim_id", "cpt_code", "units", "paid_amount"]].to_dict("records")
    [{'claim_id': 'C1', 'cpt_code': '97112', 'units': 2, 'paid_amount': 48.0}]
    >>> r.loc[0, "adjustment_codes"], r.loc[0, "modifiers"]
    (('CO-45', 'PR-2'), ('GP',))
    """
    result = read_x12(paths, key=key, key_file=key_file, strict=strict)
    _raise_or_warn(result, on_error)
    return result.remits


def read_837p(
    paths, *, key=None, key_file=None, on_error="raise", strict=False
) -> pd.DataFrame:
    """Read 837P professional claims into claim lines of the contract.

    One row per service line (LX/SV1): claim id (CLM01), patient pseudonym
    (keyed hash of the subscriber's member id and the patient's name), payer
    id (NM1*PR) and class (SBR09), rendering provider (line NM1*82, else claim
    NM1*82, else billing NM1*85) and its credential (PRV taxonomy), referring
    provider (NM1*DN, line then claim), date of service (DTP*472), CPT and
    modifiers (SV101), charge (SV102), units (SV104), diagnosis pointers
    (SV107) resolved to the claim's HI codes, place of service (SV105, else
    CLM05-1), prior authorization (REF*G1, line then claim), submission date
    (BHT04), episode start (DTP*454 initial treatment), billing provider id as
    ``clinic_id``, and REF*6R as ``line_control_number``.

    ICD-9 diagnoses of 4010 files (HI qualifiers BK/BF) are not ICD-10: they
    go to ``icd9_diagnosis_codes`` and stay out of ``diagnosis_codes``.
    Institutional and dental 837s are recognized and skipped.

    Parameters
    ----------
    paths : str, Path or list of them
        Files or folders.
    key, key_file : optional
        Pseudonymization key (see :func:`resolve_key`).
    on_error : {"raise", "warn"}
        Raise the first unreadable file's error, or warn and skip it. Files
        read despite wrong trailer counts always warn.
    strict : bool
        Treat wrong trailer counts and control numbers as unreadable files.

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from ptdenial.x12 import read_837p
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "c.837"
    >>> _ = p.write_text("ST*837*1*005010X222A1~BHT*0019*00*1*20250103*1200*CH~"
    ...     "HL*1**20*1~NM1*85*2*CLINIC*****XX*1999999999~HL*2*1*22*0~"
    ...     "SBR*P*18*******MB~NM1*IL*1*DOE*JANE****MI*M1~NM1*PR*2*MEDICARE*****PI*MCR~"
    ...     "CLM*C1*80***11:B:1*Y*A*Y*Y~HI*ABK:R2681~NM1*82*1*PT*ANN****XX*1111111111~"
    ...     "LX*1~SV1*HC:97112:GP*80*UN*2***1~DTP*472*D8*20250102~SE*15*1~")
    >>> c = read_837p(p, key="k")
    >>> c[["claim_id", "payer_class", "cpt_code", "units"]].to_dict("records")
    [{'claim_id': 'C1', 'payer_class': 'medicare', 'cpt_code': '97112', 'units': 2}]
    >>> c.loc[0, "diagnosis_codes"], c.loc[0, "rendering_provider_id"]
    (('R26.81',), '1111111111')
    """
    result = read_x12(paths, key=key, key_file=key_file, strict=strict)
    _raise_or_warn(result, on_error)
    return result.claims
