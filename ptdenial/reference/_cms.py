"""Importers of CMS's quarterly NCCI files: practitioner PTP edits and MUEs.

CMS publishes, each quarter, the Medicare NCCI *practitioner* PTP edits
(``ccipra-v322r0-f1.txt`` ... ``-f4.txt``: version 32.2 = 2026 Q3) and the
practitioner MUE table (``MCR_MUE_PractitionerServices_Eff_07-01-2026.csv``).

PTP layout: tab-delimited text (latin-1, CRLF), a preamble (AMA copyright
line, ``Column1/Column2 Edits``), a header split over several lines
(``Column 1 | Column 2 | *=in existence prior to 1996 | Effective Date |
Deletion Date *=no data | Modifier 0=not allowed 1=allowed 9=not applicable |
PTP Edit Rationale``), then one edit per line: codes, ``*`` or blank, dates
``YYYYMMDD``, deletion ``*`` while the edit is active, the modifier indicator
and the rationale. The deletion date is the first day the edit no longer
applies, so the imported ``effective_to`` is the day before.

MUE layout: CSV (or tab-delimited) with a quoted copyright preamble, then
the header ``HCPCS/CPT Code, Practitioner Services MUE Values, MUE
Adjudication Indicator, MUE Rationale`` and one code per line; the indicator
cell is ``1 Line Edit``, ``2 Date of Service Edit: Policy`` or ``3 Date of
Service Edit: Clinical`` (the MAI is its first digit).

:func:`import_ncci` / :func:`import_mue` keep the therapy subset (pairs of
two codes of ``therapy_codes.csv``, plus any ``extra_codes``) and write
``ncci_ptp.csv`` / ``mue.csv`` into an override folder that
:func:`ptdenial.reference.load_reference` (and ``--reference DIR``) reads.
The folder's ``imports.json`` records the quarter, version, files and counts;
tables listed there *replace* the shipped hand lists instead of being merged
into them.
"""

from __future__ import annotations

import csv
import io
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ptdenial.exceptions import DataQualityWarning, ReferenceDataError

__all__ = [
    "IMPORTS_FILE",
    "import_mue",
    "import_ncci",
    "ncci_quarter",
    "read_imports",
    "read_mue_file",
    "read_ptp_file",
]

#: The record of imported CMS tables in an override folder.
IMPORTS_FILE = "imports.json"
_HCPCS = re.compile(r"^[0-9A-Z]{5}$")
_YMD = re.compile(r"^\d{8}$")


def ncci_quarter(name: str) -> tuple[str, pd.Timestamp] | None:
    """Quarter of an NCCI file from its name, or None.

    ``ccipra-v322r0-f1.txt`` is version 32.2 (release 0): 2026 Q3 (versions
    count from 26.0 = 2020 Q1). MUE files carry their effective date
    (``..._Eff_07-01-2026.csv``).

    Examples
    --------
    >>> from ptdenial.reference._cms import ncci_quarter
    >>> ncci_quarter("ccipra-v322r0-f1.txt")
    ('2026Q3', Timestamp('2026-07-01 00:00:00'))
    >>> ncci_quarter("MCR_MUE_PractitionerServices_Eff_01-01-2025.csv")
    ('2025Q1', Timestamp('2025-01-01 00:00:00'))
    """
    m = re.search(r"v(\d{2})(\d)r\d+", name, re.IGNORECASE)
    if m:
        year, q = 1994 + int(m.group(1)), int(m.group(2)) + 1
        if 1 <= q <= 4:
            return f"{year}Q{q}", pd.Timestamp(year=year, month=3 * q - 2, day=1)
    m = re.search(r"(\d{2})[-_](\d{2})[-_](\d{4})", name)
    if m:
        start = pd.Timestamp(int(m.group(3)), int(m.group(1)), int(m.group(2)))
        return f"{start.year}Q{(start.month - 1) // 3 + 1}", start
    return None


