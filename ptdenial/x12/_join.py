"""Join remittance lines to claim lines, and read/join CSV exports."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial.exceptions import InputFileError
from ptdenial.io import read_claims
from ptdenial.x12._codes import pseudonymize_patient
from ptdenial.x12._flatten import (
    CLAIM_LEVEL,
    CLAIM_STATUS,
    LINE_CONTROL_NUMBER,
    REMIT_CLAIM_INDEX,
)

__all__ = [
    "RemitJoin",
    "DocsJoin",
    "Mapping",
    "join_remits",
    "latest_remits",
    "read_mapping",
    "read_export",
    "join_docs",
    "MATCH_METHOD",
    "UNMATCHED_REASON",
]

MATCH_METHOD = "remit_match"
UNMATCHED_REASON = "unmatched_reason"
_OUTCOMES = (
    S.ADJUDICATION_DATE,
    S.ALLOWED_AMOUNT,
    S.PAID_AMOUNT,
    S.ADJUSTMENT_CODES,
    S.REMARK_CODES,
)
# CLP02 codes of a primary adjudication (preferred when several payers paid).
_PRIMARY = {"1", "4", "19", "22"}


class RemitJoin(NamedTuple):
    """Claim lines with outcomes, and what could not be matched."""

    joined: pd.DataFrame
    unmatched_claims: pd.DataFrame
    unmatched_remits: pd.DataFrame


def _empty_like(df):
    return df.iloc[0:0].copy()


def _rank(remits: pd.DataFrame) -> pd.DataFrame:
    """Preference order of remits for one line: primary, latest, last read."""
    status = remits[CLAIM_STATUS].fillna("") if CLAIM_STATUS in remits else ""
    out = remits.assign(
        _primary=pd.Series(status, index=remits.index).isin(_PRIMARY).astype(int),
        _adj=remits[S.ADJUDICATION_DATE].fillna(pd.Timestamp.min),
        _order=np.arange(len(remits)),
    )
    return out


def latest_remits(remits: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep one remit per (claim id, line number): primary, latest, last read.

    Used when 835 files alone make the table: a claim adjudicated twice
    (re-processing, secondary payer) would otherwise repeat its line keys.

    Parameters
    ----------
    remits : pandas.DataFrame
        Output of :func:`ptdenial.x12.read_835`.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        The kept lines, and the superseded ones (with ``unmatched_reason``).

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.x12 import latest_remits
    >>> r = pd.DataFrame({"claim_id": ["C1", "C1"], "line_number": [1, 1],
    ...     "claim_status": ["1", "1"],
    ...     "adjudication_date": pd.to_datetime(["2025-01-01", "2025-02-01"])})
    >>> kept, old = latest_remits(r)
    >>> kept["adjudication_date"].dt.month.tolist(), len(old)
    ([2], 1)
    """
    dup = superseded(remits)
    kept = remits.loc[~dup]
    old = remits.loc[dup].copy()
    old[UNMATCHED_REASON] = SUPERSEDED
    return kept.reset_index(drop=True), old.reset_index(drop=True)


SUPERSEDED = "superseded by a later or primary remittance"


def superseded(remits: pd.DataFrame) -> np.ndarray:
    """Rows of ``remits`` that :func:`latest_remits` sets aside (by position).

    Needs only ``claim_id``, ``line_number``, ``claim_status`` and
    ``adjudication_date``, so a large file is decided on these keys alone.
    """
    used = (S.CLAIM_ID, S.LINE_NUMBER, CLAIM_STATUS, S.ADJUDICATION_DATE)
    ranked = _rank(remits[[c for c in used if c in remits]])  # not every column
    ranked = ranked.sort_values(["_primary", "_adj", "_order"], kind="stable")
    dup = ranked.duplicated([S.CLAIM_ID, S.LINE_NUMBER], keep="last").to_numpy()
    out = np.zeros(len(remits), bool)
    out[ranked["_order"].to_numpy()] = dup
    return out


