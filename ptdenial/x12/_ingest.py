"""One ingest run: X12 files + documentation export -> validated claim table."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial._utils import library_versions
from ptdenial.exceptions import InputFileError
from ptdenial.io import write_table_chunks
from ptdenial.x12._flatten import LINE_CONTROL_NUMBER, SOURCE_FILE, X12_PROBLEMS
from ptdenial.x12._join import (
    SUPERSEDED,
    UNMATCHED_REASON,
    Mapping,
    attach_docs,
    docs_plan,
    match_remits,
    read_export,
    read_mapping,
    superseded,
)
from ptdenial.x12._read import ReversalPlan, apply_netting, reversal_plan, scan_x12
from ptdenial.x12._stream import MAX_PARTS, Pieces, Spill, spill_folder

__all__ = [
    "Ingest",
    "ingest",
    "apply_payer_classes",
    "x12_quarantine",
    "DEFAULT_CHUNK_ROWS",
]

_MANIFEST_LIST_LIMIT = 1000
#: Service lines per chunk of :func:`ingest` (a few tens of MB of rows).
DEFAULT_CHUNK_ROWS = 10_000
#: Lines (837P and 835 together) per partition of the whole-file steps.
_PARTITION_LINES = 100_000


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
    table_path : Path or None
        Where ``ingest(out=...)`` wrote the table (``table`` then holds its
        columns only).
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
    table_path: Path | None = None


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
    out=None,
    chunk_rows=DEFAULT_CHUNK_ROWS,
) -> Ingest:
    """Read 837P and/or 835 files and a documentation export into one table.

    With 837P files only, the table holds claim lines (pending); with 835
    files only, remit lines with their outcomes (one per claim line: a
    primary, later remittance supersedes earlier ones); with both, claim
    lines joined to their remits (:func:`join_remits`). A documentation
    export is then joined by claim or visit keys (:func:`join_docs`), and
    the result is validated (:func:`ptdenial.schema.validate_claims`).

    Each file is read once, in chunks of at most ``chunk_rows`` service
    lines: the typed chunks go to a private temporary folder (beside ``out``,
    else the system's; the folders left there by killed runs are removed
    first). The whole-file steps (reversals, latest remittance, remit-claim
    matching, repeated keys) are decided per claim, so they run on the key
    columns of one partition of the claims at a time (partitions of about
    100,000 lines, by a stable hash of the claim id); only a few bytes per
    line (flags) stay in memory across partitions. With ``out``, the table
    is then written chunk by chunk in reading order, so memory does not grow
    with the number of output rows; quarantined and unmatched rows and the
    side tables are held in memory (they are few in a normal run).

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
    out : str or Path, optional
        Write the valid table here (``.parquet`` or ``.csv``, atomically)
        instead of returning it; ``table`` then holds its columns only.
        Without ``out`` the whole valid table is built in memory and
        returned, so memory grows with the number of lines (``ptdenial
        ingest`` always writes to ``--out``): give ``out`` for large inputs.
    chunk_rows : int
        Service lines per chunk (memory against speed); the result does not
        depend on it.

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
    spill_dir = None if out is None else Path(out).resolve().parent
    with spill_folder(spill_dir) as tmp:
        s837 = Spill("837P", tmp, chunk_rows)
        s835 = Spill("835", tmp, chunk_rows)
        read = [
            scan_x12(paths, raw_key, expect=kind, strict=strict, sink=sink)
            for paths, kind, sink in (
                (claims_837, "837P", s837),
                (remits_835, "835", s835),
            )
        ]
        files = read[0][0] + read[1][0]
        errors, problems = read[0][1] + read[1][1], read[0][2] + read[1][2]
        if not any(f["status"] == "read" for f in files):
            detail = "; ".join(str(e) for e in errors) or "no X12 file found"
            raise InputFileError(f"ingest: no X12 file could be read ({detail}).")
        run = _Run(s837, s835, bool(claims_837), bool(remits_835), mapping)
        if docs is not None:
            run.set_docs(read_export(docs, mapping=mapping, key=raw_key))
        chunks = run.valid_chunks(run_date)
        if out is None:
            table = _concat_valid(list(chunks))
        else:
            write_table_chunks(chunks, out)
            table = run.columns
    result = Ingest(
        table,
        _stack([*run.q837, *run.q835, *run.q_valid]),
        run.unmatched_claims(),
        run.unmatched_remits(),
        run.unmatched_docs(),
        run.reversed(),
        errors,
        problems,
        {},
        None if out is None else Path(out),
    )
    result.manifest = _manifest(
        result,
        files,
        run.counts,
        inputs=(claims_837, remits_835, docs, mapping),
        key_source=key_source,
        strict=strict,
        doc_keys=None if run.docs is None else run.docs_plan.keys,
    )
    return result