def _quarter_of(text: str) -> tuple[str, pd.Timestamp]:
    m = re.fullmatch(r"\s*(\d{4})\s*[Qq]\s*([1-4])\s*", text)
    if not m:
        raise ReferenceDataError(f"quarter {text!r}: write it as YYYYQn, e.g. 2026Q3.")
    year, q = int(m.group(1)), int(m.group(2))
    return f"{year}Q{q}", pd.Timestamp(year=year, month=3 * q - 2, day=1)


def _rows(path: Path) -> list[list[str]]:
    """The file as rows of cells (tab- or comma-delimited, quoted cells kept)."""
    raw = Path(path).read_bytes()
    text = (
        raw.decode("utf-8-sig") if raw[:3] == b"\xef\xbb\xbf" else raw.decode("latin-1")
    )
    head = text[:20000]
    delim = "\t" if head.count("\t") >= head.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    return [[c.replace("\n", " ").strip() for c in row] for row in reader]


def _norm(cell: str) -> str:
    return re.sub(r"\s+", " ", cell).strip().lower()


def read_ptp_file(path) -> tuple[pd.DataFrame, dict]:
    r"""One CMS NCCI PTP file (one part) as a table, and what was skipped.

    Parameters
    ----------
    path : str or Path
        One part of the quarter's practitioner PTP edits.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from ptdenial.reference import read_ptp_file
    >>> text = ("CPT only copyright 2025 American Medical Association.\t\t\n"
    ...         "Column1/Column2 Edits\t\t\n"
    ...         "Column 1\tColumn 2\t*=in existence\tEffective\tDeletion\t"
    ...         "Modifier\tPTP Edit Rationale\n"
    ...         "\t\tprior to 1996\tDate\tDate\t0=not allowed\t\n"
    ...         "97150\t97112\t\t20200101\t*\t1\tMutually exclusive procedures\n")
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "ccipra-v320r0-f1.txt"
    >>> _ = path.write_text(text, encoding="latin-1")
    >>> edits, info = read_ptp_file(path)
    >>> edits[["column1", "column2", "modifier_indicator"]].values.tolist()
    [['97150', '97112', 1]]

    Returns
    -------
    edits : pandas.DataFrame
        ``column1``, ``column2``, ``prior_1996`` (bool), ``effective_from``,
        ``effective_to`` (the day before the deletion date; NaT while active),
        ``modifier_indicator`` (0, 1 or 9), ``rationale``.
    info : dict
        ``file``, ``rows`` (edits read), ``skipped`` (non-blank lines after
        the header that are not edits: footnotes, totals) and ``examples``
        (their first line numbers and text).

    Raises
    ------
    ptdenial.exceptions.ReferenceDataError
        When the file has no ``Column 1 / Column 2`` header or no edit.
    """
    path = Path(path)
    rows = _rows(path)
    header = next(
        (
            i
            for i, r in enumerate(rows[:40])
            if len(r) >= 2
            and _norm(r[0]).replace(" ", "") == "column1"
            and _norm(r[1]).replace(" ", "") == "column2"
        ),
        None,
    )
    if header is None:
        raise ReferenceDataError(
            f"{path}: not a CMS NCCI PTP file: no 'Column 1 / Column 2' header row "
            "in its first 40 lines. Use the practitioner PTP text files "
            "(ccipra-vXXXrX-f1.txt ... f4.txt) from CMS's NCCI page."
        )
    out, skipped = [], []
    for lineno, r in enumerate(rows[header + 1 :], start=header + 2):
        cells = list(r)
        if not any(cells):
            continue
        ok = (
            len(cells) >= 6
            and _HCPCS.match(cells[0].upper() or "-")
            and _HCPCS.match(cells[1].upper() or "-")
            and _YMD.match(cells[3])
            and (cells[4] in ("", "*") or _YMD.match(cells[4]))
            and cells[5] in ("0", "1", "9")
        )
        if not ok:
            skipped.append((lineno, "\t".join(cells)[:80]))
            continue
        out.append(
            (
                cells[0].upper(),
                cells[1].upper(),
                cells[2] == "*",
                cells[3],
                "" if cells[4] in ("", "*") else cells[4],
                int(cells[5]),
                cells[6] if len(cells) > 6 else "",
            )
        )
    # the header continuation lines ("prior to 1996", "0=not allowed" ...)
    # come before the first edit: they are layout, not footnotes
    first_edit = next(
        (i for i, r in enumerate(rows[header + 1 :]) if r and _HCPCS.match(r[0])),
        None,
    )
    cont = header + 2 + (first_edit or 0)
    skipped = [s for s in skipped if s[0] >= cont]
    if not out:
        raise ReferenceDataError(f"{path}: no PTP edit lines found after the header.")
    edits = pd.DataFrame(
        out,
        columns=[
            "column1",
            "column2",
            "prior_1996",
            "effective_from",
            "deleted",
            "modifier_indicator",
            "rationale",
        ],
    )
    edits["effective_from"] = pd.to_datetime(edits["effective_from"], format="%Y%m%d")
    deleted = pd.to_datetime(edits.pop("deleted").replace("", None), format="%Y%m%d")
    edits["effective_to"] = deleted - pd.Timedelta(days=1)
    info = {
        "file": path.name,
        "rows": len(edits),
        "skipped": len(skipped),
        "examples": skipped[:3],
    }
    return edits, info