def _pick(cands: pd.DataFrame, remits: pd.DataFrame, claims: pd.DataFrame):
    """Best candidate per claim row: same payer, primary, latest, last read."""
    if cands.empty:
        return cands
    r = _rank(remits)
    c = cands.assign(
        _payer=(
            claims[S.PAYER_ID].to_numpy()[cands["_c"].to_numpy()]
            == remits[S.PAYER_ID].to_numpy()[cands["_r"].to_numpy()]
        ).astype(int),
        _primary=r["_primary"].to_numpy()[cands["_r"].to_numpy()],
        _adj=r["_adj"].to_numpy()[cands["_r"].to_numpy()],
        _order=cands["_r"].to_numpy(),
    )
    c = c.sort_values(["_payer", "_primary", "_adj", "_order"], kind="stable")
    return c.drop_duplicates("_c", keep="last")[["_c", "_r", "_how"]]


def _key(df, cols):
    parts = []
    for col in cols:
        s = df[col]
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            s = s.dt.strftime("%Y%m%d")
        parts.append(s.astype("string").fillna("\x00"))
    out = parts[0]
    for p in parts[1:]:
        out = out + "|" + p
    return out


def join_remits(
    claims: pd.DataFrame, remits: pd.DataFrame, *, reference=None
) -> RemitJoin:
    """Attach 835 outcomes to 837P claim lines.

    Matching, in order, each pass only on what is still unmatched:

    1. claim id + line control number (837 REF*6R = 835 REF*6R);
    2. claim id + procedure + date of service + units (the n-th such line
       of a claim pairs with the n-th such SVC of a remittance);
    3. claim-level remits (a CLP without SVC lines) apply to every remaining
       line of their claim: codes copied, allowed and paid split in
       proportion to line charges.

    When several remits fit one line, the one from the claim's payer wins,
    then a primary adjudication, then the latest, then the last read; the
    others are reported as unmatched with the reason. The labels ``denied``,
    ``partially_denied`` and ``pending`` are derived with
    :func:`ptdenial.schema.derive_outcomes`; claim lines without a remit are
    pending and also listed in ``unmatched_claims``.

    Parameters
    ----------
    claims : pandas.DataFrame
        Claim lines (e.g. from :func:`ptdenial.x12.read_837p`).
    remits : pandas.DataFrame
        Remit lines (from :func:`ptdenial.x12.read_835`).
    reference : ptdenial.reference.Reference, optional
        CARC sets for the labels.

    Returns
    -------
    RemitJoin
        ``joined`` (every claim line, with outcome columns, ``remit_match``
        and the labels), ``unmatched_claims``, ``unmatched_remits`` (with
        ``unmatched_reason``).

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.x12 import join_remits
    >>> claims = pd.DataFrame({"claim_id": ["C1", "C1"], "line_number": [1, 2],
    ...     "payer_id": ["P", "P"], "cpt_code": ["97112", "97110"],
    ...     "date_of_service": pd.to_datetime(["2025-01-02"] * 2), "units": [2, 1],
    ...     "charge_amount": [80.0, 40.0], "line_control_number": ["1", "2"]})
    >>> remits = pd.DataFrame({"claim_id": ["C1"], "line_number": [1],
    ...     "payer_id": ["P"], "cpt_code": ["97112"],
    ...     "date_of_service": pd.to_datetime(["2025-01-02"]), "units": [2],
    ...     "charge_amount": [80.0], "line_control_number": ["1"],
    ...     "claim_status": ["4"], "claim_level": [False],
    ...     "adjudication_date": pd.to_datetime(["2025-01-20"]),
    ...     "allowed_amount": [0.0], "paid_amount": [0.0],
    ...     "adjustment_codes": [("CO-50",)], "remark_codes": [()]})
    >>> res = join_remits(claims, remits)
    >>> res.joined[["line_number", "denied", "pending"]].to_dict("list")
    {'line_number': [1, 2], 'denied': [True, None], 'pending': [False, True]}
    >>> len(res.unmatched_claims), len(res.unmatched_remits)
    (1, 0)
    """
    joined, matched, chosen_r, reason = match_remits(
        claims, remits, reference=reference
    )
    remits = remits.reset_index(drop=True)
    unmatched_claims = joined.loc[~matched].copy()
    unmatched_remits = remits.loc[~chosen_r].copy()
    unmatched_remits[UNMATCHED_REASON] = reason[~chosen_r]
    return RemitJoin(joined, unmatched_claims, unmatched_remits.reset_index(drop=True))