def _repeated_keys(keys: pd.DataFrame) -> np.ndarray:
    """Rows whose (claim_id, line_number) occurs more than once in the table.

    Validation quarantines every copy of a repeated key; copies may fall in
    different chunks, so these rows are validated together.
    """
    if not len(keys):
        return np.zeros(0, bool)
    parts = {c: keys[c].astype("string") for c in S.LINE_KEYS}
    frame = pd.DataFrame(parts)
    known = frame.notna().all(axis=1).to_numpy()
    return frame.duplicated(keep=False).to_numpy() & known


def _concat_valid(chunks):
    """The valid table from its chunks (the empty one only when all are empty)."""
    full = [c for c in chunks if len(c)]
    if not full:
        return chunks[-1]
    return full[0] if len(full) == 1 else pd.concat(full, ignore_index=True)


class _Run:
    """One streamed ingest: plans partition by partition, then chunk by chunk.

    The cross-row steps of an in-memory ingest (netting reversals, keeping
    the latest remittance, matching remits to claims, finding repeated line
    keys) each look at the lines of one claim only. They are decided on the
    spills' key columns one partition of the claims at a time
    (:meth:`Spill.partition`), and the decisions kept as flags by row (the
    matched outcomes go back to the spill folder, :class:`Pieces`). The full
    rows are then read back one chunk at a time, completed with those
    decisions, quarantined, validated and yielded by :meth:`valid_chunks`,
    in reading order.
    """

    def __init__(self, s837, s835, with_837, with_835, mapping):
        self.s837, self.s835 = s837, s835
        self.both = with_837 and with_835
        self.with_837 = with_837
        self.mapping = mapping
        from ptdenial.reference import load_reference

        self.reference = load_reference()  # once, not per chunk
        self.docs = self.docs_plan = self.docs_used = None
        self.q837, self.q835, self.q_valid = [], [], []
        self._reversed, self._superseded, self._unmatched_r = [], [], []
        self._unmatched_c = []
        self.columns = None
        self.counts = {"claim_lines_837": s837.n_rows, "rows": 0, "valid": 0}
        self.outcomes = None
        self._plan()
        self._held = []

    def _plan(self):
        """Decide the whole-file steps partition by partition (arrays by row)."""
        n835, n837 = self.s835.n_rows, self.s837.n_rows
        lines = n835 + n837
        n_parts = min(MAX_PARTS, max(1, -(-lines // _PARTITION_LINES)))
        self.n_parts = n_parts
        table_n = n837 if self.with_837 else n835
        raw = {
            "cancel": np.zeros(n835, bool),
            "dup": np.zeros(n835, bool),
            "chosen": np.zeros(n835, bool),
            "reason": np.full(n835, None, dtype=object),
            "matched": np.zeros(n837, bool),
            "held": np.zeros(table_n, bool),
            "netted": [],
        }
        if self.both:
            bounds = np.cumsum([0, *(n for _p, n in self.s837.parts)])
            self.outcomes = Pieces(self.s837.folder, bounds)
        for part in range(n_parts):
            self._plan_part(part, n_parts, raw)
        self._settle(raw)

    def _plan_part(self, part, n_parts, raw):
        """Reversals, latest remittance, matching and repeated keys of one partition.

        Every step is decided within one claim (claim id, with payer or line
        keys), and a partition holds every line of its claims, so the
        partition's result is the whole-file result restricted to its rows.
        """
        keys, bad, rows = self.s835.partition(part, n_parts)
        plan = reversal_plan(keys)
        keep = np.ones(len(keys), bool)
        if plan is not None:
            keys = apply_netting(keys, plan, 0)
            keep = ~plan.cancel
            raw["cancel"][rows[plan.cancel]] = True
            raw["netted"].append((rows[plan.rows], plan.amounts))
        remit_keys = keys.loc[keep & ~bad].reset_index(drop=True)
        remit_rows = rows[keep & ~bad]
        del keys
        if self.with_837:
            keys, bad, rows = self.s837.partition(part, n_parts)
            table_keys = keys.loc[~bad].reset_index(drop=True)
            table_rows = rows[~bad]
            del keys
        if self.both:
            joined, matched, chosen, reason = match_remits(
                table_keys, remit_keys, reference=self.reference
            )
            raw["matched"][table_rows] = matched
            raw["chosen"][remit_rows] = chosen
            raw["reason"][remit_rows] = reason
            new = [c for c in joined.columns if c not in table_keys.columns]
            self.outcomes.put(part, joined[new], table_rows)
        elif not self.with_837:
            dup = superseded(remit_keys)
            raw["dup"][remit_rows] = dup
            table_keys, table_rows = remit_keys.loc[~dup], remit_rows[~dup]
        raw["held"][table_rows] = _repeated_keys(table_keys)

    def _settle(self, raw):
        """The partitions' decisions as arrays over the rows each chunk step walks."""
        cancel = raw["cancel"]
        self.counts["remit_lines_835"] = int((~cancel).sum())
        self.counts["remit_lines_reversed"] = int(cancel.sum())
        self.plan = None
        if raw["netted"]:
            rows = np.concatenate([r for r, _a in raw["netted"]])
            amounts = {
                c: np.concatenate([a[c] for _r, a in raw["netted"]])
                for c in raw["netted"][0][1]
            }
            self.plan = ReversalPlan(cancel, rows, amounts)
        good = ~cancel & ~self.s835.bad()  # the netted remit lines without problems
        if self.with_837:
            claims = ~self.s837.bad()
            self.matched = raw["matched"][claims]
            self.held = raw["held"][claims]
        if self.both:
            self.chosen, self.reason = raw["chosen"][good], raw["reason"][good]
        elif not self.with_837:
            self.dup = raw["dup"][good]
            self.held = raw["held"][good & ~raw["dup"]]

    def set_docs(self, export):
        self.docs = export
        self.docs_plan = docs_plan(export)
        self.docs_used = np.zeros(len(export), bool)

    def _remit_chunks(self):
        """Netted remit lines without problems, chunk by chunk (quarantine aside)."""
        net_at = good_at = 0
        for at, chunk in self.s835.chunks():
            if self.plan is not None:
                cancel = self.plan.cancel[at : at + len(chunk)]
                self._reversed.append(chunk.loc[cancel])
                chunk = apply_netting(chunk, self.plan, at).loc[~cancel]
                chunk = chunk.reset_index(drop=True)
            good, q = x12_quarantine(chunk)
            q[S.SOURCE_ROW] = q[S.SOURCE_ROW] + net_at
            self.q835.append(q)
            net_at += len(chunk)
            yield good_at, good
            good_at += len(good)

    def _table_chunks(self):
        """The claim-line table, chunk by chunk, before docs and validation."""
        if self.both or not self.with_837:
            for at, good in self._remit_chunks():
                if self.both:
                    pick = ~self.chosen[at : at + len(good)]
                    rest = good.loc[pick].copy()
                    rest[UNMATCHED_REASON] = self.reason[at : at + len(good)][pick]
                    self._unmatched_r.append(rest)
                    continue
                dup = self.dup[at : at + len(good)]
                old = good.loc[dup].copy()
                old[UNMATCHED_REASON] = SUPERSEDED
                self._superseded.append(old)
                yield good.loc[~dup].reset_index(drop=True)
        if not self.with_837:
            return
        good_at = 0
        for index, (at, chunk) in enumerate(self.s837.chunks()):
            good, q = x12_quarantine(chunk)
            q[S.SOURCE_ROW] = q[S.SOURCE_ROW] + at
            self.q837.append(q)
            if self.both:
                span = slice(good_at, good_at + len(good))
                extra = self.outcomes.get(index)
                good = pd.concat([good, extra], axis=1)
                good.index = pd.RangeIndex(span.start, span.stop)
                self._unmatched_c.append(good.loc[~self.matched[span]].copy())
                good = good.reset_index(drop=True)
            good_at += len(good)
            yield good

    def valid_chunks(self, run_date):
        """Validated, labelled chunks of the table (at least one, maybe empty)."""
        at, last, labels = 0, None, dict.fromkeys(S.LABEL_COLUMNS, 0)
        for table in self._table_chunks():
            if self.mapping is not None:
                table = apply_payer_classes(table, self.mapping.payer_class)
            if self.docs is not None:
                table, used = attach_docs(table, self.docs, self.docs_plan)
                self.docs_used |= used
            held = self.held[at : at + len(table)]
            rows = np.arange(at, at + len(table))
            if held.any():  # repeated keys: validated together at the end
                self._held.append((table.loc[held], rows[held]))
                table, rows = table.loc[~held], rows[~held]
            at += len(rows) + int(held.sum())
            valid = self._validate(table, rows, run_date, labels)
            last = valid
            if len(valid):
                last = None
                yield valid
        if self._held:
            table = pd.concat([t for t, _r in self._held])
            rows = np.concatenate([r for _t, r in self._held])
            valid = self._validate(table, rows, run_date, labels)
            if len(valid):  # pragma: no cover - every copy of a repeated key fails
                yield valid
            q = pd.concat(self.q_valid, ignore_index=True)
            order = np.argsort(q[S.SOURCE_ROW].to_numpy(), kind="stable")
            self.q_valid = [q.iloc[order].reset_index(drop=True)]
        if last is not None:
            yield last
        self.counts["rows"] = at
        self.counts |= {c: n for c, n in labels.items() if c in self.columns}

    def _validate(self, table, rows, run_date, labels):
        """Validate and label one chunk; quarantine rows numbered by table row."""
        valid, quarantine = S.validate_claims(
            table.reset_index(drop=True), source="ingest", run_date=run_date
        )
        quarantine[S.SOURCE_ROW] = rows[quarantine[S.SOURCE_ROW].to_numpy()]
        self.q_valid.append(quarantine)
        if S.ADJUDICATION_DATE in valid:
            drop = [c for c in S.LABEL_COLUMNS if c in valid and c != S.DENIED]
            valid = S.derive_outcomes(
                valid.drop(columns=drop), reference=self.reference
            )
        valid = valid.reset_index(drop=True)
        self.columns = valid.iloc[0:0]
        for col in S.LABEL_COLUMNS:
            if col in valid:
                labels[col] += int(valid[col].fillna(False).to_numpy(dtype=bool).sum())
        self.counts["valid"] += len(valid)
        return valid

    def unmatched_claims(self):
        if not self.both:
            return pd.DataFrame()
        return pd.concat(self._unmatched_c)

    def unmatched_remits(self):
        if self.both:
            parts = self._unmatched_r
        elif not self.with_837:
            parts = self._superseded
        else:
            return pd.DataFrame()
        return pd.concat(parts, ignore_index=True)

    def unmatched_docs(self):
        if self.docs is None:
            return pd.DataFrame()
        used, dup = self.docs_used, self.docs_plan.dup
        rest = self.docs.loc[~used].copy()
        rest[UNMATCHED_REASON] = np.where(
            dup[~used], "repeated key", "no claim line with these keys"
        )
        return rest.reset_index(drop=True)

    def reversed(self):
        if self.plan is None:
            return self.s835.empty().iloc[0:0].copy()
        return pd.concat(self._reversed, ignore_index=True)


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


def _manifest(result, files, counts, *, inputs, key_source, strict, doc_keys):
    """The ingest manifest: inputs with SHA-256, counts, unmatched keys, versions."""
    claims_837, remits_835, docs, mapping = inputs
    errors, problems = result.errors, result.problems
    labels = {c: counts[c] for c in S.LABEL_COLUMNS if c in counts}
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
            "claim_lines_837": counts["claim_lines_837"],
            "remit_lines_835": counts["remit_lines_835"],
            "remit_lines_reversed": counts["remit_lines_reversed"],
            "rows": counts["rows"],
            "valid": counts["valid"],
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