def read_mue_file(path) -> tuple[pd.DataFrame, dict]:
    """The CMS practitioner MUE table as a table, and what was skipped.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    mue : pandas.DataFrame
        ``cpt_code``, ``mue_units``, ``mai`` ("1", "2" or "3"), ``rationale``.
    info : dict
        ``file``, ``rows``, ``skipped``, ``examples``, ``setting`` (the
        header's "... Services MUE Values" name).
    """
    path = Path(path)
    rows = _rows(path)
    header, cols = None, {}
    for i, r in enumerate(rows[:40]):
        names = [_norm(c) for c in r]
        value = next((j for j, c in enumerate(names) if "mue value" in c), None)
        code = next(
            (j for j, c in enumerate(names) if "hcpcs" in c or "cpt" in c), None
        )
        if value is not None and code is not None and value != code:
            header = i
            cols = {
                "code": code,
                "value": value,
                "mai": next(
                    (j for j, c in enumerate(names) if "adjudication" in c), None
                ),
                "rationale": next(
                    (j for j, c in enumerate(names) if "rationale" in c), None
                ),
            }
            setting = r[value]
            break
    if header is None or cols["mai"] is None:
        raise ReferenceDataError(
            f"{path}: not a CMS MUE table: no header row with 'HCPCS/CPT Code', "
            "'... MUE Values' and 'MUE Adjudication Indicator' in its first 40 "
            "lines. Use the Practitioner Services MUE table from CMS's MUE page."
        )
    out, skipped = [], []
    for lineno, r in enumerate(rows[header + 1 :], start=header + 2):
        if not any(r):
            continue
        code, value, mai, why = (_cell(r, cols[k]) for k in cols)
        code = code.upper()
        if not (_HCPCS.match(code) and value.isdigit() and mai[:1] in ("1", "2", "3")):
            skipped.append((lineno, ",".join(r)[:80]))
            continue
        out.append((code, int(value), mai[:1], why))
    if not out:
        raise ReferenceDataError(f"{path}: no MUE lines found after the header.")
    mue = pd.DataFrame(out, columns=["cpt_code", "mue_units", "mai", "rationale"])
    info = {
        "file": path.name,
        "rows": len(mue),
        "skipped": len(skipped),
        "examples": skipped[:3],
        "setting": setting,
    }
    return mue, info


def _cell(row: list[str], j: int | None) -> str:
    return row[j] if j is not None and j < len(row) else ""


def _therapy_subset(codes) -> set[str]:
    if codes is None:
        from ptdenial.reference._tables import read_reference_table

        codes = read_reference_table("therapy_codes")["code"]
    return {str(c).strip().upper() for c in codes}