def match_remits(claims: pd.DataFrame, remits: pd.DataFrame, *, reference=None):
    """The work of :func:`join_remits`, by row position.

    Returns ``joined`` (the claims with outcome columns and labels),
    ``matched`` (claims with a remit), ``chosen`` (remits picked for a line)
    and ``reason`` (why a remit was not picked). Only the key, amount and
    outcome columns are read, so a large file can be matched on its compact
    keys, and the full rows completed chunk by chunk.
    """
    from ptdenial.schema import derive_outcomes

    claims = claims.reset_index(drop=True)
    remits = remits.reset_index(drop=True)
    nc, nr = len(claims), len(remits)
    pick, used, matched = _match(claims, remits)
    pc, pr = pick["_c"].to_numpy(dtype=int), pick["_r"].to_numpy(dtype=int)
    joined = _copy_outcomes(claims, remits, pc, pr)
    how = np.full(nc, None, dtype=object)
    how[pc] = pick["_how"].to_numpy(dtype=object)
    joined[MATCH_METHOD] = pd.Series(how, dtype="string")
    if CLAIM_STATUS in remits:
        status = np.full(nc, None, dtype=object)
        status[pc] = remits[CLAIM_STATUS].to_numpy(dtype=object)[pr]
        joined[CLAIM_STATUS] = pd.Series(status, dtype="string")
    _split_claim_level(joined, claims, remits, pick)
    if S.ADJUDICATION_DATE not in joined:
        joined[S.ADJUDICATION_DATE] = pd.Series(
            pd.NaT, index=joined.index, dtype="datetime64[ns]"
        )
    joined = derive_outcomes(joined, reference=reference)
    chosen_r = np.zeros(nr, bool)
    chosen_r[pr] = True
    reason = np.full(nr, None, dtype=object)
    reason[~used] = (
        "no claim line with this claim id and line control number or "
        "procedure, date of service and units"
    )
    reason[used & ~chosen_r] = "another remittance was preferred for the same line"
    return joined, matched, chosen_r, reason


def _match(claims, remits):
    """The three matching passes: (picked pairs, remits used, claims matched)."""
    nc, nr = len(claims), len(remits)
    c_idx = pd.DataFrame({"_c": np.arange(nc)})
    r_idx = pd.DataFrame({"_r": np.arange(nr)})
    claim_level = (
        remits[CLAIM_LEVEL].fillna(False).to_numpy(dtype=bool)
        if CLAIM_LEVEL in remits
        else np.zeros(nr, bool)
    )
    chosen, used = [], np.zeros(nr, bool)
    matched = np.zeros(nc, bool)

    def take(cands):
        pick = _pick(cands, remits, claims)
        chosen.append(pick)
        used[cands["_r"].to_numpy()] = True
        matched[pick["_c"].to_numpy()] = True

    # pass 1: line control number
    if LINE_CONTROL_NUMBER in claims and LINE_CONTROL_NUMBER in remits:
        ck = c_idx.assign(_k=_key(claims, [S.CLAIM_ID, LINE_CONTROL_NUMBER]).to_numpy())
        ck = ck[claims[LINE_CONTROL_NUMBER].notna().to_numpy()]
        rk = r_idx.assign(_k=_key(remits, [S.CLAIM_ID, LINE_CONTROL_NUMBER]).to_numpy())
        rk = rk[remits[LINE_CONTROL_NUMBER].notna().to_numpy() & ~claim_level]
        take(ck.merge(rk, on="_k").assign(_how="line_control_number"))

    # pass 2: procedure + date of service + units, occurrence-aligned
    fb = [S.CLAIM_ID, S.CPT_CODE, S.DATE_OF_SERVICE, S.UNITS]
    ck = c_idx.assign(_k=_key(claims, fb).to_numpy())[~matched]
    ck = ck.assign(_n=ck.groupby("_k").cumcount())
    rk = r_idx.assign(
        _k=_key(remits, fb).to_numpy(),
        _g=(remits[REMIT_CLAIM_INDEX].to_numpy() if REMIT_CLAIM_INDEX in remits else 0),
    )
    rk = rk[~used & ~claim_level]
    rk = rk.assign(_n=rk.groupby(["_g", "_k"]).cumcount()).drop(columns="_g")
    take(ck.merge(rk, on=["_k", "_n"]).assign(_how="procedure_dos_units"))

    # pass 3: claim-level remits
    if claim_level.any():
        ck = c_idx.assign(_k=claims[S.CLAIM_ID].astype("string").to_numpy())[~matched]
        rk = r_idx.assign(_k=remits[S.CLAIM_ID].astype("string").to_numpy())[
            claim_level
        ]
        take(ck.merge(rk, on="_k").assign(_how="claim_level"))
    pick = pd.concat(chosen, ignore_index=True)
    return pick, used, matched


