"""One ingest run: X12 files + documentation export -> validated claim table."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial._utils import library_versions
from ptdenial.exceptions import InputFileError
from ptdenial.x12._flatten import LINE_CONTROL_NUMBER, SOURCE_FILE, X12_PROBLEMS
from ptdenial.x12._join import (
    UNMATCHED_REASON,
    Mapping,
    join_docs,
    join_remits,
    latest_remits,
    read_export,
    read_mapping,
)
from ptdenial.x12._read import read_x12

__all__ = ["Ingest", "ingest", "apply_payer_classes", "x12_quarantine"]

_MANIFEST_LIST_LIMIT = 1000


@dataclasses.dataclass
class Ingest:
    """Result of :func:`ingest`.

    Attributes
    ----------
    table : pandas.DataFrame
        Valid claim lines (canonical dtypes, labels when outcomes exist).
    quarantine : pandas.DataFrame
        Rows that failed validation, and lines whose X12 segments are broken
        (a missing CLP, CLM or LX, a second SV1 under one LX, a date or amount
        that does not parse), with reasons; see :func:`x12_quarantine`.
    unmatched_claims, unmatched_remits, unmatched_docs, reversed : DataFrame
        What could not be matched (claims stay in ``table`` as pending) and
        remit lines cancelled by reversals.
    errors : list
        Files that could not be read.
    problems : list
        Files read despite wrong trailer counts or control numbers.
    manifest : dict
        Inputs with SHA-256, counts, unmatched keys, versions.
    """

    table: pd.DataFrame
    quarantine: pd.DataFrame
    unmatched_claims: pd.DataFrame
    unmatched_remits: pd.DataFrame
    unmatched_docs: pd.DataFrame
    reversed: pd.DataFrame
    errors: list
    problems: list
    manifest: dict


def apply_payer_classes(df: pd.DataFrame, table: dict) -> pd.DataFrame:
    """Override ``payer_class`` by ``payer_id`` (a mapping file's ``[payer_class]``).

    Parameters
    ----------
    df : pandas.DataFrame
    table : dict
        payer_id -> payer_class.

    Returns
    -------
    pandas.DataFrame
        A copy.

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.x12 import apply_payer_classes
    >>> df = pd.DataFrame({"payer_id": ["A", "B"], "payer_class": ["commercial"] * 2})
    >>> apply_payer_classes(df, {"A": "medicare_advantage"})["payer_class"].tolist()
    ['medicare_advantage', 'commercial']
    """
    out = df.copy()
    if not table or S.PAYER_ID not in out:
        return out
    new = out[S.PAYER_ID].map(table)
    cur = out[S.PAYER_CLASS].astype(object) if S.PAYER_CLASS in out else None
    merged = new.where(new.notna(), cur)
    out[S.PAYER_CLASS] = pd.Categorical(merged, dtype=S.PAYER_CLASS_DTYPE)
    return out


def _keys(df: pd.DataFrame, extra=()):
    cols = [
        c for c in (S.CLAIM_ID, S.LINE_NUMBER, LINE_CONTROL_NUMBER, *extra) if c in df
    ]
    rows = df[cols].head(_MANIFEST_LIST_LIMIT).astype(object)
    rows = rows.where(rows.notna(), None)
    return rows.to_dict("records")


def _versions():
    return library_versions("python", "ptdenial", "pyx12", "pandas", "numpy", "pyarrow")


def ingest(
    *,
    claims_837=(),
    remits_835=(),
    docs=None,
    mapping=None,
    key=None,
    key_file=None,
    run_date=None,
    strict=False,
) -> Ingest:
    """Read 837P and/or 835 files and a documentation export into one table.

    With 837P files only, the table holds claim lines (pending); with 835
    files only, remit lines with their outcomes (one per claim line: a
    primary, later remittance supersedes earlier ones); with both, claim
    lines joined to their remits (:func:`join_remits`). A documentation
    export is then joined by claim or visit keys (:func:`join_docs`), and
    the result is validated (:func:`ptdenial.schema.validate_claims`).

    Parameters
    ----------
    claims_837, remits_835 : list of str or Path
        Files or folders.
    docs : str or Path, optional
        Documentation export (CSV or Parquet).
    mapping : Mapping, str or Path, optional
        Column mapping for the export and payer-class overrides.
    key, key_file : optional
        Pseudonymization key (see :func:`resolve_key`); the same key hashes
        identifiers in the X12 files and in the export.
    run_date : date-like, optional
        Run date for validation's date checks.
    strict : bool
        Refuse X12 files with wrong trailer counts (see :func:`read_x12`).

    Returns
    -------
    Ingest

    Raises
    ------
    InputFileError
        When no input is given, or no file could be read at all.

    Examples
    --------
    >>> from ptdenial.x12 import ingest
    >>> ingest(key="k")
    Traceback (most recent call last):
    ...
    ptdenial.exceptions.InputFileError: ingest: give 837P files, 835 files or both ...
    """
    from ptdenial.x12._codes import resolve_key

    claims_837, remits_835 = list(claims_837 or ()), list(remits_835 or ())
    if not claims_837 and not remits_835:
        raise InputFileError(
            "ingest: give 837P files, 835 files or both (files or folders)."
        )
    if mapping is not None and not isinstance(mapping, Mapping):
        mapping = read_mapping(mapping)
    raw_key, key_source = resolve_key(key, key_file=key_file)
    r837 = read_x12(claims_837, key=raw_key, expect="837P", strict=strict)
    r835 = read_x12(remits_835, key=raw_key, expect="835", strict=strict)
    files = r837.files + r835.files
    errors, problems = r837.errors + r835.errors, r837.problems + r835.problems
    n_read = sum(1 for f in files if f["status"] == "read")
    if n_read == 0:
        detail = "; ".join(str(e) for e in errors) or "no X12 file found"
        raise InputFileError(f"ingest: no X12 file could be read ({detail}).")
    claims, q837 = x12_quarantine(r837.claims)
    remits, q835 = x12_quarantine(r835.remits)
    parts = _assemble(claims, remits, bool(claims_837), bool(remits_835), mapping)
    table, unmatched_claims, unmatched_remits = parts
    unmatched_docs, doc_keys = pd.DataFrame(), None
    if docs is not None:
        export = read_export(docs, mapping=mapping, key=raw_key)
        dj = join_docs(table, export)
        table, unmatched_docs, doc_keys = dj.joined, dj.unmatched_docs, dj.keys

    valid, quarantine = S.validate_claims(table, source="ingest", run_date=run_date)
    if S.ADJUDICATION_DATE in valid:
        valid = S.derive_outcomes(
            valid.drop(
                columns=[c for c in S.LABEL_COLUMNS if c in valid and c != S.DENIED]
            )
        )
    valid = valid.reset_index(drop=True)
    quarantine = _stack([q837, q835, quarantine])
    result = Ingest(
        valid,
        quarantine,
        unmatched_claims,
        unmatched_remits,
        unmatched_docs,
        r835.reversed,
        errors,
        problems,
        {},
    )
    result.manifest = _manifest(
        result,
        r837,
        r835,
        table,
        inputs=(claims_837, remits_835, docs, mapping),
        key_source=key_source,
        strict=strict,
        doc_keys=doc_keys,
    )
    return result


def _assemble(claims, remits, with_837, with_835, mapping):
    """The claim-line table from 837P lines, 835 lines, or both joined."""
    empty = pd.DataFrame()
    unmatched_claims, unmatched_remits = empty, empty
    if with_837 and with_835:
        joined = join_remits(claims, remits)
        table = joined.joined
        unmatched_claims = joined.unmatched_claims
        unmatched_remits = joined.unmatched_remits
    elif with_837:
        table = claims  # no remittances given: nothing to match
    else:
        table, unmatched_remits = latest_remits(remits)
    if mapping is not None:
        table = apply_payer_classes(table, mapping.payer_class)
    return table, unmatched_claims, unmatched_remits


def x12_quarantine(lines: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split X12 lines with structure problems off, as quarantine rows.

    Parameters
    ----------
    lines : pandas.DataFrame
        Output of :func:`ptdenial.x12.read_x12` (``claims`` or ``remits``).

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        The lines without problems (``x12_problems`` dropped), and one
        quarantine row per line with problems in the layout of
        :func:`ptdenial.schema.validate_claims` (check ``x12_structure`` for a
        missing or misplaced segment, ``x12_value`` for a value that does not
        parse; ``source`` is the X12 file and ``source_segment`` the segment).
    """
    if X12_PROBLEMS not in lines:
        return lines, _stack([])
    probs = lines[X12_PROBLEMS].to_numpy(dtype=object)
    bad = np.fromiter((bool(p) for p in probs), dtype=bool, count=len(probs))
    good = lines.loc[~bad].drop(columns=[X12_PROBLEMS]).reset_index(drop=True)
    if not bad.any():
        return good, _stack([])
    rows = lines.loc[bad].drop(columns=[X12_PROBLEMS])
    first = [p[0] for p in probs[bad]]
    reasons = ["; ".join(dict.fromkeys(r for _c, _v, r in p)) for p in probs[bad]]
    q = pd.DataFrame(
        {
            S.SOURCE_ROW: np.flatnonzero(bad).astype("int64"),
            S.CLAIM_ID: rows[S.CLAIM_ID].map(_text).to_numpy(),
            S.LINE_NUMBER: rows[S.LINE_NUMBER].map(_text).to_numpy(),
            S.Q_COLUMN: [c for c, _v, _r in first],
            S.Q_CHECK: [
                "x12_structure" if r.startswith("segment ") else "x12_value"
                for _c, _v, r in first
            ],
            S.Q_VALUE: [v for _c, v, _r in first],
            S.Q_REASON: reasons,
            S.Q_N_FAILURES: [len(p) for p in probs[bad]],
            S.Q_SOURCE: rows[SOURCE_FILE].map(_text).to_numpy(),
        }
    )
    for name in rows.columns:
        if name not in q.columns:
            q[name] = rows[name].map(_text).to_numpy()
    return good, q


def _text(v) -> str:
    if v is None or v is pd.NA or v is pd.NaT:
        return ""
    if isinstance(v, float) and np.isnan(v):
        return ""
    if isinstance(v, tuple | list | np.ndarray):
        return "|".join(str(x) for x in v)
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d")
    return str(v)


def _stack(parts) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        empty = {c: pd.Series([], dtype=object) for c in S.QUARANTINE_COLUMNS}
        empty[S.SOURCE_ROW] = pd.Series([], dtype="int64")
        empty[S.Q_N_FAILURES] = pd.Series([], dtype="int64")
        return pd.DataFrame(empty)
    out = pd.concat(parts, ignore_index=True)
    for name in out.columns:  # text columns from both sources: keep them text
        if out[name].dtype == object:
            out[name] = out[name].map(_text)
    return out


def _manifest(result, r837, r835, table, *, inputs, key_source, strict, doc_keys):
    """The ingest manifest: inputs with SHA-256, counts, unmatched keys, versions."""
    claims_837, remits_835, docs, mapping = inputs
    files, errors, problems = r837.files + r835.files, result.errors, result.problems
    labels = {}
    for col in S.LABEL_COLUMNS:
        if col in result.table:
            values = result.table[col].fillna(False).to_numpy(dtype=bool)
            labels[col] = int(values.sum())
    unmatched_remits = result.unmatched_remits
    reasons = (
        unmatched_remits[UNMATCHED_REASON].value_counts().to_dict()
        if UNMATCHED_REASON in unmatched_remits
        else {}
    )
    manifest = {
        "command": "ingest",
        "schema_version": S.SCHEMA_VERSION,
        "versions": _versions(),
        "pseudonym_key_source": key_source,
        "strict": bool(strict),
        "inputs": {
            "claims_837": [str(p) for p in claims_837],
            "remits_835": [str(p) for p in remits_835],
            "docs": None if docs is None else str(docs),
            "mapping": None
            if mapping is None
            else dataclasses.asdict(mapping)
            | {"pseudonymize": dict(mapping.pseudonymize)},
        },
        "files": files,
        "counts": {
            "files_read": sum(1 for f in files if f["status"] == "read"),
            "files_unreadable": len(errors),
            "files_with_problems": len({getattr(p, "path", None) for p in problems}),
            "claim_lines_837": len(r837.claims),
            "remit_lines_835": len(r835.remits),
            "remit_lines_reversed": len(r835.reversed),
            "rows": len(table),
            "valid": len(result.table),
            "quarantined": len(result.quarantine),
            "unmatched_claims": len(result.unmatched_claims),
            "unmatched_remits": len(unmatched_remits),
            "unmatched_remit_reasons": reasons,
            "docs_rows_unmatched": len(result.unmatched_docs),
            **labels,
        },
        "docs_join_keys": None if doc_keys is None else list(doc_keys),
        "unmatched_claims": _keys(result.unmatched_claims),
        "unmatched_remits": _keys(unmatched_remits, extra=(UNMATCHED_REASON,)),
        "errors": [str(e) for e in errors],
        "problems": [str(p) for p in problems],
        "list_limit": _MANIFEST_LIST_LIMIT,
    }
    if docs is not None:
        try:
            from ptdenial.io import file_sha256

            manifest["inputs"]["docs_sha256"] = file_sha256(docs)
        except OSError:  # pragma: no cover - read_export already read it
            pass
    return manifest