def _check_quarter(kind, files, quarter) -> tuple[str, pd.Timestamp]:
    found = {q for q in (ncci_quarter(Path(f).name) for f in files) if q}
    if quarter is not None:
        label, start = _quarter_of(quarter)
        if found and {q[0] for q in found} != {label}:
            raise ReferenceDataError(
                f"{kind}: --quarter {label} but the file names say "
                f"{sorted(q[0] for q in found)}."
            )
        return label, start
    if len(found) != 1:
        raise ReferenceDataError(
            f"{kind}: cannot tell the quarter from the file names "
            f"{[Path(f).name for f in files]} "
            + ("(several quarters)" if found else "")
            + "; give it with --quarter YYYYQn."
        )
    return next(iter(found))


def _warn_if_old(kind, label, start, as_of, max_age_days) -> str:
    as_of = pd.Timestamp.today().normalize() if as_of is None else pd.Timestamp(as_of)
    age = (as_of - start).days
    if age > max_age_days:
        msg = (
            f"{kind} {label} started {start.date()}, {age} days before "
            f"{as_of.date()}: CMS publishes a new quarter every 3 months; load the "
            "current one."
        )
        warnings.warn(msg, DataQualityWarning, stacklevel=3)
        return msg
    return ""


def read_imports(folder) -> dict:
    """The ``imports.json`` record of an override folder ({} when absent)."""
    path = Path(folder) / IMPORTS_FILE
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ReferenceDataError(f"{path}: not valid JSON ({exc}).") from exc


def _record(out: Path, table: str, entry: dict) -> None:
    record = read_imports(out)
    record[table] = entry
    (out / IMPORTS_FILE).write_text(json.dumps(record, indent=2, default=str) + "\n")


def import_ncci(
    files,
    out,
    *,
    quarter: str | None = None,
    codes=None,
    extra_codes=(),
    as_of=None,
    max_age_days: int = 100,
) -> dict:
    """Import CMS practitioner PTP files; write the therapy pairs to ``out``.

    Parameters
    ----------
    files : list of path
        The quarter's practitioner PTP parts (``ccipra-vXXXrX-f1.txt`` ...).
    out : path
        Override folder (created); ``ncci_ptp.csv`` and ``imports.json`` are
        written there.
    quarter : str, optional
        ``YYYYQn`` when the file names do not carry the version.
    codes : iterable of str, optional
        Keep pairs of two of these codes; default the therapy code list.
    extra_codes : iterable of str
        More codes to keep (e.g. an E/M code the practice bills).
    as_of : date-like, optional
        Warn when the quarter started more than ``max_age_days`` before it
        (default today).

    Returns
    -------
    dict
        What was imported: quarter, version, files, counts, the old-quarter
        warning (empty when current).
    """
    files = [Path(f) for f in files]
    if not files:
        raise ReferenceDataError("import-ncci: give at least one PTP file.")
    label, start = _check_quarter("NCCI PTP", files, quarter)
    for f in files:
        if "ccioph" in f.name.lower():
            raise ReferenceDataError(
                f"{f.name} is the outpatient hospital PTP file; therapy practices "
                "bill on 837P: use the practitioner files (ccipra-...)."
            )
    keep = _therapy_subset(codes) | {str(c).strip().upper() for c in extra_codes}
    parts, infos = [], []
    for f in files:
        edits, info = read_ptp_file(f)
        infos.append(info)
        parts.append(edits[edits["column1"].isin(keep) & edits["column2"].isin(keep)])
    edits = pd.concat(parts, ignore_index=True)
    n_pairs = len(edits)
    applicable = edits["modifier_indicator"] != 9
    never = edits["effective_to"].notna() & (
        edits["effective_to"] < edits["effective_from"]
    )
    edits = edits[applicable & ~never].drop_duplicates(
        ["column1", "column2", "effective_from"], keep="last"
    )
    version = next(
        (m.group(0) for f in files if (m := re.search(r"v\d{3}r\d+", f.name, re.I))),
        label,
    )
    source = f"CMS NCCI practitioner PTP edits {version} ({label}): " + ", ".join(
        f.name for f in files
    )
    table = pd.DataFrame(
        {
            "column1": edits["column1"],
            "column2": edits["column2"],
            "modifier_indicator": edits["modifier_indicator"],
            "rationale": edits["rationale"],
            "source": source,
            "effective_from": edits["effective_from"].dt.strftime("%Y-%m-%d"),
            "effective_to": edits["effective_to"].dt.strftime("%Y-%m-%d").fillna(""),
            "verified": "true",
            "ncci_version": f"{version} {label}",
        }
    ).sort_values(["column1", "column2", "effective_from"])
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "ncci_ptp.csv", index=False, lineterminator="\n")
    old = _warn_if_old("NCCI PTP", label, start, as_of, max_age_days)
    entry = {
        "table": "ncci_ptp",
        "quarter": label,
        "quarter_start": str(start.date()),
        "version": version,
        "files": infos,
        "therapy_pairs": n_pairs,
        "written": len(table),
        "dropped_not_applicable": int((~applicable).sum()),
        "dropped_never_in_force": int((applicable & never).sum()),
        "warning": old,
    }
    _record(out, "ncci_ptp", entry)
    return entry