def _copy_outcomes(claims, remits, pc, pr) -> pd.DataFrame:
    """Claims with the outcome columns of their picked remits."""
    nc = len(claims)
    joined = claims.copy()
    for col in _OUTCOMES:
        if col not in remits:
            continue
        src = remits[col]
        if col in (S.ADJUSTMENT_CODES, S.REMARK_CODES):
            values = np.empty(nc, dtype=object)
            values[:] = [()] * nc
            if col in joined:
                values[:] = joined[col].to_numpy(dtype=object)
            values[pc] = src.to_numpy(dtype=object)[pr]
            joined[col] = pd.Series(values, index=joined.index, dtype=object)
        else:
            base = (
                joined[col].copy()
                if col in joined
                else pd.Series(index=joined.index, dtype=src.dtype)
            )
            if col in (S.ALLOWED_AMOUNT, S.PAID_AMOUNT):
                base = base.astype("float64")
            base.iloc[pc] = src.iloc[pr].to_numpy()
            joined[col] = base
    return joined


def _split_claim_level(joined, claims, remits, pick):
    """Spread a claim-level remit's allowed/paid over its lines by charge."""
    sel = pick[pick["_how"] == "claim_level"]
    if sel.empty:
        return
    pc, pr = sel["_c"].to_numpy(dtype=int), sel["_r"].to_numpy(dtype=int)
    charge = claims[S.CHARGE_AMOUNT].to_numpy(dtype=float)[pc]
    total = pd.Series(charge).groupby(pr).transform("sum").to_numpy()
    share = np.divide(charge, total, out=np.full(len(pc), np.nan), where=total > 0)
    for col in (S.PAID_AMOUNT, S.ALLOWED_AMOUNT):
        if col not in remits:
            continue
        amount = remits[col].to_numpy(dtype=float, na_value=np.nan)[pr]
        values = joined[col].to_numpy(dtype=float, na_value=np.nan).copy()
        values[pc] = np.round(amount * share, 2)
        joined[col] = values


# --- CSV exports ---------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Mapping:
    """A column-mapping file, read by :func:`read_mapping`.

    Attributes
    ----------
    columns : dict
        Export column name -> contract column name.
    pseudonymize : dict
        Contract column -> export columns hashed into it (member id, last
        name, first name), e.g. ``patient_id = ["Member ID", "Last", "First"]``.
    values : dict
        Contract column -> {export value: contract value}.
    payer_class : dict
        payer_id -> payer_class, overriding what the X12 filing code says.
    """

    columns: dict = dataclasses.field(default_factory=dict)
    pseudonymize: dict = dataclasses.field(default_factory=dict)
    values: dict = dataclasses.field(default_factory=dict)
    payer_class: dict = dataclasses.field(default_factory=dict)


def read_mapping(path) -> Mapping:
    """Read a TOML column-mapping file.

    Parameters
    ----------
    path : str or Path
        A TOML file with optional tables ``[columns]`` (export name =
        contract name), ``[pseudonymize]`` (contract column = list of export
        columns to hash), ``[values.<column>]`` (export value = contract
        value) and ``[payer_class]`` (payer id = payer class).

    Returns
    -------
    Mapping

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from ptdenial.x12 import read_mapping
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "map.toml"
    >>> _ = p.write_text('[columns]\\n"Claim #" = "claim_id"\\n')
    >>> read_mapping(p).columns
    {'Claim #': 'claim_id'}
    """
    try:
        data = tomllib.loads(Path(path).read_text())
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read the mapping file ({exc}).") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputFileError(
            f"{path}: not valid TOML ({exc}). Fix the syntax; see "
            "the README's ingest section for an example."
        ) from exc
    known = {"columns", "pseudonymize", "values", "payer_class"}
    unknown = set(data) - known
    if unknown:
        raise InputFileError(
            f"{path}: unknown tables {sorted(unknown)}; expected {sorted(known)}."
        )
    cols = data.get("columns", {})
    bad = sorted(
        v for v in cols.values() if v not in S.COLUMNS and not isinstance(v, str)
    )
    if bad:
        raise InputFileError(
            f"{path}: [columns] values must be column names; got {bad}."
        )
    pc = data.get("payer_class", {})
    wrong = sorted(v for v in pc.values() if v not in S.PAYER_CLASSES)
    if wrong:
        raise InputFileError(
            f"{path}: [payer_class] values {wrong} are not payer "
            f"classes; use one of {list(S.PAYER_CLASSES)}."
        )
    return Mapping(
        dict(cols),
        dict(data.get("pseudonymize", {})),
        {k: dict(v) for k, v in data.get("values", {}).items()},
        dict(pc),
    )


def read_export(path, *, mapping=None, key=None) -> pd.DataFrame:
    """Read a CSV export (documentation, PM system) into contract column names.

    Parameters
    ----------
    path : str or Path
        CSV (optionally gzipped) or Parquet.
    mapping : Mapping, str or Path, optional
        Column mapping (a :class:`Mapping` or a TOML file for
        :func:`read_mapping`). Columns it does not name keep their names.
    key : bytes or str, optional
        Pseudonymization key, needed when the mapping hashes identifiers.
        Use the same key as for the X12 files so that ``patient_id`` agrees.

    Returns
    -------
    pandas.DataFrame
        Raw text columns under contract names (validate with
        :func:`ptdenial.schema.validate_claims` or join with
        :func:`join_docs`). The raw identifier columns used for
        pseudonymization are dropped.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from ptdenial.x12 import Mapping, read_export
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "docs.csv"
    >>> _ = p.write_text("Claim #,Line,Minutes\\nC1,1,30\\n")
    >>> m = Mapping(columns={"Claim #": "claim_id", "Line": "line_number",
    ...                      "Minutes": "minutes"})
    >>> read_export(p, mapping=m).columns.tolist()
    ['claim_id', 'line_number', 'minutes']
    """
    if mapping is not None and not isinstance(mapping, Mapping):
        mapping = read_mapping(mapping)
    mapping = mapping or Mapping()
    df = read_claims(path)
    missing = sorted(
        {c for cols in mapping.pseudonymize.values() for c in cols} - set(df.columns)
    )
    if missing:
        raise InputFileError(
            f"{path}: columns {missing} named in [pseudonymize] are "
            f"missing. Columns present: {list(df.columns)}."
        )
    for target, sources in mapping.pseudonymize.items():
        if key is None:
            raise ValueError(
                f"read_export needs key= to pseudonymize {sources} into {target!r}."
            )
        raw_key = key.encode() if isinstance(key, str) else key
        parts = [df[c].astype("string").fillna("") for c in sources]
        while len(parts) < 3:
            parts.append(pd.Series("", index=df.index, dtype="string"))
        trio = pd.DataFrame({"a": parts[0], "b": parts[1], "c": parts[2]})
        codes, uniques = pd.factorize(pd.MultiIndex.from_frame(trio))
        hashed = np.array(
            [pseudonymize_patient(*u, key=raw_key) for u in uniques], dtype=object
        )
        df[target] = hashed[codes]
        df = df.drop(columns=[c for c in sources if c != target])
    absent = sorted(set(mapping.columns) - set(df.columns))
    if absent:
        raise InputFileError(
            f"{path}: columns {absent} named in [columns] are missing. "
            f"Columns present: {list(df.columns)}."
        )
    df = df.rename(columns=mapping.columns)
    for col, table in mapping.values.items():
        if col in df:
            df[col] = df[col].replace(table)
    return df


class DocsJoin(NamedTuple):
    """Claim lines with documentation columns, and unmatched export rows."""

    joined: pd.DataFrame
    unmatched_docs: pd.DataFrame
    keys: tuple