def import_mue(
    files,
    out,
    *,
    quarter: str | None = None,
    codes=None,
    extra_codes=(),
    as_of=None,
    max_age_days: int = 100,
) -> dict:
    """Import CMS's practitioner MUE table; write the therapy codes to ``out``.

    Parameters
    ----------
    files : list of path
        The practitioner MUE table (``MCR_MUE_PractitionerServices_Eff_...csv``).
    out : path
        Override folder (created); ``mue.csv`` (``mue_units``, ``mai``,
        ``rationale``, ``effective_from`` = the quarter's first day) and
        ``imports.json`` are written there.
    quarter, codes, extra_codes, as_of, max_age_days
        As for :func:`import_ncci`.

    Returns
    -------
    dict
        What was imported: quarter, files, counts per MAI, the old-quarter
        warning (empty when current).
    """
    files = [Path(f) for f in files]
    if not files:
        raise ReferenceDataError("import-mue: give the practitioner MUE file.")
    label, start = _check_quarter("MUE", files, quarter)
    keep = _therapy_subset(codes) | {str(c).strip().upper() for c in extra_codes}
    parts, infos = [], []
    for f in files:
        mue, info = read_mue_file(f)
        setting = info.get("setting", "").lower()
        if setting and "practitioner" not in setting:
            raise ReferenceDataError(
                f"{f.name} holds {info['setting']!r}; therapy practices bill on "
                "837P: use the Practitioner Services MUE table."
            )
        infos.append(info)
        parts.append(mue[mue["cpt_code"].isin(keep)])
    mue = pd.concat(parts, ignore_index=True).drop_duplicates("cpt_code", keep="last")
    source = f"CMS NCCI practitioner MUE table {label}: " + ", ".join(
        f.name for f in files
    )
    table = pd.DataFrame(
        {
            "cpt_code": mue["cpt_code"],
            "mue_units": mue["mue_units"],
            "mai": mue["mai"],
            "rationale": mue["rationale"],
            "source": source,
            "effective_from": str(start.date()),
            "effective_to": "",
            "verified": "true",
            "mue_version": label,
        }
    ).sort_values("cpt_code")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "mue.csv", index=False, lineterminator="\n")
    old = _warn_if_old("MUE", label, start, as_of, max_age_days)
    entry = {
        "table": "mue",
        "quarter": label,
        "quarter_start": str(start.date()),
        "files": infos,
        "written": len(table),
        "mai": {k: int(v) for k, v in table["mai"].value_counts().items()},
        "warning": old,
    }
    _record(out, "mue", entry)
    return entry


def quarter_age_days(record: dict, days: np.ndarray) -> float:
    """Days from the imported quarter's start to the latest date of service."""
    if not record or not len(days) or np.isnan(days).all():
        return np.nan
    start = pd.Timestamp(record["quarter_start"])
    first = float(np.datetime64(start.date(), "D").astype(np.int64))
    return float(np.nanmax(days) - first)