def join_docs(claims: pd.DataFrame, docs: pd.DataFrame) -> DocsJoin:
    """Add documentation-export columns to claim lines.

    The export is joined on the line keys (``claim_id``, ``line_number``) when
    it has them, else on the visit keys (``patient_id``,
    ``rendering_provider_id``, ``date_of_service``). Claim columns win; the
    export fills columns the claims lack or leave empty. Export rows that
    match no claim line, and repeated keys after the first, are returned.

    Parameters
    ----------
    claims : pandas.DataFrame
        Claim lines (canonical dtypes).
    docs : pandas.DataFrame
        Output of :func:`read_export`.

    Returns
    -------
    DocsJoin

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.x12 import join_docs
    >>> claims = pd.DataFrame({"claim_id": ["C1"], "line_number": [1]})
    >>> docs = pd.DataFrame({"claim_id": ["C1", "C9"], "line_number": ["1", "1"],
    ...                      "minutes": ["30", "15"]})
    >>> res = join_docs(claims, docs)
    >>> res.joined["minutes"].tolist(), len(res.unmatched_docs), res.keys
    (['30'], 1, ('claim_id', 'line_number'))
    """
    plan = docs_plan(docs)
    joined, used = attach_docs(claims, docs, plan)
    unmatched = docs.loc[~used].copy()
    unmatched[UNMATCHED_REASON] = np.where(
        plan.dup[~used], "repeated key", "no claim line with these keys"
    )
    return DocsJoin(joined, unmatched.reset_index(drop=True), tuple(plan.keys))


class DocsPlan(NamedTuple):
    """The export's join keys, the first row of each key, repeated keys."""

    keys: tuple
    first: pd.Series
    dup: np.ndarray


def _doc_key_text(frame, keys, *, export):
    out = frame[list(keys)].copy()
    for k in keys:
        if k == S.DATE_OF_SERVICE:
            extra = {"format": "mixed"} if export else {}
            out[k] = pd.to_datetime(out[k], errors="coerce", **extra).dt.strftime(
                "%Y-%m-%d"
            )
        elif k == S.LINE_NUMBER:
            out[k] = (
                pd.to_numeric(out[k], errors="coerce").astype("Int64").astype("string")
            )
        else:
            out[k] = out[k].astype("string").str.strip()
    return _key(out, list(keys))


def docs_plan(docs: pd.DataFrame) -> DocsPlan:
    """How :func:`join_docs` finds an export row: keys, first row per key."""
    if set(S.LINE_KEYS) <= set(docs.columns):
        keys = S.LINE_KEYS
    elif set(S.VISIT_KEYS) <= set(docs.columns):
        keys = S.VISIT_KEYS
    else:
        raise InputFileError(
            "documentation export: no join keys. It needs claim_id and line_number, "
            f"or {list(S.VISIT_KEYS)}; columns present: {list(docs.columns)}. Map "
            "its columns with a [columns] table in the mapping file."
        )
    dkey = _doc_key_text(docs, keys, export=True)
    dup = dkey.duplicated(keep="first").to_numpy()
    first = pd.Series(np.flatnonzero(~dup), index=dkey[~dup].to_numpy())
    return DocsPlan(tuple(keys), first, dup)


def attach_docs(claims: pd.DataFrame, docs: pd.DataFrame, plan: DocsPlan):
    """Claims with the export's columns (claim columns win), export rows used.

    Row by row, so claim lines can be joined chunk by chunk (OR the masks).
    """
    keys = plan.keys
    ckey = _doc_key_text(claims, keys, export=False)
    pos = plan.first.reindex(ckey.to_numpy()).to_numpy()
    hit = ~np.isnan(pos)
    pos_i = np.where(hit, pos, 0).astype(int)
    joined = claims.copy()
    for col in docs.columns:
        if col in keys:
            continue
        vals = docs[col].to_numpy(dtype=object)[pos_i]
        vals = pd.Series(np.where(hit, vals, None), index=joined.index, dtype=object)
        if col in joined:
            joined[col] = joined[col].astype(object).where(joined[col].notna(), vals)
        else:
            joined[col] = vals
    used = np.zeros(len(docs), bool)
    used[pos_i[hit]] = True
    return joined, used
